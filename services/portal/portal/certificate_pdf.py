"""The printable recognition certificate (giấy chứng nhận sáng kiến): plain data in, PDF bytes out.

The data is one dict:
    number             the certificate number ("HN-KL-C001-2026-000001")
    verification_code  the code the public check page accepts ("HN-7QK2M9XD4T")
    verify_url         the public check page for that code (what the QR code opens)
    title              the initiative's title as recognised
    level              the recognising level: grassroots, upper, top or national
    issued_by          code of the recognising unit
    issued_by_name     its name ("Công đoàn cơ sở Bệnh viện ...")
    issuer_parent_name the name of the unit above it (empty for the national level)
    unit_name          the authors' grassroots union (optional)
    authors            [{"name": ..., "share_percent": ..., "member_id": ...}]
    issued_at          when it was recognised (datetime or ISO 8601 text)

The certificate is a Vietnamese administrative document, so it is printed in Vietnamese whatever the
reader's language (the pages around it are bilingual).
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import segno
from jinja2 import Environment, FileSystemLoader, select_autoescape

from chassis.calendar import LOCAL

TEMPLATES = Path(__file__).resolve().parent / "templates"
# Debian's fonts-noto-core (installed by scripts/ensure-services.sh pdf): every Vietnamese glyph.
FONT_DIR = Path("/usr/share/fonts/truetype/noto")
FONTS = {
    ("normal", "normal"): "NotoSerif-Regular.ttf",
    ("bold", "normal"): "NotoSerif-Bold.ttf",
    ("normal", "italic"): "NotoSerif-Italic.ttf",
    ("bold", "italic"): "NotoSerif-BoldItalic.ttf",
}
LEVEL_PHRASES = {
    "grassroots": "cấp công đoàn cơ sở",
    "upper": "cấp công đoàn cấp trên cơ sở",
    "top": "cấp tỉnh, thành phố, ngành trung ương",
    "national": "cấp Tổng Liên đoàn Lao động Việt Nam",
}
# Who signs for the recognising body (thay mặt, "TM."), by level: the union's own executive bodies.
SIGNING_BODIES = {
    "grassroots": "TM. BAN CHẤP HÀNH",
    "upper": "TM. BAN THƯỜNG VỤ",
    "top": "TM. BAN THƯỜNG VỤ",
    "national": "TM. ĐOÀN CHỦ TỊCH",
}


# Past these the certificate sets its text smaller so that it stays on one page.
DENSE_TITLE, DENSE_AUTHORS, ONE_COLUMN, TWO_COLUMNS = 140, 8, 4, 12


class PdfUnavailable(RuntimeError):
    """The PDF cannot be made on this machine: scripts/ensure-services.sh pdf installs what it needs."""


class MissingFonts(PdfUnavailable):
    """Without the Noto fonts the PDF would print boxes for Vietnamese letters: refuse instead."""


@lru_cache(maxsize=1)
def _weasyprint() -> tuple[Any, Any]:
    """WeasyPrint loads Pango when imported: imported on first use, the portal still starts (and
    serves every other page) on a machine without it."""
    try:
        from weasyprint import HTML, URLFetcher
    except OSError as exc:
        raise PdfUnavailable(f"WeasyPrint cannot load its libraries: {exc}") from exc

    class LocalOnly(URLFetcher):  # type: ignore[misc, valid-type]
        """The template loads nothing from outside: only the font files and inline data."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            parts = urlsplit(url)
            if parts.scheme == "data" or (parts.scheme == "file" and Path(unquote(parts.path)).parent == FONT_DIR):
                return super().fetch(url, headers)
            raise ValueError(f"the certificate template may not load {url[:80]}")

    return HTML, LocalOnly


def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


_ENV = _environment()


def font_faces() -> list[dict[str, str]]:
    missing = [name for name in FONTS.values() if not (FONT_DIR / name).is_file()]
    if missing:
        raise MissingFonts(
            f"{', '.join(missing)} not found in {FONT_DIR}: install Debian's fonts-noto-core "
            "(bash scripts/ensure-services.sh pdf)"
        )
    return [
        {"weight": weight, "style": style, "url": (FONT_DIR / name).as_uri()} for (weight, style), name in FONTS.items()
    ]


def vietnamese_date(value: datetime | str) -> str:
    """The date as documents write it, "ngày 05 tháng 3 năm 2026": days below 10 and the months
    1 and 2 take a leading zero (the rule for administrative documents, Nghị định 30/2020/NĐ-CP)."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    if moment.tzinfo is not None:
        moment = moment.astimezone(LOCAL)
    month = f"{moment.month:02d}" if moment.month <= 2 else str(moment.month)
    return f"ngày {moment.day:02d} tháng {month} năm {moment.year}"


def share(value: object) -> str:
    """60.0 -> "60", 33.5 -> "33,5" (the Vietnamese decimal comma)."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    return f"{number:g}".replace(".", ",")


def qr_svg(url: str) -> str:
    """The QR code as inline SVG: vector, so it stays sharp at any print resolution."""
    code = segno.make(url, error="m", micro=False)
    return code.svg_inline(scale=4, border=0, dark="#000", light=None, omitsize=True)


def html(data: dict[str, Any]) -> str:
    level = data["level"]
    authors = [{"name": a["name"], "share": share(a.get("share_percent"))} for a in data["authors"]]
    per_row = 1 if len(authors) <= ONE_COLUMN else 2 if len(authors) <= TWO_COLUMNS else 3  # co-authors side by side
    return _ENV.get_template("certificate_print.html").render(
        fonts=font_faces(),
        number=data["number"],
        code=data["verification_code"],
        verify_url=data["verify_url"],
        qr=qr_svg(data["verify_url"]),
        title=data["title"],
        level_phrase=LEVEL_PHRASES.get(level, level),
        signing_body=SIGNING_BODIES.get(level, "TM. BAN CHẤP HÀNH"),
        issuer=data.get("issued_by_name") or data["issued_by"],
        issuer_parent=data.get("issuer_parent_name") or "",
        unit_name=data.get("unit_name") or "",
        authors=authors,
        author_rows=[authors[i : i + per_row] for i in range(0, len(authors), per_row)],
        dense=len(data["title"]) > DENSE_TITLE or len(authors) > DENSE_AUTHORS,
        when=vietnamese_date(data["issued_at"]),
    )


def render(data: dict[str, Any]) -> bytes:
    """The certificate as an A4 landscape PDF (its document title comes from the template's <title>)."""
    html_class, fetcher = _weasyprint()
    document = html_class(string=html(data), base_url=TEMPLATES.as_uri() + "/", url_fetcher=fetcher())
    pdf = document.write_pdf()
    assert pdf is not None  # without a target, write_pdf returns the bytes
    return pdf
