"""Pages anyone may open: the home page, the live national ranking, certificate checks, API docs."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from cachetools import TTLCache
from werkzeug.wrappers import Response

from portal.pages_member import unread_count
from portal.upstreams import Answer
from portal.web import Page

METRICS = ("submitted", "recognized", "participants", "progress", "benefit_vnd")
METRIC_NAMES = {
    "submitted": ("Số sáng kiến", "Initiatives"),
    "participants": ("Số người tham gia", "Participants"),
    "progress": ("% chỉ tiêu", "% of target"),
    "recognized": ("Sáng kiến được công nhận", "Recognised"),
    "benefit_vnd": ("Giá trị làm lợi", "Benefit"),
}
SCOPES = ("national", "cluster", "top")
SCOPE_NAMES = {
    "national": ("Toàn quốc (các LĐLĐ tỉnh, công đoàn ngành, tổng công ty)", "National (top-level units)"),
    "cluster": ("Trong một cụm thi đua", "Within a competition cluster"),
    "top": ("Các đơn vị trực thuộc một đơn vị cấp tỉnh/ngành", "Units under a top-level unit"),
}
LEVELS = ("grassroots", "upper")
LEVEL_NAMES = {
    "grassroots": ("Công đoàn cơ sở", "Grassroots unions"),
    "upper": ("Công đoàn cấp trên cơ sở", "Upper-grassroots unions"),
}
PAGE_SIZE = 100
CODE = re.compile(r"^[A-Za-z0-9-]{4,64}$")
UNIT_CODE = re.compile(r"^[A-Z][A-Z0-9-]{0,63}$")
# The chart is drawn by matplotlib in awards: one drawing per unit and minute serves every reader.
_CHARTS: TTLCache[tuple[str, str], bytes] = TTLCache(maxsize=256, ttl=60)
# Its figures (the table under it, and the scope choices) are kept as long, so they match the picture
# and a full page costs one ranking call instead of three.
_CHART_DATA: TTLCache[tuple[str, str], list[dict[str, Any]]] = TTLCache(maxsize=256, ttl=60)


def home(page: Page) -> Response:
    return page.render("home.html", unread=unread_count(page) if page.visitor.active else None)


def ranking_params(args: Any) -> dict[str, Any]:
    """What the reader asked for, as awards' rankings query takes it. Unknown values go through
    unchanged, so awards' field-level 422 names them; only absent ones get defaults."""
    scope = (args.get("scope") or "national").strip()
    wanted: dict[str, Any] = {
        "scope": scope,
        "metric": (args.get("metric") or "submitted").strip(),
        "limit": PAGE_SIZE,
    }
    if scope == "cluster":
        wanted["cluster"] = (args.get("cluster") or "").strip()
    if scope == "top":
        wanted["top"] = (args.get("top") or "").strip().upper()
        wanted["level"] = (args.get("level") or "grassroots").strip()
    offset = (args.get("offset") or "").strip()
    if offset:
        wanted["offset"] = offset
    return wanted


def movement(item: dict[str, Any], compared: bool) -> dict[str, Any]:
    """The change in rank since the 7:00 snapshot, as an arrow and words (never colour alone)."""
    change, before = item.get("rank_change"), item.get("previous_rank")
    if not compared or item.get("rank") is None:
        return {"kind": "none", "symbol": "–", "vi": "Chưa có hạng để so sánh", "en": "No rank to compare"}
    if before is None:
        return {"kind": "new", "symbol": "mới", "vi": "Mới vào bảng xếp hạng", "en": "New in the ranking"}
    if not change:
        return {"kind": "same", "symbol": "–", "vi": f"Giữ hạng {before}", "en": f"Same rank as before ({before})"}
    if change > 0:
        return {
            "kind": "up",
            "symbol": f"↑ {change}",
            "vi": f"Tăng {change} bậc, từ hạng {before}",
            "en": f"Up {change}, from rank {before}",
        }
    return {
        "kind": "down",
        "symbol": f"↓ {-change}",
        "vi": f"Giảm {-change} bậc, từ hạng {before}",
        "en": f"Down {-change}, from rank {before}",
    }


def chart_alt(items: list[dict[str, Any]], where: str, lang: str) -> str:
    """The chart's text alternative: what it shows and who leads; the table below has every figure."""
    with_target = [i for i in items if i.get("progress") is not None]
    lead = with_target[0] if with_target else None
    if lang == "en":
        text = f"Bar chart: initiatives submitted against the target, {len(items)} units of {where}."
        if lead:
            text += f" Furthest along: {lead.get('name') or lead['unit']}, {lead['progress']:.1f}% of target."
        return text + " Every figure is in the table below the chart."
    text = f"Biểu đồ thanh: số sáng kiến đã gửi so với chỉ tiêu, {len(items)} đơn vị của {where}."
    if lead:
        percent = f"{lead['progress']:.1f}".replace(".", ",")
        text += f" Dẫn đầu: {lead.get('name') or lead['unit']}, đạt {percent}% chỉ tiêu."
    return text + " Số liệu đầy đủ ở bảng dưới biểu đồ."


def _rankings(page: Page, params: dict[str, Any]) -> Answer:
    # The public reader token: the ranking is the same for everyone, and awards caches it.
    return page.front.upstreams.call(
        "awards",
        "GET",
        "/api/v1/rankings",
        page.front.public_token(),
        params={"programme": page.front.programme, **params},
    )


def _chart_data(page: Page, top: str) -> list[dict[str, Any]]:
    """The chart's units by progress: the top-level units, or the upper-grassroots units under `top`."""
    key = (page.front.programme, top)
    items = _CHART_DATA.get(key)
    if items is None:
        params = {"scope": "top", "top": top, "level": "upper"} if top else {"scope": "national"}
        answer = _rankings(page, {**params, "metric": "progress", "limit": 200})
        if not answer.ok:
            return []  # the chart is an extra: the ranking above says what went wrong
        items = _CHART_DATA[key] = (answer.json() or {}).get("items", [])
    return items


def ranking(page: Page) -> Response:
    wanted = ranking_params(page.request.args)
    answer = _rankings(page, wanted)
    body = answer.json() if answer.ok else None
    errors = {} if answer.ok else page.field_errors(answer.error())
    error = None if answer.ok or errors else page.message(answer.error())
    refresh = "/bang-xep-hang?" + urlencode({**{k: v for k, v in wanted.items() if k != "limit"}, "partial": "1"})
    common = {
        "ranking": body,
        "error": error,
        "errors": errors,
        "wanted": wanted,
        "metric": wanted["metric"],
        "metrics": METRICS,
        "metric_names": METRIC_NAMES,
        "movement": movement,
        "now": datetime.now(UTC),
    }
    if page.request.args.get("partial") == "1":
        return page.render("ranking_table.html", status=200 if answer.ok else answer.status, **common)
    # Every top-level unit with its cluster, by progress: the scope choices and the chart's table.
    national = _chart_data(page, "")
    tops = sorted(national, key=lambda i: i["unit"])
    clusters = sorted({i["cluster"] for i in tops if i.get("cluster")})
    chart_top = wanted.get("top") if wanted["scope"] == "top" and answer.ok else None
    if chart_top:
        chart_items = _chart_data(page, chart_top)
        name = next((i.get("name") for i in tops if i["unit"] == chart_top), None) or chart_top
    else:
        chart_items = national
        name = page.t("Tổng Liên đoàn Lao động Việt Nam", "the Vietnam General Confederation of Labour")
    return page.render(
        "ranking.html",
        status=200 if answer.ok else answer.status,
        refresh=refresh,
        programme=page.front.programme,
        scopes=SCOPES,
        scope_names=SCOPE_NAMES,
        levels=LEVELS,
        level_names=LEVEL_NAMES,
        tops=tops,
        clusters=clusters,
        chart_src="/bang-xep-hang/bieu-do.png" + (f"?top={chart_top}" if chart_top else ""),
        chart_items=chart_items,
        chart_alt=chart_alt(chart_items, name, page.lang),
        chart_of=name,
        **common,
    )


def ranking_chart(page: Page) -> Response:
    """Awards' progress chart through the portal: national, or the units under a top-level unit."""
    top = (page.request.args.get("top") or "").strip().upper()
    if top and not UNIT_CODE.match(top):
        response = Response(
            page.t("Mã đơn vị không hợp lệ.", "Not a unit code."), status=422, content_type="text/plain; charset=utf-8"
        )
        return page.finish(response)
    key = (page.front.programme, top)
    data = _CHARTS.get(key)
    if data is None:
        answer = page.front.upstreams.call(
            "awards",
            "GET",
            "/api/v1/charts/progress.png",
            page.front.public_token(),
            params={"programme": page.front.programme, "unit": top or None},
        )
        if not answer.ok:
            text = page.message(answer.error())
            return page.finish(Response(text, status=answer.status, content_type="text/plain; charset=utf-8"))
        data = _CHARTS[key] = answer.body
    response = Response(data, content_type="image/png")
    response.headers["Cache-Control"] = "public, max-age=60"
    return page.finish(response)


def certificate(page: Page) -> Response:
    code = page.request.args.get("code", "").strip().upper()
    found = None
    error = ""
    if code:
        if not CODE.match(code):
            error = page.t(
                "Mã xác thực chỉ gồm chữ, số và dấu gạch ngang.",
                "A verification code has letters, digits and dashes only.",
            )
        else:
            answer = None
            bases = [("review", b) for b in page.front.upstreams.review_urls()] + [("awards", None)]
            for service, base in bases:
                answer = page.front.upstreams.call(service, "GET", f"/api/v1/certificates/{code}", base=base)
                if answer.status != 404:
                    break
            assert answer is not None
            if answer.ok:
                found = answer.json()
            elif answer.status == 404:
                error = page.t("Không tìm thấy giấy chứng nhận với mã này.", "No certificate has this code.")
            else:
                error = page.message(answer.error())
    return page.render("certificate.html", status=404 if error and code else 200, code=code, found=found, error=error)


def api_docs(page: Page) -> Response:
    return page.render("api_docs.html")
