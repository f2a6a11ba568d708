"""Operator commands of the awards service.

python -m awards.cli export FILE [--programme LDST2026]          # open data, streamed, with progress
python -m awards.cli report HN 2026-H1 --programme LDST2026 --format xlsx --out hn-2026-h1.xlsx
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tqdm import tqdm

from awards import SERVICE, export
from chassis.config import database_url
from chassis.db import make_engine
from chassis.errors import NotFound


def _engine() -> Engine:
    return make_engine(database_url(SERVICE), pool_size=2)


def cmd_export(args: argparse.Namespace) -> int:
    engine = _engine()
    target = Path(args.file)
    partial = target.with_name(target.name + ".part")  # a reader never sees half a file under the real name
    total = export.count(engine, args.programme)
    with partial.open("wb") as out, tqdm(total=total, desc=f"export {target.name}", unit=" rows") as bar:
        written = export.write(engine, args.programme, out, progress=bar.update)
    os.replace(partial, target)
    engine.dispose()
    print(json.dumps({"file": str(target), "rows": written, "programme": args.programme}, ensure_ascii=False))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from awards import params, report_render, reports, schemas
    from awards.commands import now_utc
    from awards.rules import load

    if load(args.programme) is None:
        print(f"error: no such programme {args.programme!r}", file=sys.stderr)
        return 2
    if not params.REPORT_PERIOD.fullmatch(args.period):
        print(f"error: {args.period!r} is not a period (2026-H1, 2026-H2 or 2026)", file=sys.stderr)
        return 2
    engine = _engine()
    try:
        with Session(engine) as session:
            body = reports.build(session, args.unit, args.programme, args.period, now_utc())
    except NotFound:
        print(f"error: no such unit {args.unit!r}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    if args.format == "json":
        data = json.dumps(schemas.ReportOut().dump(body), ensure_ascii=False, indent=1).encode("utf-8")
    else:
        data = report_render.to_csv(body) if args.format == "csv" else report_render.to_xlsx(body)
    Path(args.out).write_bytes(data)
    print(f"report written to {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="awards.cli", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    exp = sub.add_parser("export", help="open data: recognised, non-confidential initiatives as CSV")
    exp.add_argument("file")
    exp.add_argument("--programme", help="only this programme's initiatives")
    exp.set_defaults(func=cmd_export)
    rep = sub.add_parser("report", help="a unit's six-month or annual report")
    rep.add_argument("unit", help="unit code, e.g. HN")
    rep.add_argument("period", help="2026-H1, 2026-H2 or 2026")
    rep.add_argument("--programme", required=True)
    rep.add_argument("--format", choices=("json", "csv", "xlsx"), default="json")
    rep.add_argument("--out", required=True, help="file to write")
    rep.set_defaults(func=cmd_report)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
