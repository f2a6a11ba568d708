"""Bulk import of initiatives collected on paper: CSV or XLSX, streamed row by row.

Each valid row is accepted, each invalid row is reported with its field errors, and a row
already imported (same content, from any upload) is skipped: re-uploading creates nothing.
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chassis.auth import Principal
from chassis.errors import ApiError, Forbidden, UnsupportedMediaType, ValidationFailed
from chassis.validation import FieldError, has_nul, validation_failed
from submission import events
from submission.catalog import Catalog
from submission.commands import build_initiative, digest, first_step, idempotency_row, now_utc
from submission.models import IdempotencyKey
from submission.writes import insert_initiatives

BULK_SCOPE = "bulk"
MAX_AUTHORS = 10
XLSX_TYPES = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/octet-stream",
)
TEXT_FIELDS = (
    "title",
    "field",
    "problem",
    "solution",
    "novelty",
    "scope",
    "benefit_description",
    "unit",
    "programme",
)
TRUE = {"true", "1", "yes", "x", "có", "co"}
FALSE = {"false", "0", "no", "", "không", "khong"}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "date") and callable(value.date):  # an XLSX date cell
        return value.date().isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _number(text: str) -> Any:
    """Digits become an int; anything else stays text for the schema to reject clearly."""
    return int(text) if text.isdigit() else (None if text == "" else text)


def row_to_payload(row: dict[str, Any]) -> dict[str, Any]:
    cells = {str(k).strip().lower(): _cell(v) for k, v in row.items() if k is not None}
    payload: dict[str, Any] = {name: cells.get(name, "") for name in TEXT_FIELDS}
    payload["benefit_description"] = payload["benefit_description"] or None
    payload["target_group"] = _number(cells.get("target_group", ""))
    payload["benefit_vnd_per_year"] = _number(cells.get("benefit_vnd_per_year", "").replace(".", "").replace(",", ""))
    payload["first_applied_on"] = cells.get("first_applied_on") or None
    flag = cells.get("confidential", "").lower()
    payload["confidential"] = True if flag in TRUE else False if flag in FALSE else flag
    authors = []
    for n in range(1, MAX_AUTHORS + 1):
        name = cells.get(f"author{n}_name", "")
        if not name:
            continue
        share = cells.get(f"author{n}_share", "")
        authors.append(
            {
                "name": name,
                "member_id": cells.get(f"author{n}_member_id") or None,
                "share_percent": share.replace(",", ".") if share else None,
            }
        )
    payload["authors"] = authors
    return payload


def template_columns(authors: int = MAX_AUTHORS) -> list[str]:
    """The columns of an import file, in the order of the printed application form."""
    head = [
        "title",
        "field",
        "target_group",
        "problem",
        "solution",
        "novelty",
        "scope",
        "first_applied_on",
        "benefit_vnd_per_year",
        "benefit_description",
        "unit",
        "programme",
        "confidential",
    ]
    return head + [f"author{n}_{part}" for n in range(1, authors + 1) for part in ("name", "member_id", "share")]


EXAMPLE_ROW = {
    "title": "Cải tiến đồ gá hàn",
    "field": "production_business",
    "target_group": "5",
    "problem": "Hiện trạng…",
    "solution": "Giải pháp…",
    "novelty": "Điểm mới…",
    "scope": "Phạm vi áp dụng…",
    "first_applied_on": "2026-03-01",
    "benefit_vnd_per_year": "120000000",
    "benefit_description": "",
    "unit": "HN-KL-C001",
    "programme": "LDST2026",
    "confidential": "không",
    "author1_name": "Nguyễn Văn An",
    "author1_member_id": "",
    "author1_share": "60",
    "author2_name": "Trần Thị Bình",
    "author2_member_id": "",
    "author2_share": "40",
}


def template_csv() -> str:
    """An empty import file with one example row, for support teams to fill in."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=template_columns(), extrasaction="ignore")
    writer.writeheader()
    writer.writerow(EXAMPLE_ROW)
    return "\ufeff" + out.getvalue()  # the BOM makes spreadsheet programs read UTF-8


REQUIRED_COLUMNS = (
    "title",
    "field",
    "target_group",
    "problem",
    "solution",
    "novelty",
    "scope",
    "unit",
    "programme",
    "author1_name",
    "author1_share",
)


def check_header(header: list[str | None] | None) -> None:
    present = {str(h).strip().lower() for h in header or [] if h is not None}
    missing = [c for c in REQUIRED_COLUMNS if c not in present]
    if missing:
        raise validation_failed(
            [
                FieldError(
                    "file",
                    f"The first row must name the columns; missing: {', '.join(missing)}.",
                    f"Dòng đầu phải là tên cột; còn thiếu: {', '.join(missing)}.",
                )
            ]
        )


def csv_rows(stream: IO[bytes]) -> Iterator[tuple[int, dict[str, Any]]]:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.DictReader(text)
    try:
        check_header(reader.fieldnames)
    except UnicodeDecodeError as exc:
        raise validation_failed(
            [FieldError("file", "The file is not UTF-8 CSV.", "Tệp không phải CSV mã hóa UTF-8.")]
        ) from exc
    yield from enumerate(reader, start=2)  # row 1 is the header


def xlsx_rows(stream: IO[bytes]) -> Iterator[tuple[int, dict[str, Any]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(stream, read_only=True, data_only=True)  # read_only streams rows
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise validation_failed(
            [FieldError("file", "The file is not a readable XLSX workbook.", "Tệp không phải bảng tính XLSX hợp lệ.")]
        ) from exc
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else None for h in next(rows, ())]
        check_header(header)
        for number, values in enumerate(rows, start=2):
            if all(v is None for v in values):
                continue
            yield number, dict(zip(header, values, strict=False))
    finally:
        book.close()


def rows_of(stream: IO[bytes], filename: str, content_type: str) -> Iterator[tuple[int, dict[str, Any]]]:
    if filename.lower().endswith(".xlsx") or content_type in XLSX_TYPES[:1]:
        return xlsx_rows(stream)
    return csv_rows(stream)


def rows_of_request(request: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    """The rows of an upload: a multipart `file` field, or a raw text/csv or XLSX body."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            missing = FieldError("file", "Attach the CSV or XLSX file here.", "Hãy đính kèm tệp CSV hoặc XLSX.")
            raise validation_failed([missing])
        stream, filename, mimetype = upload.stream, upload.filename or "", upload.mimetype
    elif request.mimetype in ("text/csv", *XLSX_TYPES):
        stream, filename, mimetype = request.stream, "", request.mimetype
    else:
        raise UnsupportedMediaType(
            "Upload a CSV or XLSX file (multipart/form-data, text/csv or XLSX).",
            "Hãy tải lên tệp CSV hoặc XLSX.",
        )
    if mimetype in XLSX_TYPES or filename.lower().endswith(".xlsx"):
        stream = _seekable(stream)
    return rows_of(stream, filename, mimetype)


def _seekable(stream: Any) -> Any:
    """openpyxl needs to seek; a raw request stream is spooled to a temporary file first."""
    if getattr(stream, "seekable", lambda: False)():
        return stream
    spooled = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - returned open
    shutil.copyfileobj(stream, spooled)
    spooled.seek(0)
    return spooled


@dataclass
class BulkResult:
    total: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    rejected_rows: list[dict[str, Any]] = field(default_factory=list)

    def reject(self, number: int, error: ApiError) -> None:
        self.rejected += 1
        fields = error.fields or {"_row": [error.message_en]}
        fields_vi = error.fields_vi or {"_row": [error.message_vi]}
        self.rejected_rows.append({"row": number, "fields": fields, "fields_vi": fields_vi})

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "rejected_rows": self.rejected_rows,
        }


def _import_batch(
    session: Session, principal: Principal, batch: list[tuple[int, dict[str, Any]]], result: BulkResult
) -> None:
    keyed = [(number, payload, digest(payload)) for number, payload in batch]
    seen = set(
        session.scalars(
            select(IdempotencyKey.key).where(
                IdempotencyKey.scope == BULK_SCOPE, IdempotencyKey.key.in_([k for _, _, k in keyed])
            )
        )
    )
    catalog = Catalog(session)
    now = now_utc()
    accepted = []
    for number, payload, key in keyed:
        if key in seen:
            result.duplicates += 1
            continue
        if has_nul(payload):
            nul = FieldError("_row", "The row contains a NUL (0x00) character.", "Dòng chứa ký tự NUL (0x00).")
            result.reject(number, validation_failed([nul]))
            continue
        try:
            ini = build_initiative(catalog, principal, payload, now)
        except Forbidden:
            outside = FieldError(
                "unit",
                "This unit is outside your unit's subtree.",
                "Đơn vị này nằm ngoài phạm vi đơn vị của bạn.",
            )
            result.reject(number, validation_failed([outside]))
            continue
        except ValidationFailed as exc:
            result.reject(number, exc)
            continue
        seen.add(key)
        accepted.append((ini, key))
    inis = [ini for ini, _ in accepted]
    announced = events.initiatives_submitted(session, inis)
    keys = [idempotency_row(BULK_SCOPE, key, key, ini, now) for ini, key in accepted]
    history = [first_step(ini, event) for ini, event in zip(inis, announced, strict=True)]
    insert_initiatives(session.connection(), inis, keys, history)
    result.accepted += len(accepted)


def import_rows(
    transaction: Callable[[], AbstractContextManager[Session]],
    principal: Principal,
    rows: Iterator[tuple[int, dict[str, Any]]],
    batch_size: int = 200,
    progress: Callable[[int], None] | None = None,
) -> BulkResult:
    """Commits every `batch_size` rows, so memory stays flat and a failure loses one batch."""
    if principal.role != "support_team":
        raise Forbidden(
            "Bulk import is for the unit's initiative support team.",
            "Chỉ tổ hỗ trợ sáng kiến của đơn vị được nhập hàng loạt.",
        )
    result = BulkResult()
    batch: list[tuple[int, dict[str, Any]]] = []

    def flush() -> None:
        with transaction() as session:
            _import_batch(session, principal, batch, result)
        if progress:
            progress(len(batch))
        batch.clear()

    for number, row in rows:
        result.total += 1
        batch.append((number, row_to_payload(row)))
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return result
