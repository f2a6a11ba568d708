"""The ranking, report and ledger pages' plain rules, and their templates rendered with awards' answers."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest
from werkzeug.datastructures import MultiDict

from portal import pages_public, pages_reports
from portal.front import templates
from portal.sessions import Visitor


def test_ranking_params_default_and_pass_unknown_values_to_awards() -> None:
    assert pages_public.ranking_params(MultiDict()) == {"scope": "national", "metric": "submitted", "limit": 100}
    cluster = pages_public.ranking_params(MultiDict({"scope": "cluster", "cluster": " C1 ", "top": "HN"}))
    assert cluster == {"scope": "cluster", "metric": "submitted", "limit": 100, "cluster": "C1"}
    top = pages_public.ranking_params(
        MultiDict({"scope": "top", "top": "hn", "metric": "benefit_vnd", "offset": "100"})
    )
    assert top == {
        "scope": "top",
        "metric": "benefit_vnd",
        "limit": 100,
        "top": "HN",
        "level": "grassroots",
        "offset": "100",
    }
    # Awards, not the portal, says what is wrong with a value: its 422 names the field.
    assert pages_public.ranking_params(MultiDict({"scope": "planet"}))["scope"] == "planet"


@pytest.mark.parametrize(
    ("item", "compared", "kind", "symbol", "vi"),
    [
        ({"rank": 2, "previous_rank": 5, "rank_change": 3}, True, "up", "↑ 3", "Tăng 3 bậc, từ hạng 5"),
        ({"rank": 6, "previous_rank": 4, "rank_change": -2}, True, "down", "↓ 2", "Giảm 2 bậc, từ hạng 4"),
        ({"rank": 4, "previous_rank": 4, "rank_change": 0}, True, "same", "–", "Giữ hạng 4"),
        ({"rank": 9, "previous_rank": None, "rank_change": None}, True, "new", "mới", "Mới vào bảng xếp hạng"),
        ({"rank": 1, "previous_rank": None, "rank_change": None}, False, "none", "–", "Chưa có hạng để so sánh"),
        ({"rank": None, "previous_rank": 3, "rank_change": None}, True, "none", "–", "Chưa có hạng để so sánh"),
    ],
)
def test_a_rank_change_is_an_arrow_and_words(
    item: dict[str, Any], compared: bool, kind: str, symbol: str, vi: str
) -> None:
    move = pages_public.movement(item, compared)
    assert (move["kind"], move["symbol"], move["vi"]) == (kind, symbol, vi)
    assert move["en"]


def test_the_chart_alt_text_names_the_leader_and_points_to_the_table() -> None:
    items = [
        {"unit": "HN", "name": "LĐLĐ Hà Nội", "progress": 81.25},
        {"unit": "THO", "name": None, "progress": None},
    ]
    vi = pages_public.chart_alt(items, "Tổng LĐLĐ", "vi")
    assert "2 đơn vị" in vi and "LĐLĐ Hà Nội, đạt 81,2% chỉ tiêu" in vi and "bảng" in vi
    en = pages_public.chart_alt(items, "the nation", "en")
    assert "81.2% of target" in en
    assert "Dẫn đầu" not in pages_public.chart_alt([{"unit": "X", "progress": None}], "X", "vi")


def test_report_periods_offer_only_halves_that_began() -> None:
    may = [code for code, _, _ in pages_reports.periods(datetime(2026, 5, 3, tzinfo=UTC), years=2)]
    assert may == ["2026-H1", "2026", "2025-H2", "2025-H1", "2025"]
    assert pages_reports.periods(datetime(2026, 7, 1, tzinfo=UTC))[0][0] == "2026-H2"


def test_a_report_request_is_checked_field_by_field() -> None:
    values, errors = pages_reports.report_request(MultiDict({"period": "2026-h1"}), "hn-kl")
    assert values == {"unit": "HN-KL", "period": "2026-H1", "format": "xlsx"} and errors == {}
    values, errors = pages_reports.report_request(
        MultiDict({"unit": "HN/../x", "period": "2026-Q3", "format": "pdf"}), None
    )
    assert set(errors) == {"unit", "period", "format"}
    assert all(vi and en for messages in errors.values() for vi, en in messages)
    _, errors = pages_reports.report_request(MultiDict(), None)
    assert set(errors) == {"unit", "period"}


def test_ledger_filters_and_file_names() -> None:
    filters = pages_reports.ledger_filters(
        MultiDict({"under": " hn ", "kind": "remuneration", "order": "due", "period": "", "x": "1"})
    )
    assert filters == {"under": "HN", "kind": "remuneration", "order": "due"}
    assert pages_reports.ledger_filename(filters) == "lich-chi-tra-thu-lao-HN.csv"
    assert pages_reports.ledger_filename({"kind": "bonus", "period": "2026-Q2"}) == "so-khen-thuong-2026-Q2-bonus.csv"
    assert pages_reports.disposition('a "b"/c.csv') == 'attachment; filename="a--b--c.csv"'


ENTRY = {
    "id": "e1",
    "kind": "remuneration",
    "programme": "LDST2026",
    "recipient_type": "collective",
    "recipient_unit": "HN-KCN-C001",
    "recipient_member": None,
    "initiative_id": "i1",
    "period": None,
    "amount_vnd": 24_800_000,
    "details": {"installment": 1, "installments": 5, "payees": [{"member_id": "dv-c"}, {"member_id": None}]},
    "reason": '=HYPERLINK("http://x")',
    "certificate_number": None,
    "due_on": "2026-06-10",
    "paid_at": None,
    "created_at": "2026-05-10T02:00:00+00:00",
}


def test_a_ledger_row_has_every_column_and_no_formula() -> None:
    row = pages_reports.ledger_row(ENTRY)
    assert len(row) == len(pages_reports.LEDGER_COLUMNS)
    named = dict(zip((k for k, _ in pages_reports.LEDGER_COLUMNS), row, strict=True))
    assert named["installment"] == "1/5" and named["kind_label"] == "Thù lao tác giả"
    assert named["reason"].startswith("'=") and named["recipient_member"] == "" and named["amount_vnd"] == 24_800_000
    text = pages_reports.csv_bytes([row]).decode()
    assert next(csv.reader(io.StringIO(text)))[11] == "24800000"


def _render(name: str, **context: Any) -> str:
    return (
        templates()
        .get_template(name)
        .render(t=lambda vi, en: vi, lang="vi", visitor=Visitor(), csrf="", path="/", unread=None, **context)
    )


def test_the_ranking_table_shows_moves_in_words_and_percent_as_awards_sends_it() -> None:
    ranking = {
        "scope": "national",
        "as_of": None,
        "compared_with": "2026-12-07T00:00:00+00:00",
        "total": 2,
        "next_offset": None,
        "items": [
            {"rank": 1, "unit": "HN", "name": "LĐLĐ Hà Nội", "cluster": "C1", "submitted": 1200, "recognized": 3,
             "participants": 40, "progress": 80.65, "benefit_vnd": 1_440_000, "previous_rank": 3, "rank_change": 2},
            {"rank": 2, "unit": "THO", "name": None, "cluster": None, "submitted": 90, "recognized": 0,
             "participants": 2, "progress": None, "benefit_vnd": 0, "previous_rank": 1, "rank_change": -1},
        ],
    }  # fmt: skip
    html = _render(
        "ranking_table.html",
        ranking=ranking,
        error=None,
        errors={},
        wanted={"scope": "national"},
        metric="progress",
        movement=pages_public.movement,
        now=datetime(2026, 12, 7, 3, tzinfo=UTC),
    )
    assert "80,7%" in html and "1.440.000 đ" in html and "1.200" in html
    assert '<span aria-hidden="true">↑ 2</span><span class="visually-hidden">Tăng 2 bậc, từ hạng 3</span>' in html
    assert "Giảm 1 bậc, từ hạng 1" in html
    assert 'aria-sort="descending"' in html and "Trang sau" not in html


def test_the_ledger_page_shows_the_schedule() -> None:
    html = _render(
        "ledger.html",
        filters={"kind": "remuneration", "order": "due"},
        errors={},
        page_data={"items": [ENTRY], "total": 1, "next_offset": None},
        schedule=True,
        kinds=pages_reports.LEDGER_KINDS,
        member=False,
        csv_link="/bao-cao/so-khen-thuong.csv?kind=remuneration&order=due",
        next_link=None,
        previous_link=None,
    )
    assert "Lịch chi trả thù lao tác giả" in html and "10/06/2026" in html and "24.800.000 đ" in html
    assert "1/5" in html and "2 người nhận" in html and "Chưa chi" in html
