"""A stand-in for the outside HTTP providers notify talks to: Zalo OA, the SMS gateway, webhook receivers.

`python tests/fakes/provider.py --port 8026 --record requests.jsonl [--behave PATH=SPEC ...]`

Every request is recorded as one JSON line (receipt time, method, path, headers, the raw body in
base64, its JSON if any, the status answered) before it is answered, so a reader of the file sees
every request its sender saw answered. What a path answers is programmable, by `--behave` or at run
time with `POST /_control/behave {"path": "/sms", "first": [SPEC, ...], "then": SPEC}`: the `first`
answers are given once each, in order, then `then` forever. A SPEC is
`{"status": 500, "headers": {"Retry-After": "1"}, "json": {...} | "body": "text", "delay": 0.5}`.
`POST /_control/reset` forgets behaviours and recorded requests. Paths without a behaviour answer
200 `{"error": 0, "message": "Success"}` (what Zalo answers; the SMS gateway and webhook receivers
only look at the status).
"""

from __future__ import annotations

import argparse
import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

OK: dict[str, Any] = {"status": 200, "json": {"error": 0, "message": "Success"}}


class State:
    def __init__(self, record: Path) -> None:
        self.record = record
        self.lock = threading.Lock()
        self.behaviours: dict[str, dict[str, Any]] = {}
        record.write_text("")

    def behave(self, path: str, first: list[dict[str, Any]] | None = None, then: dict[str, Any] | None = None) -> None:
        with self.lock:
            self.behaviours[path] = {"first": list(first or []), "then": then or OK}

    def reset(self) -> None:
        with self.lock:
            self.behaviours.clear()
            self.record.write_text("")

    def answer(self, path: str) -> dict[str, Any]:
        with self.lock:
            behaviour = self.behaviours.get(path)
            if behaviour is None:
                return OK
            return behaviour["first"].pop(0) if behaviour["first"] else behaviour["then"]

    def write(self, entry: dict[str, Any]) -> None:
        with self.lock, self.record.open("a", encoding="utf-8") as out:
            out.write(json.dumps(entry, ensure_ascii=False) + "\n")


STATE: State


class Handler(BaseHTTPRequestHandler):
    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _reply(self, status: int, headers: dict[str, str] | None = None, body: bytes = b"") -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _control(self, raw: bytes) -> None:
        if self.path == "/_control/health":
            self._reply(200)
        elif self.path == "/_control/reset":
            STATE.reset()
            self._reply(204)
        elif self.path == "/_control/behave":
            spec = json.loads(raw)
            STATE.behave(spec["path"], spec.get("first"), spec.get("then"))
            self._reply(204)
        else:
            self._reply(404)

    def _serve(self) -> None:
        received = time.time()
        raw = self._body()
        if self.path.startswith("/_control/"):
            self._control(raw)
            return
        path, _, query = self.path.partition("?")
        spec = STATE.answer(path)
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        headers = dict(spec.get("headers") or {})
        if "json" in spec:
            body = json.dumps(spec["json"]).encode()
            headers.setdefault("Content-Type", "application/json")
        else:
            body = str(spec.get("body", "")).encode()
        STATE.write(
            {
                "t": received,
                "method": self.command,
                "path": path,
                "query": query,
                "headers": dict(self.headers.items()),
                "body_b64": base64.b64encode(raw).decode(),
                "json": parsed,
                "status": int(spec.get("status", 200)),
            }
        )
        if spec.get("delay"):
            time.sleep(float(spec["delay"]))
        self._reply(int(spec.get("status", 200)), headers, body)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, *args: object) -> None:
        """Quiet: the JSON-lines record is the log."""


def main() -> None:
    global STATE
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--record", type=Path, required=True, help="JSON-lines file of the requests received")
    parser.add_argument("--behave", action="append", default=[], metavar="PATH=SPEC", help='/sms={"then": {...}}')
    args = parser.parse_args()
    STATE = State(args.record)
    for item in args.behave:
        path, _, spec = item.partition("=")
        behaviour = json.loads(spec)
        STATE.behave(path, behaviour.get("first"), behaviour.get("then"))
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
