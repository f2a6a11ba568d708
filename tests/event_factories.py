"""Contract-valid events as other services publish them, for consumers' tests."""

from __future__ import annotations

import json
import uuid
from typing import Any

from chassis.envelope import new_event
from submission.seed import SEED_DIR

UNITS = {u["code"]: u for u in json.loads((SEED_DIR / "units.json").read_text(encoding="utf-8"))["units"]}


def unit_path(code: str) -> list[str]:
    path = [code]
    while UNITS[path[0]]["parent"]:
        path.insert(0, UNITS[path[0]]["parent"])
    return path


def _event(event_type: str, data: dict[str, Any], subject: str, top: str, source: str = "/vgcl/submission") -> dict:
    return new_event(event_type, data, source=source, subject=subject, unit=top)


def submitted(unit: str, revision: int = 1, initiative_id: str | None = None, **changes: Any) -> dict[str, Any]:
    initiative_id = initiative_id or str(uuid.uuid4())
    path = unit_path(unit)
    data = {
        "initiative_id": initiative_id,
        "revision": revision,
        "programme": "LDST2026",
        "phase": "P1",
        "unit": unit,
        "unit_path": path,
        "top_unit": path[1],
        "block": UNITS[unit]["block"],
        "title": "Sáng kiến thử nghiệm",
        "field": "production_business",
        "target_group": 5,
        "confidential": False,
        "problem": "Vấn đề",
        "solution": "Giải pháp",
        "novelty": "Điểm mới",
        "scope": "Phạm vi",
        "first_applied_on": "2026-03-01",
        "benefit_vnd_per_year": 50_000_000,
        "benefit_description": "Tiết kiệm",
        "authors": [{"member_id": "dv-an", "share_percent": 100.0}],
        "submitted_by": {"member_id": "dv-an", "role": "member"},
        "on_behalf": False,
        "submitted_at": "2026-04-10T03:00:00Z",
        **changes,
    }
    event_type = "initiative.submitted" if revision == 1 else "initiative.resubmitted"
    return _event(event_type, data, initiative_id, path[1])


def withdrawn(of: dict[str, Any], at: str = "2026-05-01T04:00:00Z") -> dict[str, Any]:
    d = of["data"]
    data = {
        "initiative_id": d["initiative_id"],
        "unit": d["unit"],
        "top_unit": d["top_unit"],
        "programme": d["programme"],
        "withdrawn_by": {"member_id": "dv-an", "role": "member"},
        "reason": "Rút để hoàn thiện",
        "withdrawn_at": at,
    }
    return _event("initiative.withdrawn", data, d["initiative_id"], d["top_unit"])


def recognized(of: dict[str, Any], level: str = "grassroots", at: str = "2026-06-15T02:00:00Z") -> dict[str, Any]:
    d = of["data"]
    level_unit = {"grassroots": d["unit"], "top": d["top_unit"], "national": "VGCL"}.get(level, d["unit_path"][2])
    data = {
        "initiative_id": d["initiative_id"],
        "revision": d["revision"],
        "unit": d["unit"],
        "top_unit": d["top_unit"],
        "programme": d["programme"],
        "phase": d["phase"],
        "block": d["block"],
        "field": d["field"],
        "target_group": d["target_group"],
        "title": d["title"],
        "confidential": d["confidential"],
        "level": level,
        "level_unit": level_unit,
        "certificate_number": f"{level_unit}-2026-000001",
        "verification_code": f"{d['top_unit']}-ABCDEFGHJK",
        "scores": {
            "decision_rule": "single",
            "scorers": 1,
            "novelty": 8.0,
            "applicability": 8.0,
            "benefit": 8.0,
            "total": 8.0,
            "pass_mark": 6.0,
            "passed": True,
        },
        "benefit_vnd_per_year": d["benefit_vnd_per_year"],
        "authors": d["authors"],
        "recognized_by": "rv-1",
        "recognized_at": at,
    }
    return _event("initiative.recognized", data, d["initiative_id"], d["top_unit"], "/vgcl/review")


def unit_registered(code: str, **changes: Any) -> dict[str, Any]:
    u = UNITS[code]
    path = unit_path(code)
    data = {
        "code": code,
        "name": u["name"],
        "level": u["level"],
        "parent": u["parent"],
        "top": u["top"],
        "cluster": u["cluster"],
        "block": u["block"],
        "path": path,
        **changes,
    }
    return _event("unit.registered", data, code, u["top"] or code)


def target_registered(unit: str, target: int, phase: str = "P1", block: str = "enterprise") -> dict[str, Any]:
    top = unit_path(unit)[1] if unit != "VGCL" else "VGCL"
    data = {
        "unit": unit,
        "top_unit": top,
        "programme": "LDST2026",
        "phase": phase,
        "block": block,
        "target": target,
        "registered_by": "ad-1",
        "registered_at": "2026-01-05T01:00:00Z",
    }
    return _event("target.registered", data, f"{unit}/LDST2026/{phase}/{block}", top)


def routing_key(event: dict[str, Any]) -> str:
    return f"{event['type']}.{event['unit']}"
