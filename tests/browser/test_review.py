"""Reviewers' journeys in a real browser: an initiative climbs the whole union tree to national
recognition, each level acting through its pages, logged in through the real OIDC provider."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import requests
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect

from tests.browser.conftest import dev_headers, log_in, look
from tests.browser.platform import Platform, wait_until
from tests.factories import initiative

MEMBER_ID = "dv-hn-kl-c001-01"  # the demo member's membership (portal seed/demo.json)
TITLE = "Tự động hoá khâu kiểm tra mối hàn"


def councils(platform: Platform) -> None:
    """HN-KL's council of three (it averages), Hà Nội's and the national council of one."""
    members = {
        "HN-KL": ["idp|council", "idp|council2", "idp|council3"],
        "HN": ["idp|council"],
        "VGCL": ["idp|national"],
    }
    for unit, people in members.items():
        admin = dev_headers("national_admin" if unit == "VGCL" else "unit_admin", unit)
        for i, person in enumerate(people):
            answer = requests.put(
                f"{platform.url('review')}/api/v1/councils/{unit}/members/{person}",
                json={"role": "chair" if i == 0 else "member"},
                headers=admin,
                timeout=10,
            )
            assert answer.status_code in (200, 201), answer.text


def switch_role(page: Page, label: str) -> None:
    page.select_option("#grant_id", label=label)
    page.click("form[action='/vai-tro'] button")


def log_in_as(page: Page, platform: Platform, login: str, start: str) -> None:
    page.context.clear_cookies()  # the portal's and the provider's: the next person logs in afresh
    log_in(page, platform, login, start)


def score(page: Page, novelty: str, applicability: str, benefit: str) -> None:
    page.fill("#f-novelty", novelty)
    page.fill("#f-applicability", applicability)
    page.fill("#f-benefit", benefit)
    page.click("#form-score button[type=submit]")
    expect(page.locator("#done-notice")).to_contain_text("Chấm điểm")


def act(page: Page, action: str, reason: str = "") -> None:
    if reason:
        page.fill(f"#f-{action}-reason", reason)
    page.click(f"#form-{action} button[type=submit]")
    expect(page.locator("#done-notice")).to_be_visible()


def test_an_initiative_climbs_every_level_to_national_recognition(
    page: Page, platform: Platform, tmp_path: Path
) -> None:
    councils(platform)
    body = initiative(
        title=TITLE,
        unit="HN-KL-C001",
        authors=[{"name": "Nguyễn Văn An", "member_id": MEMBER_ID, "share_percent": 100}],
    )
    submitted = requests.post(
        f"{platform.url('submission')}/api/v1/initiatives",
        json=body,
        headers=dev_headers("member", "HN-KL-C001", MEMBER_ID),
        timeout=10,
    )
    assert submitted.status_code == 201, submitted.text
    initiative_id = submitted.json()["id"]
    file_url = f"/tham-dinh/{initiative_id}"

    # Grassroots: the reviewer finds it in the unit's queue, accepts, scores and recognises it.
    log_in_as(page, platform, "reviewer", "/dang-nhap?next=/tham-dinh")
    page.wait_for_url("**/tham-dinh")

    review = f"{platform.url('review')}/api/v1/reviews/{initiative_id}"
    grassroots = dev_headers("reviewer", "HN-KL-C001")
    wait_until(lambda: requests.get(review, headers=grassroots, timeout=5).ok, 60, "the review case", interval=0.5)
    page.reload()
    expect(page.locator("#queue-count")).to_contain_text("Đang chờ")
    look(page, "review-queue")
    # Other journeys fill this unit's queue past its first page: open the file by its address.
    page.goto(platform.portal + file_url)
    expect(page.locator("#deadline")).to_contain_text("Hạn tiếp nhận")
    # Only what is in order now: no scoring or recognition before the file is accepted.
    expect(page.locator("#form-score")).to_have_count(0)
    expect(page.locator("#form-recognize")).to_have_count(0)
    look(page, "review-file")
    act(page, "accept")
    expect(page.locator("#deadline")).to_contain_text("Hạn ra quyết định")
    score(page, "9", "8", "8,5")
    expect(page.locator("#form-score")).to_have_count(0)  # one reviewer scores this level, once
    act(page, "recognize")
    page.select_option("#f-honour", "exemplary")
    act(page, "nominate", "Tiêu biểu của công đoàn cơ sở")
    expect(page.locator("#actions")).to_contain_text("không có thao tác")

    # Upper-grassroots: a council of three, each scoring on their own; one vote is below the pass mark.
    log_in_as(page, platform, "council", f"/dang-nhap?next={file_url}")
    switch_role(page, "Người thẩm định — HN-KL")
    page.goto(platform.portal + file_url)
    act(page, "accept")
    score(page, "9", "9", "8")
    expect(page.locator("#quorum")).to_contain_text("1/2")
    expect(page.locator("#form-recognize")).to_have_count(0)
    expect(page.locator("#recognition-blocked")).to_contain_text("1/2")
    for person, marks in (("council2", ("8", "8", "9")), ("council3", ("3", "4", "3"))):
        log_in_as(page, platform, person, f"/dang-nhap?next={file_url}")
        page.wait_for_url(f"**{file_url}")
        score(page, *marks)
    look(page, "review-council")
    log_in_as(page, platform, "council", f"/dang-nhap?next={file_url}")
    switch_role(page, "Người thẩm định — HN-KL")
    page.goto(platform.portal + file_url)
    expect(page.locator("#quorum")).to_contain_text("3/2")
    expect(page.locator("#verdict")).to_contain_text("đạt")
    # Scorecards and the audit trail name the people behind the login ids.
    expect(page.locator("#scorecards")).to_contain_text("Bùi Thị Lan")
    expect(page.locator("#audit")).to_contain_text("Phạm Thị Dung (idp|council)")
    act(page, "recognize")
    act(page, "nominate")

    # A second vote is refused with review's reason (the form is gone; the API says why).
    second = requests.post(
        f"{platform.url('review')}/api/v1/reviews/{initiative_id}/scores",
        json={"novelty": 9, "applicability": 9, "benefit": 9},
        headers=dev_headers("reviewer", "HN-KL", "idp|council2"),
        timeout=10,
    )
    assert second.status_code in (403, 409), second.text

    # Top level (Hà Nội, decided by its council of one) and the national office.
    switch_role(page, "Người thẩm định — HN")
    page.goto(platform.portal + file_url)
    act(page, "accept")
    score(page, "9", "8", "9")
    act(page, "recognize")
    act(page, "nominate")
    log_in_as(page, platform, "national", "/dang-nhap?next=/tham-dinh")
    page.wait_for_url("**/tham-dinh")
    expect(page.locator("#review-queue")).to_contain_text(TITLE)
    page.goto(platform.portal + file_url)
    act(page, "accept")
    score(page, "9", "9", "9")
    act(page, "recognize")
    expect(page.locator("#review-status")).to_contain_text("Đã công nhận")
    expect(page.locator("#certificates li")).to_have_count(4)
    look(page, "review-recognised")

    # Anyone can verify the national certificate, without a login.
    link = page.locator("#certificates li").last.locator("a", has_text="Tra cứu")
    href = link.get_attribute("href") or ""
    page.context.clear_cookies()
    page.goto(platform.portal + href)
    expect(page.locator("main h2").first).to_contain_text("hợp lệ")

    # The author sees the national recognition on their own page and prints the certificate:
    # its text keeps the diacritics, and its QR code opens the verification page.
    log_in_as(page, platform, "member", f"/dang-nhap?next=/sang-kien/{initiative_id}")
    expect(page.locator("#current-status")).to_contain_text("Đã công nhận")
    with page.expect_download() as download:
        page.click("#certificate-pdf")
    pdf = tmp_path / "certificate.pdf"
    download.value.save_as(pdf)
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True).stdout
    assert TITLE in text.decode() and "GIẤY CHỨNG NHẬN SÁNG KIẾN" in text.decode()
    subprocess.run(["pdftoppm", "-png", "-r", "150", "-singlefile", str(pdf), str(tmp_path / "page")], check=True)
    codes = [r.text for r in zxingcpp.read_barcodes(Image.open(tmp_path / "page.png"))]
    assert codes == [platform.portal + href], codes


def test_a_reviewer_of_another_unit_cannot_open_the_file(page: Page, platform: Platform) -> None:
    submitted = requests.post(
        f"{platform.url('submission')}/api/v1/initiatives",
        json=initiative(title="Sáng kiến của Hà Nội", unit="HN-KL-C001"),
        headers=dev_headers("support_team", "HN-KL-C001"),
        timeout=10,
    )
    assert submitted.status_code == 201, submitted.text
    initiative_id = submitted.json()["id"]
    own = dev_headers("reviewer", "HN-KL-C001")
    review = f"{platform.url('review')}/api/v1/reviews/{initiative_id}"
    wait_until(lambda: requests.get(review, headers=own, timeout=5).status_code == 200, 60, "the review case")
    stranger = dev_headers("reviewer", "THO-KKT-C001", "idp|support")
    assert requests.get(review, headers=stranger, timeout=5).status_code in (403, 404)

    platform.grant("idp|support", "reviewer", "THO-KKT-C001")
    log_in_as(page, platform, "support", "/dang-nhap")
    switch_role(page, "Người thẩm định — THO-KKT-C001")
    page.goto(f"{platform.portal}/tham-dinh/{initiative_id}")
    expect(page.locator("main")).to_contain_text(re.compile("ngoài phạm vi|Không tìm thấy"))
    expect(page.locator("#actions")).to_have_count(0)
    look(page, "review-refused")
