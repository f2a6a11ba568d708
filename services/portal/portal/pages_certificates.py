"""Printable certificates: the recognition certificate (giấy chứng nhận sáng kiến) of an initiative as a PDF."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote

from werkzeug.wrappers import Response

from portal import certificate_pdf
from portal.web import Page

log = logging.getLogger(__name__)

LEVELS = ("grassroots", "upper", "top", "national")  # lowest first
LEVEL_WORDS = {
    "grassroots": ("công đoàn cơ sở", "grassroots union"),
    "upper": ("công đoàn cấp trên cơ sở", "upper-grassroots union"),
    "top": ("LĐLĐ tỉnh, thành phố / công đoàn ngành", "top-level unit"),
    "national": ("Tổng Liên đoàn", "national"),
}


def choose(certificates: list[dict[str, Any]], level: str | None) -> dict[str, Any] | None:
    """The certificate of `level`, or of the highest level that recognised the initiative; the
    latest one where a level recognised it twice (after a return and a resubmission)."""
    known = [c for c in certificates if c.get("level") in LEVELS and (level is None or c["level"] == level)]
    if not known:
        return None
    return max(known, key=lambda c: (LEVELS.index(c["level"]), c.get("issued_at") or ""))


def verify_url(public_url: str, code: str) -> str:
    """The public check page for a code: what the QR code opens, showing the result directly."""
    return f"{public_url.rstrip('/')}/chung-nhan?code={quote(code, safe='')}"


def filename(number: str) -> str:
    """An ASCII file name every browser and mail client keeps as it is."""
    return f"giay-chung-nhan-{re.sub(r'[^A-Za-z0-9-]+', '-', number).strip('-') or 'sang-kien'}.pdf"


def certificate_data(
    item: dict[str, Any],
    found: dict[str, Any],
    units: dict[str, dict[str, Any] | None],
    public_url: str,
) -> dict[str, Any]:
    """What certificate_pdf prints: the certificate as review recorded it (number, code, title,
    level, issuing unit, date), the authors as submission holds them, unit names from the registry."""
    issuer = units.get(found["issued_by"]) or {}
    parent = units.get(issuer.get("parent") or "") or {}
    own = units.get(item.get("unit") or "") or {}
    return {
        "number": found["number"],
        "verification_code": found["verification_code"],
        "verify_url": verify_url(public_url, found["verification_code"]),
        "title": found.get("title") or item["title"],
        "level": found["level"],
        "issued_by": found["issued_by"],
        "issued_by_name": issuer.get("name") or found["issued_by"],
        "issuer_parent_name": parent.get("name") or "",
        "unit_name": own.get("name") or item.get("unit") or "",
        "authors": item.get("authors") or [],
        "issued_at": found["issued_at"],
    }


def _not_found(page: Page, initiative_id: str, level: str | None) -> Response:
    vi, en = LEVEL_WORDS.get(level or "", ("", ""))
    return page.notice(
        status=404,
        title=page.t("Không có giấy chứng nhận", "No certificate"),
        text=page.t(
            f"Sáng kiến chưa có giấy chứng nhận cấp {vi}." if vi else "Sáng kiến chưa có giấy chứng nhận.",
            f"The initiative has no certificate at the {en} level." if en else "The initiative has no certificate.",
        ),
        link=(f"/sang-kien/{initiative_id}", page.t("Quay lại sáng kiến", "Back to the initiative")),
    )


def download(page: Page, initiative_id: str) -> Response:
    if not page.visitor.logged_in:
        return page.login_redirect()
    # Whoever submission lets read the initiative may print its certificate: the rule lives there alone.
    answer = page.api("submission", "GET", f"/api/v1/initiatives/{initiative_id}")
    if not answer.ok:
        return page.refused(answer, page.t("Không tìm thấy", "Not found"))
    item = answer.json()
    back = (f"/sang-kien/{initiative_id}", page.t("Quay lại sáng kiến", "Back to the initiative"))
    if not item.get("recognized_level"):
        return page.notice(
            status=409,
            title=page.t("Chưa được công nhận", "Not recognised yet"),
            text=page.t(
                "Giấy chứng nhận được cấp khi sáng kiến được công nhận. Sáng kiến này chưa được công nhận.",
                "A certificate is issued when an initiative is recognised. This one has not been recognised yet.",
            ),
            link=back,
        )
    level = page.request.args.get("cap") or None
    if level is not None and level not in LEVELS:
        return _not_found(page, initiative_id, None)

    # The certificates are review's. The visitor's own token may not read a review file (authors
    # do not), so the portal's reader token does, now that submission has let the visitor in.
    upstreams = page.front.upstreams
    unit = item.get("unit")
    review = upstreams.review_call(unit, "GET", f"/api/v1/reviews/{initiative_id}", page.front.public_token())
    if review.status == 404:
        return _not_found(page, initiative_id, level)
    if not review.ok:
        return page.refused(review, page.t("Lỗi", "Error"), link=back)
    chosen = choose((review.json() or {}).get("certificates") or [], level)
    if chosen is None:
        return _not_found(page, initiative_id, level)
    # The public check gives the title as recognised, and says the code checks out: what the QR promises.
    code = chosen["verification_code"]
    check = upstreams.review_call(unit, "GET", f"/api/v1/certificates/{quote(code, safe='')}", None)
    if not check.ok:
        return page.refused(check, page.t("Lỗi", "Error"), link=back)
    found = check.json()
    if not found.get("valid"):
        return page.notice(
            status=409,
            title=page.t("Giấy chứng nhận không còn hiệu lực", "The certificate is no longer valid"),
            text=page.t(
                f"Giấy chứng nhận số {found.get('number')} không còn hiệu lực.",
                f"Certificate {found.get('number')} is no longer valid.",
            ),
            link=back,
        )

    issuer = upstreams.unit(found["issued_by"])
    codes = {found["issued_by"], (issuer or {}).get("parent") or "", unit or ""} - {""}
    units = {c: issuer if c == found["issued_by"] else upstreams.unit(c) for c in codes}
    data = certificate_data(item, found, units, page.front.public_url)
    try:
        pdf = certificate_pdf.render(data)
    except certificate_pdf.PdfUnavailable as exc:
        log.error("certificate PDF unavailable: %s", exc)
        return page.notice(
            status=503,
            title=page.t("Chưa tạo được bản in", "The printable copy is unavailable"),
            text=page.t(
                "Hệ thống chưa tạo được bản PDF của giấy chứng nhận; vui lòng thử lại sau.",
                "The platform cannot make the certificate's PDF right now; try again later.",
            ),
            link=back,
        )
    response = Response(pdf, status=200, content_type="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename(found["number"])}"'
    # A personal document: browsers may keep it, shared caches may not.
    response.headers["Cache-Control"] = "private"
    return page.finish(response)
