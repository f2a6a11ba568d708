"""Unit admins grant and revoke roles in their subtree; the same rules serve the page and the API."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from werkzeug.wrappers import Response

from chassis.auth import path_codes
from chassis.errors import Forbidden, NotFound, ValidationFailed
from portal.grants import ROLE_ORDER, Acting, refusal
from portal.models import Grant, Person
from portal.sessions import now
from portal.upstreams import Upstreams
from portal.web import Page


def grants_in(db: Any, unit_path: str) -> list[Grant]:
    return list(
        db.scalars(
            select(Grant)
            .where(Grant.unit_path.startswith(unit_path, autoescape=True), Grant.revoked_at.is_(None))
            .order_by(Grant.unit_path, Grant.role, Grant.person)
        )
    )


def add_grant(db: Any, upstreams: Upstreams, actor: Acting, data: dict[str, Any]) -> Grant:
    person_id, role, unit = (str(data.get(k) or "").strip() for k in ("person", "role", "unit"))
    missing = {k: ["Required."] for k, v in (("person", person_id), ("role", role), ("unit", unit)) if not v}
    if missing:
        raise ValidationFailed(fields=missing, fields_vi={k: ["Bắt buộc."] for k in missing})
    found = upstreams.unit(unit)
    if found is None:
        raise ValidationFailed(
            fields={"unit": ["Unknown unit code."]}, fields_vi={"unit": ["Mã đơn vị không tồn tại."]}
        )
    unit_path = found["path"]
    why = refusal(actor, role, unit_path)
    if why:
        raise Forbidden(*why)
    if db.get(Person, person_id) is None:
        raise ValidationFailed(
            fields={"person": ["This person has never logged in."]},
            fields_vi={"person": ["Người này chưa đăng nhập lần nào."]},
        )
    existing = db.scalars(
        select(Grant).where(
            Grant.person == person_id, Grant.role == role, Grant.unit == unit, Grant.revoked_at.is_(None)
        )
    ).first()
    if existing:
        return existing
    grant = Grant(
        person=person_id,
        role=role,
        unit=unit,
        unit_path=unit_path,
        member_id=str(data.get("member_id") or "") or None,
        granted_by=actor.person,
        granted_at=now(),
    )
    db.add(grant)
    db.flush()
    return grant


def revoke_grant(db: Any, actor: Acting, grant_id: int) -> Grant:
    grant = db.get(Grant, grant_id)
    if grant is None or grant.revoked_at is not None or actor.unit not in path_codes(grant.unit_path):
        raise NotFound("No such grant.", "Không tìm thấy quyền này.")
    why = refusal(actor, grant.role, grant.unit_path)
    if why:
        raise Forbidden(*why)
    grant.revoked_at, grant.revoked_by = now(), actor.person
    return grant


def grant_dict(grant: Grant) -> dict[str, Any]:
    return {
        "id": grant.id,
        "person": grant.person,
        "role": grant.role,
        "unit": grant.unit,
        "member_id": grant.member_id,
        "granted_by": grant.granted_by,
        "granted_at": grant.granted_at.isoformat(),
    }


def staff(page: Page) -> Response:
    refused = page.gate(
        ("unit_admin", "national_admin"), ("Chỉ quản trị đơn vị mới phân quyền.", "Only unit admins grant roles.")
    )
    if refused:
        return refused
    acting = page.visitor.acting
    assert acting is not None
    summary, errors = "", {}
    if page.request.method == "POST":
        page.check_csrf()
        form = page.request.form
        try:
            if form.get("revoke"):
                revoke_grant(page.db, acting, int(form["revoke"]))
            else:
                add_grant(page.db, page.front.upstreams, acting, dict(form))
            return page.redirect("/quan-tri/vai-tro")
        except (Forbidden, NotFound, ValidationFailed) as exc:
            summary = exc.message_en if page.lang == "en" else exc.message_vi
            errors = exc.fields if page.lang == "en" else (exc.fields_vi or exc.fields)
        except ValueError:
            summary = page.t("Yêu cầu không hợp lệ.", "The request is not valid.")
    roles = ROLE_ORDER if acting.role == "national_admin" else ("support_team", "reviewer", "unit_admin")
    return page.render(
        "staff.html",
        status=422 if summary else 200,
        grants=grants_in(page.db, acting.unit_path),
        roles=roles,
        summary=summary,
        errors=errors,
        form=page.request.form if page.request.method == "POST" else {},
    )
