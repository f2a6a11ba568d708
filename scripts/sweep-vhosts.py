"""Deletes the virtual hosts that test and bench runs left behind (a run killed before its clean-up).

Each leftover vhost keeps its queues' files open in RabbitMQ; enough of them exhaust the broker's
file descriptors (1,024 on a stock Debian install) and it stops accepting connections. A vhost
with open connections belongs to a run in progress and is kept.
"""

from __future__ import annotations

import base64
import json
import sys
import urllib.error
import urllib.request
from urllib.parse import quote

API = "http://127.0.0.1:15672/api"
PREFIXES = ("nameko_test_", "browser-", "bench-", "drill-")
AUTH = "Basic " + base64.b64encode(b"guest:guest").decode()


def call(method: str, path: str) -> object:
    request = urllib.request.Request(API + path, method=method, headers={"Authorization": AUTH})
    with urllib.request.urlopen(request, timeout=60) as answer:
        body = answer.read()
    return json.loads(body) if body else None


def main() -> int:
    busy = {c["vhost"] for c in call("GET", "/connections?columns=vhost")}  # type: ignore[union-attr]
    stale = [
        v["name"]
        for v in call("GET", "/vhosts?columns=name")  # type: ignore[union-attr]
        if v["name"].startswith(PREFIXES) and v["name"] not in busy
    ]
    for name in stale:
        try:
            call("DELETE", f"/vhosts/{quote(name, safe='')}")
        except urllib.error.HTTPError as exc:
            if exc.code != 404:  # gone already: its run cleaned up after all
                raise
    if stale:
        print(f"deleted {len(stale)} virtual hosts left by earlier runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
