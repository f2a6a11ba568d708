import csv
import io
import tracemalloc

from submission.bulk import csv_rows, row_to_payload, template_columns, xlsx_rows

HEADER = [c for c in template_columns(authors=2) if c != "author2_member_id"]
ROW = [
    "Sáng kiến",
    "production_business",
    "5",
    "p",
    "s",
    "n",
    "sc",
    "2026-01-02",
    "1.200.000",
    "",
    "HN-KL-C001",
    "LDST2026",
    "không",
    "Nguyễn Văn An",
    "dv-an",
    "60",
    "Trần Bình",
    "40",
]


def test_a_spreadsheet_row_becomes_a_request_body() -> None:
    payload = row_to_payload(dict(zip(HEADER, ROW, strict=True)))
    assert payload["target_group"] == 5
    assert payload["benefit_vnd_per_year"] == 1_200_000
    assert payload["benefit_description"] is None
    assert payload["confidential"] is False
    assert payload["authors"] == [
        {"name": "Nguyễn Văn An", "member_id": "dv-an", "share_percent": "60"},
        {"name": "Trần Bình", "member_id": None, "share_percent": "40"},
    ]


def test_bad_cells_stay_visible_to_validation() -> None:
    payload = row_to_payload({"target_group": "năm", "confidential": "maybe"})
    assert payload["target_group"] == "năm"
    assert payload["confidential"] == "maybe"


def test_xlsx_rows_are_read_with_their_row_numbers(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(ROW)
    sheet.append([None] * len(HEADER))
    sheet.append(ROW)
    path = tmp_path / "rows.xlsx"
    book.save(path)
    with path.open("rb") as stream:
        rows = list(xlsx_rows(stream))
    assert [n for n, _ in rows] == [2, 4]
    assert row_to_payload(rows[0][1])["unit"] == "HN-KL-C001"


def test_fifty_thousand_csv_rows_stream_in_constant_memory(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "big.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for i in range(50_000):
            writer.writerow([f"Sáng kiến số {i}", *ROW[1:]])
    tracemalloc.start()
    count = 0
    with path.open("rb") as stream:
        for _, row in csv_rows(stream):
            row_to_payload(row)
            count += 1
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == 50_000
    # The file is ~8 MB; holding its rows would take far more than this.
    assert peak < 2 * 1024 * 1024, peak


def test_csv_with_bom_and_crlf() -> None:
    data = ("\ufeff" + ",".join(HEADER) + "\r\n" + ",".join(ROW) + "\r\n").encode()
    [(number, row)] = list(csv_rows(io.BytesIO(data)))
    assert number == 2 and row["title"] == "Sáng kiến"
