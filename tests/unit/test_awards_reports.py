"""Reports, charts and the open-data export of awards: the rules by hand, then the SQLite paths.

The pure rules need no database. The last tests run the report and the export on a migrated
SQLite file, the database of `make run`, whose SQL differs from PostgreSQL's (substr/instr for
the child unit, json_each for participants, keyset pages for the export).
"""

from __future__ import annotations

import csv
import io
import struct
import warnings
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session, sessionmaker

from awards import charts, commands, export, params, projections, report_render, reports, rules
from awards.awarding import period
from awards.csvsafe import spreadsheet_safe
from awards.models import Fact
from chassis.db import make_engine
from chassis.validation import FieldError
from tests import event_factories as ev
from tests.conftest import migrate

LDST = rules.load("LDST2026")
TRIEU = rules.load("TRIEUSANGKIEN")
assert LDST is not None and TRIEU is not None


# --- Periods, targets, progress -------------------------------------------------------------------


def test_report_periods_are_half_years_and_years() -> None:
    h1, h2, year = reports.report_period("2026-H1"), reports.report_period("2026-H2"), reports.report_period("2026")
    assert (h1.start, h1.end, h1.kind) == (date(2026, 1, 1), date(2026, 7, 1), "half")
    assert (h2.start, h2.end) == (date(2026, 7, 1), date(2027, 1, 1))
    assert (year.start, year.end, year.kind) == (date(2026, 1, 1), date(2027, 1, 1), "year")
    for bad in ("2026-Q1", "2026-H3", "26", "2026-h1"):
        with pytest.raises(ValueError):
            reports.report_period(bad)


def test_a_period_runs_from_local_midnight_to_local_midnight() -> None:
    since, until = reports.bounds(reports.report_period("2026-H1"))
    assert since == datetime(2025, 12, 31, 17, 0, tzinfo=UTC)  # 1 January, 00:00 in Hà Nội
    assert until == datetime(2026, 6, 30, 17, 0, tzinfo=UTC)


def test_progress_needs_a_target() -> None:
    assert reports.progress(4, 4.96) == 80.65
    assert reports.progress(3, 0.0) is None and reports.progress(3, -1) is None
    assert reports.progress(0, 10.0) == 0.0


def test_a_periods_target_is_each_phases_target_pro_rata() -> None:
    h1, h2, year = (reports.report_period(p) for p in ("2026-H1", "2026-H2", "2026"))
    # LDST2026's one phase runs 730 days; 2026-H1 shares 181 of them, H2 184, the year 365.
    assert reports.period_target(h1, LDST.phases, {"P1": 20}) == 4.96
    assert reports.period_target(h2, LDST.phases, {"P1": 20}) == 5.04
    assert reports.period_target(year, LDST.phases, {"P1": 20}) == 10.0
    assert reports.period_target(h1, LDST.phases, {}) == 0.0
    # "01 triệu sáng kiến": P1 = 2021-09-01..2022-05-31 (273 days), P2 = 2022-06-01..2023-09-30 (487 days).
    # 2022-H1 takes 151 days of P1 and 30 of P2.
    assert reports.period_target(reports.report_period("2022-H1"), TRIEU.phases, {"P1": 273, "P2": 487}) == 181.0
    assert reports.period_target(reports.report_period("2024"), TRIEU.phases, {"P1": 273, "P2": 487}) == 0.0


def test_ledger_periods_inside_a_report_period() -> None:
    assert reports.ledger_periods(reports.report_period("2026-H1")) == ["2026-H1", "2026-Q1", "2026-Q2"]
    assert reports.ledger_periods(reports.report_period("2026-H2")) == ["2026-H2", "2026-Q3", "2026-Q4"]
    assert reports.ledger_periods(reports.report_period("2026")) == [
        "2026",
        "2026-H1",
        "2026-H2",
        "2026-Q1",
        "2026-Q2",
        "2026-Q3",
        "2026-Q4",
    ]
    assert not reports.contains(period("2026-H1"), period("2026"))


def test_fold_adds_up_per_child_group_and_field() -> None:
    folded = reports.fold(
        [
            ("HN-KL", 5, "production_business", 2, 1, 130, 120),
            ("HN-KL", 1, "health", 1, 0, 10, 0),
            ("HN-KCN", 5, "production_business", 1, 1, 0, 0),
            ("", None, "", 1, 0, 7, 0),
        ]
    )
    assert (folded.total.submitted, folded.total.recognized, folded.total.benefit_vnd) == (5, 2, 147)
    assert folded.by_child["HN-KL"] == reports.Counts(3, 1, 140, 120)
    assert folded.by_group[5] == reports.Counts(3, 2, 130, 120)
    assert folded.by_field["production_business"].submitted == 3
    assert folded.by_child[reports.DIRECT].benefit_vnd == 7


def test_every_target_group_and_field_is_listed_even_when_empty() -> None:
    groups = reports.group_rows({5: reports.Counts(2), None: reports.Counts(1)})
    assert [g["target_group"] for g in groups] == [1, 2, 3, 4, 5, None]
    assert groups[4]["submitted"] == 2 and groups[0]["submitted"] == 0 and groups[-1]["label"] == "Chưa xác định"
    fields = reports.field_rows({"health": reports.Counts(1), "space": reports.Counts(2)})
    assert fields[0]["field"] == "production_business" and fields[-1] == {
        "field": "space",
        "label": "space",
        **reports.Counts(2).__dict__,
    }


def test_query_parameters_report_every_bad_field() -> None:
    errors: list[FieldError] = []
    assert params.period({"period": "2026-Q1"}, errors) is None
    assert params.programme({"programme": "NOT-A-PROGRAMME"}, errors) is None
    assert params.programme({}, errors) is None
    assert params.choice({"format": "pdf"}, "format", params.FORMATS, "json", errors) == "json"
    assert params.programme({"programme": "NOT-A-PROGRAMME"}, [], known=False) == "NOT-A-PROGRAMME"
    assert [(e.field, e.message_vi) for e in errors] == [
        ("period", "Kỳ báo cáo sáu tháng hoặc năm: 2026-H1, 2026-H2 hoặc 2026."),
        ("programme", "Không có chương trình này."),
        ("programme", "Thiếu trường bắt buộc."),
        ("format", "Phải là một trong: json, csv, xlsx."),
    ]
    assert params.REPORT_PERIOD.fullmatch("2099-H2") and not params.REPORT_PERIOD.fullmatch("0000")


# --- Rendering ----------------------------------------------------------------------------------


def sample_report(reason: str = "Dẫn đầu cụm thi đua C1 quý 2026-Q2.") -> dict[str, Any]:
    line = {"submitted": 4, "recognized": 4, "benefit_vnd": 132_000_000, "recognized_benefit_vnd": 129_000_000}
    return {
        "unit": {"code": "HN", "name": "Liên đoàn Lao động thành phố Hà Nội", "level": "top", "cluster": "C1"},
        "programme": "LDST2026",
        "period": {"code": "2026-H1", "kind": "half", "start": date(2026, 1, 1), "end": date(2026, 6, 30)},
        "generated_at": datetime(2026, 11, 22, 8, 0, tzinfo=UTC),
        "summary": {**line, "participants": 3, "target": 4.96, "progress": 80.65},
        "ranks": [{"scope": "national", "within": None, "metric": "submitted", "rank": 1, "of": 5, "value": 6.0}],
        "children": [
            {"unit": "HN-KL", "name": "Công đoàn phường Kim Liên", **line, "participants": 2, "target": 2.48},
            {"unit": "HN-TH", "name": None, **dict.fromkeys(line, 0), "participants": 0, "target": 0.0},
        ],
        "target_groups": reports.group_rows({5: reports.Counts(4, 4, 132_000_000, 129_000_000)}),
        "fields": reports.field_rows({}),
        "awards": [
            {
                "kind": "remuneration",
                "label": "Thù lao tác giả",
                "rule_id": "decree-remuneration",
                "entries": 1,
                "certificates": 0,
                "amount_vnd": 24_800_000,
                "paid_vnd": 0,
            }
        ],
        "certificates": [
            {
                "certificate_number": "BK-VGCL-2026-000001",
                "award": "Bằng khen",
                "rule_id": "cluster-quarter-leader",
                "period": "2026-Q2",
                "recipient_type": "collective",
                "recipient_unit": "HN",
                "recipient_member": None,
                "reason": reason,
            }
        ],
    }


def test_csv_has_a_bom_and_one_section_per_table() -> None:
    data = report_render.to_csv(sample_report())
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    starts = [r[0] for r in rows if r and r[0].startswith("[")]
    assert starts == [f"[{t.key}]" for t in report_render.tables(sample_report())]
    summary = rows[rows.index(["[summary]", "Tổng hợp"]) + 2]
    assert summary == ["4", "4", "132000000", "129000000", "3", "4.96", "80.65"]
    children = rows[rows.index(["[children]", "Đơn vị trực thuộc"]) + 1 :][:3]
    assert children[1][-1] == "" and children[2][1] == ""  # no progress, no name: empty cells


def test_xlsx_has_one_sheet_per_table_with_the_same_numbers() -> None:
    book = openpyxl.load_workbook(io.BytesIO(report_render.to_xlsx(sample_report())))
    assert book.sheetnames == [t.title for t in report_render.tables(sample_report())]
    summary = [[c.value for c in row] for row in book["Tổng hợp"].iter_rows()]
    assert summary[1] == [4, 4, 132_000_000, 129_000_000, 3, 4.96, 80.65]
    assert book["Tổng hợp"]["A1"].font.bold
    groups = [[c.value for c in row] for row in book["Nhóm đối tượng"].iter_rows()]
    assert groups[5][:3] == [5, "Người lao động trong doanh nghiệp sản xuất, kinh doanh", 4]


def test_text_that_looks_like_a_formula_stays_text() -> None:
    evil = '=HYPERLINK("http://example.invalid","bấm")'
    data = report_render.to_csv(sample_report(evil)).decode("utf-8-sig")
    assert "'=HYPERLINK" in data
    cell = openpyxl.load_workbook(io.BytesIO(report_render.to_xlsx(sample_report(evil))))["Bằng khen"]["H2"]
    assert (cell.value, cell.data_type) == (evil, "s")
    assert spreadsheet_safe("-5% điện") == "'-5% điện" and spreadsheet_safe(-5) == -5
    assert spreadsheet_safe("Cải tiến") == "Cải tiến"


def test_the_openapi_document_describes_reports_charts_and_exports() -> None:
    from openapi_spec_validator import validate

    from awards import openapi

    document = openapi.document()
    validate(document)
    report = document["paths"]["/api/v1/reports/{unit}"]["get"]
    assert set(report["responses"]["200"]["content"]) == {"application/json", *report_render.CONTENT_TYPES.values()}
    assert {p["name"]: p["required"] for p in report["parameters"]} == {
        "unit": True,
        "programme": True,
        "period": True,
        "format": False,
    }
    assert "security" not in document["paths"]["/api/v1/exports/open-data.csv"]["get"]
    chart = document["paths"]["/api/v1/charts/progress.png"]["get"]["responses"]["200"]["content"]
    assert list(chart) == ["image/png"]
    properties = document["components"]["schemas"]["ReportOut"]["properties"]
    assert set(properties) == {
        "unit",
        "programme",
        "period",
        "generated_at",
        "summary",
        "ranks",
        "children",
        "target_groups",
        "fields",
        "awards",
        "certificates",
    }


# --- The chart ----------------------------------------------------------------------------------

BARS = [
    charts.Bar("THO", "Liên đoàn Lao động tỉnh Thanh Hóa", 1, 4),
    charts.Bar("HN", "Liên đoàn Lao động thành phố Hà Nội", 6, 20),
    charts.Bar("HCM", "Liên đoàn Lao động thành phố Hồ Chí Minh", 9, 0),
    charts.Bar("HUE", None, 0, 0),
]


def test_bars_are_ordered_by_progress_and_labelled_in_vietnamese() -> None:
    assert [b.unit for b in charts.ordered(BARS)] == ["HN", "THO", "HCM", "HUE"]
    assert [charts.percent(b) for b in charts.ordered(BARS)] == [
        "30,0%",
        "25,0%",
        "chưa có chỉ tiêu",
        "chưa có chỉ tiêu",
    ]
    assert BARS[0].label == "LĐLĐ tỉnh Thanh Hóa (THO)" and BARS[3].label == "HUE"
    long = charts.short_name("Công đoàn cơ sở Công ty Trách nhiệm hữu hạn Linh kiện điện tử Demo số 1")
    assert long.startswith("CĐCS Công ty TNHH") and len(long) == charts.LABEL_CHARS and long.endswith("…")


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_the_chart_is_a_png_of_the_expected_size_showing_every_unit() -> None:
    bars = charts.ordered(BARS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a Vietnamese letter missing from the font would warn
        fig = charts.figure(bars, charts.title("LDST2026", None))
        data = charts.png(bars, charts.title("LDST2026", None))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [b.label for b in bars]
    targets, submitted = ax.containers
    assert [p.get_width() for p in targets] == [20, 4, 0, 0] and [p.get_width() for p in submitted] == [6, 1, 9, 0]
    assert [t.get_text() for t in ax.texts] == ["30,0%", "25,0%", "chưa có chỉ tiêu", "chưa có chỉ tiêu"]
    assert fig._suptitle.get_text().startswith("Tiến độ thực hiện chỉ tiêu sáng kiến")
    assert png_size(data) == charts.size(4) == (1000, 150 + 4 * 28)
    assert png_size(charts.png([], "Không có đơn vị")) == charts.size(0) == (1000, 178)


# --- The open-data export -----------------------------------------------------------------------


def row(**values: Any) -> tuple[Any, ...]:
    """A row as the query returns it: values in COLUMNS order."""
    base = {**dict.fromkeys(export.COLUMNS, "x"), "recognized_at": datetime(2026, 1, 1, tzinfo=UTC)}
    return tuple({**base, **values}[c] for c in export.COLUMNS)


def test_a_record_is_local_time_and_no_personal_data() -> None:
    assert "authors" not in export.COLUMNS and not any("member" in c for c in export.COLUMNS)
    moment = datetime(2026, 6, 30, 17, 0, tzinfo=UTC)
    line = export.record(row(title="=1+1", recognized_at=moment, benefit_vnd_per_year=None, target_group=5))
    values = dict(zip(export.COLUMNS, line, strict=True))
    assert values["recognized_at"] == "2026-07-01T00:00:00+07:00"
    assert (values["benefit_vnd_per_year"], values["target_group"], values["title"]) == ("", 5, "'=1+1")


def test_chunks_carry_the_header_then_one_batch_each() -> None:
    chunks = list(export.chunks([row(initiative_id=f"r{i}") for i in range(5)], batch=2))
    assert [n for _, n in chunks] == [2, 2, 1]
    text = b"".join(data for data, _ in chunks).decode("utf-8")
    assert text.startswith("\ufeffinitiative_id,programme,") and text.count("\r\n") == 6
    assert [line.split(",")[0] for line in text.splitlines()[1:]] == ["r0", "r1", "r2", "r3", "r4"]
    assert list(export.chunks([], batch=2)) == [(("\ufeff" + ",".join(export.COLUMNS) + "\r\n").encode(), 0)]


# --- On SQLite ----------------------------------------------------------------------------------


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'awards.db'}"
    migrate(url, "awards")
    engine = make_engine(url)
    yield engine
    engine.dispose()


def _fact(i: int, **changes: Any) -> dict[str, Any]:
    return {
        "initiative_id": f"f-{i:04d}",
        "revision": 1,
        "programme": "LDST2026",
        "phase": "P1",
        "unit": "HN-KL-C002",
        "unit_path": "/VGCL/HN/HN-KL/HN-KL-C002/",
        "top_unit": "HN",
        "field": "production_business",
        "title": f"Sáng kiến {i}",
        "confidential": False,
        "authors": [{"member_id": f"dv-{i}", "share_percent": 100.0}],
        "submitted_at": datetime(2026, 3, 1, tzinfo=UTC),
        "withdrawn_at": None,  # every row has every key: an executemany takes the first row's
        "recognized_at": datetime(2026, 4, 1, 0, 0, i // 3, tzinfo=UTC),  # threes share a second
        "recognized_level": "grassroots",
        **changes,
    }


def test_sqlite_export_pages_through_ties_and_leaves_out_what_it_must(sqlite_engine: Engine) -> None:
    kept = [_fact(i) for i in range(11)]
    left_out = [
        _fact(20, confidential=True),
        _fact(21, withdrawn_at=datetime(2026, 5, 1, tzinfo=UTC)),
        _fact(22, recognized_at=None, recognized_level=None),
        _fact(23, revision=0),  # recognised before its submission arrived: title and confidentiality unknown
        _fact(24, programme="TRIEUSANGKIEN"),
    ]
    with sqlite_engine.begin() as conn:
        conn.execute(insert(Fact), list(reversed(kept + left_out)))
    paged = [r.initiative_id for r in export.rows(sqlite_engine, "LDST2026", batch=2)]
    assert paged == [f["initiative_id"] for f in kept]  # each once, by (recognized_at, id), across 6 pages
    assert export.count(sqlite_engine, "LDST2026") == 11 and export.count(sqlite_engine, None) == 12
    out = io.BytesIO()
    assert export.write(sqlite_engine, "LDST2026", out) == 11
    lines = out.getvalue().decode("utf-8-sig").splitlines()
    assert lines[1].startswith("f-0000,LDST2026,P1,HN-KL-C002,HN,production_business,,Sáng kiến 0,grassroots,")


def test_sqlite_report_matches_the_hand_computed_numbers(sqlite_engine: Engine) -> None:
    """HN's 2026-H1 on SQLite: A and B (HN-KL-C002), C (HN-KCN-C001); L submitted at 00:30 on 1 July, local."""
    a = ev.submitted("HN-KL-C002", benefit_vnd_per_year=120_000_000, authors=[author("dv-a", 60), author("dv-b", 40)])
    b = ev.submitted("HN-KL-C002", benefit_vnd_per_year=10_000_000, field="health", authors=[author("dv-a")])
    c = ev.submitted("HN-KCN-C001", benefit_vnd_per_year=None, target_group=2, authors=[author("dv-c")])
    late = ev.submitted("HN-KCN-C001", submitted_at="2026-06-30T17:30:00Z", authors=[author("dv-z")])
    now = datetime(2026, 11, 22, tzinfo=UTC)
    factory = sessionmaker(bind=sqlite_engine, expire_on_commit=False)
    with factory.begin() as session:
        for code in ("VGCL", "HN", "THO", "HN-KL", "HN-KL-C002", "HN-KCN", "HN-KCN-C001", "HN-TH"):
            projections.on_unit(session, ev.unit_registered(code)["data"])
        projections.on_target(session, ev.target_registered("HN", 20)["data"])
        for event in (a, b, c, late):
            commands.submitted(session, event["data"], now)
        commands.recognized(session, ev.recognized(a)["data"], now)
    with Session(sqlite_engine) as session:
        h1 = reports.build(session, "HN", "LDST2026", "2026-H1", now)
        h2 = reports.build(session, "HN", "LDST2026", "2026-H2", now)
        kl = reports.build(session, "HN-KL", "LDST2026", "2026-H1", now)
    assert h1["summary"] == {
        "submitted": 3,
        "recognized": 1,
        "benefit_vnd": 130_000_000,
        "recognized_benefit_vnd": 120_000_000,
        "participants": 3,
        "target": 4.96,
        "progress": 60.48,
    }
    assert [(c["unit"], c["submitted"], c["participants"]) for c in h1["children"]] == [
        ("HN-KCN", 1, 1),
        ("HN-KL", 2, 2),
        ("HN-TH", 0, 0),
    ]
    assert (h2["summary"]["submitted"], h2["summary"]["participants"], h2["summary"]["target"]) == (1, 1, 5.04)
    assert [(r["scope"], r["metric"], r["rank"]) for r in h1["ranks"]][:1] == [("national", "submitted", 1)]
    assert [a["kind"] for a in h1["awards"]] == ["bonus"]  # C's 20,000 under HN-KCN's scheme
    assert [(c["unit"], c["submitted"]) for c in kl["children"]] == [("HN-KL-C002", 2)]
    assert kl["ranks"][0]["scope"] == "top" and kl["ranks"][0]["within"] == "HN"


def author(member: str, share: float = 100.0) -> dict[str, Any]:
    return {"member_id": member, "share_percent": share}


def test_cli_report_refuses_a_quarter_and_an_unknown_programme(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from awards import cli

    out = tmp_path / "r.json"
    assert cli.main(["report", "HN", "2026-Q1", "--programme", "LDST2026", "--out", str(out)]) == 2
    assert cli.main(["report", "HN", "2026", "--programme", "NOPE", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "not a period" in err and "no such programme" in err and not out.exists()
