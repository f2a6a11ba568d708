"""`make bench`: awards reads at national scale — rankings and standings with 2 million initiatives.

Loads N initiatives (default 2,000,000) spread over ~12,000 grassroots unions with the skew of a
real campaign (a few provinces carry most of it) into a fresh awards database: the facts by
COPY, then the read models (cells, totals, participants, hourly) derived from them in SQL, as the
projections would have built them event by event. Then starts the awards service and times
rankings and standings over HTTP. The baseline, measured in the same run: the same national
ranking computed the way a system without read models would, by grouping the initiatives.
Prints a table and writes var/bench/awards.json.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg2
import requests

from chassis.auth import issue_dev_token
from chassis.db import normalize_url, recreate_database

sys.path.insert(0, str(Path(__file__).parent))
from benchlib import ADMIN_URL, percentile

ROOT = Path(__file__).resolve().parents[1]
PORT = 8097
HEAVY = {"HN": 0.14, "THO": 0.12, "HCM": 0.12, "HPG": 0.05, "NAN": 0.05}  # Thanh Hóa and Hà Nội led the peak


def registry(rng: random.Random) -> tuple[list[tuple], dict[str, list[str]], list[float]]:
    """Units (code, name, level, parent, top, cluster, block, path); grassroots per top; top weights."""
    tops = json.loads((ROOT / "contracts/top-units.json").read_text(encoding="utf-8"))["units"]
    units = [("VGCL", "Tổng Liên đoàn Lao động Việt Nam", "national", None, None, None, None, "/VGCL/")]
    grassroots: dict[str, list[str]] = {}
    rest = (1 - sum(HEAVY.values())) / (len(tops) - len(HEAVY))
    weights = [HEAVY.get(t["code"], rest) for t in tops]
    for top, weight in zip(tops, weights, strict=True):
        code = top["code"]
        units.append((code, top["name"], "top", "VGCL", code, top["cluster"], None, f"/VGCL/{code}/"))
        n_upper = max(3, round(weight * 400))
        grassroots[code] = []
        for u in range(n_upper):
            upper = f"{code}-U{u:03d}"
            units.append((upper, f"Công đoàn cấp trên {upper}", "upper", code, code, None, None,
                          f"/VGCL/{code}/{upper}/"))  # fmt: skip
            for g in range(rng.randint(5, 15)):
                unit = f"{upper}-C{g:03d}"
                block = "enterprise" if g % 4 else "administration"
                units.append((unit, f"CĐCS {unit}", "grassroots", upper, code, None, block,
                              f"/VGCL/{code}/{upper}/{unit}/"))  # fmt: skip
                grassroots[code].append(unit)
    return units, grassroots, weights


def copy(cursor, table: str, columns: str, rows) -> None:  # type: ignore[no-untyped-def]
    """COPY in chunks of 200,000 rows: memory stays flat however many rows come."""
    buffer = io.StringIO()

    def flush() -> None:
        buffer.seek(0)
        cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT text)", buffer)
        buffer.seek(0)
        buffer.truncate()

    for n, row in enumerate(rows, start=1):
        buffer.write("\t".join("\\N" if v is None else str(v) for v in row) + "\n")
        if n % 200_000 == 0:
            flush()
    flush()


def facts(count: int, rng: random.Random, units: list[tuple], grassroots: dict[str, list[str]],
          weights: list[float]):  # type: ignore[no-untyped-def]  # fmt: skip
    paths = {u[0]: u[7] for u in units}
    blocks = {u[0]: u[6] for u in units}
    tops = list(grassroots)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(count):
        top = rng.choices(tops, weights)[0]
        unit = rng.choice(grassroots[top])
        submitted = start + timedelta(seconds=rng.randint(0, 320 * 86400))
        recognized = submitted + timedelta(days=rng.randint(20, 90)) if rng.random() < 0.1 else None
        withdrawn = submitted + timedelta(days=3) if rng.random() < 0.02 else None
        benefit = rng.choice((None, 5_000_000, 20_000_000, 120_000_000, rng.randint(1, 900) * 1_000_000))
        authors = json.dumps([{"member_id": f"m{rng.randint(1, count * 3 // 5)}", "share_percent": 100.0}])
        yield (str(uuid.UUID(int=rng.getrandbits(128))), 1, "LDST2026", "P1", unit, paths[unit], top, blocks[unit],
               rng.randint(1, 5), "production_business", f"Sáng kiến số {i}", "f" if i % 50 else "t", benefit,
               "2026-01-15", authors, submitted.isoformat(), withdrawn.isoformat() if withdrawn else None,
               recognized.isoformat() if recognized else None, "grassroots" if recognized else None,
               None)  # fmt: skip


DERIVE = [
    # cells: every ancestor on the path, for the phase and the whole programme
    """INSERT INTO cells (unit, programme, phase, block, target_group, submitted, recognized, benefit_vnd,
                          recognized_benefit_vnd)
       SELECT u.unit, f.programme, p.phase, coalesce(f.block, ''), coalesce(f.target_group, 0), count(*),
              count(f.recognized_at), sum(coalesce(f.benefit_vnd_per_year, 0)),
              sum(CASE WHEN f.recognized_at IS NOT NULL THEN coalesce(f.benefit_vnd_per_year, 0) ELSE 0 END)
       FROM facts f
       CROSS JOIN LATERAL (VALUES (split_part(f.unit_path, '/', 2)), (split_part(f.unit_path, '/', 3)),
                                  (split_part(f.unit_path, '/', 4)), (split_part(f.unit_path, '/', 5))) u(unit)
       CROSS JOIN LATERAL (VALUES (f.phase), ('*')) p(phase)
       WHERE f.withdrawn_at IS NULL
       GROUP BY 1, 2, 3, 4, 5""",
    """INSERT INTO participants (unit, programme, phase, member_id, initiatives)
       SELECT u.unit, f.programme, p.phase, a.member_id, count(*)
       FROM facts f
       CROSS JOIN LATERAL (SELECT DISTINCT x->>'member_id' AS member_id FROM json_array_elements(f.authors) x) a
       CROSS JOIN LATERAL (VALUES (split_part(f.unit_path, '/', 2)), (split_part(f.unit_path, '/', 3)),
                                  (split_part(f.unit_path, '/', 4)), (split_part(f.unit_path, '/', 5))) u(unit)
       CROSS JOIN LATERAL (VALUES (f.phase), ('*')) p(phase)
       WHERE f.withdrawn_at IS NULL AND a.member_id IS NOT NULL
       GROUP BY 1, 2, 3, 4""",
    """INSERT INTO totals (unit, programme, phase, level, top, parent, submitted, recognized, participants,
                           benefit_vnd, recognized_benefit_vnd, target)
       SELECT c.unit, c.programme, c.phase, un.level, un.top, un.parent, sum(c.submitted), sum(c.recognized),
              coalesce((SELECT count(*) FROM participants p WHERE p.unit = c.unit AND p.programme = c.programme
                        AND p.phase = c.phase), 0),
              sum(c.benefit_vnd), sum(c.recognized_benefit_vnd), 0
       FROM cells c JOIN units un ON un.code = c.unit
       GROUP BY c.unit, c.programme, c.phase, un.level, un.top, un.parent""",
    """INSERT INTO targets (unit, programme, phase, block, target)
       SELECT unit, programme, phase, 'enterprise', greatest(1, (submitted * (0.6 + random() * 0.8))::int)
       FROM totals WHERE level IN ('top', 'upper') AND phase = 'P1'""",
    """UPDATE totals t SET target = x.target FROM (
         SELECT unit, programme, phase, sum(target) AS target FROM targets GROUP BY 1, 2, 3
         UNION ALL SELECT unit, programme, '*', sum(target) FROM targets GROUP BY 1, 2) x
       WHERE t.unit = x.unit AND t.programme = x.programme AND t.phase = x.phase""",
    """INSERT INTO hourly (unit, programme, hour, submitted, recognized)
       SELECT unit, programme, hour, sum(s), sum(r) FROM (
         SELECT u.unit, f.programme, date_trunc('hour', f.submitted_at) AS hour, 1 AS s, 0 AS r
         FROM facts f CROSS JOIN LATERAL (VALUES ('VGCL'), (f.top_unit)) u(unit) WHERE f.withdrawn_at IS NULL
         UNION ALL
         SELECT u.unit, f.programme, date_trunc('hour', f.recognized_at), 0, 1
         FROM facts f CROSS JOIN LATERAL (VALUES ('VGCL'), (f.top_unit)) u(unit)
         WHERE f.withdrawn_at IS NULL AND f.recognized_at IS NOT NULL) changes
       GROUP BY 1, 2, 3""",
    "ANALYZE",
]


def load(db: str, count: int) -> dict[str, float]:
    rng = random.Random(2026)
    units, grassroots, weights = registry(rng)
    conn = psycopg2.connect(normalize_url(db).replace("postgresql+psycopg2", "postgresql"))
    timings = {}
    with conn, conn.cursor() as cur:
        started = time.perf_counter()
        copy(cur, "units", "code, name, level, parent, top, cluster, block, path", units)
        columns = ("initiative_id, revision, programme, phase, unit, unit_path, top_unit, block, target_group, field, "
                   "title, confidential, benefit_vnd_per_year, first_applied_on, authors, submitted_at, withdrawn_at, "
                   "recognized_at, recognized_level, certificate_number")  # fmt: skip
        copy(cur, "facts", columns, facts(count, rng, units, grassroots, weights))
        timings["copy_facts_s"] = time.perf_counter() - started
        started = time.perf_counter()
        for statement in DERIVE:
            cur.execute(statement)
        timings["derive_read_models_s"] = time.perf_counter() - started
        cur.execute("SELECT count(*) FROM units WHERE level = 'grassroots'")
        timings["grassroots_units"] = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM participants")
        timings["participant_rows"] = cur.fetchone()[0]
    conn.close()
    return timings


def baseline_scan(db: str, runs: int = 5) -> list[float]:
    """The national ranking by grouping the initiatives themselves (no read model)."""
    conn = psycopg2.connect(normalize_url(db).replace("postgresql+psycopg2", "postgresql"))
    times = []
    with conn.cursor() as cur:
        for _ in range(runs):
            started = time.perf_counter()
            cur.execute("SELECT top_unit, count(*) FROM facts WHERE withdrawn_at IS NULL AND programme = 'LDST2026' "
                        "GROUP BY top_unit ORDER BY 2 DESC")  # fmt: skip
            cur.fetchall()
            times.append((time.perf_counter() - started) * 1000)
    conn.close()
    return times


QUERIES = {
    "ranking national": ("/api/v1/rankings", {"programme": "LDST2026"}),
    "ranking by progress": ("/api/v1/rankings", {"programme": "LDST2026", "metric": "progress"}),
    "ranking in cluster": ("/api/v1/rankings", {"programme": "LDST2026", "scope": "cluster", "cluster": "C1"}),
    "ranking in HN (grassroots)": ("/api/v1/rankings", {"programme": "LDST2026", "scope": "top", "top": "HN"}),
    "standing of HN": ("/api/v1/standings/HN", {"programme": "LDST2026"}),
    "standing of a grassroots": ("/api/v1/standings/HN-U000-C000", {"programme": "LDST2026"}),
}


def measure(requests_each: int, clients: int) -> dict[str, list[float]]:
    token = {"Authorization": f"Bearer {issue_dev_token('ad-tw', 'national_admin', 'VGCL')}"}
    results: dict[str, list[float]] = {name: [] for name in QUERIES}
    lock = threading.Lock()

    def client() -> None:
        session = requests.Session()
        for _ in range(requests_each // clients):
            for name, (path, params) in QUERIES.items():
                started = time.perf_counter()
                answer = session.get(f"http://127.0.0.1:{PORT}{path}", params=params, headers=token, timeout=30)
                elapsed = (time.perf_counter() - started) * 1000
                answer.raise_for_status()
                with lock:
                    results[name].append(elapsed)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


LAUNCHER = (
    "import resource, subprocess, sys; rc = subprocess.call(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(rc)"
)


def export_peak(db: str, env: dict[str, str]) -> dict[str, float]:
    """Every initiative recognised, then the open-data export of all of them: peak RSS and time.

    A launcher process reads the export's own peak (RUSAGE_CHILDREN of a fresh parent).
    """
    conn = psycopg2.connect(normalize_url(db).replace("postgresql+psycopg2", "postgresql"))
    with conn, conn.cursor() as cur:
        cur.execute(
            "UPDATE facts SET recognized_at = coalesce(recognized_at, submitted_at + interval '30 days'), "
            "recognized_level = coalesce(recognized_level, 'grassroots'), withdrawn_at = NULL"
        )
    conn.close()
    target = ROOT / "var/bench/open-data.csv"
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            LAUNCHER,
            sys.executable,
            "-m",
            "awards.cli",
            "export",
            str(target),
            "--programme",
            "LDST2026",
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - started
    with target.open(encoding="utf-8-sig") as exported:
        rows = sum(1 for _ in exported) - 1
    return {
        "export_rows": rows,
        "export_seconds": round(seconds, 1),
        "export_peak_rss_mb": round(int(done.stdout.strip().splitlines()[-1]) / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--initiatives", type=int, default=2_000_000)
    parser.add_argument("--requests", type=int, default=400, help="requests per query kind")
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument(
        "--export",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="then recognise every initiative and time the open-data export of all of them",
    )
    args = parser.parse_args()

    db = recreate_database(ADMIN_URL, "sangkien_bench_awards")
    (ROOT / "var/bench").mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "AWARDS_DATABASE_URL": db, "WEB_SERVER_ADDRESS": f"127.0.0.1:{PORT}", "LOG_LEVEL": "WARNING",
           "PYTHONWARNINGS": "ignore::DeprecationWarning", "OUTBOX_RELAY": "off",
           "PLATFORM_MODE": "development"}  # fmt: skip
    subprocess.run([sys.executable, "-m", "alembic", "-c", "services/awards/alembic.ini", "upgrade", "head"],
                   env=env, cwd=ROOT, check=True, capture_output=True)  # fmt: skip
    print(f"loading {args.initiatives:,} initiatives ...", flush=True)
    loaded = load(db, args.initiatives)
    print(f"loaded in {loaded['copy_facts_s']:.0f} s, read models derived in {loaded['derive_read_models_s']:.0f} s")
    service = subprocess.Popen(
        [sys.executable, "-m", "chassis.run", "awards", "awards.service:AwardsService"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=(ROOT / "var/bench/awards.log").open("w"),
    )  # fmt: skip
    try:
        for _ in range(100):
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"http://127.0.0.1:{PORT}/readyz", timeout=1).status_code == 200:
                    break
            time.sleep(0.2)
        measure(len(QUERIES) * 2, 1)  # warm the pool and caches
        results = measure(args.requests, args.clients)
    finally:
        service.terminate()
        service.wait(timeout=30)
    scan = baseline_scan(db)
    figures: dict[str, object] = {"initiatives": args.initiatives, **{k: round(v, 1) for k, v in loaded.items()}}
    print()
    print(f"{'query (HTTP, ' + str(args.clients) + ' clients)':34} {'p50 ms':>8} {'p99 ms':>8} {'n':>6}")
    for name, times in results.items():
        p50, p99 = statistics.median(times), percentile(times, 99)
        figures[name] = {"p50_ms": round(p50, 2), "p99_ms": round(p99, 2), "n": len(times)}
        print(f"{name:34} {p50:8.2f} {p99:8.2f} {len(times):6}")
    national = figures["ranking national"]["p50_ms"]  # type: ignore[index]
    figures["baseline_scan_p50_ms"] = round(statistics.median(scan), 1)
    figures["ratio_scan_over_read_model"] = round(statistics.median(scan) / national, 1)
    print(f"{'baseline: group 2M initiatives (SQL only)':34} {statistics.median(scan):8.1f} {'':>8} {len(scan):6}")
    print(f"read model vs scan: {figures['ratio_scan_over_read_model']}x faster (national ranking p50)")
    if args.export:
        exported = export_peak(db, env)
        figures.update(exported)
        print(
            f"open-data export: {exported['export_rows']:,} rows in {exported['export_seconds']} s, "
            f"peak RSS {exported['export_peak_rss_mb']} MB"
        )
    (ROOT / "var/bench/awards.json").write_text(json.dumps(figures, indent=2))
    print("written to var/bench/awards.json")


if __name__ == "__main__":
    main()
