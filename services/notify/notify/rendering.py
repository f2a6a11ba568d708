"""Templates as files (`templates/<category>.<vi|en>.txt`: a subject line, a blank line, the body), Jinja2."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape

from chassis.calendar import LOCAL

TEMPLATES = Path(__file__).parent / "templates"
LANGUAGES = ("vi", "en")
DIGEST_LABELS_VI = {
    "submitted": "Sáng kiến mới",
    "resubmitted": "Nộp lại sau chỉnh sửa",
    "withdrawn": "Rút",
    "recognized": "Được công nhận",
    "rejected": "Không công nhận",
    "returned": "Trả lại để bổ sung",
    "deadline_missed": "Quá hạn xét",
    "awards": "Khen thưởng",
}


def _date(value: Any) -> str:
    """An RFC 3339 time as a Vietnamese calendar date (dd/mm/yyyy)."""
    if not value:
        return ""
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment.astimezone(LOCAL).strftime("%d/%m/%Y")


def _vnd(value: Any) -> str:
    return f"{int(value):,} đồng".replace(",", ".") if value is not None else ""


DEFAULTS = {
    "revision": 1,
    "to_level": None,
    "from_unit": None,
    "honour": None,
    "reason": "",
    "standing": None,
    "certificate_number": None,
    "verification_code": None,
    "amount_vnd": None,
}


@cache
def environment() -> Environment:
    # Plain-text messages: nothing to escape; undefined names fail loudly in the tests.
    # Templates ship with the code: no check of the files' times on every message.
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        keep_trailing_newline=False,
        auto_reload=False,
    )
    env.filters["date"] = _date
    env.filters["vnd"] = _vnd
    env.globals["labels_vi"] = DIGEST_LABELS_VI
    return env


@cache
def _template(category: str, language: str) -> Template:
    return environment().get_template(f"{category}.{language}.txt")


def render(category: str, language: str, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) in the recipient's language, Vietnamese by default."""
    language = language if language in LANGUAGES else "vi"
    text = _template(category, language).render({**DEFAULTS, **context})
    subject, _, body = text.partition("\n\n")
    return subject.strip(), body.strip()


def categories() -> list[str]:
    return sorted({p.name.split(".")[0] for p in TEMPLATES.glob("*.txt")})
