"""Bulk import over HTTP and on the command line: per-row errors, nothing twice."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import requests
from openpyxl import Workbook

from submission.bulk import template_columns
from tests.conftest import token
from tests.factories import UPPER
from tests.integration.conftest import count

ROOT = Path(__file__).resolve().parents[2]
HEADER = [c for c in template_columns(authors=2) if c != "author2_member_id"]


def row(i: int, **changes: str) -> list[str]:
    values = {
        "title": f"Sáng kiến giấy số {i}",
        "field": "production_business",
        "target_group": "5",
        "problem": "Hiện trạng",
        "solution": "Giải pháp",
        "novelty": "Tính mới",
        "scope": "Phạm vi",
        "first_applied_on": "2026-02-01",
        "benefit_vnd_per_year": "5000000",
        "benefit_description": "",
        "unit": "HN-KL-C002",
        "programme": "LDST2026",
        "confidential": "không",
        "author1_name": "Nguyễn Văn Giấy",
        "author1_member_id": "",
        "author1_share": "70",
        "author2_name": "Lê Thị Bút",
        "author2_share": "30",
    }
    values.update(changes)
    return [values[h] for h in HEADER]


def csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


ROWS = [
    row(1),
    row(2, author2_share="20"),  # shares 90
    row(3, unit="THO-LS-C001"),  # outside the team's unit
    row(4, target_group="sáu"),  # not a number
    row(5, first_applied_on="2999-01-01"),  # future
    row(6),
    row(7, unit="HN-KL-C001", confidential="có"),
]


def test_csv_upload_accepts_valid_rows_and_reports_the_rest(api, db_url, tap) -> None:  # type: ignore[no-untyped-def]
    events = tap(["initiative.submitted.HN"])
    team = token("support_team", UPPER, "tht-kl")
    data = csv_bytes(ROWS)
    response = requests.post(
        f"{api}/api/v1/initiatives/bulk", files={"file": ("dot1.csv", data, "text/csv")}, headers=team, timeout=60
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["total"], result["accepted"], result["rejected"], result["duplicates"]) == (7, 3, 4, 0)
    rejected = {r["row"]: r for r in result["rejected_rows"]}
    assert set(rejected) == {3, 4, 5, 6}  # file rows (row 1 is the header)
    assert "authors" in rejected[3]["fields"] and "unit" in rejected[4]["fields"]
    assert "target_group" in rejected[5]["fields"] and "first_applied_on" in rejected[6]["fields_vi"]
    assert len(events.drain(3)) == 3

    again = requests.post(
        f"{api}/api/v1/initiatives/bulk", data=data, headers={**team, "Content-Type": "text/csv"}, timeout=60
    ).json()
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, 3, 4)
    events.assert_quiet()
    assert count(db_url, "initiatives") == 3
    assert count(db_url, "initiatives", "WHERE on_behalf") == 3


def test_xlsx_upload(api, db_url) -> None:  # type: ignore[no-untyped-def]
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for i in range(20):
        values = row(100 + i)
        values[2] = 5  # numbers arrive typed from a spreadsheet
        sheet.append(values)
    buffer = io.BytesIO()
    book.save(buffer)
    response = requests.post(
        f"{api}/api/v1/initiatives/bulk",
        files={
            "file": (
                "dot2.xlsx",
                buffer.getvalue(),
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
        },
        headers=token("support_team", UPPER),
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 20 and count(db_url, "initiatives") == 20


def test_bulk_is_for_support_teams_and_files(api, db_url) -> None:  # type: ignore[no-untyped-def]
    url = f"{api}/api/v1/initiatives/bulk"
    member = requests.post(
        url,
        files={"file": ("a.csv", csv_bytes([row(1)]), "text/csv")},
        headers=token("member", "HN-KL-C002"),
        timeout=30,
    )
    assert member.status_code == 403
    wrong = requests.post(url, json={"rows": []}, headers=token("support_team", UPPER), timeout=30)
    assert wrong.status_code == 415
    assert count(db_url, "initiatives") == 0


def test_command_line_import_with_progress(db_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "paper.csv"
    path.write_bytes(csv_bytes([row(i) for i in range(1200)] + [row(9999, author1_share="1")]))
    errors = tmp_path / "errors.json"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "submission.cli",
            "import",
            str(path),
            "--unit",
            UPPER,
            "--member",
            "tht-kl",
            "--batch",
            "250",
            "--errors",
            str(errors),
        ],
        env={**os.environ, "SUBMISSION_DATABASE_URL": db_url},
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
    assert '"accepted": 1200' in run.stdout and '"rejected": 1' in run.stdout
    assert "1201/" in run.stderr or "1201 rows" in run.stderr  # tqdm's progress line
    assert '"row": 1202' in errors.read_text()
    assert count(db_url, "initiatives") == 1200 and count(db_url, "outbox") == 1200


def test_files_without_the_columns_or_not_files_at_all(api, db_url) -> None:  # type: ignore[no-untyped-def]
    url = f"{api}/api/v1/initiatives/bulk"
    team = {**token("support_team", UPPER), "Content-Type": "text/csv"}
    for data in (b"", b"{}", b"title,field\nA,other\n", "tiêu đề".encode("utf-16")):
        response = requests.post(url, data=data, headers=team, timeout=30)
        assert response.status_code == 422, (data, response.text)
        assert "file" in response.json()["error"]["fields"]
    xlsx = requests.post(
        url,
        files={"file": ("x.xlsx", b"PK\x03\x04 not really", "application/octet-stream")},
        headers=token("support_team", UPPER),
        timeout=30,
    )
    assert xlsx.status_code == 422 and "file" in xlsx.json()["error"]["fields"]
    assert count(db_url, "initiatives") == 0


def test_the_template_imports_as_it_is(api, db_url) -> None:  # type: ignore[no-untyped-def]
    template = requests.get(f"{api}/api/v1/initiatives/bulk/template.csv", timeout=10)
    assert template.status_code == 200 and template.headers["Content-Type"].startswith("text/csv")
    result = requests.post(
        f"{api}/api/v1/initiatives/bulk",
        files={"file": ("mau.csv", template.content, "text/csv")},
        headers=token("support_team", UPPER),
        timeout=30,
    ).json()
    assert (result["accepted"], result["rejected"]) == (1, 0), result


def _import_peak_mb(db_url: str, path: Path) -> float:
    """Runs the command-line import in a child that reports its own peak resident memory."""
    probe = (
        "import resource, runpy, sys\n"
        "sys.argv = ['submission.cli', 'import', sys.argv[1], '--unit', sys.argv[2], '--member', 'tht-kl']\n"
        "try:\n    runpy.run_module('submission.cli', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "print('maxrss_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe, str(path), UPPER],
        env={**os.environ, "SUBMISSION_DATABASE_URL": db_url},
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    assert run.returncode == 0 and '"rejected": 0' in run.stdout, run.stdout + run.stderr[-3000:]
    return int(run.stdout.rsplit("maxrss_kb", 1)[1].split()[0]) / 1024


def test_fifty_thousand_rows_import_in_flat_memory(db_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    def write(path: Path, start: int, n: int) -> Path:
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(HEADER)
            for i in range(start, start + n):
                writer.writerow(row(i, problem="Hiện trạng " * 10, solution="Giải pháp " * 20))
        return path

    small = _import_peak_mb(db_url, write(tmp_path / "small.csv", 0, 5_000))
    large = _import_peak_mb(db_url, write(tmp_path / "large.csv", 5_000, 50_000))
    print(f"peak RSS: 5,000 rows {small:.0f} MB, 50,000 rows {large:.0f} MB")
    # Holding the 50,000 parsed rows alone takes ~190 MB here (45,000 more rows: ~+150 MB).
    # Streamed in batches, ten times the rows must cost far less than that.
    assert large - small < 60, f"5,000 rows: {small:.0f} MB, 50,000 rows: {large:.0f} MB"
    assert count(db_url, "initiatives") == 55_000 and count(db_url, "outbox") == 55_000
