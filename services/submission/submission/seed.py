"""Loads the unit registry and programmes from the seed files (idempotent upserts).

New or changed units are announced with `unit.registered`, so re-running announces nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from submission import events
from submission.models import Cluster, Phase, Programme, Target, Unit

SEED_DIR = Path(__file__).parent / "seed"
SEED_ADMIN = "seed"


def _upsert(session: Session, model: type, key: Any, values: dict[str, Any]) -> tuple[Any, bool]:
    row = session.get(model, key)
    if row is None:
        row = model(**values)
        session.add(row)
        return row, True
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return row, changed


def load_units(session: Session, path: Path = SEED_DIR / "units.json") -> int:
    """Returns how many units were new or changed."""
    registry = json.loads(path.read_text(encoding="utf-8"))
    for cluster in registry["clusters"]:
        _upsert(session, Cluster, cluster["code"], cluster)
    session.flush()
    paths: dict[str, str] = {}
    changed_count = 0
    for item in registry["units"]:
        parent = item["parent"]
        paths[item["code"]] = (paths[parent] if parent else "/") + item["code"] + "/"
        values = {k: item[k] for k in ("code", "name", "level", "parent", "top", "cluster", "block")}
        values["path"] = paths[item["code"]]
        unit, changed = _upsert(session, Unit, item["code"], values)
        session.flush()
        if changed:
            events.unit_registered(session, unit)
            changed_count += 1
    return changed_count


def load_programmes(session: Session, path: Path = SEED_DIR / "programmes.json") -> int:
    data = json.loads(path.read_text(encoding="utf-8"))
    targets = 0
    for item in data["programmes"]:
        _upsert(
            session,
            Programme,
            item["code"],
            {
                "code": item["code"],
                "name": item["name"],
                "description": item.get("description", ""),
                "blocks": item.get("blocks", []),
            },
        )
        for phase in item["phases"]:
            _upsert(
                session,
                Phase,
                (item["code"], phase["code"]),
                {
                    "programme": item["code"],
                    "code": phase["code"],
                    "name": phase["name"],
                    "starts_on": date.fromisoformat(phase["starts_on"]),
                    "ends_on": date.fromisoformat(phase["ends_on"]),
                },
            )
        session.flush()
        for t in item.get("targets", []):
            key = (t["unit"], item["code"], t["phase"], t["block"])
            if session.get(Target, key) is not None:
                continue  # a unit admin may have changed it since; the seed never overrides
            target = Target(
                unit=t["unit"],
                programme=item["code"],
                phase=t["phase"],
                block=t["block"],
                target=t["target"],
                registered_by=SEED_ADMIN,
                registered_at=datetime.now(UTC),
            )
            session.add(target)
            session.flush()
            unit = session.get_one(Unit, t["unit"])
            events.target_registered(session, target, unit.top or unit.code)
            targets += 1
    return targets


def load_all(session: Session) -> dict[str, int]:
    return {"units": load_units(session), "targets": load_programmes(session)}
