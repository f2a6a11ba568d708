"""Reports and exports of awards, from events on the real broker, against numbers worked out by hand.

The example (LDST2026, phase P1 = 2026-01-01 .. 2027-12-31, 730 days; times UTC, Hà Nội is UTC+7):
- targets: HN 20 (P1), HN-KL 10, THO 4. 2026-H1 has 181 days: HN 20 x 181/730 = 4.96, HN-KL 2.48.
- A HN-KL-C002 submitted 04-10, 120,000,000, authors dv-a 60 % + dv-b 40 %, recognised 06-15 (then top 09-01);
  B HN-KL-C002 04-10, 10,000,000, dv-a, group 1, field health;
  C HN-KCN-C001 04-10, no benefit, dv-c, group 2, recognised 05-10 (remuneration 5 x 4,960,000 due 06-10;
    the HN-KCN per-idea bonus of 20,000);
  D HN-TH-C001 04-10, dv-d, recognised 06-15, withdrawn 06-20: counts nowhere;
  E HN-KCN-C001 submitted 06-30 17:00 UTC = 07-01 00:00 local: the second half; recognised 07-02;
  F HN-KL-C001 submitted 2025-12-31 16:59 UTC (23:59 local, 2025), 7,000,000, dv-f, recognised 2026-02-01;
  G THO-KKT-C001 05-01, 1,000,000, dv-t;
  H HN-KL-C002 confidential, 04-10, 2,000,000, dv-a, recognised 06-30 16:59:59 UTC (23:59:59 local).
HN in 2026-H1: submitted A B C H = 4; recognised A C F H = 4; benefit 132,000,000; recognised benefit
129,000,000; participants dv-a dv-b dv-c = 3; progress 4 / 4.96 = 80.65 %.
"""

from __future__ import annotations

import csv
import io
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import openpyxl
import requests
from sqlalchemy import create_engine, text

from awards import export
from chassis.db import make_engine, normalize_url
from tests import event_factories as ev
from tests.conftest import create_database, drop_database, migrate, token
from tests.integration.test_awards_flow import send, settled

ADMIN = token("national_admin", "VGCL", "ad-tw")
PROGRAMME = "LDST2026"
REGISTRY = (
    "VGCL",
    "HN",
    "HUE",
    "HPG",
    "THO",
    "HCM",
    "HN-KL",
    "HN-KL-C001",
    "HN-KL-C002",
    "HN-KCN",
    "HN-KCN-C001",
    "HN-TH",
    "HN-TH-C001",
    "THO-KKT",
    "THO-KKT-C001",
)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def author(member: str, share: float = 100.0) -> dict[str, Any]:
    return {"member_id": member, "share_percent": share}


def example() -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    n = {
        "a": ev.submitted(
            "HN-KL-C002",
            title="Cải tiến đồ gá hàn",
            benefit_vnd_per_year=120_000_000,
            authors=[author("dv-a", 60.0), author("dv-b", 40.0)],
        ),
        "b": ev.submitted(
            "HN-KL-C002", benefit_vnd_per_year=10_000_000, target_group=1, field="health", authors=[author("dv-a")]
        ),
        "c": ev.submitted("HN-KCN-C001", benefit_vnd_per_year=None, target_group=2, authors=[author("dv-c")]),
        "d": ev.submitted("HN-TH-C001", title="Đã rút", authors=[author("dv-d")]),
        "e": ev.submitted(
            "HN-KCN-C001", benefit_vnd_per_year=5_000_000, submitted_at="2026-06-30T17:00:00Z", authors=[author("dv-e")]
        ),
        "f": ev.submitted(
            "HN-KL-C001", benefit_vnd_per_year=7_000_000, submitted_at="2025-12-31T16:59:00Z", authors=[author("dv-f")]
        ),
        "g": ev.submitted(
            "THO-KKT-C001",
            benefit_vnd_per_year=1_000_000,
            submitted_at="2026-05-01T03:00:00Z",
            authors=[author("dv-t")],
        ),
        "h": ev.submitted(
            "HN-KL-C002",
            title="Quy trình công nghệ mật",
            confidential=True,
            **dict.fromkeys(("problem", "solution", "novelty", "scope")),  # a confidential event carries none
            benefit_vnd_per_year=2_000_000,
            authors=[author("dv-a")],
        ),
    }
    flow = [
        *n.values(),
        ev.recognized(n["a"], at="2026-06-15T02:00:00Z"),
        ev.recognized(n["a"], "top", "2026-09-01T02:00:00Z"),
        ev.recognized(n["c"], at="2026-05-10T02:00:00Z"),
        ev.recognized(n["d"], at="2026-06-15T02:00:00Z"),
        ev.withdrawn(n["d"], at="2026-06-20T04:00:00Z"),
        ev.recognized(n["e"], at="2026-07-02T02:00:00Z"),
        ev.recognized(n["f"], at="2026-02-01T02:00:00Z"),
        ev.recognized(n["h"], at="2026-06-30T16:59:59Z"),
    ]
    targets = [ev.target_registered("HN", 20), ev.target_registered("HN-KL", 10), ev.target_registered("THO", 4)]
    return [*(ev.unit_registered(c) for c in REGISTRY), *targets, *flow], n


def fed(awards_api: str, awards_db_url: str, amqp_uri: str) -> dict[str, dict[str, Any]]:
    """The example on the broker; then the Q2 award run and C's remuneration paid."""
    events, named = example()
    send(amqp_uri, events)
    settled(awards_db_url, len(events))
    run = requests.post(
        f"{awards_api}/api/v1/award-runs", json={"programme": PROGRAMME, "period": "2026-Q2"}, headers=ADMIN, timeout=10
    )
    assert run.status_code == 201, run.text
    assert sorted(g["recipient_unit"] for g in run.json()["granted"]) == ["HN", "THO"]  # both beat 20 x 91/730
    ledger = requests.get(
        f"{awards_api}/api/v1/ledger", params={"kind": "remuneration", "unit": "HN-KCN-C001"}, headers=ADMIN, timeout=10
    ).json()["items"]
    ledger = [e for e in ledger if e["initiative_id"] == named["c"]["data"]["initiative_id"]]
    assert [(e["amount_vnd"], e["due_on"]) for e in ledger] == [(24_800_000, "2026-06-10")]  # E's fall due from 2027
    paid = requests.post(f"{awards_api}/api/v1/ledger/{ledger[0]['id']}/paid", headers=ADMIN, timeout=10)
    assert paid.status_code == 200, paid.text
    return named


def report(base: str, unit: str, period: str, fmt: str = "json", who: dict[str, str] = ADMIN) -> requests.Response:
    return requests.get(
        f"{base}/api/v1/reports/{unit}",
        params={"programme": PROGRAMME, "period": period, "format": fmt},
        headers=who,
        timeout=20,
    )


def csv_sections(data: bytes) -> dict[str, list[list[str]]]:
    """`[key]` line, header, rows, blank line: the rows of each section, header first."""
    assert data.startswith("\ufeff".encode())
    sections: dict[str, list[list[str]]] = {}
    current: list[list[str]] | None = None
    for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))):
        if not row:
            current = None
        elif current is None:
            assert row[0].startswith("[") and row[0].endswith("]"), row
            current = sections.setdefault(row[0][1:-1], [])
        else:
            current.append(row)
    return sections


def xlsx_sheets(data: bytes) -> dict[str, list[list[Any]]]:
    book = openpyxl.load_workbook(io.BytesIO(data))  # not read-only: rows padded to the header's width
    return {sheet.title: [list(r) for r in sheet.iter_rows(values_only=True)] for sheet in book.worksheets}


def png_info(data: bytes) -> tuple[int, int, dict[str, str]]:
    """Width, height and text chunks of a PNG, read by hand (no image library needed)."""
    assert data[:8] == PNG_SIGNATURE
    texts, at, size = {}, 8, (0, 0)
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        body = data[at + 8 : at + 8 + length]
        assert zlib.crc32(kind + body) == struct.unpack(">I", data[at + 8 + length : at + 12 + length])[0]
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        elif kind == b"tEXt":
            key, value = body.split(b"\0", 1)
            texts[key.decode("latin-1")] = value.decode("latin-1")
        elif kind == b"iTXt":
            key, rest = body.split(b"\0", 1)
            compressed, value = rest[0], rest[2:].split(b"\0", 2)[2]
            texts[key.decode("latin-1")] = (zlib.decompress(value) if compressed else value).decode("utf-8")
        at += 12 + length
    return size[0], size[1], texts


def same_cells(xlsx_row: list[Any], csv_row: list[str]) -> bool:
    """An XLSX number and its CSV text are the same number (6 and "6.0" included); empty is None."""
    if len(xlsx_row) != len(csv_row):
        return False
    return all(
        (c == "" if x is None else float(c) == x if isinstance(x, int | float) else c == x)
        for x, c in zip(xlsx_row, csv_row, strict=True)
    )


def test_a_six_month_report_by_hand_in_json_csv_and_xlsx(awards_api, awards_db_url, rabbit_config) -> None:  # type: ignore[no-untyped-def]
    fed(awards_api, awards_db_url, rabbit_config["AMQP_URI"])

    answer = report(awards_api, "HN", "2026-H1")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["unit"]["code"] == "HN" and body["period"] == {
        "code": "2026-H1",
        "kind": "half",
        "start": "2026-01-01",
        "end": "2026-06-30",
    }
    assert body["generated_at"].endswith("+07:00")
    assert body["summary"] == {
        "submitted": 4,
        "recognized": 4,
        "benefit_vnd": 132_000_000,
        "recognized_benefit_vnd": 129_000_000,
        "participants": 3,
        "target": 4.96,
        "progress": 80.65,
    }
    children = {c["unit"]: c for c in body["children"]}
    assert list(children) == ["HN-KCN", "HN-KL", "HN-TH"]
    assert children["HN-KL"] == {
        "unit": "HN-KL",
        "name": "Công đoàn phường Kim Liên",
        "direct": False,
        "submitted": 3,
        "recognized": 3,
        "benefit_vnd": 132_000_000,
        "recognized_benefit_vnd": 129_000_000,
        "participants": 2,
        "target": 2.48,
        "progress": 120.97,
    }
    assert (children["HN-KCN"]["submitted"], children["HN-KCN"]["recognized"], children["HN-KCN"]["progress"]) == (
        1,
        1,
        None,
    )
    assert children["HN-TH"]["submitted"] == children["HN-TH"]["recognized"] == 0  # D was withdrawn
    groups = {g["target_group"]: (g["submitted"], g["recognized"], g["benefit_vnd"]) for g in body["target_groups"]}
    assert groups == {1: (1, 0, 10_000_000), 2: (1, 1, 0), 3: (0, 0, 0), 4: (0, 0, 0), 5: (2, 3, 122_000_000)}
    by_field = {
        f["field"]: (f["submitted"], f["recognized"]) for f in body["fields"] if f["submitted"] or f["recognized"]
    }
    assert by_field == {"production_business": (3, 4), "health": (1, 0)}
    ranks = {(r["scope"], r["metric"]): (r["rank"], r["of"], r["value"]) for r in body["ranks"]}
    assert ranks == {
        ("national", "submitted"): (1, 5, 6.0),
        ("national", "participants"): (1, 5, 5.0),
        ("national", "progress"): (1, 2, 30.0),
        ("cluster", "submitted"): (1, 4, 6.0),
        ("cluster", "participants"): (1, 4, 5.0),
        ("cluster", "progress"): (1, 1, 30.0),
    }
    assert [(a["kind"], a["entries"], a["certificates"], a["amount_vnd"], a["paid_vnd"]) for a in body["awards"]] == [
        ("bonus", 1, 0, 20_000, 0),
        ("certificate_of_merit", 1, 1, 0, 0),
        ("remuneration", 1, 0, 24_800_000, 24_800_000),
    ]
    [certificate] = body["certificates"]
    assert (certificate["recipient_unit"], certificate["period"], certificate["rule_id"]) == (
        "HN",
        "2026-Q2",
        "cluster-quarter-leader",
    )
    assert certificate["certificate_number"].startswith("BK-VGCL-")

    # The same numbers in CSV (UTF-8 with a BOM, one section per table) and XLSX (one sheet per table).
    as_csv = report(awards_api, "HN", "2026-H1", "csv")
    assert as_csv.status_code == 200 and as_csv.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="bao-cao-HN-LDST2026-2026-H1.csv"' in as_csv.headers["Content-Disposition"]
    sections = csv_sections(as_csv.content)
    as_xlsx = report(awards_api, "HN", "2026-H1", "xlsx")
    assert as_xlsx.status_code == 200 and as_xlsx.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    sheets = xlsx_sheets(as_xlsx.content)
    assert list(sheets) == [
        "Thông tin báo cáo",
        "Tổng hợp",
        "Xếp hạng",
        "Đơn vị trực thuộc",
        "Nhóm đối tượng",
        "Lĩnh vực",
        "Khen thưởng, thù lao",
        "Bằng khen",
    ]
    assert sections["summary"][1] == ["4", "4", "132000000", "129000000", "3", "4.96", "80.65"]
    assert sheets["Tổng hợp"][1] == [4, 4, 132_000_000, 129_000_000, 3, 4.96, 80.65]
    kl = ["HN-KL", "Công đoàn phường Kim Liên", "3", "3", "132000000", "129000000", "2", "2.48", "120.97"]
    assert sections["children"][2] == kl
    assert sections["awards"][3][-2:] == ["24800000", "24800000"]
    keys = ("report", "summary", "ranks", "children", "target_groups", "fields", "awards", "certificates")
    assert list(sections) == list(keys)
    for key, title in zip(keys, sheets, strict=True):
        rows = sheets[title] if key != "report" else sheets[title][:-1]  # two requests: two generation times
        assert len(rows) == len(sections[key]) - (key == "report"), key
        for xlsx_row, csv_row in zip(rows, sections[key], strict=False):
            assert same_cells(xlsx_row, csv_row), repr((key, xlsx_row, csv_row))
    assert sections["report"][1:3] == [
        ["Mã đơn vị (unit)", "HN"],
        ["Tên đơn vị (name)", "Liên đoàn Lao động thành phố Hà Nội"],
    ]

    # The other half and the year add up; quarters are not report periods.
    h2, year = report(awards_api, "HN", "2026-H2").json(), report(awards_api, "HN", "2026").json()
    assert (h2["summary"]["submitted"], h2["summary"]["recognized"], h2["summary"]["target"]) == (1, 1, 5.04)
    assert (year["summary"]["submitted"], year["summary"]["recognized"], year["summary"]["progress"]) == (5, 5, 50.0)
    assert [(a["kind"], a["amount_vnd"]) for a in year["awards"]] == [
        ("bonus", 40_000),
        ("certificate_of_merit", 0),
        ("remuneration", 24_800_000),
    ]
    assert [(a["kind"], a["amount_vnd"]) for a in h2["awards"]] == [("bonus", 20_000)]


def test_lower_units_reports_and_who_may_read_them(awards_api, awards_db_url, rabbit_config) -> None:  # type: ignore[no-untyped-def]
    fed(awards_api, awards_db_url, rabbit_config["AMQP_URI"])
    kl = report(awards_api, "HN-KL", "2026-H1", who=token("reviewer", "HN-KL", "rv-kl"))
    assert kl.status_code == 200, kl.text
    body = kl.json()
    assert [(c["unit"], c["submitted"], c["recognized"]) for c in body["children"]] == [
        ("HN-KL-C001", 0, 1),  # F: submitted in 2025, recognised in 2026
        ("HN-KL-C002", 3, 2),
    ]
    ranks = {r["metric"]: (r["scope"], r["within"], r["rank"], r["of"]) for r in body["ranks"]}
    assert ranks["submitted"] == ("top", "HN", 1, 3)
    national = report(awards_api, "VGCL", "2026-H1").json()  # the nation: its top-level units, no ranks
    assert national["summary"]["submitted"] == 5 and national["ranks"] == []  # HN's 4 and G
    assert [(c["unit"], c["submitted"]) for c in national["children"]] == [
        ("HCM", 0),
        ("HN", 4),
        ("HPG", 0),
        ("HUE", 0),
        ("THO", 1),
    ]
    assert national["children"][4]["target"] == 0.99  # THO: 4 x 181/730
    grassroots = report(awards_api, "HN-KL-C002", "2026-H1", who=token("support_team", "HN-KL-C002")).json()
    assert grassroots["children"] == [] and grassroots["summary"]["submitted"] == 3

    allowed = [
        ("HN", token("unit_admin", "HN")),
        ("HN", token("operator", "OPS")),
        ("THO", token("national_admin", "VGCL")),
        ("HN-KL-C002", token("unit_admin", "HN")),
    ]
    for unit, who in allowed:
        assert report(awards_api, unit, "2026", who=who).status_code == 200, (unit, who)
    refused = [
        ("HN", token("reviewer", "HN-KL")),  # HN is above HN-KL, not inside its subtree
        ("HN", token("unit_admin", "THO")),
        ("HN-KL", token("support_team", "HN-KL-C002")),
        ("HN", token("member", "HN-KL-C002", "dv-a")),
    ]
    for unit, who in refused:
        assert report(awards_api, unit, "2026", who=who).status_code == 403, (unit, who)
    assert (
        requests.get(f"{awards_api}/api/v1/reports/HN", params={"programme": PROGRAMME}, timeout=5).status_code == 401
    )


BAD_INPUT = [
    ("/api/v1/reports/HN", {"programme": PROGRAMME, "period": "2026-Q1"}, {"period"}),
    ("/api/v1/reports/HN", {"programme": PROGRAMME, "period": "0000"}, {"period"}),
    ("/api/v1/reports/HN", {"programme": PROGRAMME, "period": "20２６"}, {"period"}),
    ("/api/v1/reports/HN", {"programme": PROGRAMME, "period": "2026-H1", "format": "pdf"}, {"format"}),
    ("/api/v1/reports/HN", {"period": "2026"}, {"programme"}),
    ("/api/v1/reports/HN", {"programme": "NOPE", "period": "2026"}, {"programme"}),
    ("/api/v1/reports/hn", {"programme": "x y", "period": "H1"}, {"unit", "programme", "period"}),
    ("/api/v1/charts/progress.png", {"programme": "NOPE"}, {"programme"}),
    ("/api/v1/charts/progress.png", {"programme": PROGRAMME, "unit": "hn?"}, {"unit"}),
    ("/api/v1/exports/open-data.csv", {"programme": "bad code"}, {"programme"}),
]


def test_bad_input_is_a_field_level_422_and_unknown_units_a_404(awards_api) -> None:  # type: ignore[no-untyped-def]
    for path, params, fields in BAD_INPUT:  # one service for all the cases
        answer = requests.get(f"{awards_api}{path}", params=params, headers=ADMIN, timeout=10)
        assert answer.status_code == 422, (path, params, answer.text)
        error = answer.json()["error"]
        assert error["code"] == "validation_failed" and set(error["fields"]) == set(error["fields_vi"]) == fields
        assert all(m.isascii() for ms in error["fields"].values() for m in ms)
        assert not any(m.isascii() for ms in error["fields_vi"].values() for m in ms)  # Vietnamese has diacritics
    for path, params in (
        ("/api/v1/reports/ZZ", {"programme": PROGRAMME, "period": "2026"}),
        ("/api/v1/charts/progress.png", {"programme": PROGRAMME, "unit": "ZZ"}),
    ):
        answer = requests.get(f"{awards_api}{path}", params=params, headers=ADMIN, timeout=10)
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"


def test_progress_chart_and_open_data(awards_api, awards_db_url, rabbit_config) -> None:  # type: ignore[no-untyped-def]
    named = fed(awards_api, awards_db_url, rabbit_config["AMQP_URI"])

    chart = requests.get(
        f"{awards_api}/api/v1/charts/progress.png", params={"programme": PROGRAMME}, headers=ADMIN, timeout=20
    )
    assert chart.status_code == 200 and chart.headers["Content-Type"] == "image/png"
    width, height, texts = png_info(chart.content)
    assert (width, height) == (1000, 150 + 28 * 5)  # the five top-level units registered
    assert texts["Description"] == "HN 6/20; THO 1/4; HCM 0/0; HPG 0/0; HUE 0/0"
    assert texts["Title"].startswith("Tiến độ thực hiện chỉ tiêu sáng kiến")
    member = token("member", "HN-KL-C002", "dv-a")
    under_hn = requests.get(
        f"{awards_api}/api/v1/charts/progress.png",
        params={"programme": PROGRAMME, "unit": "HN"},
        headers=member,
        timeout=20,
    )
    width, height, texts = png_info(under_hn.content)
    assert height == 150 + 28 * 3 and texts["Description"] == "HN-KL 4/10; HN-KCN 2/0; HN-TH 0/0"
    anonymous = requests.get(f"{awards_api}/api/v1/charts/progress.png", params={"programme": PROGRAMME}, timeout=9)
    assert anonymous.status_code == 401

    # Public: recognised, not confidential (H), not withdrawn (D); in order of recognition; no member ids.
    answer = requests.get(f"{awards_api}/api/v1/exports/open-data.csv", timeout=20)
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert answer.content.startswith("\ufeff".encode())
    content = answer.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(content)))
    ids = {named[k]["data"]["initiative_id"]: k for k in named}
    assert [ids[r["initiative_id"]] for r in rows] == ["f", "c", "a", "e"]
    a = rows[2]
    assert a == {
        "initiative_id": named["a"]["data"]["initiative_id"],
        "programme": PROGRAMME,
        "phase": "P1",
        "unit": "HN-KL-C002",
        "top_unit": "HN",
        "field": "production_business",
        "target_group": "5",
        "title": "Cải tiến đồ gá hàn",
        "recognized_level": "top",
        "recognized_at": "2026-06-15T09:00:00+07:00",
        "certificate_number": "HN-2026-000001",
        "benefit_vnd_per_year": "120000000",
    }
    assert rows[1]["benefit_vnd_per_year"] == ""  # C: not calculated
    assert "dv-" not in content and "mật" not in content and "Đã rút" not in content
    other = requests.get(f"{awards_api}/api/v1/exports/open-data.csv", params={"programme": "TRIEUSANGKIEN"}, timeout=9)
    assert other.status_code == 200 and other.content.decode("utf-8-sig").splitlines() == [",".join(rows[0])]


# --- Memory of the open-data export ---------------------------------------------------------------

# `exported` rows the export writes, then one in ten more it must leave out (confidential, withdrawn, not
# recognised), with long Vietnamese titles so that rows held in memory would show; built by the server itself.
SYNTHETIC = text(
    """
    INSERT INTO facts (initiative_id, revision, programme, phase, unit, unit_path, top_unit, block, target_group,
                       field, title, confidential, benefit_vnd_per_year, authors, submitted_at, withdrawn_at,
                       recognized_at, recognized_level, certificate_number)
    SELECT left(:programme, 3) || lpad(i::text, 33, '0'), 1, :programme, 'P1', 'HN-KL-C002',
           '/VGCL/HN/HN-KL/HN-KL-C002/', 'HN', 'enterprise', 5, 'production_business',
           'Sáng kiến cải tiến quy trình số ' || i || ': giảm tiêu hao điện năng, nâng cao năng suất lao động',
           i >= :exported AND i % 3 = 0,
           1000000 + i,
           json_build_array(json_build_object('member_id', 'dv-' || i, 'share_percent', 100.0)),
           timestamptz '2026-03-01 00:00:00+00',
           CASE WHEN i >= :exported AND i % 3 = 1 THEN timestamptz '2026-05-01 00:00:00+00' END,
           CASE WHEN i < :exported OR i % 3 <> 2
                THEN timestamptz '2026-04-01 00:00:00+00' + make_interval(secs => i % 60) END,
           'grassroots', 'HN-KL-C002-2026-' || lpad(i::text, 6, '0')
    FROM generate_series(0, :exported + :exported / 10 - 1) AS i
    """
)


def bulk_insert(url: str, programmes: dict[str, int]) -> None:
    engine = create_engine(normalize_url(url))
    with engine.begin() as conn:
        for programme, exported in programmes.items():
            conn.execute(SYNTHETIC, {"programme": programme, "exported": exported})
    engine.dispose()


# The CLI's parent must be small: Linux counts the RSS a child had before exec (the forking parent's, here the
# whole test process) in its ru_maxrss. A bare Python launcher runs it and reports RUSAGE_CHILDREN.
LAUNCHER = """
import resource, subprocess, sys
with open(sys.argv[1], "wb") as log:
    code = subprocess.call(sys.argv[2:], stdout=log, stderr=log)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(code)
"""


def export_peak_rss_kib(url: str, programme: str, out: Path) -> int:
    """Runs `python -m awards.cli export` and returns its peak resident memory in KiB."""
    log = out.with_suffix(".log")
    command = [sys.executable, "-c", LAUNCHER, str(log), sys.executable, "-m", "awards.cli", "export", str(out)]
    env = {**os.environ, "AWARDS_DATABASE_URL": url}
    done = subprocess.run([*command, "--programme", programme], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, log.read_text()
    return int(done.stdout.strip())


def streamed_body_frees_its_connection_when_closed(url: str) -> None:
    """A client leaving after the first chunk: the server-side cursor's connection goes back to the pool."""
    engine = make_engine(url, pool_size=1)
    try:
        body = export.primed(engine, "BIG")
        assert next(body).startswith("\ufeffinitiative_id".encode()) and engine.pool.checkedout() == 1
        body.close()
        assert engine.pool.checkedout() == 0
    finally:
        engine.dispose()


def test_open_data_export_memory_does_not_grow_with_the_rows(tmp_path: Path) -> None:
    name = f"sangkien_awards_export_{os.getpid()}"
    url = create_database(name)
    try:
        migrate(url, "awards")
        bulk_insert(url, {"SMALL": 20_000, "BIG": 200_000})
        small = export_peak_rss_kib(url, "SMALL", tmp_path / "small.csv")
        big = export_peak_rss_kib(url, "BIG", tmp_path / "big.csv")
        streamed_body_frees_its_connection_when_closed(url)
    finally:
        drop_database(name)
    with (tmp_path / "big.csv").open(encoding="utf-8-sig") as exported:
        lines = sum(1 for _ in exported)
    assert lines == 1 + 200_000  # header; the 20,000 left out are not there
    print(f"\nopen-data export peak RSS: 20,000 rows {small / 1024:.1f} MiB, 200,000 rows {big / 1024:.1f} MiB")
    # 180,000 more rows held at once would take well over 100 MiB; a stream stays within noise.
    assert big - small < 16 * 1024, (small, big)
    assert big < 200 * 1024
