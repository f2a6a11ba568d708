"""Read side of the review service: work queue, review file, councils, certificate checks."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chassis.auth import Principal
from chassis.errors import Forbidden, NotFound
from chassis.validation import FieldError, int_arg, validation_failed
from review import domain
from review.commands import current_verdict, step_of
from review.models import AuditEntry, Case, Certificate, CouncilMember, LevelReview, Scorecard, SimilarMatch
from review.rules import rules_for, warn_days

DEADLINE_STATES = ("ok", "approaching", "overdue")
SCOPES = ("mine", "subtree")
UNIT_CODE_PATTERN = r"[A-Z][A-Z0-9-]{0,63}"
# A council member is a reviewer, named by their token subject: "idp|council" is an OIDC subject.
MEMBER_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._@|:-]{0,127}"
UNIT_CODE = re.compile(UNIT_CODE_PATTERN)
MEMBER_ID = re.compile(MEMBER_ID_PATTERN)
CODE = re.compile(r"[A-Z][A-Z0-9]{0,31}-[A-Z0-9]{10}")


def _choice(args: Any, name: str, allowed: tuple[str, ...], default: str | None) -> str | None:
    value = args.get(name, default)
    if value is not None and value not in allowed:
        raise validation_failed(
            [FieldError(name, f"Must be one of: {', '.join(allowed)}.", f"Phải là một trong: {', '.join(allowed)}.")]
        )
    return value


def check_member_id(member_id: str) -> None:
    if not MEMBER_ID.fullmatch(member_id):
        raise validation_failed([FieldError("member_id", "Not a member id.", "Mã thành viên không hợp lệ.")])


def check_unit_code(unit: str) -> None:
    if not UNIT_CODE.fullmatch(unit):
        raise validation_failed([FieldError("unit", "Not a unit code.", "Mã đơn vị không hợp lệ.")])


def work_queue(session: Session, principal: Principal, args: Any, now: datetime) -> dict[str, Any]:
    """Items awaiting the caller's unit (`scope=mine`) or anywhere in its subtree, most urgent first."""
    principal.require(domain.READING_ROLES)
    scope = _choice(args, "scope", SCOPES, "mine")
    level = _choice(args, "level", domain.LEVELS, None)
    status = _choice(args, "status", (*domain.STATUSES, "open", "all"), "open")
    deadline = _choice(args, "deadline", DEADLINE_STATES, None)
    limit = int_arg(args, "limit", 50, 1, 200)
    offset = int_arg(args, "offset", 0, 0, 1_000_000)
    query = select(LevelReview, Case).join(Case, Case.initiative_id == LevelReview.initiative_id)
    if scope == "mine":
        query = query.where(LevelReview.unit == principal.unit)
    else:
        query = query.where(LevelReview.unit_path.contains(f"/{principal.unit}/"))
    if level:
        query = query.where(LevelReview.level == level)
    if status == "open":
        query = query.where(LevelReview.status.in_(domain.OPEN))
    elif status != "all":
        query = query.where(LevelReview.status == status)
    if deadline == "overdue":
        query = query.where(LevelReview.due_at < now)
    elif deadline == "approaching":
        query = query.where(LevelReview.due_at >= now, LevelReview.due_at <= now + timedelta(days=warn_days()))
    elif deadline == "ok":
        query = query.where(LevelReview.due_at > now + timedelta(days=warn_days()))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(LevelReview.due_at.is_(None), LevelReview.due_at, LevelReview.received_at, Case.initiative_id)
        .offset(offset)
        .limit(limit)
    ).all()
    flags = _similar_max(session, [case.initiative_id for _, case in rows])
    items = [
        {
            "initiative_id": case.initiative_id,
            "title": case.title,
            "programme": case.programme,
            "unit": case.unit,
            "top_unit": case.top_unit,
            "revision": review.revision,
            "level": review.level,
            "level_unit": review.unit,
            "status": review.status,
            "received_at": review.received_at,
            "due_at": review.due_at,
            "clock": review.clock,
            "deadline_state": domain.deadline_state(review.due_at, now, warn_days()),
            "similar_max": flags.get(case.initiative_id),
        }
        for review, case in rows
    ]
    more = offset + limit < total
    return {"items": items, "total": total, "next_offset": offset + limit if more else None}


def _similar_max(session: Session, ids: list[str]) -> dict[str, float]:
    if not ids:
        return {}
    rows = session.execute(
        select(SimilarMatch.initiative_id, func.max(SimilarMatch.score))
        .where(SimilarMatch.initiative_id.in_(ids))
        .group_by(SimilarMatch.initiative_id)
    )
    return dict(rows.tuples().all())


def review_file(session: Session, principal: Principal, initiative_id: str, now: datetime) -> dict[str, Any]:
    """Everything a reviewer needs: content, levels, scores, similar initiatives, audit trail."""
    case = session.get(Case, initiative_id)
    if case is None or not case.has_content:
        raise NotFound("No such initiative under review here.", "Không tìm thấy sáng kiến đang được xét.")
    domain.check_reader(principal, case.path_codes)
    current = case.current
    verdict, actions, blocked = None, [], None
    scorecards = list(
        session.scalars(select(Scorecard).where(Scorecard.initiative_id == initiative_id).order_by(Scorecard.id))
    )
    if current is not None:
        cast = [s for s in scorecards if s.level == current.level and s.revision == current.revision]
        result, size = current_verdict(session, case, current, cast)
        rules = rules_for(case.programme, current.level)
        refusal = domain.recognition_refusal(result, size)
        blocked = {"en": refusal.message_en, "vi": refusal.message_vi} if refusal else None
        actions = _actions(session, principal, case, current, rules, cast, refusal is not None)
        verdict = {
            "decision_rule": result.rule,
            "scorers": result.scorers,
            "needed": result.needed,
            "council_size": size,
            **result.criteria,
            "total": result.total,
            "pass_mark": result.pass_mark,
            "passed": result.passed,
            "weights": rules.weights,
        }
    steps = [
        {
            **{k: getattr(s, k) for k in _STEP_FIELDS},
            "deadline_state": domain.deadline_state(s.due_at, now, warn_days()),
        }
        for s in case.steps
    ]
    return {
        **{k: getattr(case, k) for k in _CASE_FIELDS},
        "steps": steps,
        "verdict": verdict,
        "actions": actions,
        "recognition_blocked": blocked,
        "scorecards": scorecards,
        "similar": _similar(session, principal, case),
        "certificates": list(
            session.scalars(
                select(Certificate).where(Certificate.initiative_id == initiative_id).order_by(Certificate.issued_at)
            )
        ),
        "audit": list(
            session.scalars(select(AuditEntry).where(AuditEntry.initiative_id == initiative_id).order_by(AuditEntry.id))
        ),
    }


def _actions(
    session: Session,
    principal: Principal,
    case: Case,
    current: LevelReview,
    rules: Any,
    cast: list[Scorecard],
    recognition_blocked: bool,
) -> list[str]:
    """The actions the caller may take on the current level now (the API still checks each);
    `cast`: the current level's scorecards."""
    try:
        domain.check_actor(principal, case.path_codes, step_of(current))
        may_act = not case.withdrawn
    except Forbidden:
        may_act = False
    if rules.by_council:
        may_score = session.get(CouncilMember, (current.unit, principal.sub)) is not None
        may_score = may_score and all(s.reviewer != principal.sub for s in cast)
    else:
        may_score = not cast
    return domain.available_actions(
        current.status,
        may_act=may_act,
        may_score=may_score,
        recognition_blocked=recognition_blocked,
        has_next_level=domain.next_step(domain.review_chain(case.path_codes), current.level) is not None,
    )


_CASE_FIELDS = (
    "initiative_id",
    "revision",
    "withdrawn",
    "programme",
    "phase",
    "unit",
    "top_unit",
    "title",
    "field",
    "target_group",
    "confidential",
    "content",
    "benefit_vnd_per_year",
    "authors",
    "submitted_at",
    "level",
)
_STEP_FIELDS = (
    "level",
    "unit",
    "status",
    "revision",
    "received_at",
    "accepted_at",
    "decided_at",
    "due_at",
    "clock",
    "missed_at",
    "honour",
    "reason",
    "certificate_number",
)


def _similar(session: Session, principal: Principal, case: Case) -> list[dict[str, Any]]:
    """Earlier similar initiatives inside the subtree of the level now reviewing (novelty is local)."""
    current = case.current
    within = current.unit_path if current is not None else case.unit_path
    rows = session.execute(
        select(SimilarMatch.score, Case)
        .join(Case, Case.initiative_id == SimilarMatch.other_id)
        .where(SimilarMatch.initiative_id == case.initiative_id, Case.unit_path.startswith(within))
        .order_by(SimilarMatch.score.desc())
    ).all()
    return [
        {
            "initiative_id": other.initiative_id,
            "title": other.title,
            "unit": other.unit,
            "score": score,
            "submitted_at": other.submitted_at,
        }
        for score, other in rows
        if principal.in_scope(other.path_codes)
    ]


def council(session: Session, principal: Principal, unit: str) -> dict[str, Any]:
    check_unit_code(unit)
    principal.require(domain.READING_ROLES)
    domain.check_council_reader(principal, unit)
    members = session.scalars(
        select(CouncilMember).where(CouncilMember.unit == unit).order_by(CouncilMember.role, CouncilMember.member_id)
    )
    return {"unit": unit, "items": list(members)}


def verify_certificate(session: Session, code: str) -> dict[str, Any]:
    """Public: anyone holding a certificate can check it is genuine."""
    certificate = session.scalar(select(Certificate).where(Certificate.verification_code == code.upper()))
    if certificate is None or not CODE.fullmatch(code.upper()):
        raise NotFound("No certificate has this verification code.", "Không có giấy chứng nhận nào mang mã này.")
    return {"valid": True, **{k: getattr(certificate, k) for k in _CERTIFICATE_FIELDS}}


_CERTIFICATE_FIELDS = ("number", "verification_code", "title", "level", "issued_by", "top_unit", "issued_at")


def open_counts(session: Session, now: datetime) -> list[tuple[str, str, str, int]]:
    """(top unit, level, deadline state, count) of open reviews, for the backlog gauge."""
    warn = now + timedelta(days=warn_days())
    rows = session.execute(
        select(Case.top_unit, LevelReview.level, LevelReview.due_at < now, LevelReview.due_at <= warn, func.count())
        .join(Case, Case.initiative_id == LevelReview.initiative_id)
        .where(LevelReview.status.in_(domain.OPEN))
        .group_by(Case.top_unit, LevelReview.level, LevelReview.due_at < now, LevelReview.due_at <= warn)
    ).all()
    counts: dict[tuple[str, str, str], int] = {}
    for top, level, overdue, approaching, n in rows:
        key = (top, level, "overdue" if overdue else "approaching" if approaching else "ok")
        counts[key] = counts.get(key, 0) + n
    return [(*k, v) for k, v in sorted(counts.items())]
