"""Unit admins' pages: targets and progress, members, lower units, the initiative council.

The portal owns none of this data: each page calls the services with the admin's own token, so
the services decide who may do what, and their bilingual field errors are shown as they come.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy import select
from werkzeug.wrappers import Response

from portal import timeline
from portal.grants import Acting
from portal.models import Grant, Person
from portal.web import Page

ADMINS = ("unit_admin", "national_admin")
UNIT_CODE = re.compile(r"^[A-Z][A-Z0-9-]{0,39}$")
BLOCK_NAMES = {
    "enterprise": ("Khối doanh nghiệp, đơn vị sự nghiệp ngoài công lập", "Enterprises and non-public units"),
    "administration": ("Khối cơ quan hành chính sự nghiệp", "Public administration"),
    "all": ("Tất cả các khối", "All blocks"),
}
# The registry's rule (submission domain.CHILD_LEVELS): what may be added under a unit of a level.
CHILD_LEVELS = {"top": ("upper", "grassroots"), "upper": ("grassroots",)}
MEMBERS_PER_PAGE = 50
ONLY_ADMINS = (
    "Chỉ quản trị đơn vị mới dùng được trang này. Hãy đổi vai trò ở đầu trang.",
    "Only unit admins can use this page. Switch roles at the top of the page.",
)
COUNCIL_CHOICES = 200  # reviewers offered in the council's select; the search narrows larger units


def _refuse_non_admin(page: Page) -> Response | None:
    """The login redirect or the 403 page for anyone who is not acting as a unit or national admin."""
    return page.gate(ADMINS, ONLY_ADMINS)


def _acting(page: Page) -> Acting:
    acting = page.visitor.acting
    assert acting is not None
    return acting


def _chosen_unit(page: Page, value: str | None) -> str:
    """A unit of the admin's subtree named in the request, else the admin's own unit.

    Anything else falls back to the own unit rather than erroring: the services refuse units
    outside the subtree anyway, and a mistyped link should still open a useful page.
    """
    acting = _acting(page)
    code = (value or "").strip().upper()
    if not code or not UNIT_CODE.match(code) or code == acting.unit:
        return acting.unit
    found = page.front.upstreams.unit(code)
    if found is None or f"/{acting.unit}/" not in found["path"]:
        return acting.unit
    return code


def _errors_of(page: Page, answer: Any) -> tuple[str, dict[str, list[str]]]:
    error = answer.error()
    return page.message(error), page.field_errors(error)


def _programmes(page: Page) -> list[dict[str, Any]]:
    answer = page.api("submission", "GET", "/api/v1/programmes")
    return (answer.json() or []) if answer.ok else []


# -- targets (chỉ tiêu) ---------------------------------------------------------------------------


def _counts_by_block(page: Page, unit: str, programme: str, phase: str) -> dict[str, int] | None:
    """Initiatives submitted in a unit's subtree for a programme phase, per block and in all.

    None when awards has no figures for the programme (it runs no award rules for it).
    """
    answer = page.api("awards", "GET", f"/api/v1/standings/{unit}", params={"programme": programme, "phase": phase})
    if answer.status == 404:  # nothing counted yet for this unit
        return {"all": 0}
    if not answer.ok:
        return None
    body = answer.json()
    counts: dict[str, int] = {"all": int(body.get("submitted") or 0)}
    for cell in body.get("breakdown") or []:
        block = cell.get("block") or ""
        counts[block] = counts.get(block, 0) + int(cell.get("submitted") or 0)
    return counts


def _target_rows(page: Page, unit: str, programmes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    answer = page.api("submission", "GET", "/api/v1/targets", params={"unit": unit})
    targets = (answer.json() or []) if answer.ok else []
    phase_names = {(p["code"], ph["code"]): ph["name"] for p in programmes for ph in p.get("phases", [])}
    counted: dict[tuple[str, str], dict[str, int] | None] = {}
    rows = []
    for target in targets:
        key = (target["programme"], target["phase"])
        if key not in counted:
            counted[key] = _counts_by_block(page, unit, *key)
        counts = counted[key]
        done = None if counts is None else counts.get(target["block"], 0)
        percent = None if done is None else 100.0 * done / target["target"]
        rows.append(
            {
                **target,
                "phase_name": phase_names.get(key, target["phase"]),
                "block_name": timeline.word(BLOCK_NAMES, target["block"], page.lang),
                "done": done,
                "percent": percent,
                # The bar stops at 100: past the target the figure says how far past.
                "bar": None if percent is None else min(100, round(percent)),
            }
        )
    return rows


def _target_number(text: str) -> int | None:
    """40.000, 40 000 or 40000, as admins type it; None if it is not a whole number."""
    digits = re.sub(r"[\s.,]", "", text)
    return int(digits) if digits.isdigit() and len(digits) <= 9 else None


def targets(page: Page) -> Response:
    refused = _refuse_non_admin(page)
    if refused:
        return refused
    acting = _acting(page)
    summary, errors, status = "", {}, 200
    form: dict[str, str] = {}
    unit = _chosen_unit(page, page.request.args.get("unit"))
    if page.request.method == "POST":
        page.check_csrf()
        form = {k: v.strip() for k, v in page.request.form.items() if k != "csrf_token"}
        form["unit"] = form.get("unit", "").upper()
        number = _target_number(form.get("target", ""))
        if number is None:
            errors = {
                "target": [page.t("Nhập chỉ tiêu là một số nguyên dương.", "Enter the target as a whole number.")]
            }
            summary, status = page.t("Chỉ tiêu chưa đăng ký được.", "The target was not registered."), 422
        else:
            payload = {k: form.get(k, "") for k in ("unit", "programme", "phase", "block")}
            answer = page.api("submission", "PUT", "/api/v1/targets", json_body={**payload, "target": number})
            if answer.ok:
                query = urlencode({"unit": form["unit"], "da-luu": "1"})
                return page.redirect(f"/quan-tri/chi-tieu?{query}")
            summary, errors = _errors_of(page, answer)
            status = answer.status
    else:
        form = {"unit": unit, "programme": page.front.programme}
    programmes = _programmes(page)
    return page.render(
        "admin_targets.html",
        status=status,
        unit=unit,
        own_unit=acting.unit,
        unit_name=(page.front.upstreams.unit(unit) or {}).get("name", unit),
        rows=_target_rows(page, unit, programmes),
        lower=_lower_units(page, acting.unit),
        programmes=programmes,
        blocks=[(code, timeline.word(BLOCK_NAMES, code, page.lang)) for code in BLOCK_NAMES],
        saved=page.request.args.get("da-luu"),
        summary=summary,
        errors=errors,
        form=form,
    )


# -- members (đoàn viên) --------------------------------------------------------------------------


def _offset(value: str | None) -> int:
    return int(value) if value and value.isdigit() and len(value) < 10 else 0


def _lower_units(page: Page, parent: str) -> list[dict[str, Any]]:
    answer = page.api("submission", "GET", "/api/v1/units", params={"parent": parent, "limit": 5000})
    return (answer.json() or {}).get("items", []) if answer.ok else []


def members(page: Page) -> Response:
    refused = _refuse_non_admin(page)
    if refused:
        return refused
    acting = _acting(page)
    args = page.request.args
    q = args.get("q", "").strip()
    unit = _chosen_unit(page, args.get("unit"))
    offset = _offset(args.get("offset"))
    answer = page.api(
        "submission",
        "GET",
        "/api/v1/members",
        params={"unit": unit, "q": q, "limit": MEMBERS_PER_PAGE, "offset": offset},
    )
    summary, errors = "", {}
    items: list[dict[str, Any]] = []
    total = 0
    if answer.status == 422:
        summary, errors = _errors_of(page, answer)
    elif not answer.ok:
        return page.refused(answer, page.t("Lỗi", "Error"))
    else:
        body = answer.json()
        items, total = body["items"], body["total"]

    def link(to: int) -> str:
        kept = {"q": q, "unit": unit if unit != acting.unit else "", "offset": str(to) if to else ""}
        return "/quan-tri/doan-vien?" + urlencode({k: v for k, v in kept.items() if v})

    return page.render(
        "admin_members.html",
        status=422 if summary else 200,
        items=items,
        total=total,
        first=offset + 1 if items else 0,
        last=offset + len(items),
        previous=link(max(0, offset - MEMBERS_PER_PAGE)) if offset > 0 else None,
        following=link(offset + MEMBERS_PER_PAGE) if offset + len(items) < total else None,
        q=q,
        unit=unit,
        own_unit=acting.unit,
        lower=_lower_units(page, acting.unit),
        summary=summary,
        errors=errors,
    )


# -- lower units (đơn vị trực thuộc) -------------------------------------------------------------


def units(page: Page) -> Response:
    refused = _refuse_non_admin(page)
    if refused:
        return refused
    acting = _acting(page)
    parent = _chosen_unit(page, page.request.args.get("unit"))
    found = page.front.upstreams.unit(parent) or {"code": parent, "name": parent, "level": "", "path": ""}
    summary, errors, status = "", {}, 200
    form: dict[str, str] = {}
    if page.request.method == "POST":
        page.check_csrf()
        form = {k: v.strip() for k, v in page.request.form.items() if k != "csrf_token"}
        form["code"] = form.get("code", "").upper()
        payload = {
            "code": form["code"],
            "name": form.get("name", ""),
            "level": form.get("level", ""),
            "parent": parent,
            "block": form.get("block") or None,
        }
        answer = page.api("submission", "POST", "/api/v1/units", json_body=payload)
        if answer.ok:  # 201 added, 200 it was there already just so
            said = "da-them" if answer.status == 201 else "da-co"
            query = {said: form["code"], **({"unit": parent} if parent != acting.unit else {})}
            return page.redirect(f"/quan-tri/don-vi?{urlencode(query)}")
        status = answer.status
        summary, errors = _errors_of(page, answer)
        if answer.status == 409:  # the code is taken by a different unit: say so beside the code
            errors = {**errors, "code": [summary]}
    levels = CHILD_LEVELS.get(found.get("level", ""), ())
    up = found.get("parent") if parent != acting.unit else None
    return page.render(
        "admin_units.html",
        status=status,
        parent=found,
        up=up,
        children=_lower_units(page, parent),
        levels=[(lv, timeline.level_name(lv, page.lang)) for lv in levels],
        level_names={lv: timeline.level_name(lv, page.lang) for lv in ("top", "upper", "grassroots")},
        blocks=[(code, timeline.word(BLOCK_NAMES, code, page.lang)) for code in ("enterprise", "administration")],
        block_names={code: timeline.word(BLOCK_NAMES, code, page.lang) for code in BLOCK_NAMES},
        added=page.request.args.get("da-them"),
        existed=page.request.args.get("da-co"),
        summary=summary,
        errors=errors,
        form=form,
    )


# -- the initiative council (Hội đồng sáng kiến) ------------------------------------------------


def _council_unit(page: Page) -> str:
    """The admin's own unit: only it manages its council (the national office may name any)."""
    acting = _acting(page)
    wanted = page.request.args.get("unit", "").strip().upper()
    if acting.role == "national_admin" and wanted and UNIT_CODE.match(wanted):
        return wanted
    return acting.unit


def _reviewers(page: Page, unit: str) -> dict[str, str]:
    """Who may sit on the unit's council: the people holding a reviewer grant at the unit, by the
    id their tokens carry (review checks a scorer's seat against it), with their names."""
    rows = page.db.execute(
        select(Grant.person, Person.name)
        .join(Person, Person.id == Grant.person)
        .where(Grant.unit == unit, Grant.role == "reviewer", Grant.revoked_at.is_(None))
        .order_by(Person.name, Grant.person)
    ).all()
    return {person: name for person, name in rows}


def _council_change(page: Page, unit: str, current: list[dict[str, Any]]) -> tuple[str, dict[str, list[str]]]:
    """One change the form asks for: add a member, make one the chair, or remove one."""
    form = page.request.form
    action, member_id = form.get("action", ""), form.get("member_id", "").strip()
    path = f"/api/v1/councils/{unit}/members/{quote(member_id, safe='')}"
    review = page.front.upstreams.review_call
    if action == "add":
        if member_id not in _reviewers(page, unit):
            message = page.t("Hãy chọn một người thẩm định của đơn vị.", "Choose one of the unit's reviewers.")
            return page.t("Chưa thêm được thành viên.", "The member was not added."), {"member_id": [message]}
        role = "chair" if form.get("role") == "chair" else "member"
        if role == "chair":
            return _make_chair(page, unit, member_id)
        answer = review(unit, "PUT", path, page.token, json_body={"role": "member"})
    elif action == "chair":
        if member_id not in {m["member_id"] for m in current}:  # only a seated member becomes chair here
            return page.t("Người này không có trong hội đồng.", "This person is not on the council."), {}
        return _make_chair(page, unit, member_id)
    elif action == "remove":
        answer = review(unit, "DELETE", path, page.token)
    else:
        return page.t("Yêu cầu không hợp lệ.", "The request is not valid."), {}
    return ("", {}) if answer.ok else _errors_of(page, answer)


def _make_chair(page: Page, unit: str, member_id: str) -> tuple[str, dict[str, list[str]]]:
    """Review keeps one chair: naming the new one seats the former as a member in one transaction."""
    path = f"/api/v1/councils/{unit}/members/{quote(member_id, safe='')}"
    answer = page.front.upstreams.review_call(unit, "PUT", path, page.token, json_body={"role": "chair"})
    return ("", {}) if answer.ok else _errors_of(page, answer)


def council(page: Page) -> Response:
    refused = _refuse_non_admin(page)
    if refused:
        return refused
    unit = _council_unit(page)
    answer = page.front.upstreams.review_call(unit, "GET", f"/api/v1/councils/{unit}", page.token)
    if not answer.ok:
        return page.refused(answer, page.t("Hội đồng sáng kiến", "Initiative council"))
    current = answer.json()["items"]
    summary, errors = "", {}
    if page.request.method == "POST":
        page.check_csrf()
        summary, errors = _council_change(page, unit, current)
        if not summary:
            back = f"/quan-tri/hoi-dong?unit={unit}" if unit != _acting(page).unit else "/quan-tri/hoi-dong"
            return page.redirect(back)
    q = page.request.args.get("q", "").strip()
    reviewers = _reviewers(page, unit)
    seated = {m["member_id"] for m in current}
    wanted = q.casefold()
    choices = [
        {"member_id": person, "full_name": name, "unit": unit}
        for person, name in reviewers.items()
        if person not in seated and (wanted in name.casefold() or wanted in person.casefold())
    ]
    names = dict(reviewers)
    for m in current:  # a seated person whose reviewer grant was revoked keeps a name
        if m["member_id"] not in names:
            person = page.db.get(Person, m["member_id"])
            names[m["member_id"]] = person.name if person else ""
    return page.render(
        "admin_council.html",
        status=422 if summary or errors else 200,
        unit=unit,
        unit_name=(page.front.upstreams.unit(unit) or {}).get("name", unit),
        seated=sorted(current, key=lambda m: (m["role"] != "chair", names.get(m["member_id"], ""), m["member_id"])),
        names=names,
        choices=choices[:COUNCIL_CHOICES],
        more=len(choices) > COUNCIL_CHOICES,
        q=q,
        summary=summary,
        errors=errors,
        form=page.request.form if page.request.method == "POST" else {},
    )
