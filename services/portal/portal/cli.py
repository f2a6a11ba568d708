"""`python -m portal.cli`: grant roles, register machine clients, load the demo's people.

The first national admin of a new installation is granted here; after that, admins grant
roles in the portal.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from chassis.config import database_url
from chassis.db import make_engine
from portal import SERVICE, machine
from portal.models import Grant, Person
from portal.upstreams import Upstreams

SEED = Path(__file__).resolve().parent / "seed" / "demo.json"


def _unit_path(unit: str) -> str:
    found = Upstreams().unit(unit)
    if found is None:
        raise SystemExit(f"unit {unit!r} is not in the registry")
    return found["path"]


def grant(session, person: str, role: str, unit: str, member_id: str | None, name: str = "") -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    if session.get(Person, person) is None:
        session.add(Person(id=person, name=name, email=None, created_at=now, last_login_at=now))
        session.flush()
    exists = session.query(Grant).filter_by(person=person, role=role, unit=unit, revoked_at=None).first()
    if exists is None:
        session.add(
            Grant(
                person=person,
                role=role,
                unit=unit,
                unit_path=_unit_path(unit),
                member_id=member_id,
                granted_by="cli",
                granted_at=now,
            )
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    g = commands.add_parser("grant", help="give a person a role in a unit")
    g.add_argument("--person", required=True, help="the provider's subject of the person")
    g.add_argument("--role", required=True)
    g.add_argument("--unit", required=True)
    g.add_argument("--member-id")
    g.add_argument("--name", default="")
    c = commands.add_parser("client", help="register a machine client (client-credentials grant); prints its secret")
    c.add_argument("--id", required=True)
    c.add_argument("--name", required=True)
    c.add_argument("--role", required=True)
    c.add_argument("--unit", required=True)
    c.add_argument("--secret", help="a given secret (development); default a new random one")
    commands.add_parser("demo", help="the demo's people, grants and client (make run)")
    args = parser.parse_args(argv)

    engine = make_engine(database_url(SERVICE))
    with sessionmaker(bind=engine).begin() as session:
        if args.command == "grant":
            grant(session, args.person, args.role, args.unit, args.member_id, args.name)
            print(f"granted {args.role} in {args.unit} to {args.person}")
        elif args.command == "client":
            secret = machine.register(session, args.id, args.name, args.role, args.unit, args.secret)
            print(f"client_id={args.id}\nclient_secret={secret}")
        else:
            demo = json.loads(SEED.read_text(encoding="utf-8"))
            for person in demo["grants"]:
                grant(
                    session, person["person"], person["role"], person["unit"], person.get("member_id"), person["name"]
                )
            for client in demo["clients"]:
                machine.register(
                    session, client["id"], client["name"], client["role"], client["unit"], client["secret"]
                )
            print(f"demo: {len(demo['grants'])} grants, {len(demo['clients'])} clients")
    engine.dispose()


if __name__ == "__main__":
    main()
