"""A report as tables, written as CSV (one section per table) or XLSX (one sheet per table).

Both formats are written from the same tables, so they carry the same numbers.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from awards.csvsafe import spreadsheet_safe

BOM = "\ufeff"  # spreadsheet programs read the file as UTF-8 only with it
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
COUNTS = (
    ("submitted", "Số sáng kiến đã gửi (submitted)"),
    ("recognized", "Số sáng kiến được công nhận (recognized)"),
    ("benefit_vnd", "Giá trị làm lợi ước tính, đồng (benefit_vnd)"),
    ("recognized_benefit_vnd", "Giá trị làm lợi của sáng kiến được công nhận, đồng (recognized_benefit_vnd)"),
)
STANDING = (
    *COUNTS,
    ("participants", "Số người tham gia (participants)"),
    ("target", "Chỉ tiêu của kỳ (target)"),
    ("progress", "Tỷ lệ hoàn thành chỉ tiêu, % (progress)"),
)


@dataclass(frozen=True)
class Table:
    key: str
    title: str  # also the XLSX sheet's name: at most 31 characters, none of []:*?/\
    columns: tuple[tuple[str, str], ...]  # (key, header)
    rows: list[dict[str, Any]]

    def header(self) -> list[str]:
        return [label for _, label in self.columns]

    def values(self) -> list[list[Any]]:
        return [[_plain(row.get(key)) for key, _ in self.columns] for row in self.rows]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _info(report: dict[str, Any]) -> list[dict[str, Any]]:
    unit, period = report["unit"], report["period"]
    items = [
        ("Mã đơn vị (unit)", unit["code"]),
        ("Tên đơn vị (name)", unit["name"]),
        ("Cấp (level)", unit["level"]),
        ("Cụm thi đua (cluster)", unit["cluster"]),
        ("Chương trình (programme)", report["programme"]),
        ("Kỳ báo cáo (period)", period["code"]),
        ("Từ ngày (start)", period["start"]),
        ("Đến ngày (end)", period["end"]),
        ("Thời điểm lập (generated_at)", report["generated_at"]),
    ]
    return [{"item": k, "value": v} for k, v in items]


def tables(report: dict[str, Any]) -> list[Table]:
    return [
        Table("report", "Thông tin báo cáo", (("item", "Mục (item)"), ("value", "Giá trị (value)")), _info(report)),
        Table("summary", "Tổng hợp", STANDING, [report["summary"]]),
        Table(
            "ranks",
            "Xếp hạng",
            (
                ("scope", "Phạm vi (scope)"),
                ("within", "Cụm hoặc đơn vị (within)"),
                ("metric", "Tiêu chí (metric)"),
                ("rank", "Hạng (rank)"),
                ("of", "Số đơn vị được xếp (of)"),
                ("value", "Giá trị (value)"),
            ),
            report["ranks"],
        ),
        Table(
            "children",
            "Đơn vị trực thuộc",
            (("unit", "Mã đơn vị (unit)"), ("name", "Tên đơn vị (name)"), *STANDING),
            report["children"],
        ),
        Table(
            "target_groups",
            "Nhóm đối tượng",
            (("target_group", "Nhóm (target_group)"), ("label", "Tên nhóm (label)"), *COUNTS),
            report["target_groups"],
        ),
        Table(
            "fields",
            "Lĩnh vực",
            (("field", "Lĩnh vực (field)"), ("label", "Tên lĩnh vực (label)"), *COUNTS),
            report["fields"],
        ),
        Table(
            "awards",
            "Khen thưởng, thù lao",
            (
                ("kind", "Loại (kind)"),
                ("label", "Tên loại (label)"),
                ("rule_id", "Quy định (rule_id)"),
                ("entries", "Số khoản (entries)"),
                ("certificates", "Số bằng khen (certificates)"),
                ("amount_vnd", "Số tiền, đồng (amount_vnd)"),
                ("paid_vnd", "Đã chi, đồng (paid_vnd)"),
            ),
            report["awards"],
        ),
        Table(
            "certificates",
            "Bằng khen",
            (
                ("certificate_number", "Số bằng khen (certificate_number)"),
                ("award", "Hình thức (award)"),
                ("rule_id", "Quy định (rule_id)"),
                ("period", "Kỳ (period)"),
                ("recipient_type", "Cá nhân hay tập thể (recipient_type)"),
                ("recipient_unit", "Đơn vị (recipient_unit)"),
                ("recipient_member", "Đoàn viên (recipient_member)"),
                ("reason", "Lý do (reason)"),
            ),
            report["certificates"],
        ),
    ]


def to_csv(report: dict[str, Any]) -> bytes:
    """Sections one after another: a `[key]` line with the title, the header, the rows, a blank line."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for table in tables(report):
        writer.writerow([f"[{table.key}]", table.title])
        writer.writerow(table.header())
        writer.writerows([[spreadsheet_safe(v) for v in row] for row in table.values()])
        writer.writerow([])
    return (BOM + out.getvalue()).encode("utf-8")


def to_xlsx(report: dict[str, Any]) -> bytes:
    """One sheet per table (write-only mode: rows go to disk as they are added), header in bold."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    bold = Font(bold=True)
    for table in tables(report):
        sheet = book.create_sheet(title=table.title)
        for i, _ in enumerate(table.columns, start=1):
            sheet.column_dimensions[get_column_letter(i)].width = 18
        header = []
        for label in table.header():
            cell = WriteOnlyCell(sheet, value=label)
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        for row in table.values():
            sheet.append([_text_cell(sheet, v, WriteOnlyCell) for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _text_cell(sheet: Any, value: Any, cell_type: Any) -> Any:
    """Text that starts with "=" stays text: openpyxl would otherwise write it as a formula."""
    if isinstance(value, str) and value.startswith("="):
        cell = cell_type(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value


def filename(report: dict[str, Any], fmt: str) -> str:
    return f"bao-cao-{report['unit']['code']}-{report['programme']}-{report['period']['code']}.{fmt}"
