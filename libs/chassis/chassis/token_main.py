"""`python -m chassis.token_main ROLE UNIT [SUB]`: print a development bearer token."""

from __future__ import annotations

import argparse

from chassis.auth import ROLES, issue_dev_token


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("role", choices=ROLES)
    parser.add_argument("unit", help="unit code, e.g. HN or HN-CG-C001")
    parser.add_argument("sub", nargs="?", default="", help="member id (default: dev-<role>)")
    args = parser.parse_args(argv)
    sub = args.sub or f"dev-{args.role}"
    print(f"# role={args.role} unit={args.unit} sub={sub}; use as: Authorization: Bearer <token>")
    print(issue_dev_token(sub, args.role, args.unit))


if __name__ == "__main__":
    main()
