"""The national office's pages in a real browser: live rankings in three scopes with the progress
chart, the reports page, a report downloaded as XLSX, and the award ledger."""

from __future__ import annotations

import io

import openpyxl
import requests
from playwright.sync_api import Page, expect

from tests.browser.conftest import dev_headers, log_in, look
from tests.browser.platform import Platform, wait_until
from tests.factories import initiative

HANOI = "Liên đoàn Lao động thành phố Hà Nội"


def _counted(platform: Platform, unit: str) -> int:
    answer = requests.get(
        f"{platform.url('awards')}/api/v1/standings/{unit}",
        params={"programme": "LDST2026"},
        headers=dev_headers("national_admin", "VGCL"),
        timeout=10,
    )
    return answer.json().get("submitted", 0) if answer.ok else 0


def test_national_office_reads_rankings_reports_and_the_ledger(page: Page, platform: Platform) -> None:
    # A few initiatives in two Hà Nội grassroots unions, and the 7:00 snapshot taken, so ranks can move.
    team = dev_headers("support_team", "HN")
    before = _counted(platform, "HN")
    for n, unit in enumerate(("HN-KL-C001", "HN-KL-C001", "HN-KCN-C001")):
        body = initiative(
            title=f"Sáng kiến báo cáo {n}", unit=unit, authors=[{"name": "Tác giả", "share_percent": 100}]
        )
        sent = requests.post(f"{platform.url('submission')}/api/v1/initiatives", json=body, headers=team, timeout=10)
        assert sent.status_code == 201, sent.text
    wait_until(lambda: _counted(platform, "HN") >= before + 3, 30, "awards to count the initiatives")
    snap = requests.post(
        f"{platform.url('awards')}/api/v1/rankings/snapshots", headers=dev_headers("national_admin", "VGCL"), timeout=30
    )
    assert snap.status_code == 201, snap.text

    log_in(page, platform, "national")

    # National: every top-level unit, the change since 7:00 in words, the chart with its table.
    page.goto(platform.portal + "/bang-xep-hang")
    hanoi = page.locator("#ranking tbody tr", has_text=HANOI)
    expect(hanoi).to_have_count(1)
    expect(hanoi.locator(".move .visually-hidden")).to_contain_text("hạng")
    image = page.locator(".chart img")
    assert "Biểu đồ thanh" in (image.get_attribute("alt") or "")
    chart = requests.get(platform.portal + "/bang-xep-hang/bieu-do.png", timeout=30)
    assert chart.status_code == 200 and chart.content[:8] == b"\x89PNG\r\n\x1a\n"
    page.click(".chart summary")
    expect(page.locator(".chart table tbody tr", has_text=HANOI)).to_have_count(1)
    look(page, "ranking-national")

    # Within cluster C1, by recognised initiatives.
    page.select_option("#scope", "cluster")
    page.select_option("#cluster", "C1")
    page.select_option("#metric", "recognized")
    page.click("#ranking-filters button[type=submit]")
    expect(page.locator("#ranking-title")).to_contain_text("C1")
    expect(page.locator("#ranking tbody tr", has_text=HANOI)).to_have_count(1)
    look(page, "ranking-cluster")

    # Under Hà Nội: its grassroots unions, by initiatives; the chart shows its upper-grassroots units.
    page.goto(platform.portal + "/bang-xep-hang?scope=top&top=HN&metric=submitted")
    first = page.locator("#ranking tbody tr").first
    expect(first.locator("td.rank")).to_have_text("1")
    expect(page.locator(".chart img")).to_have_attribute("src", "/bang-xep-hang/bieu-do.png?top=HN")
    look(page, "ranking-top")

    # A bad scope is a field-level error, not a crash.
    bad = requests.get(platform.portal + "/bang-xep-hang?scope=cluster&cluster=x!", timeout=10)
    assert bad.status_code == 422 and "field-error" in bad.text

    # The reports page, and this year's first-half report of the nation as XLSX.
    page.goto(platform.portal + "/bao-cao")
    expect(page.locator("h1")).to_contain_text("Báo cáo")
    look(page, "reports")
    with page.expect_download() as download:
        page.locator("#quick-reports a", has_text="XLSX").first.click()
    got = download.value
    assert got.suggested_filename.startswith("bao-cao-VGCL-LDST2026-") and got.suggested_filename.endswith(".xlsx")
    path = got.path()
    assert path is not None
    book = openpyxl.load_workbook(io.BytesIO(path.read_bytes()))
    assert len(book.worksheets) > 3 and book.worksheets[0].max_row > 3

    # A unit that does not exist is refused beside the unit field.
    page.fill("#f-unit", "KHONGCO")
    page.click("#report-form button[type=submit]")
    expect(page.locator("#f-unit-error")).to_be_visible()

    # The ledger and the remuneration schedule, with the CSV download.
    page.goto(platform.portal + "/bao-cao/so-khen-thuong?kind=remuneration&order=due")
    expect(page.locator("h1")).to_contain_text("thù lao")
    look(page, "ledger")
    with page.expect_download() as download:
        page.click("#ledger-csv")
    assert download.value.suggested_filename == "lich-chi-tra-thu-lao.csv"
