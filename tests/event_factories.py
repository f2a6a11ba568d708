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


def level_unit(of: dict[str, Any], level: str) -> str:
    """The unit reviewing an initiative at a level: its grassroots unit, the upper unit, its top unit, VGCL."""
    d = of["data"]
    return {"grassroots": d["unit"], "top": d["top_unit"], "national": "VGCL"}.get(level, d["unit_path"][2])


def _review(event_type: str, of: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    d = of["data"]
    return _event(event_type, data, d["initiative_id"], d["top_unit"], "/vgcl/review")


def _reviewed(of: dict[str, Any]) -> dict[str, Any]:
    d = of["data"]
    return {
        "initiative_id": d["initiative_id"],
        "revision": d["revision"],
        "unit": d["unit"],
        "top_unit": d["top_unit"],
    }


def review_started(
    of: dict[str, Any],
    level: str = "grassroots",
    accepted_at: str = "2026-04-15T02:00:00Z",
    decision_due_at: str = "2026-07-15T02:00:00Z",
) -> dict[str, Any]:
    data = {
        **_reviewed(of),
        "programme": of["data"]["programme"],
        "level": level,
        "level_unit": level_unit(of, level),
        "accepted_by": "rv-1",
        "accepted_at": accepted_at,
        "decision_due_at": decision_due_at,
    }
    return _review("review.started", of, data)


def scored(
    of: dict[str, Any],
    level: str = "grassroots",
    total: float = 8.0,
    passed: bool = True,
    at: str = "2026-04-18T02:00:00Z",
) -> dict[str, Any]:
    data = {
        **_reviewed(of),
        "programme": of["data"]["programme"],
        "level": level,
        "level_unit": level_unit(of, level),
        "scores": {
            "decision_rule": "single",
            "scorers": 1,
            "novelty": total,
            "applicability": total,
            "benefit": total,
            "total": total,
            "pass_mark": 6.0,
            "passed": passed,
        },
        "scored_at": at,
    }
    return _review("initiative.scored", of, data)


def returned(
    of: dict[str, Any],
    level: str = "grassroots",
    reason: str = "Bổ sung số liệu hiệu quả kinh tế",
    at: str = "2026-04-20T02:00:00Z",
) -> dict[str, Any]:
    d = of["data"]
    data = {
        "initiative_id": d["initiative_id"],
        "unit": d["unit"],
        "top_unit": d["top_unit"],
        "level": level,
        "reason": reason,
        "returned_by": "rv-1",
        "returned_at": at,
    }
    return _review("initiative.returned", of, data)


def rejected(
    of: dict[str, Any],
    level: str = "grassroots",
    reason: str = "Giải pháp chưa có tính mới",
    at: str = "2026-06-15T02:00:00Z",
) -> dict[str, Any]:
    data = {
        **_reviewed(of),
        "programme": of["data"]["programme"],
        "level": level,
        "level_unit": level_unit(of, level),
        "reason": reason,
        "rejected_by": "rv-1",
        "rejected_at": at,
    }
    return _review("initiative.rejected", of, data)


def nominated(
    of: dict[str, Any],
    from_level: str = "grassroots",
    to_level: str = "top",
    honour: str = "exemplary",
    at: str = "2026-06-20T02:00:00Z",
) -> dict[str, Any]:
    data = {
        **_reviewed(of),
        "programme": of["data"]["programme"],
        "from_level": from_level,
        "from_unit": level_unit(of, from_level),
        "to_level": to_level,
        "to_unit": level_unit(of, to_level),
        "honour": honour,
        "reason": "Hiệu quả cao, áp dụng rộng",
        "nominated_by": "rv-1",
        "nominated_at": at,
    }
    return _review("initiative.nominated", of, data)


def deadline_missed(
    of: dict[str, Any],
    level: str = "grassroots",
    clock: str = "decision",
    due_at: str = "2026-07-15T02:00:00Z",
    detected_at: str = "2026-07-15T03:00:00Z",
    escalate_to: str | None = None,
) -> dict[str, Any]:
    d = of["data"]
    data = {
        "initiative_id": d["initiative_id"],
        "unit": d["unit"],
        "top_unit": d["top_unit"],
        "programme": d["programme"],
        "level": level,
        "level_unit": level_unit(of, level),
        "clock": clock,
        "due_at": due_at,
        "detected_at": detected_at,
        "escalate_to": {"role": "unit_admin", "unit": escalate_to or level_unit(of, level)},
    }
    return _review("review.deadline_missed", of, data)


def award_granted(
    unit: str,
    member_id: str | None = None,
    kind: str = "bonus",
    amount_vnd: int | None = 2_000_000,
    initiative_id: str | None = None,
    period: str | None = "2026",
    reason: str = "Hoàn thành xuất sắc chỉ tiêu sáng kiến năm 2026",
    granted_at: str = "2026-12-20T02:00:00Z",
) -> dict[str, Any]:
    """An individual award when `member_id` is given, else a collective one for the unit."""
    path = unit_path(unit)
    top = path[1] if len(path) > 1 else path[0]
    certificate = kind == "certificate_of_merit"
    data = {
        "award_id": str(uuid.uuid4()),
        "programme": "LDST2026",
        "rule_id": "top-units",
        "rule_version": "1",
        "kind": kind,
        "recipient": {"type": "individual" if member_id else "collective", "unit": unit, "member_id": member_id},
        "top_unit": top,
        "initiative_id": initiative_id if member_id else None,
        "period": period,
        "amount_vnd": amount_vnd,
        "certificate_number": f"{top}-2026-BK-0042" if certificate else None,
        "verification_code": f"{top}-4R8T2W6Y9Q" if certificate else None,
        "reason": reason,
        "granted_at": granted_at,
    }
    return _event("award.granted", data, data["award_id"], top, "/vgcl/awards")


def remuneration_due(
    of: dict[str, Any],
    payees: list[tuple[str | None, str, float, int]] | None = None,
    installment: int = 1,
    installments: int = 3,
    due_on: str = "2027-06-15",
    announced_at: str = "2027-06-01T01:00:00Z",
) -> dict[str, Any]:
    """`payees`: (member_id, role, share_percent, amount_vnd); default the authors by share of 8,400,000."""
    d = of["data"]
    if payees is None:
        payees = [
            (a["member_id"], "author", a["share_percent"], round(8_400_000 * a["share_percent"] / 100))
            for a in d["authors"]
        ]
    data = {
        "remuneration_id": str(uuid.uuid4()),
        "initiative_id": d["initiative_id"],
        "programme": d["programme"],
        "unit": d["unit"],
        "top_unit": d["top_unit"],
        "installment": installment,
        "installments": installments,
        "due_on": due_on,
        "total_vnd": sum(p[3] for p in payees),
        "payees": [{"member_id": m, "role": r, "share_percent": s, "amount_vnd": a} for m, r, s, a in payees],
        "announced_at": announced_at,
    }
    return _event("remuneration.due", data, data["remuneration_id"], d["top_unit"], "/vgcl/awards")


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
