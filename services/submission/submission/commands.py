"""Use cases that change state; each runs inside the caller's transaction."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session

from chassis.auth import Principal
from chassis.calendar import local_day
from chassis.errors import ApiError, Conflict, Forbidden, NotFound
from chassis.validation import FieldError, load, validation_failed
from submission import domain, events, writes
from submission.catalog import Catalog
from submission.models import Author, HistoryEntry, Initiative, Member, Target, Unit
from submission.rows import HistoryRow, NewInitiative, Row
from submission.schemas import InitiativeContent, InitiativeIn, MemberIn, TargetIn, UnitIn, WithdrawIn

# marshmallow schemas are safe to reuse; building one per request costs more than loading.
INITIATIVE_IN = InitiativeIn()
INITIATIVE_CONTENT = InitiativeContent()
WITHDRAW_IN = WithdrawIn()
CONTENT_SCALARS = tuple(name for name in INITIATIVE_CONTENT.fields if name != "authors")


def digest(payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    # surrogatepass: a body holding a lone surrogate gets a digest, and then its field-level 422.
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def now_utc() -> datetime:
    return datetime.now(UTC)


def _content_errors(data: dict[str, Any], principal: Principal, today: date) -> list[FieldError]:
    errors = domain.share_errors([a["share_percent"] for a in data["authors"]])
    errors += domain.first_applied_errors(data.get("first_applied_on"), today)
    errors += domain.submitter_errors(principal, [a.get("member_id") for a in data["authors"]])
    return errors


def _apply_content(ini: Initiative, data: dict[str, Any]) -> None:
    for name in CONTENT_SCALARS:
        setattr(ini, name, data[name])
    ini.authors = [
        Author(position=i, name=a["name"], member_id=a.get("member_id"), share_percent=a["share_percent"])
        for i, a in enumerate(data["authors"])
    ]


def _author_rows(initiative_id: str, data: dict[str, Any]) -> list[Row]:
    return [
        Row(
            initiative_id=initiative_id,
            position=i,
            name=a["name"],
            member_id=a.get("member_id"),
            share_percent=a["share_percent"],
        )
        for i, a in enumerate(data["authors"])
    ]


def build_initiative(catalog: Catalog, principal: Principal, payload: Any, now: datetime) -> NewInitiative:
    """Validates everything and builds the initiative's rows; raises ValidationFailed or Forbidden."""
    if principal.role not in domain.SUBMITTER_ROLES:
        raise Forbidden(
            "Only members and support teams submit initiatives.",
            "Chỉ đoàn viên và tổ hỗ trợ sáng kiến được nộp sáng kiến.",
        )
    data = load(INITIATIVE_IN, payload)
    unit = catalog.unit(data["unit"])
    programme = catalog.programme(data["programme"])
    today = local_day(now)
    phase = programme.phase_on(today) if programme else None
    errors = domain.unit_errors(unit.level if unit else None)
    errors += domain.programme_errors(programme is not None, phase)
    errors += _content_errors(data, principal, today)
    if errors:
        raise validation_failed(errors)
    assert unit is not None and phase is not None
    if not principal.in_scope(unit.path_codes):
        raise Forbidden()
    initiative_id = str(uuid.uuid4())
    columns = {
        "id": initiative_id,
        "revision": 1,
        "status": "submitted",
        "programme": data["programme"],
        "phase": phase.code,
        "unit": unit.code,
        "unit_path": unit.path,
        "top_unit": unit.top_unit,
        "block": unit.block,
        **{name: data[name] for name in CONTENT_SCALARS},
        "submitted_by": principal.sub,
        "submitted_by_role": principal.role,
        "on_behalf": principal.role == "support_team",
        "submitted_at": now,
        "updated_at": now,
        "return_reason": None,
        "withdraw_reason": None,
        "review_level": domain.LEVELS[0],  # it goes to its own grassroots union first
        "reviewing_unit": unit.code,
        "recognized_level": None,
    }
    return NewInitiative(columns, _author_rows(initiative_id, data))


def history_row(ini: Initiative | NewInitiative, entry: domain.Entry, event_id: str | None) -> HistoryRow:
    return HistoryRow(
        {
            "initiative_id": ini.id,
            "kind": entry.kind,
            "revision": entry.revision,
            "level": entry.level,
            "unit": entry.unit,
            "at": entry.at,
            "reason": entry.reason,
            "score": entry.score,
            "passed": entry.passed,
            "honour": entry.honour,
            "event_id": event_id,
        }
    )


def _own_step(ini: Initiative, kind: str, event: dict[str, Any], reason: str | None = None) -> None:
    """Submitted, resubmitted or withdrawn: a history row beside the event announcing it."""
    entry = domain.Entry(kind, ini.updated_at, ini.review_level, ini.reviewing_unit, ini.revision, reason=reason)
    ini.history.append(HistoryEntry(**history_row(ini, entry, event["id"])))


def first_step(ini: NewInitiative, event: dict[str, Any]) -> HistoryRow:
    """The history row of a new initiative, beside the event announcing it."""
    entry = domain.Entry("submitted", ini.submitted_at, ini.review_level, ini.reviewing_unit, ini.revision)
    return history_row(ini, entry, event["id"])


def idempotency_row(scope: str, key: str, request_digest: str, ini: NewInitiative, now: datetime) -> Row:
    return Row(scope=scope, key=key, request_digest=request_digest, initiative_id=ini.id, created_at=now)


def _first_result(session: Session, principal: Principal, key: str, request_digest: str) -> Initiative | None:
    """The initiative a request with this Idempotency-Key created first; 409 if it was another request."""
    earlier = writes.earlier_result(session.connection(), principal.sub, key)
    if earlier is None:
        return None
    if earlier[0] != request_digest:
        raise Conflict(
            "This Idempotency-Key was used for a different request.",
            "Khóa Idempotency-Key này đã dùng cho một yêu cầu khác.",
            code="idempotency_key_reused",
        )
    return session.get_one(Initiative, earlier[1])


def submit(
    session: Session, principal: Principal, payload: Any, idempotency_key: str | None, *, key_seen: bool = False
) -> tuple[Initiative | NewInitiative, bool]:
    """Returns (initiative, replayed): a repeated Idempotency-Key returns the first result.

    A key is taken for new at first, saving its lookup: a repeat breaks its unique index
    (IntegrityError) and the caller tries again with `key_seen`. A request refused here looks its
    key up first, since a key's first result is the answer, whatever the request would be now.
    """
    request_digest = ""
    if idempotency_key:
        if len(idempotency_key) > 200:
            raise validation_failed([FieldError("Idempotency-Key", "At most 200 characters.", "Tối đa 200 ký tự.")])
        request_digest = digest(payload)
        if key_seen and (earlier := _first_result(session, principal, idempotency_key, request_digest)):
            return earlier, True
    now = now_utc()
    try:
        ini = build_initiative(Catalog(session), principal, payload, now)
    except ApiError:
        if (
            idempotency_key
            and not key_seen
            and (earlier := _first_result(session, principal, idempotency_key, request_digest))
        ):
            return earlier, True
        raise
    key = idempotency_row(principal.sub, idempotency_key, request_digest, ini, now) if idempotency_key else None
    step = first_step(ini, events.initiative_submitted(session, ini))
    writes.insert_submission(session.connection(), ini, key, step)
    ini.history.append(step)  # the answer shows its history: this one row
    return ini, False


def _changeable(session: Session, principal: Principal, initiative_id: str) -> Initiative:
    ini = session.get(Initiative, initiative_id, with_for_update=True)
    if ini is None or not domain.can_read(principal, ini.path_codes, ini.submitted_by, ini.author_ids):
        raise NotFound("No such initiative.", "Không tìm thấy sáng kiến.")
    if not domain.can_change(principal, ini.path_codes, ini.submitted_by, ini.author_ids):
        raise Forbidden()
    return ini


def withdraw(session: Session, principal: Principal, initiative_id: str, payload: Any) -> Initiative:
    data = load(WITHDRAW_IN, payload)
    ini = _changeable(session, principal, initiative_id)
    refusal = domain.withdrawal_refusal(standing(ini))
    if refusal is not None:
        raise refusal
    if ini.status == domain.WITHDRAWN:
        return ini  # withdrawing twice changes nothing and announces nothing
    ini.status = domain.WITHDRAWN
    ini.withdraw_reason = data["reason"]
    ini.updated_at = now_utc()
    announced = events.initiative_withdrawn(session, ini, principal.sub, principal.role)
    _own_step(ini, "withdrawn", announced, ini.withdraw_reason)
    return ini


def resubmit(session: Session, principal: Principal, initiative_id: str, payload: Any) -> Initiative:
    data = load(INITIATIVE_CONTENT, payload)
    ini = _changeable(session, principal, initiative_id)
    refusal = domain.resubmission_refusal(ini.status)
    if refusal is not None:
        raise refusal
    # The resubmitter need not be an author when the support team acts for them.
    errors = _content_errors(data, principal, local_day(now_utc()))
    if errors:
        raise validation_failed(errors)
    _apply_content(ini, data)
    ini.revision += 1
    ini.status = domain.SUBMITTED  # back to the level that returned it, for a new intake
    ini.updated_at = now_utc()
    session.flush()
    _own_step(ini, "resubmitted", events.initiative_submitted(session, ini))
    return ini


def standing(ini: Initiative) -> domain.Standing:
    return domain.Standing(ini.status, ini.revision, ini.review_level, ini.reviewing_unit, ini.recognized_level)


def register_target(session: Session, principal: Principal, payload: Any) -> Target:
    data = load(TargetIn(), payload)
    catalog = Catalog(session)
    unit, programme = catalog.unit(data["unit"]), catalog.programme(data["programme"])
    errors: list[FieldError] = []
    if unit is None:
        errors.append(FieldError("unit", "Unknown unit code.", "Mã đơn vị không tồn tại."))
    if programme is None:
        errors.append(FieldError("programme", "Unknown programme.", "Chương trình không tồn tại."))
    elif data["phase"] not in {p.code for p in programme.phases}:
        errors.append(FieldError("phase", "Unknown phase of this programme.", "Giai đoạn không thuộc chương trình."))
    if errors:
        raise validation_failed(errors)
    assert unit is not None
    principal.require(("unit_admin", "national_admin"), unit.path_codes)
    key = (data["unit"], data["programme"], data["phase"], data["block"])
    target = session.get(Target, key) or Target(unit=key[0], programme=key[1], phase=key[2], block=key[3])
    target.target = data["target"]
    target.registered_by = principal.sub
    target.registered_at = now_utc()
    session.add(target)
    session.flush()
    events.target_registered(session, target, unit.top_unit)
    return target


def register_member(session: Session, principal: Principal, payload: Any) -> tuple[Member, bool]:
    """Returns (member, created). Registering the same member again updates nothing."""
    data = load(MemberIn(), payload)
    unit = Catalog(session).unit(data["unit"])
    errors = domain.unit_errors(unit.level if unit else None)
    if errors:
        raise validation_failed(errors)
    assert unit is not None
    self_registration = principal.role == "member" and principal.sub == data["member_id"]
    if not self_registration:
        principal.require(("support_team", "unit_admin", "national_admin"), unit.path_codes)
    elif not principal.in_scope(unit.path_codes):
        raise Forbidden()
    existing = session.get(Member, data["member_id"])
    if existing is not None:
        if existing.unit != data["unit"]:
            raise Conflict(
                "This member id is registered in another unit.",
                "Mã đoàn viên này đã đăng ký ở đơn vị khác.",
            )
        return existing, False
    member = Member(
        member_id=data["member_id"],
        full_name=data["full_name"],
        unit=data["unit"],
        email=data["email"],
        phone=data["phone"],
        registered_by=principal.sub,
        registered_at=now_utc(),
    )
    session.add(member)
    session.flush()
    events.member_registered(session, member, unit.top_unit)
    return member, True


def register_unit(session: Session, principal: Principal, payload: Any) -> tuple[Unit, bool]:
    """A unit admin adds an upper-grassroots or grassroots unit under their subtree.

    Returns (unit, created); registering the same unit again changes nothing.
    """
    data = load(UnitIn(), payload)
    parent = Catalog(session).unit(data["parent"])
    errors = domain.unit_registration_errors(
        data["code"], data["level"], data["block"], parent.level if parent else None, parent.top if parent else None
    )
    if errors:
        raise validation_failed(errors)
    assert parent is not None
    principal.require(("unit_admin", "national_admin"), parent.path_codes)
    wanted = {**data, "top": parent.top_unit, "cluster": None, "path": f"{parent.path}{data['code']}/"}
    existing = session.get(Unit, data["code"])
    if existing is not None:
        if any(getattr(existing, k) != v for k, v in wanted.items()):
            raise Conflict("This unit code is already registered differently.", "Mã đơn vị này đã được đăng ký khác.")
        return existing, False
    unit = Unit(**wanted)
    session.add(unit)
    session.flush()
    events.unit_registered(session, unit)
    return unit, True
