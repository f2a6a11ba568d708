"""Members and support teams: submit, follow, withdraw or resubmit initiatives; the inbox; bulk upload."""

from __future__ import annotations

import json
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Response

from chassis.config import setting
from portal import forms, timeline
from portal.web import Page

SUBMITTERS = ("member", "support_team")
STAFF = ("support_team", "reviewer", "unit_admin", "national_admin", "operator")


@lru_cache(maxsize=1)
def vocabulary() -> dict[str, Any]:
    """The codes' Vietnamese names (fields, target groups), from the contracts."""
    return json.loads((Path(setting("CONTRACTS_DIR")) / "vocabulary.json").read_text(encoding="utf-8"))


def grassroots_under(page: Page, code: str) -> list[dict[str, Any]]:
    """The grassroots unions a support team of `code` submits for."""
    unit = page.front.upstreams.unit(code)
    if unit is None:
        return []
    if unit["level"] == "grassroots":
        return [unit]
    params: dict[str, Any] = {"level": "grassroots", "limit": 5000}
    if unit["level"] == "upper":
        params["parent"] = code
    elif unit["level"] == "top":
        params["top"] = code
    found = page.front.upstreams.call("submission", "GET", "/api/v1/units", params=params)
    return (found.json() or {}).get("items", []) if found.ok else []


def unread_count(page: Page) -> int | None:
    if page.token is None:
        return None
    answer = page.api("notify", "GET", "/api/v1/inbox", params={"limit": 1, "unread": "true"})
    return (answer.json() or {}).get("unread") if answer.ok else None


def _submit_context(page: Page, values: dict[str, str]) -> dict[str, Any]:
    programmes = page.api("submission", "GET", "/api/v1/programmes").json() or []
    acting = page.visitor.acting
    assert acting is not None
    units = grassroots_under(page, acting.unit) if acting.role == "support_team" else []
    vocab = vocabulary()
    return {
        "programmes": programmes,
        "units": units,
        "fields": vocab["fields"],
        "groups": vocab["target_groups"],
        "values": values,
        "author_rows": forms.MAX_AUTHORS,
    }


def _default_values(page: Page) -> dict[str, str]:
    acting, person = page.visitor.acting, page.visitor.person
    assert acting is not None and person is not None
    values = {"programme": page.front.programme, "unit": acting.unit if acting.role == "member" else ""}
    if acting.role == "member":
        values.update(
            {
                "authors.0.name": person.name,
                "authors.0.member_id": page.visitor.active.member_id or "",
                "authors.0.share_percent": "100",
            }
        )  # type: ignore[union-attr]
    return values


def submit(page: Page) -> Response:
    refused = page.gate(SUBMITTERS)
    if refused:
        return refused
    errors: dict[str, list[str]] = {}
    summary = ""
    if page.request.method == "POST":
        page.check_csrf()
        values = {k: v for k, v in page.request.form.items() if k != "csrf_token"}
        payload = forms.initiative(page.request.form)
        if page.visitor.role == "member":
            payload["unit"] = page.visitor.active.unit  # type: ignore[union-attr]
        key = page.request.form.get("idempotency_key") or str(uuid.uuid4())
        answer = page.api(
            "submission", "POST", "/api/v1/initiatives", json_body=payload, headers={"Idempotency-Key": key}
        )
        if answer.status == 201:
            return page.redirect(f"/sang-kien/{answer.json()['id']}?da-gui=1")
        error = answer.error()
        summary, errors = page.message(error), page.field_errors(error)
        values["idempotency_key"] = key if answer.status >= 500 else str(uuid.uuid4())
    else:
        values = _default_values(page)
        values["idempotency_key"] = str(uuid.uuid4())
    return page.render(
        "submit.html",
        status=422 if errors or summary else 200,
        errors=errors,
        summary=summary,
        joined=page.request.args.get("joined"),
        on_behalf=page.visitor.role == "support_team",
        **_submit_context(page, values),
    )


STATUSES = ("submitted", "in_review", "returned", "recognized", "rejected", "nominated", "withdrawn")


def initiatives(page: Page) -> Response:
    if not page.visitor.logged_in:
        return page.login_redirect()
    if page.visitor.active is None:
        return page.redirect("/tham-gia")
    args = page.request.args
    limit = args.get("limit", "50")
    params: dict[str, Any] = {"limit": limit if limit.isdigit() and 0 < int(limit) <= 200 else "50"}
    for name in ("status", "programme", "phase", "unit", "cursor"):
        if args.get(name):
            params[name] = args[name]
    mine = page.visitor.role == "member"
    answer = page.api("submission", "GET", "/api/v1/initiatives", params=params)
    if not answer.ok:
        return page.refused(answer, page.t("Lỗi", "Error"))
    body = answer.json()
    programmes = page.api("submission", "GET", "/api/v1/programmes").json() or []
    lower: list[dict] = []
    if not mine:
        found = page.api("submission", "GET", "/api/v1/units", params={"parent": page.visitor.active.unit})  # type: ignore[union-attr]
        lower = (found.json() or {}).get("items", []) if found.ok else []
    return page.render(
        "initiatives.html",
        items=body["items"],
        next_cursor=body.get("next_cursor"),
        limit=params["limit"],
        mine=mine,
        filters={k: args.get(k, "") for k in ("status", "programme", "phase", "unit")},
        statuses=STATUSES,
        status_names=timeline.STATUS_NAMES,
        programmes=programmes,
        lower=lower,
        unread=unread_count(page),
    )


def initiative(page: Page, initiative_id: str) -> Response:
    if not page.visitor.logged_in:
        return page.login_redirect()
    answer = page.api("submission", "GET", f"/api/v1/initiatives/{initiative_id}")
    if not answer.ok:
        return page.refused(answer, page.t("Không tìm thấy", "Not found"))
    item = answer.json()
    return page.render(
        "initiative.html",
        item=item,
        steps=timeline.steps(item, page.lang),
        level=timeline.level_name(item.get("review_level"), page.lang),
        status_names=timeline.STATUS_NAMES,
        can_withdraw=timeline.can_withdraw(item) and page.visitor.role in SUBMITTERS,
        can_resubmit=timeline.can_resubmit(item) and page.visitor.role in SUBMITTERS,
        just_sent=page.request.args.get("da-gui"),
        error=page.request.args.get("loi"),
        vocab=vocabulary(),
    )


def withdraw(page: Page, initiative_id: str) -> Response:
    if not page.visitor.logged_in:
        return page.login_redirect()
    page.check_csrf()
    reason = page.request.form.get("reason", "").strip() or None
    answer = page.api(
        "submission", "POST", f"/api/v1/initiatives/{initiative_id}/withdraw", json_body={"reason": reason}
    )
    if answer.ok:
        return page.redirect(f"/sang-kien/{initiative_id}")
    return page.refused(
        answer,
        page.t("Không rút được sáng kiến", "The initiative was not withdrawn"),
        link=(f"/sang-kien/{initiative_id}", page.t("Quay lại sáng kiến", "Back to the initiative")),
    )


def resubmit(page: Page, initiative_id: str) -> Response:
    refused = page.gate(SUBMITTERS)
    if refused:
        return refused
    current = page.api("submission", "GET", f"/api/v1/initiatives/{initiative_id}")
    if not current.ok:
        return page.refused(current, page.t("Không tìm thấy", "Not found"))
    item = current.json()
    errors: dict[str, list[str]] = {}
    summary = ""
    if page.request.method == "POST":
        page.check_csrf()
        values = {k: v for k, v in page.request.form.items() if k != "csrf_token"}
        answer = page.api(
            "submission",
            "POST",
            f"/api/v1/initiatives/{initiative_id}/resubmit",
            json_body=forms.initiative_content(page.request.form),
        )
        if answer.ok:
            return page.redirect(f"/sang-kien/{initiative_id}?da-gui=1")
        error = answer.error()
        summary, errors = page.message(error), page.field_errors(error)
    else:
        values = forms.values_of(item)
    return page.render(
        "submit.html",
        status=422 if errors or summary else 200,
        errors=errors,
        summary=summary,
        resubmit=item,
        on_behalf=False,
        **_submit_context(page, values),
    )


def inbox(page: Page) -> Response:
    if not page.visitor.logged_in:
        return page.login_redirect()
    if page.visitor.active is None:
        return page.redirect("/tham-gia")
    if page.request.method == "POST":
        page.check_csrf()
        message = page.request.form.get("message_id")
        if message:
            page.api("notify", "POST", f"/api/v1/inbox/{message}/read")
        else:
            page.api("notify", "POST", "/api/v1/inbox/read-all")
        return page.redirect("/hop-thu")
    offset = page.request.args.get("offset", "0")
    answer = page.api("notify", "GET", "/api/v1/inbox", params={"limit": 30, "offset": offset})
    if not answer.ok:
        return page.refused(answer, page.t("Lỗi", "Error"))
    body = answer.json()
    return page.render(
        "inbox.html",
        items=body["items"],
        unread=body.get("unread", 0),
        total=body.get("total", 0),
        next_offset=body.get("next_offset"),
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def bulk(page: Page) -> Response:
    refused = page.gate(("support_team",))
    if refused:
        return refused
    result: dict[str, Any] | None = None
    summary = ""
    if page.request.method == "POST":
        page.check_csrf()
        upload = page.request.files.get("file")
        if upload is None or not upload.filename:
            summary = page.t("Hãy chọn tệp CSV hoặc XLSX để tải lên.", "Choose a CSV or XLSX file to upload.")
        else:
            kind = XLSX if upload.filename.lower().endswith(".xlsx") else "text/csv"
            stream = upload.stream  # spooled to disk by werkzeug past 500 KB; never read whole here
            stream.seek(0, 2)
            size = stream.tell()
            stream.seek(0)
            headers = {"Content-Type": kind, "Content-Length": str(size)}
            answer = page.api("submission", "POST", "/api/v1/initiatives/bulk", body=stream, headers=headers)
            if answer.ok:
                result = answer.json()
            else:
                summary = page.message(answer.error())
    return page.render("bulk.html", status=200 if not summary else 422, result=result, summary=summary)


def bulk_template(page: Page) -> Response:
    answer = page.front.upstreams.call("submission", "GET", "/api/v1/initiatives/bulk/template.csv")
    return Response(
        answer.body,
        status=answer.status,
        headers={"Content-Disposition": 'attachment; filename="mau-nhap-sang-kien.csv"'},
        content_type="text/csv; charset=utf-8",
    )
