"""Read side of the submission service."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from chassis.auth import Principal
from chassis.errors import Forbidden, NotFound
from chassis.validation import FieldError, int_arg, validation_failed
from submission import domain
from submission.models import Author, Initiative, Member, Programme, Target, Unit

STATUSES = domain.STATUSES


def get_initiative(session: Session, principal: Principal, initiative_id: str) -> Initiative:
    ini = session.get(Initiative, initiative_id)
    if ini is None or not domain.can_read(principal, ini.path_codes, ini.submitted_by, ini.author_ids):
        raise NotFound("No such initiative.", "Không tìm thấy sáng kiến.")
    return ini


def encode_cursor(ini: Initiative) -> str:
    return base64.urlsafe_b64encode(f"{ini.submitted_at.isoformat()}|{ini.id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        stamp, ident = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(stamp), ident
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise validation_failed(
            [FieldError("cursor", "Not a cursor this API returned.", "Con trỏ phân trang không hợp lệ.")]
        ) from exc


def list_initiatives(session: Session, principal: Principal, args: Any) -> tuple[list[Initiative], str | None]:
    """Newest first, keyset-paginated, within the caller's subtree (members: their own)."""
    limit = int_arg(args, "limit", 50, 1, 200)
    unit_code = args.get("unit") or principal.unit
    unit = session.get(Unit, unit_code)
    if unit is None:
        raise validation_failed([FieldError("unit", "Unknown unit code.", "Mã đơn vị không tồn tại.")])
    if principal.role != "member" and not principal.in_scope(unit.path_codes):
        raise Forbidden()
    query = select(Initiative).where(Initiative.unit_path.startswith(unit.path, autoescape=True))
    if principal.role == "member":
        authored = exists().where(Author.initiative_id == Initiative.id, Author.member_id == principal.sub)
        query = query.where(or_(Initiative.submitted_by == principal.sub, authored))
    status = args.get("status")
    if status is not None:
        if status not in STATUSES:
            raise validation_failed(
                [
                    FieldError(
                        "status",
                        f"Must be one of: {', '.join(STATUSES)}.",
                        f"Phải là một trong: {', '.join(STATUSES)}.",
                    )
                ]
            )
        query = query.where(Initiative.status == status)
    for name in ("programme", "phase"):
        if args.get(name):
            query = query.where(getattr(Initiative, name) == args.get(name))
    if args.get("cursor"):
        stamp, ident = decode_cursor(args["cursor"])
        query = query.where(
            or_(Initiative.submitted_at < stamp, and_(Initiative.submitted_at == stamp, Initiative.id < ident))
        )
    rows = list(session.scalars(query.order_by(Initiative.submitted_at.desc(), Initiative.id.desc()).limit(limit + 1)))
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor


def _offset_page(session: Session, query: Any, args: Any, default: int, maximum: int) -> tuple[list, int]:
    """One page of an ordered query and the total it pages through, both counted in SQL."""
    offset = int_arg(args, "offset", 0, 0, 10**9)
    limit = int_arg(args, "limit", default, 1, maximum)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    return list(session.scalars(query.offset(offset).limit(limit))), int(total)


def list_units(session: Session, args: Any) -> tuple[list[Unit], int]:
    query = select(Unit)
    for name in ("top", "level", "parent"):
        if args.get(name):
            query = query.where(getattr(Unit, name) == args.get(name))
    return _offset_page(session, query.order_by(Unit.path), args, default=1000, maximum=5000)


def get_unit(session: Session, code: str) -> Unit:
    unit = session.get(Unit, code)
    if unit is None:
        raise NotFound("No such unit.", "Không tìm thấy đơn vị.")
    return unit


def list_programmes(session: Session) -> list[Programme]:
    return list(session.scalars(select(Programme).order_by(Programme.code)))


def get_programme(session: Session, code: str) -> Programme:
    programme = session.get(Programme, code)
    if programme is None:
        raise NotFound("No such programme.", "Không tìm thấy chương trình.")
    return programme


def list_targets(session: Session, args: Any) -> list[Target]:
    query = select(Target)
    for name in ("unit", "programme", "phase", "block"):
        if args.get(name):
            query = query.where(getattr(Target, name) == args.get(name))
    return list(session.scalars(query.order_by(Target.unit, Target.programme, Target.phase, Target.block)))


MEMBER_READERS = ("support_team", "unit_admin", "national_admin")
MAX_SEARCH = 100


def get_member(session: Session, principal: Principal, member_id: str) -> Member:
    """Oneself, or a member of the caller's subtree for its support team and admins.

    Anyone else gets the same 404 as for an unknown id: union membership is personal data, and a
    403 would tell an outsider that this person is a member somewhere.
    """
    member = session.get(Member, member_id)
    if member is not None and principal.sub != member_id:
        unit = session.get_one(Unit, member.unit)
        if principal.role not in MEMBER_READERS or not principal.in_scope(unit.path_codes):
            member = None
    if member is None:
        raise NotFound("No such member.", "Không tìm thấy đoàn viên.")
    return member


def list_members(session: Session, principal: Principal, args: Any) -> tuple[list[Member], int]:
    """The members of a unit subtree, for its support team and admins."""
    unit = session.get(Unit, args.get("unit") or principal.unit)
    if unit is None:
        raise validation_failed([FieldError("unit", "Unknown unit code.", "Mã đơn vị không tồn tại.")])
    principal.require(("support_team", "unit_admin", "national_admin"), unit.path_codes)
    subtree = (
        select(Member).join(Unit, Unit.code == Member.unit).where(Unit.path.startswith(unit.path, autoescape=True))
    )
    search = (args.get("q") or "").strip()
    if len(search) > MAX_SEARCH:
        raise validation_failed([FieldError("q", f"At most {MAX_SEARCH} characters.", f"Tối đa {MAX_SEARCH} ký tự.")])
    if search:
        # Part of a name or of a member id, any case: admins type what they remember of either.
        subtree = subtree.where(
            or_(
                Member.full_name.icontains(search, autoescape=True),
                Member.member_id.icontains(search, autoescape=True),
            )
        )
    return _offset_page(session, subtree.order_by(Member.member_id), args, default=100, maximum=1000)
