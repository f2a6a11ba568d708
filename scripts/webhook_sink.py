"""`make run`'s webhook subscriber: what a union system without AMQP would run.

Verifies each delivery's `X-VGCL-Signature` (t=<unix time>,v1=<HMAC-SHA256 of "<t>.<body>">)
with the shared secret, refuses stale or forged ones, and logs one line per event.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = b""
TOLERANCE = 300  # seconds a signature stays acceptable: replays of old bodies are refused


def verified(header: str, body: bytes) -> bool:
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    if "t" not in parts or "v1" not in parts or not parts["t"].isdigit():
        return False
    if abs(time.time() - int(parts["t"])) > TOLERANCE:
        return False
    expected = hmac.new(SECRET, parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        ok = verified(self.headers.get("X-VGCL-Signature", ""), body)
        self.send_response(204 if ok else 401)
        self.end_headers()
        event = json.loads(body) if ok else {}
        print(
            json.dumps(
                {"verified": ok, "type": event.get("type"), "id": event.get("id"), "subject": event.get("subject")}
            ),
            flush=True,
        )

    def log_message(self, *args: object) -> None:
        """Quiet: one JSON line per delivery is the log."""


if __name__ == "__main__":
    port, SECRET = int(sys.argv[1]), sys.argv[2].encode()
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
