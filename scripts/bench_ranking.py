"""`make bench`: the portal's live ranking page (/bang-xep-hang) at 2 million initiatives.

Rankings read the read model (`totals` per unit, with `units` and `rank_snapshots`), never the
initiatives. So the load writes what 2,000,000 initiatives leave there: counts per grassroots union
of the union tree of bench_awards.registry (the 49 real top-level units, ~4,200 grassroots unions,
with a real campaign's skew), rolled up to upper-grassroots, top-level and national rows in SQL.
First the counts as they stood at 7:00, from which awards files its snapshot (POST
/api/v1/rankings/snapshots, the real code); then the counts now, so ranks move. Then the awards
and portal processes start, and the page is fetched through the portal as a browser would (full
page and the 30-second partial refresh) in each scope, with awards' ranking cache off
(RANKINGS_CACHE_SECONDS=0: every request computes). The baseline, in the same run and process: a
trivial GET of the portal (a static file). `--profile` also profiles one top-scope ranking
in-process (cProfile). Writes var/bench/ranking.json.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import http.client
import io
import json
import os
import pstats
import random
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg2
import requests

from chassis.auth import issue_dev_token
from chassis.db import normalize_url, recreate_database

sys.path.insert(0, str(Path(__file__).parent))
from bench_awards import copy, registry
from benchlib import ADMIN_URL, amqp_uri, fresh_vhost, percentile

ROOT = Path(__file__).resolve().parents[1]
VHOST = "bench-ranking"
PROGRAMME = "LDST2026"
ROLL_UP = """
    INSERT INTO totals (unit, programme, phase, level, top, parent, submitted, recognized, participants,
                        benefit_vnd, recognized_benefit_vnd, target)
    SELECT u.code, t.programme, t.phase, u.level, u.top, u.parent, sum(t.submitted), sum(t.recognized),
           sum(t.participants), sum(t.benefit_vnd), sum(t.recognized_benefit_vnd), 0
    FROM totals t JOIN units u ON u.code = t.parent
    WHERE t.level = %s
    GROUP BY u.code, t.programme, t.phase, u.level, u.top, u.parent
"""
# Targets of upper and top-level units: what they registered, around what they reach.
TARGETS = """
    UPDATE totals SET target = greatest(1, (submitted * (0.6 + (hashtext(unit) & 1023) / 1280.0))::int)
    WHERE level IN ('upper', 'top')
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def counts(count: int, rng: random.Random, grassroots: dict[str, list[str]], weights: list[float]) -> dict[str, int]:
    """How many initiatives each grassroots union has: `count` spread over the tops by weight, then
    unevenly over each top's unions (a few busy enterprises carry most of a province)."""
    out: dict[str, int] = {}
    for units, weight in zip(grassroots.values(), weights, strict=True):
        shares = [rng.paretovariate(1.5) for _ in units]
        whole = sum(shares)
        for unit, share in zip(units, shares, strict=True):
            out[unit] = int(count * weight * share / whole)
    short = count - sum(out.values())  # rounding: the remainder to the busiest union
    out[max(out, key=out.__getitem__)] += short
    return out


def write_totals(cur, per_unit: dict[str, int], units: list[tuple], rng: random.Random) -> None:  # type: ignore[no-untyped-def]
    """The read model as the projections leave it: grassroots rows by COPY, every ancestor by SQL."""
    cur.execute("TRUNCATE totals")
    tops = {u[0]: (u[3], u[4]) for u in units}
    rows = []
    for unit, n in per_unit.items():
        parent, top = tops[unit]
        recognized = n // 10
        participants = int(n * 0.6)
        benefit = n * 38_000_000 + rng.randint(0, 10**9)
        for phase in ("P1", "*"):
            rows.append((unit, PROGRAMME, phase, "grassroots", top, parent, n, recognized, participants, benefit,
                         benefit // 9, 0))  # fmt: skip
    copy(cur, "totals", "unit, programme, phase, level, top, parent, submitted, recognized, participants, "
         "benefit_vnd, recognized_benefit_vnd, target", rows)  # fmt: skip
    for level in ("grassroots", "upper", "top"):
        cur.execute(ROLL_UP, (level,))
    cur.execute(TARGETS)
    cur.execute("ANALYZE totals")


def load(db: str, count: int) -> tuple[dict[str, int], dict[str, int], list[tuple], random.Random]:
    rng = random.Random(2026)
    units, grassroots, weights = registry(rng)
    morning = counts(int(count * 0.97), rng, grassroots, weights)
    # The day so far: 3 % more, landing unevenly, so ranks move since 7:00.
    day = counts(count - sum(morning.values()), random.Random(7), grassroots, list(reversed(weights)))
    now = {unit: morning[unit] + day.get(unit, 0) for unit in morning}
    conn = psycopg2.connect(normalize_url(db).replace("postgresql+psycopg2", "postgresql"))
    with conn, conn.cursor() as cur:
        copy(cur, "units", "code, name, level, parent, top, cluster, block, path", units)
        cur.execute("ANALYZE units")
        write_totals(cur, morning, units, rng)
    conn.close()
    return morning, now, units, rng


def timed(port: int, path: str, n: int, headers: dict[str, str] | None = None) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    out = []
    for _ in range(n):
        started = time.perf_counter()
        conn.request("GET", path, headers=headers or {})
        answer = conn.getresponse()
        body = answer.read()
        out.append(1000 * (time.perf_counter() - started))
        if answer.status != 200:
            raise RuntimeError(f"GET {path} answered {answer.status}: {body[:300]!r}")
    conn.close()
    return out


def wait_ready(port: int, name: str) -> None:
    for _ in range(240):
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).ok:
                return
        time.sleep(0.25)
    raise RuntimeError(f"{name} did not become ready (see var/bench/{name}-ranking.log)")


def profile(db: str) -> str:
    """One uncached ranking of Hà Nội's grassroots unions, in this process: where the time goes."""
    from sqlalchemy.orm import Session

    from awards import queries
    from chassis.auth import Principal
    from chassis.db import make_engine

    os.environ["AWARDS_DATABASE_URL"] = db
    engine = make_engine(db)
    reader = Principal(sub="bench", role="operator", unit="VGCL")
    args = {"programme": PROGRAMME, "scope": "top", "top": "HN", "metric": "progress", "limit": "100"}
    profiler = cProfile.Profile()
    with Session(engine) as session:
        queries.rankings(session, reader, args, datetime.now(UTC))  # warm the metadata
        profiler.enable()
        for _ in range(5):
            queries.rankings(session, reader, args, datetime.now(UTC))
        profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(18)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--initiatives", type=int, default=2_000_000)
    parser.add_argument("--requests", type=int, default=200, help="GETs per case")
    parser.add_argument("--profile", action="store_true", help="also cProfile one ranking in-process")
    args = parser.parse_args()
    started = time.perf_counter()

    fresh_vhost(VHOST)
    awards_db = recreate_database(ADMIN_URL, "sangkien_bench_ranking_awards")
    portal_db = recreate_database(ADMIN_URL, "sangkien_bench_ranking_portal")
    awards_port, portal_port = free_port(), free_port()
    (ROOT / "var/bench").mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "AMQP_URI": amqp_uri(VHOST),
        "PLATFORM_MODE": "development",
        "AWARDS_DATABASE_URL": awards_db,
        "PORTAL_DATABASE_URL": portal_db,
        "LOG_LEVEL": "WARNING",
        "PYTHONWARNINGS": "ignore::DeprecationWarning",
        "OUTBOX_RELAY": "off",
        "MAX_INFLIGHT_REQUESTS": "0",
        "RANKINGS_CACHE_SECONDS": "0",  # every request computes its ranking: the worst case
        "UPSTREAM_AWARDS": f"http://127.0.0.1:{awards_port}",
        # Awards checks the portal's reader token (RS256) against the portal's keys, as in production.
        "JWT_JWKS_URL": f"http://127.0.0.1:{portal_port}/.well-known/jwks.json",
        "PORTAL_PUBLIC_URL": f"http://127.0.0.1:{portal_port}",
        "PORTAL_PROGRAMME": PROGRAMME,
    }
    for service in ("awards", "portal"):
        subprocess.run(
            [sys.executable, "-m", "alembic", "-c", f"services/{service}/alembic.ini", "upgrade", "head"],
            env=env, cwd=ROOT, check=True, capture_output=True,
        )  # fmt: skip
    print(f"loading the read model of {args.initiatives:,} initiatives ...", flush=True)
    loaded_at = time.perf_counter()
    morning, now, units, rng = load(awards_db, args.initiatives)
    load_s = time.perf_counter() - loaded_at
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "chassis.run", service, target],
            env={**env, "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}"},
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=(ROOT / f"var/bench/{service}-ranking.log").open("w"),
        )
        for service, target, port in (
            ("awards", "awards.service:AwardsService", awards_port),
            ("portal", "portal.service:PortalService", portal_port),
        )
    ]
    rows: list[dict[str, object]] = []
    try:
        wait_ready(awards_port, "awards")
        wait_ready(portal_port, "portal")
        admin = {"Authorization": f"Bearer {issue_dev_token('bench', 'national_admin', 'VGCL')}"}
        snap = requests.post(f"http://127.0.0.1:{awards_port}/api/v1/rankings/snapshots", headers=admin, timeout=120)
        snap.raise_for_status()
        conn = psycopg2.connect(normalize_url(awards_db).replace("postgresql+psycopg2", "postgresql"))
        with conn, conn.cursor() as cur:
            write_totals(cur, now, units, rng)
            cur.execute("SELECT submitted FROM totals WHERE unit = 'VGCL' AND phase = '*'")
            national = cur.fetchone()[0]
            cur.execute("SELECT count(*) FROM totals WHERE top = 'HN' AND level = 'grassroots' AND phase = '*'")
            hanoi_units = cur.fetchone()[0]
        conn.close()
        print(f"loaded in {load_s:.1f} s: {national:,} initiatives, {len(morning):,} grassroots unions "
              f"({hanoi_units:,} in Hà Nội); 7:00 snapshot of {snap.json()['rows']:,} ranks")  # fmt: skip
        cases = [
            ("baseline: GET /static/app.css", portal_port, "/static/app.css", None),
            ("page: national", portal_port, "/bang-xep-hang", None),
            ("page: national, partial refresh", portal_port, "/bang-xep-hang?scope=national&partial=1", None),
            ("page: cluster C1 by % of target", portal_port, "/bang-xep-hang?scope=cluster&cluster=C1&metric=progress",
             None),
            ("page: Hà Nội grassroots", portal_port, "/bang-xep-hang?scope=top&top=HN", None),
            ("page: Hà Nội grassroots, partial", portal_port, "/bang-xep-hang?scope=top&top=HN&partial=1", None),
            ("page: Hà Nội by benefit, page 3", portal_port,
             "/bang-xep-hang?scope=top&top=HN&metric=benefit_vnd&offset=200", None),
            ("awards API: Hà Nội grassroots", awards_port,
             f"/api/v1/rankings?programme={PROGRAMME}&scope=top&top=HN&limit=100", admin),
            ("chart PNG (portal, cached 60 s)", portal_port, "/bang-xep-hang/bieu-do.png", None),
        ]  # fmt: skip
        for _, port, path, headers in cases:  # warm pools, templates, the chart
            timed(port, path, 5, headers)
        for name, port, path, headers in cases:
            times = timed(port, path, args.requests, headers)
            rows.append({"case": name, "p50_ms": round(percentile(times, 50), 2),
                         "p99_ms": round(percentile(times, 99), 2), "n": len(times)})  # fmt: skip
    finally:
        for p in processes:
            p.terminate()
        for p in processes:
            p.wait(timeout=30)
    base = float(rows[0]["p50_ms"])  # type: ignore[arg-type]
    print(f"\nThe ranking page at {args.initiatives:,} initiatives, 1 client, {args.requests} GETs per case, "
          f"awards' ranking cache off (baseline: a static file from the same portal)")  # fmt: skip
    print(f"{'case':40} {'p50 ms':>8} {'p99 ms':>8} {'x baseline p50':>15}")
    for row in rows:
        row["ratio_p50"] = round(float(row["p50_ms"]) / base, 1) if base else None  # type: ignore[arg-type]
        print(f"{row['case']:40} {row['p50_ms']:8.2f} {row['p99_ms']:8.2f} {row['ratio_p50']:>15}")
    figures = {"initiatives": args.initiatives, "grassroots_units": len(morning), "load_s": round(load_s, 1),
               "cases": rows}  # fmt: skip
    if args.profile:
        figures["profile"] = profile(awards_db)
        print("\nIn-process profile of 5 uncached rankings of Hà Nội's grassroots unions:\n" + str(figures["profile"]))
    out = ROOT / "var/bench/ranking.json"
    out.write_text(json.dumps(figures, indent=2, ensure_ascii=False))
    print(f"written: {out.relative_to(ROOT)} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
