"""The peak-week load generator: a process of its own that offers submissions over HTTP.

    peak_load.py --api URL --out FILE --tag T --mode open --rate 300 --seconds 30
    peak_load.py --api URL --out FILE --tag T --mode closed --clients 24 --seconds 60 --bulk-every 400

Members and support teams of the top-level units submit with a skew like the real campaign's
(Thanh Hóa and Hà Nội carry most of it); in closed mode some support teams upload CSV files.
Open mode keeps a fixed schedule and measures latency from the *scheduled* time, so a slow
answer cannot hide the requests it delayed (coordinated omission). Each answer is one JSON
line in FILE: kind, unit, status, rows accepted, id, scheduled/started/finished (epoch s).
"""

from __future__ import annotations

import argparse
import csv
import http.client
import io
import json
import queue
import random
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

from chassis.auth import issue_dev_token
from submission.bulk import template_columns

sys.path.insert(0, str(Path(__file__).parent))
from benchlib import initiative

# Share of the campaign per top-level unit, and its grassroots unions (from the seed registry).
SKEW = {
    "THO": (0.40, ["THO-KKT-C001", "THO-KKT-C002", "THO-KKT-C003", "THO-DQ-C001", "THO-DQ-C002", "THO-LS-C001"]),
    "HN": (0.30, ["HN-KCN-C001", "HN-KCN-C002", "HN-KL-C001", "HN-KL-C002", "HN-TH-C001", "HN-TH-C002"]),
    "HCM": (0.18, ["HCM-KCX-C001", "HCM-KCX-C002", "HCM-BD-C001", "HCM-VT-C001"]),
    "CTVN": (0.12, ["CTVN-HC-C001", "CTVN-HC-C002", "CTVN-GIAY-C001"]),
}
MEMBERS_PER_UNIT = 400
SUPPORT_TEAM_SHARE = 0.3  # of single submissions, filed by the support team on a member's behalf


def upper_of(unit: str) -> str:
    return unit.rsplit("-", 1)[0]


class Population:
    """Who submits: tokens made once per person, grassroots units picked with a Zipf-like skew."""

    def __init__(self, only_top: str | None, seed: int) -> None:
        self.random = random.Random(seed)
        tops = [only_top] if only_top else list(SKEW)
        self.tops = tops
        self.weights = [SKEW[t][0] for t in tops]
        self.tokens: dict[tuple[str, str, str], str] = {}
        self.lock = threading.Lock()

    def unit(self) -> str:
        with self.lock:
            top = self.random.choices(self.tops, self.weights)[0]
            units = SKEW[top][1]
            return units[min(int(self.random.paretovariate(1.2)) - 1, len(units) - 1)]

    def member(self, unit: str) -> str:
        with self.lock:
            return f"dv-{unit.lower()}-{self.random.randrange(MEMBERS_PER_UNIT):04d}"

    def by_support_team(self) -> bool:
        with self.lock:
            return self.random.random() < SUPPORT_TEAM_SHARE

    def token(self, sub: str, role: str, unit: str) -> str:
        key = (sub, role, unit)
        if key not in self.tokens:
            self.tokens[key] = f"Bearer {issue_dev_token(sub, role, unit)}"
        return self.tokens[key]


def bulk_csv(tag: str, n: int, rows: int, units: list[str], population: Population) -> bytes:
    columns = template_columns(authors=1)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    for r in range(rows):
        unit = units[r % len(units)]
        data = initiative(tag, n * 10_000 + r, unit, population.member(unit))
        writer.writerow(
            {
                **{k: v for k, v in data.items() if k in columns},
                "benefit_description": "",
                "confidential": "không",
                "author1_name": "Nguyễn Văn Tác Giả",
                "author1_member_id": data["authors"][0]["member_id"],
                "author1_share": "100",
            }
        )
    return out.getvalue().encode("utf-8")


class Client:
    """One keep-alive HTTP connection (requests would cost the generator more CPU than the API)."""

    def __init__(self, api: str) -> None:
        url = urlparse(api)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.conn: http.client.HTTPConnection | None = None

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                self.conn.request("POST", path, body=body, headers=headers)
                answer = self.conn.getresponse()
                return answer.status, answer.read()
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    return 0, b""
        return 0, b""


class Generator:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.population = Population(args.only_top, args.seed)
        self.records: list[dict] = []
        self.lock = threading.Lock()
        self.counter = 0

    def next_n(self) -> int:
        with self.lock:
            self.counter += 1
            return self.counter

    def submit_one(self, client: Client, scheduled: float) -> None:
        n = self.next_n()
        unit = self.population.unit()
        member = self.population.member(unit)
        if self.population.by_support_team():
            upper = upper_of(unit)
            auth = self.population.token(f"tht-{upper.lower()}", "support_team", upper)
        else:
            auth = self.population.token(member, "member", unit)
        headers = {
            "Authorization": auth,
            "Content-Type": "application/json",
            "Idempotency-Key": f"{self.args.tag}-{n}",
        }
        started = time.time()
        status, body = client.post(
            "/api/v1/initiatives", json.dumps(initiative(self.args.tag, n, unit, member)).encode(), headers
        )
        finished = time.time()
        ident = json.loads(body)["id"] if status == 201 else None
        self.record("single", unit, status, 1 if status == 201 else 0, ident, scheduled, started, finished)

    def upload(self, client: Client) -> None:
        n = self.next_n()
        unit = self.population.unit()
        upper = upper_of(unit)
        units = [u for u in SKEW[unit.split("-")[0]][1] if upper_of(u) == upper]
        headers = {
            "Authorization": self.population.token(f"tht-{upper.lower()}", "support_team", upper),
            "Content-Type": "text/csv",
        }
        body = bulk_csv(self.args.tag, n, self.args.bulk_rows, units, self.population)
        started = time.time()
        status, answer = client.post("/api/v1/initiatives/bulk", body, headers)
        finished = time.time()
        accepted = json.loads(answer)["accepted"] if status == 200 else 0
        self.record("bulk", upper, status, accepted, None, started, started, finished)

    def record(self, kind: str, unit: str, status: int, rows: int, ident: str | None, *times: float) -> None:
        scheduled, started, finished = times
        with self.lock:
            self.records.append(
                {
                    "kind": kind,
                    "unit": unit,
                    "status": status,
                    "rows": rows,
                    "id": ident,
                    "scheduled": scheduled,
                    "started": started,
                    "finished": finished,
                }
            )

    def run_closed(self) -> None:
        stop_at = time.time() + self.args.seconds

        def loop(k: int) -> None:
            client = Client(self.args.api)
            i = 0
            while time.time() < stop_at:
                i += 1
                # A few clients are support teams uploading a spreadsheet now and then.
                if self.args.bulk_every and k < 2 and i % self.args.bulk_every == 1:
                    self.upload(client)
                else:
                    self.submit_one(client, time.time())

        threads = [threading.Thread(target=loop, args=(k,)) for k in range(self.args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def run_open(self) -> None:
        due: queue.Queue[float | None] = queue.Queue()

        def worker() -> None:
            client = Client(self.args.api)
            while (scheduled := due.get()) is not None:
                self.submit_one(client, scheduled)

        threads = [threading.Thread(target=worker) for _ in range(self.args.clients)]
        for t in threads:
            t.start()
        start, interval = time.time(), 1.0 / self.args.rate
        for i in range(int(self.args.rate * self.args.seconds)):
            scheduled = start + i * interval
            time.sleep(max(0.0, scheduled - time.time()))
            due.put(scheduled)
        for _ in threads:
            due.put(None)
        for t in threads:
            t.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--api", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--tag", required=True, help="makes titles and idempotency keys unique per phase")
    parser.add_argument("--mode", choices=["open", "closed"], required=True)
    parser.add_argument("--rate", type=float, default=300, help="open mode: submissions offered per second")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=64, help="connections (open: the worker pool)")
    parser.add_argument("--only-top", help="only this top-level unit's members submit")
    parser.add_argument("--bulk-every", type=int, default=0, help="closed mode: every Nth request of 2 clients")
    parser.add_argument("--bulk-rows", type=int, default=100)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    generator = Generator(args)
    generator.run_open() if args.mode == "open" else generator.run_closed()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w") as out:
        for record in generator.records:
            out.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
