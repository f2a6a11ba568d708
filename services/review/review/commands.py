"""Reviewers' and admins' use cases that change review state; each runs inside the caller's transaction.

The submission service's events are taken in by `review.intake`, a batch at a time.

Every change locks the case row first, so concurrent actions on one initiative are serialised
and the checks below (state, one vote per reviewer) cannot race.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chassis.auth import Principal
from chassis.calendar import local_day
from chassis.certificates import next_in_series, verification_code
from chassis.errors import Conflict, Forbidden, NotFound
from chassis.validation import load
from review import domain, events, levels
from review.domain import Step
from review.models import (
    AuditEntry,
    Case,
    Certificate,
    CertificateSeries,
    CouncilMember,
    LevelReview,
    Scorecard,
)
from review.rules import rules_for
from review.schemas import CouncilMemberIn, DecisionIn, NominateIn, NoteIn, ReasonIn, ScoreIn

NOTE_IN, REASON_IN, SCORE_IN = NoteIn(), ReasonIn(), ScoreIn()
DECISION_IN, NOMINATE_IN, COUNCIL_MEMBER_IN = DecisionIn(), NominateIn(), CouncilMemberIn()
SYSTEM = "system"


def now_utc() -> datetime:
    return datetime.now(UTC)


def audit(
    session: Session,
    case_id: str | None,
    level: str | None,
    actor: str,
    role: str,
    action: str,
    at: datetime,
    reason: str | None = None,
    **details: Any,
) -> None:
    session.add(
        AuditEntry(
            initiative_id=case_id,
            level=level,
            actor=actor,
            role=role,
            action=action,
            reason=reason,
            details=details,
            at=at,
        )
    )


def acted(
    session: Session,
    case: Case,
    review: LevelReview,
    principal: Principal,
    action: str,
    at: datetime,
    reason: str | None = None,
    **details: Any,
) -> None:
    """A reviewer's action on the case's current level, in the trail."""
    audit(session, case.initiative_id, review.level, principal.sub, principal.role, action, at, reason, **details)


def step_of(review: LevelReview) -> Step:
    return Step(review.level, review.unit, review.unit_path)


def _open_step(case: Case, step: Step, position: int, now: datetime) -> LevelReview:
    return LevelReview(**levels.opened(case.initiative_id, case.programme, case.revision, step, position, now))


# --- Reviewers' actions ---------------------------------------------------------------------


def _case(session: Session, principal: Principal, initiative_id: str) -> Case:
    case = session.get(Case, initiative_id, with_for_update=True)
    if case is None or not case.has_content:
        raise NotFound("No such initiative under review here.", "Không tìm thấy sáng kiến đang được xét.")
    domain.check_reader(principal, case.path_codes)
    return case


def _acting(session: Session, principal: Principal, initiative_id: str, action: str) -> tuple[Case, LevelReview, str]:
    """The case, its current level and the level's status after `action` by the workflow table,
    once the caller may act on it and the action is in order."""
    case = _case(session, principal, initiative_id)
    review = case.current
    if review is None:
        raise NotFound("No such initiative under review here.", "Không tìm thấy sáng kiến đang được xét.")
    domain.check_actor(principal, case.path_codes, step_of(review))
    if case.withdrawn:
        domain.transition(domain.WITHDRAWN, action)
    return case, review, domain.transition(review.status, action)


def accept(session: Session, principal: Principal, initiative_id: str, payload: Any, now: datetime) -> Case:
    data = load(NOTE_IN, payload)
    case, review, after = _acting(session, principal, initiative_id, "accept")
    review.status = after
    review.accepted_at = now
    review.due_at = domain.decision_due(now, rules_for(case.programme, review.level))
    review.clock = "decision"
    review.missed_at = None
    acted(session, case, review, principal, "accept", now, data["note"] or None)
    events.review_started(session, case, review, principal.sub)
    return case


def request_corrections(
    session: Session, principal: Principal, initiative_id: str, payload: Any, now: datetime
) -> Case:
    data = load(REASON_IN, payload)
    case, review, after = _acting(session, principal, initiative_id, "request_corrections")
    review.status = after
    review.reason = data["reason"]
    review.due_at = review.clock = None
    acted(
        session,
        case,
        review,
        principal,
        "request_corrections",
        now,
        data["reason"],
    )
    events.initiative_returned(session, case, review, principal.sub, now)
    return case


def council_size(session: Session, unit: str) -> int:
    return session.scalar(select(func.count()).select_from(CouncilMember).where(CouncilMember.unit == unit)) or 0


def scorecards(session: Session, review: LevelReview) -> list[Scorecard]:
    return list(
        session.scalars(
            select(Scorecard)
            .where(
                Scorecard.initiative_id == review.initiative_id,
                Scorecard.level == review.level,
                Scorecard.revision == review.revision,
            )
            .order_by(Scorecard.id)
        )
    )


def score(session: Session, principal: Principal, initiative_id: str, payload: Any, now: datetime) -> Case:
    data = load(SCORE_IN, payload)
    case, review, after = _acting(session, principal, initiative_id, "score")
    review.status = after
    rules = rules_for(case.programme, review.level)
    if rules.by_council and session.get(CouncilMember, (review.unit, principal.sub)) is None:
        raise Forbidden(
            f"At this level the council of {review.unit} scores; you are not a member.",
            f"Ở cấp này hội đồng sáng kiến của {review.unit} chấm điểm; bạn không phải thành viên.",
        )
    cast = scorecards(session, review)
    if any(s.reviewer == principal.sub for s in cast):
        raise Conflict("You have already scored this initiative.", "Bạn đã chấm điểm sáng kiến này.", code="voted")
    if not rules.by_council and cast:
        raise Conflict(
            f"This level is scored by one reviewer, and {cast[0].reviewer} has scored it.",
            f"Cấp này do một người chấm và {cast[0].reviewer} đã chấm điểm.",
            code="voted",
        )
    criteria = {c: data[c] for c in domain.CRITERIA}
    session.add(
        Scorecard(
            initiative_id=case.initiative_id,
            level=review.level,
            revision=review.revision,
            reviewer=principal.sub,
            total=domain.weighted_total(criteria, rules.weights),
            comment=data["comment"],
            scored_at=now,
            **criteria,
        )
    )
    acted(session, case, review, principal, "score", now, **criteria)
    if domain.scoring_final(rules.decision_rule, "scored", len(cast) + 1):
        result, _ = current_verdict(session, case, review)
        events.initiative_scored(session, case, review, result, now)
    return case


def current_verdict(
    session: Session, case: Case, review: LevelReview, cast: list[Scorecard] | None = None
) -> tuple[domain.Verdict, int]:
    """The level's verdict; `cast`: its scorecards when the caller has them already."""
    rules = rules_for(case.programme, review.level)
    size = council_size(session, review.unit) if rules.by_council else 0
    cast = scorecards(session, review) if cast is None else cast
    cards = [{c: getattr(s, c) for c in domain.CRITERIA} for s in cast]
    return domain.verdict(rules, cards, size), size


def decide(session: Session, principal: Principal, initiative_id: str, payload: Any, now: datetime) -> Case:
    data = load(DECISION_IN, payload)
    decision = data["decision"]
    case, review, after = _acting(session, principal, initiative_id, decision)
    review.decided_at = now
    review.due_at = review.clock = None
    review.reason = data["reason"]
    result, size = current_verdict(session, case, review)
    if decision == "recognize":
        refusal = domain.recognition_refusal(result, size)
        if refusal is not None:
            raise refusal
    if domain.scoring_final(result.rule, "decided", result.scorers):
        events.initiative_scored(session, case, review, result, now)  # a council's result, before the decision
    review.status = after
    if decision == "recognize":
        certificate = _issue_certificate(session, case, review, now)
        review.certificate_number = certificate.number
        events.initiative_recognized(session, case, review, certificate, result, principal.sub)
    elif decision == "reject":
        events.initiative_rejected(session, case, review, principal.sub)
    else:
        events.initiative_returned(session, case, review, principal.sub, now)
    acted(
        session,
        case,
        review,
        principal,
        decision,
        now,
        data["reason"],
        certificate=review.certificate_number,
    )
    return case


def _issue_certificate(session: Session, case: Case, review: LevelReview, now: datetime) -> Certificate:
    """Numbers run per issuing unit and year; the national series is kept per top unit.

    Each deployment holds its own top units' rows only, so the national register is split by
    top unit (VGCL-HN-2026-000001) and two deployments never issue the same number.
    """
    issuer = f"{review.unit}-{case.top_unit}" if review.level == "national" else review.unit
    prefix = f"{issuer}-{local_day(now).year}"
    certificate = Certificate(
        number=f"{prefix}-{next_in_series(session, CertificateSeries, prefix):06d}",
        verification_code=verification_code(case.top_unit),
        initiative_id=case.initiative_id,
        revision=case.revision,
        level=review.level,
        issued_by=review.unit,
        top_unit=case.top_unit,
        title=case.title,
        issued_at=now,
    )
    session.add(certificate)
    return certificate


def nominate(session: Session, principal: Principal, initiative_id: str, payload: Any, now: datetime) -> Case:
    data = load(NOMINATE_IN, payload)
    case, review, after = _acting(session, principal, initiative_id, "nominate")
    following = domain.next_step(domain.review_chain(case.path_codes), review.level)
    if following is None:
        raise Conflict(
            "The national level is the highest; there is no level to nominate to.",
            "Cấp Tổng Liên đoàn là cấp cao nhất, không còn cấp trên để đề nghị.",
            code="action_out_of_order",
        )
    review.status = after
    review.honour = data["honour"]
    review.reason = data["reason"]
    upper = _open_step(case, following, review.position + 1, now)
    session.add(upper)
    case.level = following.level
    case.updated_at = now
    session.flush()
    acted(
        session,
        case,
        review,
        principal,
        "nominate",
        now,
        data["reason"] or None,
        honour=data["honour"],
        to_level=following.level,
        to_unit=following.unit,
    )
    events.initiative_nominated(session, case, review, upper, principal.sub)
    return case


# --- Councils -------------------------------------------------------------------------------


def _council_admin(principal: Principal, unit: str) -> None:
    principal.require(("unit_admin", "national_admin"))
    if principal.role != "national_admin" and principal.unit != unit:
        raise Forbidden(
            "Only the unit's own admin manages its council.",
            "Chỉ quản trị viên của chính đơn vị mới quản lý hội đồng sáng kiến của đơn vị.",
        )


def put_council_member(
    session: Session, principal: Principal, unit: str, member_id: str, payload: Any, now: datetime
) -> tuple[CouncilMember, bool]:
    data = load(COUNCIL_MEMBER_IN, payload)
    _council_admin(principal, unit)
    member = session.get(CouncilMember, (unit, member_id), with_for_update=True)
    created = member is None
    if member is None:
        member = CouncilMember(unit=unit, member_id=member_id, added_by=principal.sub, added_at=now)
        session.add(member)
    elif member.role == data["role"]:
        return member, False
    member.role = data["role"]
    changed = [member]
    if data["role"] == "chair":
        # A council has one chair: the former one sits on as a member, in the same transaction.
        for former in session.scalars(
            select(CouncilMember)
            .where(CouncilMember.unit == unit, CouncilMember.role == "chair", CouncilMember.member_id != member_id)
            .with_for_update()
        ):
            former.role = "member"
            changed.append(former)
    for seat in changed:
        audit(
            session,
            None,
            None,
            principal.sub,
            principal.role,
            "council_member_set",
            now,
            unit=unit,
            member_id=seat.member_id,
            council_role=seat.role,
        )
    return member, created


def remove_council_member(session: Session, principal: Principal, unit: str, member_id: str, now: datetime) -> None:
    _council_admin(principal, unit)
    member = session.get(CouncilMember, (unit, member_id), with_for_update=True)
    if member is None:
        raise NotFound("Not a member of this council.", "Không phải thành viên của hội đồng này.")
    session.delete(member)
    audit(
        session,
        None,
        None,
        principal.sub,
        principal.role,
        "council_member_removed",
        now,
        unit=unit,
        member_id=member_id,
    )


# --- Legal clocks ---------------------------------------------------------------------------


def sweep_deadlines(session: Session, now: datetime, limit: int = 500) -> list[LevelReview]:
    """Marks open reviews past their deadline once, announcing each (escalated to the unit admin).

    SKIP LOCKED lets several replicas sweep at once without waiting on each other's rows.
    """
    overdue = list(
        session.scalars(
            select(LevelReview)
            .where(
                LevelReview.status.in_(domain.OPEN),
                LevelReview.due_at < now,
                LevelReview.missed_at.is_(None),
            )
            .order_by(LevelReview.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    for review in overdue:
        review.missed_at = now
        case = review.case
        events.deadline_missed(session, case, review, review.due_at, now)
        audit(
            session,
            case.initiative_id,
            review.level,
            SYSTEM,
            SYSTEM,
            "deadline_missed",
            now,
            clock=review.clock,
            due_at=review.due_at.isoformat(),
            escalated_to=review.unit,
        )
    return overdue
