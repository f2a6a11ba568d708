"""Reports for any logged-in reader: a unit's six-month and annual reports (XLSX, CSV), the open-data
export, and the award ledger with the remuneration schedule. Files are streamed from awards as they
come, never held whole in the portal."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Response

from portal.upstreams import Answer
from portal.web import Page

REPORT_READERS = ("support_team", "reviewer", "unit_admin", "national_admin", "operator")
NATIONAL = ("national_admin", "operator")
FORMATS = ("xlsx", "csv")
CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
UNIT = re.compile(r"[A-Z][A-Z0-9-]{0,63}")
REPORT_PERIOD = re.compile(r"20[0-9]{2}(?:-H[12])?")
LEDGER_PERIOD = re.compile(r"20[0-9]{2}(?:-H[12]|-Q[1-4])?")
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
LEDGER_KINDS = {
    "certificate_of_merit": ("Bằng khen", "Certificate of merit"),
    "bonus": ("Thưởng theo ý tưởng", "Bonus per idea"),
    "benefit_reward": ("Thưởng theo giá trị làm lợi", "Reward on benefit"),
    "remuneration": ("Thù lao tác giả", "Authors' remuneration"),
}
LEDGER_PAGE = 50
CSV_PAGE = 500  # awards' largest ledger page
CSV_MAX_ROWS = 200_000  # a unit's ledger is far smaller; a bound keeps one download from running forever
BOM = "\ufeff"  # spreadsheet programs read the file as UTF-8 only with it
LEDGER_COLUMNS = (
    ("created_at", "Ngày ghi sổ (created_at)"),
    ("kind", "Loại (kind)"),
    ("kind_label", "Tên loại (kind_label)"),
    ("programme", "Chương trình (programme)"),
    ("period", "Kỳ (period)"),
    ("recipient_type", "Cá nhân/tập thể (recipient_type)"),
    ("recipient_unit", "Đơn vị nhận (recipient_unit)"),
    ("recipient_member", "Đoàn viên nhận (recipient_member)"),
    ("initiative_id", "Sáng kiến (initiative_id)"),
    ("reason", "Lý do (reason)"),
    ("certificate_number", "Số bằng khen (certificate_number)"),
    ("amount_vnd", "Số tiền, đồng (amount_vnd)"),
    ("installment", "Đợt (installment)"),
    ("due_on", "Hạn chi trả (due_on)"),
    ("paid_at", "Đã chi lúc (paid_at)"),
)


# --- Plain rules ----------------------------------------------------------------------------------


def periods(today: datetime, years: int = 3) -> list[tuple[str, str, str]]:
    """The report periods to offer, newest first: (code, Vietnamese name, English name)."""
    out = []
    for year in range(today.year, today.year - years, -1):
        halves = [("H2", "6 tháng cuối năm", "second half")] if today.year > year or today.month > 6 else []
        halves.append(("H1", "6 tháng đầu năm", "first half"))
        for half, vi, en in halves:
            out.append((f"{year}-{half}", f"{vi} {year}", f"{en} of {year}"))
        out.append((str(year), f"Cả năm {year}", f"Year {year}"))
    return out


def report_request(args: Any, default_unit: str | None) -> tuple[dict[str, str], dict[str, list[tuple[str, str]]]]:
    """The report asked for, and field errors as (Vietnamese, English) pairs; the unit defaults to the visitor's."""
    errors: dict[str, list[tuple[str, str]]] = {}
    unit = (args.get("unit") or default_unit or "").strip().upper()
    period = (args.get("period") or "").strip().upper()
    fmt = (args.get("format") or "xlsx").strip().lower()
    if not unit:
        errors["unit"] = [("Hãy nhập mã đơn vị.", "Enter a unit code.")]
    elif not UNIT.fullmatch(unit):
        errors["unit"] = [
            ("Mã đơn vị chỉ gồm chữ in hoa, số và dấu gạch ngang.", "A unit code has capitals, digits and dashes.")
        ]
    if not period:
        errors["period"] = [("Hãy chọn kỳ báo cáo.", "Choose a period.")]
    elif not REPORT_PERIOD.fullmatch(period):
        errors["period"] = [("Kỳ báo cáo: 2026-H1, 2026-H2 hoặc 2026.", "A period: 2026-H1, 2026-H2 or 2026.")]
    if fmt not in FORMATS:
        errors["format"] = [("Chọn XLSX hoặc CSV.", "Choose XLSX or CSV.")]
    return {"unit": unit, "period": period, "format": fmt}, errors


def ledger_filters(args: Any) -> dict[str, str]:
    """The ledger's filters as awards takes them; values go through so awards' 422 can name a bad one."""
    wanted = {name: (args.get(name) or "").strip() for name in ("under", "kind", "period", "order", "offset")}
    wanted["under"] = wanted["under"].upper()
    wanted["period"] = wanted["period"].upper()
    return {k: v for k, v in wanted.items() if v}


def ledger_row(entry: dict[str, Any]) -> list[Any]:
    """One ledger entry as a CSV row: every column of LEDGER_COLUMNS, in order."""
    details = entry.get("details") or {}
    installment = (
        f"{details['installment']}/{details['installments']}"
        if details.get("installment") and details.get("installments")
        else ""
    )
    extra = {"kind_label": LEDGER_KINDS.get(entry.get("kind", ""), ("", ""))[0], "installment": installment}
    return [spreadsheet_safe(extra.get(key, entry.get(key))) for key, _ in LEDGER_COLUMNS]


def spreadsheet_safe(value: Any) -> Any:
    """A text cell starting with = + - @ would run as a formula in a spreadsheet: it gets a leading quote."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_bytes(rows: Iterable[list[Any]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def disposition(filename: str) -> str:
    """An attachment header with a plain ASCII name (unit codes and periods are ASCII anyway)."""
    return f'attachment; filename="{SAFE_NAME.sub("-", filename)[:150]}"'


def ledger_filename(filters: dict[str, str]) -> str:
    schedule = filters.get("kind") == "remuneration" and filters.get("order") == "due"
    parts = ["lich-chi-tra-thu-lao" if schedule else "so-khen-thuong", filters.get("under"), filters.get("period")]
    if not schedule and filters.get("kind"):
        parts.append(filters["kind"])
    return "-".join(p for p in parts if p) + ".csv"


# --- Pages ------------------------------------------------------------------------------------------


def _pairs(page: Page, errors: dict[str, list[tuple[str, str]]]) -> dict[str, list[str]]:
    return {name: [page.t(vi, en) for vi, en in messages] for name, messages in errors.items()}


def _default_unit(page: Page) -> str:
    active = page.visitor.active
    return active.unit if active else ""


def _reports_page(
    page: Page, status: int = 200, values: dict[str, str] | None = None, errors: dict[str, list[str]] | None = None
) -> Response:
    role = page.visitor.role or ""
    unit = _default_unit(page)
    return page.render(
        "reports.html",
        status=status,
        can_report=role in REPORT_READERS,
        national=role in NATIONAL,
        unit=unit,
        periods=periods(datetime.now(UTC)),
        values=values or {"unit": unit, "format": "xlsx"},
        errors=errors or {},
        summary=page.t("Chưa tải được báo cáo.", "The report could not be downloaded.") if errors else "",
        programme=page.front.programme,
    )


def _gate(page: Page) -> Response | None:
    if not page.visitor.logged_in:
        return page.login_redirect()
    if page.visitor.active is None:
        return page.redirect("/tham-gia")
    return None


def reports(page: Page) -> Response:
    return _gate(page) or _reports_page(page)


def _stream(page: Page, path: str, params: dict[str, Any], token: str | None) -> Any:
    """Awards' answer unread, so a 200 goes to the visitor as it arrives; the caller releases it."""
    upstreams = page.front.upstreams
    query = "?" + urlencode([(k, v) for k, v in params.items() if v not in (None, "")]) if params else ""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return upstreams.raw(upstreams.url("awards"), "GET", path + query, headers, service="awards", stream=True)


def _send_file(page: Page, upstream: Any, filename: str, content_type: str) -> Response:
    response = Response(upstream.stream(64 * 1024), content_type=content_type, direct_passthrough=True)
    response.call_on_close(upstream.release_conn)
    response.headers["Content-Disposition"] = disposition(filename)
    response.headers["Cache-Control"] = "private, no-store"
    return page.finish(response)


def _error_of(upstream: Any) -> tuple[int, dict[str, Any]]:
    body = upstream.data
    upstream.release_conn()
    return upstream.status, Answer(upstream.status, dict(upstream.headers), body).error()


def report_download(page: Page) -> Response:
    gate = _gate(page)
    if gate:
        return gate
    values, problems = report_request(page.request.args, _default_unit(page))
    if problems:
        return _reports_page(page, 422, values, _pairs(page, problems))
    upstream = _stream(
        page,
        f"/api/v1/reports/{values['unit']}",
        {"programme": page.front.programme, "period": values["period"], "format": values["format"]},
        page.token,
    )
    if upstream.status != 200:
        status, error = _error_of(upstream)
        errors = page.field_errors(error) or {"unit": [page.message(error)]}
        return _reports_page(page, status, values, errors)
    name = f"bao-cao-{values['unit']}-{page.front.programme}-{values['period']}.{values['format']}"
    return _send_file(page, upstream, name, CONTENT_TYPES[values["format"]])


def open_data(page: Page) -> Response:
    """Public data (recognised, not confidential initiatives, no personal data): no login needed."""
    upstream = _stream(page, "/api/v1/exports/open-data.csv", {"programme": page.front.programme}, None)
    if upstream.status != 200:
        _, error = _error_of(upstream)
        return page.notice(
            status=upstream.status,
            title=page.t("Không tải được dữ liệu mở", "The open data could not be downloaded"),
            text=page.message(error),
        )
    return _send_file(page, upstream, f"sang-kien-du-lieu-mo-{page.front.programme}.csv", CONTENT_TYPES["csv"])


def ledger(page: Page) -> Response:
    gate = _gate(page)
    if gate:
        return gate
    filters = ledger_filters(page.request.args)
    answer = page.api("awards", "GET", "/api/v1/ledger", params={**filters, "limit": LEDGER_PAGE})
    errors = {} if answer.ok else page.field_errors(answer.error())
    if not answer.ok and not errors:
        return page.refused(answer, page.t("Sổ khen thưởng", "Award ledger"))
    body = answer.json() if answer.ok else {"items": [], "total": 0, "next_offset": None}
    schedule = filters.get("kind") == "remuneration" and filters.get("order") == "due"
    keep = {k: v for k, v in filters.items() if k != "offset"}
    offset = int(filters["offset"]) if filters.get("offset", "").isdigit() else 0
    return page.render(
        "ledger.html",
        status=200 if answer.ok else answer.status,
        filters=filters,
        errors=errors,
        page_data=body,
        schedule=schedule,
        kinds=LEDGER_KINDS,
        member=page.visitor.role == "member",
        csv_link="/bao-cao/so-khen-thuong.csv?" + urlencode(keep),
        next_link="/bao-cao/so-khen-thuong?" + urlencode({**keep, "offset": body["next_offset"]})
        if body.get("next_offset") is not None
        else None,
        previous_link="/bao-cao/so-khen-thuong?" + urlencode({**keep, "offset": max(0, offset - LEDGER_PAGE)})
        if offset > 0
        else None,
    )


def _ledger_pages(page: Page, filters: dict[str, str], token: str | None, first: dict[str, Any]) -> Iterator[bytes]:
    """The CSV as it is read, a page of awards' ledger at a time."""
    yield BOM.encode("utf-8") + csv_bytes([[label for _, label in LEDGER_COLUMNS]])
    body, sent = first, 0
    while True:
        rows = [ledger_row(e) for e in body.get("items", [])]
        sent += len(rows)
        if rows:
            yield csv_bytes(rows)
        nxt = body.get("next_offset")
        if nxt is None or sent >= CSV_MAX_ROWS:
            return
        answer = page.front.upstreams.call(
            "awards", "GET", "/api/v1/ledger", token, params={**filters, "offset": nxt, "limit": CSV_PAGE}
        )
        if not answer.ok:  # the status is already sent: cut the file short rather than pass it as whole
            raise RuntimeError(f"awards ledger answered {answer.status} mid-download")
        body = answer.json()


def ledger_csv(page: Page) -> Response:
    gate = _gate(page)
    if gate:
        return gate
    filters = {k: v for k, v in ledger_filters(page.request.args).items() if k != "offset"}
    token = page.token
    answer = page.api("awards", "GET", "/api/v1/ledger", params={**filters, "limit": CSV_PAGE})
    if not answer.ok:
        return ledger(page)  # the same filters on the page, with awards' errors beside them
    response = Response(_ledger_pages(page, filters, token, answer.json()), content_type=CONTENT_TYPES["csv"])
    response.headers["Content-Disposition"] = disposition(ledger_filename(filters))
    response.headers["Cache-Control"] = "private, no-store"
    return page.finish(response)
