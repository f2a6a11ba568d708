"""Reviewers' and councils' pages: the unit's work queue, the review file and its actions.

Review answers for the deployment that owns the unit (upstreams.review_call); the actions a
file offers come from review's workflow table (`actions` in the file), so the page shows those
and only those, and a refusal shows review's own reason.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from werkzeug.wrappers import Response

from portal import formatting, timeline
from portal import review_words as words
from portal.models import Person
from portal.upstreams import Answer
from portal.web import Page

READERS = ("reviewer", "unit_admin", "national_admin", "operator")
QUEUE_FILTERS = ("scope", "level", "status", "deadline")
PAGE_SIZE = 50


def _review(page: Page, method: str, path: str, unit: str | None = None, **kwargs: Any) -> Answer:
    owner = unit or (page.visitor.active.unit if page.visitor.active else None)
    return page.front.upstreams.review_call(owner, method, path, page.token, **kwargs)


# Who reads review files: the unit's reviewers (councils included), its admins, the national office.
NOT_A_READER = (
    "Trang này dành cho người thẩm định, hội đồng và quản trị đơn vị.",
    "This page is for reviewers, councils and unit admins.",
)


def _names(page: Page, file: dict[str, Any]) -> dict[str, str]:
    """Reviewers and admins act under their login's id; the portal knows the names behind them."""
    ids = {a["actor"] for a in file.get("audit", [])} | {s["reviewer"] for s in file.get("scorecards", [])}
    rows = page.db.execute(select(Person.id, Person.name).where(Person.id.in_(ids), Person.name != "")).all()
    return {**dict(rows), "system": page.t("Hệ thống", "the platform")}


def queue(page: Page) -> Response:
    refused = page.gate(READERS, NOT_A_READER)
    if refused:
        return refused
    args = page.request.args
    filters = {k: args.get(k, "") for k in QUEUE_FILTERS}
    offset = int(args["offset"]) if args.get("offset", "").isdigit() else 0
    params = {**filters, "limit": PAGE_SIZE, "offset": offset}
    answer = page.front.upstreams.review_queue(page.visitor.active.unit, page.token, params)  # type: ignore[union-attr]
    if not answer.ok:
        return page.refused(answer, page.t("Không mở được danh sách", "The queue could not be opened"))
    body = answer.json()
    items = [{**item, "days_left": formatting.days_left(item.get("due_at"))} for item in body["items"]]
    return page.render(
        "review_queue.html",
        items=items,
        total=body.get("total", len(items)),
        next_offset=body.get("next_offset"),
        offset=offset,
        filters=filters,
        words=words,
        levels=timeline.LEVEL_NAMES,
    )


def review_file(page: Page, initiative_id: str, *, action: str = "", answer: Answer | None = None) -> Response:
    """The file; after a refused action, the same page with review's reason by that action's form."""
    refused = page.gate(READERS, NOT_A_READER)
    if refused:
        return refused
    found = _review(page, "GET", f"/api/v1/reviews/{initiative_id}")
    if not found.ok:
        return page.refused(found, page.t("Không mở được hồ sơ", "The file could not be opened"))
    file = found.json()
    # Review's events carry no names (the contracts keep them out): submission has the authors'.
    initiative = page.api("submission", "GET", f"/api/v1/initiatives/{initiative_id}")
    if initiative.ok:
        file["authors"] = initiative.json().get("authors") or file["authors"]
    file["names"] = _names(page, file)
    current = next((s for s in reversed(file["steps"]) if s["level"] == file.get("level")), None)
    summary, errors, status = "", {}, 200
    if answer is not None and not answer.ok:
        error = answer.error()
        summary, errors, status = page.message(error), page.field_errors(error), answer.status
    return page.render(
        "review_file.html",
        status=status,
        file=file,
        current=current,
        days_left=formatting.days_left(current.get("due_at")) if current else None,
        words=words,
        levels=timeline.LEVEL_NAMES,
        failed_action=action if answer is not None else "",
        summary=summary,
        errors=errors,
        form=page.request.form if answer is not None else {},
        done=page.request.args.get("xong", ""),
    )


def act(page: Page, initiative_id: str, action: str) -> Response:
    refused = page.gate(READERS, NOT_A_READER)
    if refused:
        return refused
    page.check_csrf()
    if action not in words.ENDPOINTS:
        return page.notice(404, page.t("Không tìm thấy", "Not found"), "")
    # The top-level unit the form names only routes the call: the deployment checks everything.
    top = (page.request.form.get("top_unit") or "").strip() or None
    answer = _review(
        page,
        "POST",
        f"/api/v1/reviews/{initiative_id}/{words.ENDPOINTS[action]}",
        unit=top,
        json_body=words.payload(action, page.request.form),
    )
    if answer.ok:
        return page.redirect(f"/tham-dinh/{initiative_id}?xong={action}")
    return review_file(page, initiative_id, action=action, answer=answer)
