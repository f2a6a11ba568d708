"""Field-level validation errors in English and Vietnamese, from marshmallow or domain rules."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, ValidationError, validate

from chassis.errors import ValidationFailed

# marshmallow's English messages and their Vietnamese counterparts.
_VI: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p), vi)
    for p, vi in [
        (r"^Missing data for required field\.$", "Thiếu trường bắt buộc."),
        (r"^Field may not be null\.$", "Trường này không được để trống."),
        (r"^Unknown field\.$", "Trường không được hỗ trợ."),
        (r"^Not a valid string\.$", "Phải là chuỗi ký tự."),
        (r"^Not a valid integer\.$", "Phải là số nguyên."),
        (r"^Not a valid number\.$", "Phải là số."),
        (r"^Not a valid boolean\.$", "Phải là true hoặc false."),
        (r"^Not a valid date\.$", "Phải là ngày dạng YYYY-MM-DD."),
        (r"^Not a valid list\.$", "Phải là danh sách."),
        (r"^Not a valid email address\.$", "Địa chỉ email không hợp lệ."),
        (r"^Invalid input type\.$", "Kiểu dữ liệu không hợp lệ."),
        (r"^Invalid type\.$", "Kiểu dữ liệu không hợp lệ."),
        (r"^Invalid value\.$", "Giá trị không hợp lệ."),
        (r"^Must be one of: (.*)\.$", r"Phải là một trong: \1."),
        (r"^Length must be between (\d+) and (\d+)\.$", r"Độ dài phải từ \1 đến \2."),
        (r"^Shorter than minimum length (\d+)\.$", r"Ngắn hơn độ dài tối thiểu \1."),
        (r"^Longer than maximum length (\d+)\.$", r"Dài hơn độ dài tối đa \1."),
        (r"^Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$", r"Phải từ \1 đến \2."),
        (r"^Must be greater than or equal to (\S+)\.$", r"Phải lớn hơn hoặc bằng \1."),
        (r"^Must be less than or equal to (\S+)\.$", r"Phải nhỏ hơn hoặc bằng \1."),
        (r"^Must be greater than (\S+)\.$", r"Phải lớn hơn \1."),
        (r"^Must be greater than (\S+) and less than or equal to (\S+)\.$", r"Phải lớn hơn \1 và không quá \2."),
        (r"^String does not match expected pattern\.$", "Không đúng định dạng yêu cầu."),
        (r"^Special numeric values \(nan or infinity\) are not permitted\.$", "Không chấp nhận NaN hoặc vô cực."),
        (r"^Invalid input type\.$", "Kiểu dữ liệu không hợp lệ."),
        (r"^Must not be blank\.$", "Không được để trống."),
    ]
]


def has_nul(value: object) -> bool:
    """True if any string in a JSON-like value holds NUL, which PostgreSQL text refuses."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_nul(v) for v in value)
    return False


def to_vietnamese(message: str) -> str:
    for pattern, vi in _VI:
        if pattern.match(message):
            return pattern.sub(vi, message)
    return message


@dataclass(frozen=True)
class FieldError:
    field: str
    message_en: str
    message_vi: str


def flatten(messages: object, prefix: str = "") -> list[FieldError]:
    """marshmallow's nested error dict -> errors keyed by dotted path (`authors.0.name`)."""
    out: list[FieldError] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = "_body" if key == "_schema" and not prefix else (prefix if key == "_schema" else f"{prefix}{key}")
            sub = f"{name}." if not isinstance(value, list) or (value and isinstance(value[0], dict)) else name
            out.extend(flatten(value, sub))
    elif isinstance(messages, list):
        for item in messages:
            if isinstance(item, str):
                out.append(FieldError(prefix.rstrip(".") or "_body", item, to_vietnamese(item)))
            else:
                out.extend(flatten(item, prefix))
    elif isinstance(messages, str):
        out.append(FieldError(prefix.rstrip(".") or "_body", messages, to_vietnamese(messages)))
    return out


def validation_failed(errors: Iterable[FieldError]) -> ValidationFailed:
    fields: dict[str, list[str]] = {}
    fields_vi: dict[str, list[str]] = {}
    for err in errors:
        fields.setdefault(err.field, []).append(err.message_en)
        fields_vi.setdefault(err.field, []).append(err.message_vi)
    return ValidationFailed(fields=fields, fields_vi=fields_vi)


def int_arg(args: Any, name: str, default: int, low: int, high: int) -> int:
    """A query-string integer within bounds, or a field-level 422."""
    raw = args.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:  # "²".isdigit() is True
        raise validation_failed(
            [FieldError(name, f"Must be an integer from {low} to {high}.", f"Phải là số nguyên từ {low} đến {high}.")]
        )
    return int(raw)


class Pattern(validate.Regexp):
    """A regular expression the whole value must match: `$` alone lets a trailing newline in."""

    def __call__(self, value: str) -> str:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


def not_blank(value: str) -> None:
    """marshmallow validator: text of only spaces says nothing (a reason, a title)."""
    if not value.strip():
        raise ValidationError("Must not be blank.")


def _not_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def unpaired_surrogates(value: Any) -> list[str]:
    """Where a JSON value holds a lone UTF-16 surrogate (`"\\ud800"` is valid JSON, not Unicode).

    Such text cannot be encoded as UTF-8, so PostgreSQL (and the JSON answer) would fail on it.
    Returns the dotted paths of the offending fields (`authors.0.name`), `_body` for the top level.
    A loop, not recursion: a body nested hundreds deep must not exhaust the stack here.
    """
    found: list[str] = []
    pending: list[tuple[str, Any]] = [("", value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, str):
            if _not_unicode(item):
                found.append(path or "_body")
        elif isinstance(item, dict):
            for key, child in item.items():
                name = f"{path}.{key}" if path else str(key)
                if _not_unicode(str(key)):
                    found.append(name)
                else:
                    pending.append((name, child))
        elif isinstance(item, list):
            pending.extend((f"{path}.{i}" if path else str(i), child) for i, child in enumerate(item))
    return sorted(found)


def load(schema: Schema, payload: Any) -> dict[str, Any]:
    """A marshmallow load whose errors become a field-level 422 in Vietnamese and English."""
    broken = unpaired_surrogates(payload)
    if broken:
        raise validation_failed(
            FieldError(
                name.encode("utf-8", "replace").decode(),  # the name itself may hold the surrogate
                "Not valid Unicode: an unpaired surrogate (\\ud800-\\udfff).",
                "Không phải Unicode hợp lệ: có ký tự thay thế (surrogate) đứng lẻ.",
            )
            for name in broken
        )
    try:
        return schema.load(payload)
    except ValidationError as exc:
        raise validation_failed(flatten(exc.messages)) from exc
