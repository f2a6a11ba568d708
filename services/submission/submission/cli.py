"""Operator commands of the submission service.

python -m submission.cli seed                      # load units and programmes (idempotent)
python -m submission.cli import FILE --unit HN-KL --member tho-ht-01   # bulk import
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker
from tqdm import tqdm

from chassis.auth import Principal
from chassis.config import database_url
from chassis.db import make_engine
from submission import SERVICE, bulk, seed


def _sessions() -> sessionmaker[Session]:
    return sessionmaker(bind=make_engine(database_url(SERVICE), pool_size=2), expire_on_commit=False)


def cmd_seed(_: argparse.Namespace) -> int:
    factory = _sessions()
    with factory.begin() as session:
        counts = seed.load_all(session)
    print(f"seeded: {counts['units']} units new or changed, {counts['targets']} targets new")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    factory = _sessions()

    @contextmanager
    def transaction() -> Iterator[Session]:
        with factory.begin() as session:
            yield session

    path = Path(args.file)
    principal = Principal(sub=args.member, role="support_team", unit=args.unit)
    with path.open("rb") as stream, tqdm(desc=f"import {path.name}", unit=" rows") as bar:
        rows = bulk.rows_of(stream, path.name, "")
        result = bulk.import_rows(transaction, principal, rows, batch_size=args.batch, progress=bar.update)
    summary = {k: v for k, v in result.as_dict().items() if k != "rejected_rows"}
    print(json.dumps(summary, ensure_ascii=False))
    if result.rejected_rows and args.errors:
        Path(args.errors).write_text(json.dumps(result.rejected_rows, ensure_ascii=False, indent=1))
        print(f"rejected rows written to {args.errors}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="submission.cli", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("seed", help="load the unit registry and programmes").set_defaults(func=cmd_seed)
    imp = sub.add_parser("import", help="bulk import a CSV or XLSX file of initiatives")
    imp.add_argument("file")
    imp.add_argument("--unit", required=True, help="the support team's unit (scope of the import)")
    imp.add_argument("--member", required=True, help="member id of the support-team member importing")
    imp.add_argument("--batch", type=int, default=500, help="rows per transaction")
    imp.add_argument("--errors", help="write rejected rows with their field errors to this JSON file")
    imp.set_defaults(func=cmd_import)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
