"""Pages anyone may open: the home page, the live national ranking, certificate checks, API docs."""

from __future__ import annotations

import re

from werkzeug.wrappers import Response

from portal.pages_member import unread_count
from portal.web import Page

METRICS = ("submitted", "participants", "progress", "recognized", "benefit_vnd")
METRIC_NAMES = {
    "submitted": ("Số sáng kiến", "Initiatives"),
    "participants": ("Số người tham gia", "Participants"),
    "progress": ("% chỉ tiêu", "% of target"),
    "recognized": ("Sáng kiến được công nhận", "Recognised"),
    "benefit_vnd": ("Giá trị làm lợi", "Benefit"),
}
CODE = re.compile(r"^[A-Za-z0-9-]{4,64}$")


def home(page: Page) -> Response:
    return page.render("home.html", unread=unread_count(page) if page.visitor.active else None)


def ranking(page: Page) -> Response:
    metric = page.request.args.get("metric", "submitted")
    metric = metric if metric in METRICS else "submitted"
    answer = page.front.upstreams.call(
        "awards",
        "GET",
        "/api/v1/rankings",
        page.front.public_token(),
        params={"programme": page.front.programme, "metric": metric, "scope": "national", "limit": 100},
    )
    body = answer.json() if answer.ok else None
    template = "ranking_table.html" if page.request.args.get("partial") == "1" else "ranking.html"
    response = page.render(
        template,
        ranking=body,
        error=None if answer.ok else page.message(answer.error()),
        metric=metric,
        metrics=METRICS,
        metric_names=METRIC_NAMES,
        programme=page.front.programme,
    )
    return response


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
