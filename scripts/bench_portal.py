"""`make bench`: what the portal's gateway adds to an API call.

Starts the submission service and the portal as their own processes (PostgreSQL, fresh
databases), then times the same calls made straight to submission and through the portal
(keep-alive, one client at a time, then several at once): GET /api/v1/programmes/<code> (a read)
and POST /api/v1/initiatives (a write through the outbox). The baseline is the direct call,
measured in the same run. Prints a table and writes var/bench/portal.json.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import requests

from chassis.auth import issue_dev_token
from chassis.db import recreate_database

sys.path.insert(0, str(Path(__file__).parent))
from benchlib import ADMIN_URL, amqp_uri, fresh_vhost, initiative, percentile

ROOT = Path(__file__).resolve().parents[1]
VHOST = "bench-portal"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed_calls(port: int, method: str, path: str, body_of, headers: dict[str, str], n: int) -> list[float]:  # type: ignore[no-untyped-def]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    out = []
    for i in range(n):
        body = body_of(i)
        sent = dict(headers, **({"Content-Type": "application/json"} if body is not None else {}))
        started = time.perf_counter()
        conn.request(method, path, body=body, headers=sent)
        answer = conn.getresponse()
        answer.read()
        out.append(1000 * (time.perf_counter() - started))
        if answer.status >= 400:
            raise RuntimeError(f"{method} {path} answered {answer.status}")
    conn.close()
    return out


def concurrent(
    port: int, method: str, path: str, body_of, headers: dict[str, str], n: int, clients: int
) -> list[float]:  # type: ignore[no-untyped-def]
    results: list[list[float]] = [[] for _ in range(clients)]

    def run(k: int) -> None:
        results[k] = timed_calls(port, method, path, lambda i: body_of(k * n + i), headers, n)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [x for r in results for x in r]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=1000, help="calls per path and route (one client)")
    parser.add_argument("--clients", type=int, default=8, help="clients at once in the concurrent round")
    args = parser.parse_args()

    fresh_vhost(VHOST)
    tag = uuid.uuid4().hex[:6]
    submission_db = recreate_database(ADMIN_URL, "sangkien_bench_portal_submission")
    portal_db = recreate_database(ADMIN_URL, "sangkien_bench_portal_portal")
    sub_port, portal_port = free_port(), free_port()
    env = {
        **os.environ,
        "AMQP_URI": amqp_uri(VHOST),
        "PLATFORM_MODE": "development",
        "SUBMISSION_DATABASE_URL": submission_db,
        "PORTAL_DATABASE_URL": portal_db,
        "LOG_LEVEL": "WARNING",
        "MAX_INFLIGHT_REQUESTS": "0",
        "UPSTREAM_SUBMISSION": f"http://127.0.0.1:{sub_port}",
        "PORTAL_PUBLIC_URL": f"http://127.0.0.1:{portal_port}",
    }
    for service in ("submission", "portal"):
        subprocess.run(
            [sys.executable, "-m", "alembic", "-c", f"services/{service}/alembic.ini", "upgrade", "head"],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    subprocess.run([sys.executable, "-m", "submission.cli", "seed"], env=env, cwd=ROOT, check=True, capture_output=True)
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "chassis.run", service, target],
            env={**env, "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}"},
            cwd=ROOT,
        )
        for service, target, port in (
            ("submission", "submission.service:SubmissionService", sub_port),
            ("portal", "portal.service:PortalService", portal_port),
        )
    ]
    try:
        for port in (sub_port, portal_port):
            for _ in range(120):
                with contextlib.suppress(requests.RequestException):
                    if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).ok:
                        break
                time.sleep(0.5)
        reader = {"Authorization": f"Bearer {issue_dev_token('bench', 'support_team', 'HN-KL')}"}
        writer = {"Authorization": f"Bearer {issue_dev_token('bench', 'support_team', 'HN-KL')}"}

        def no_body(_: int) -> None:
            return None

        def new_initiative(i: int) -> bytes:
            return json.dumps(initiative(tag, i, "HN-KL-C001"), ensure_ascii=False).encode()

        cases = [
            ("read", "GET", "/api/v1/programmes/LDST2026", no_body, reader),
            ("write", "POST", "/api/v1/initiatives", new_initiative, writer),
        ]
        rows = []
        for name, method, path, body_of, headers in cases:
            for port in (sub_port, portal_port):  # warm both routes' pools and caches
                timed_calls(
                    port,
                    method,
                    path,
                    body_of if method == "GET" else (lambda i: new_initiative(10**6 + i)),
                    headers,
                    50,
                )
            direct = timed_calls(sub_port, method, path, body_of, headers, args.calls)
            shifted = (lambda i: new_initiative(2 * 10**6 + i)) if method == "POST" else body_of
            proxied = timed_calls(portal_port, method, path, shifted, headers, args.calls)
            many_direct = concurrent(
                sub_port,
                method,
                path,
                (lambda i: new_initiative(3 * 10**6 + i)) if method == "POST" else body_of,
                headers,
                args.calls // args.clients,
                args.clients,
            )
            many_proxied = concurrent(
                portal_port,
                method,
                path,
                (lambda i: new_initiative(4 * 10**6 + i)) if method == "POST" else body_of,
                headers,
                args.calls // args.clients,
                args.clients,
            )
            for label, a, b in (("1 client", direct, proxied), (f"{args.clients} clients", many_direct, many_proxied)):
                row = {
                    "call": f"{method} {path}",
                    "kind": name,
                    "clients": label,
                    "direct_p50_ms": round(percentile(a, 50), 2),
                    "direct_p99_ms": round(percentile(a, 99), 2),
                    "portal_p50_ms": round(percentile(b, 50), 2),
                    "portal_p99_ms": round(percentile(b, 99), 2),
                }
                row["added_p50_ms"] = round(row["portal_p50_ms"] - row["direct_p50_ms"], 2)
                row["added_p99_ms"] = round(row["portal_p99_ms"] - row["direct_p99_ms"], 2)
                row["ratio_p50"] = (
                    round(row["portal_p50_ms"] / row["direct_p50_ms"], 2) if row["direct_p50_ms"] else None
                )
                rows.append(row)
    finally:
        for p in processes:
            p.terminate()
        for p in processes:
            p.wait(timeout=30)

    print(f"\nThe portal's gateway: {args.calls} calls per route (baseline: the same call straight to the service)")
    print(
        f"{'call':42} {'clients':10} {'direct p50/p99':>16} {'portal p50/p99':>16} {'added p50/p99':>16} {'ratio':>6}"
    )
    for r in rows:
        print(
            f"{r['call']:42} {r['clients']:10} {r['direct_p50_ms']:>7.2f}/{r['direct_p99_ms']:<8.2f}"
            f"{r['portal_p50_ms']:>7.2f}/{r['portal_p99_ms']:<8.2f}{r['added_p50_ms']:>7.2f}/{r['added_p99_ms']:<8.2f}"
            f"{r['ratio_p50']:>6}"
        )
    out = ROOT / "var" / "bench" / "portal.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2, ensure_ascii=False))
    print(f"written: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
