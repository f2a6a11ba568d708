"""The front door's journeys in a real browser, each logged in through the real OIDC provider."""

from __future__ import annotations

import csv
import io
import json
import re

import requests
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, text

from chassis.db import normalize_url
from tests.browser.conftest import dev_headers, log_in, look
from tests.browser.platform import ROOT, Platform, wait_until


def test_public_pages_need_no_login(page: Page, platform: Platform) -> None:
    page.goto(platform.portal + "/")
    expect(page.locator("h1")).to_contain_text("Nền tảng sáng kiến")
    look(page, "home")
    page.goto(platform.portal + "/bang-xep-hang")
    expect(page.locator("h1")).to_contain_text("Bảng xếp hạng")
    look(page, "ranking")
    page.goto(platform.portal + "/chung-nhan?code=KHONG-CO-MA-NAY")
    expect(page.locator(".field-error")).to_contain_text("Không tìm thấy")
    look(page, "certificate")
    page.goto(platform.portal + "/api/docs")
    expect(page.locator("#swagger-ui .info")).to_be_visible()


def test_member_joins_submits_with_two_coauthors_and_follows_the_review(page: Page, platform: Platform) -> None:
    log_in(page, platform, "newcomer")
    # No grant yet: the portal asks the newcomer to join a grassroots union.
    page.wait_for_url("**/tham-gia")
    look(page, "join")
    page.select_option("#top", "HN")
    page.fill("#q", "KL")
    page.click("#unit-search button[type=submit]")
    page.check("input[name=unit][value='HN-KL-C001']")
    page.fill("#f-full_name", "Ngô Thị Mới")
    page.click("#join-form button[type=submit]")
    page.wait_for_url("**/sang-kien/moi?joined=1")
    look(page, "submit")

    # The connection drops and the page is opened again: what was typed is still there.
    page.fill("#f-title", "Bản nháp còn giữ")
    page.fill("#f-problem", "Gõ dở thì mất sóng.")
    page.reload()
    expect(page.locator("#f-title")).to_have_value("Bản nháp còn giữ")
    expect(page.locator("#f-problem")).to_have_value("Gõ dở thì mất sóng.")

    # A wrong share total is refused beside its field, and what was typed is kept.
    page.fill("#f-title", "Cải tiến dây chuyền đóng gói")
    page.select_option("#f-field", "production_business")
    page.select_option("#f-target_group", "5")
    page.fill("#f-problem", "Đóng gói thủ công chậm, hay sai sót.")
    page.fill("#f-solution", "Thêm băng chuyền và cân tự động.")
    page.fill("#f-novelty", "Lần đầu áp dụng ở công ty.")
    page.fill("#f-scope", "Toàn bộ xưởng đóng gói.")
    page.fill("#f-benefit_vnd_per_year", "150.000.000")
    page.fill("#f-authors-0-share_percent", "50")
    page.click("text=Thêm đồng tác giả")
    page.fill("#f-authors-1-name", "Trần Văn Hai")
    page.fill("#f-authors-1-share_percent", "30")
    page.click("text=Thêm đồng tác giả")
    page.fill("#f-authors-2-name", "Lê Thị Ba")
    page.fill("#f-authors-2-share_percent", "10")
    page.click("#initiative-form button[type=submit]")
    expect(page.locator("#error-summary")).to_be_visible()
    expect(page.locator("#f-title")).to_have_value("Cải tiến dây chuyền đóng gói")
    look(page, "submit-errors")

    page.fill("#f-authors-2-share_percent", "20")
    # Twice, as an impatient person on a slow phone would: one initiative (Idempotency-Key).
    form_html = page.locator("input[name=idempotency_key]").get_attribute("value")
    assert form_html
    page.click("#initiative-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/sang-kien/[0-9a-f-]{36}\?da-gui=1"))
    initiative_id = re.search(r"/sang-kien/([0-9a-f-]{36})", page.url).group(1)  # type: ignore[union-attr]
    expect(page.locator("#timeline")).to_contain_text("Gửi sáng kiến")
    look(page, "initiative")

    mine = requests.get(
        f"{platform.url('submission')}/api/v1/initiatives",
        headers=dev_headers("support_team", "HN-KL-C001"),
        timeout=10,
    ).json()["items"]
    assert [i["id"] for i in mine if i["title"] == "Cải tiến dây chuyền đóng gói"] == [initiative_id]
    authors = requests.get(
        f"{platform.url('submission')}/api/v1/initiatives/{initiative_id}",
        headers=dev_headers("support_team", "HN-KL-C001"),
        timeout=10,
    ).json()["authors"]
    assert [(a["name"], a["share_percent"]) for a in authors] == [
        ("Ngô Thị Mới", 50),
        ("Trần Văn Hai", 30),
        ("Lê Thị Ba", 20),
    ]

    # The grassroots reviewer accepts it (review's API is enough for that side here).
    reviewer = dev_headers("reviewer", "HN-KL-C001")
    review = f"{platform.url('review')}/api/v1/reviews/{initiative_id}"
    wait_until(lambda: requests.get(review, headers=reviewer, timeout=5).status_code == 200, 60, "the review case")
    accepted = requests.post(f"{review}/accept", headers=reviewer, json={}, timeout=10)
    assert accepted.status_code in (200, 201), accepted.text

    def timeline_moved() -> bool:
        page.reload()
        return page.locator("#timeline .step-accepted, #timeline .step-review_started").count() > 0

    wait_until(timeline_moved, 60, "the timeline to show the acceptance", interval=1.0)
    expect(page.locator("#current-status")).to_contain_text("Đang thẩm định")

    # The message in the inbox, with the unread count.
    def has_message() -> bool:
        page.goto(platform.portal + "/hop-thu")
        return page.locator(".message").count() > 0

    wait_until(has_message, 60, "a message in the inbox", interval=1.0)
    unread_before = int(page.locator("#unread-count strong").inner_text())
    assert unread_before >= 1
    look(page, "inbox")
    page.locator(".message.unread form button").first.click()
    page.wait_for_url("**/hop-thu")
    assert int(page.locator("#unread-count strong").inner_text()) == unread_before - 1

    page.goto(platform.portal + "/sang-kien")
    expect(page.locator("#initiative-list")).to_contain_text("Cải tiến dây chuyền đóng gói")
    look(page, "my-initiatives")


def _csv_upload(template: str, good: int, bad: int) -> bytes:
    reader = csv.DictReader(io.StringIO(template.lstrip("\ufeff")))
    example = next(reader)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=reader.fieldnames or [])
    writer.writeheader()
    total = good + bad
    wrong = {n * (total // bad) + 7 for n in range(bad)}
    for n in range(total):
        row = dict(example)
        row["title"] = f"Sáng kiến giấy số {n:04d}"
        row["unit"] = "HN-KL-C001"
        if n in wrong:
            row["target_group"] = "9"  # out of range: refused with its field error
        writer.writerow(row)
    return out.getvalue().encode()


def test_support_team_uploads_a_thousand_rows_and_finds_them(page: Page, platform: Platform, tmp_path) -> None:  # type: ignore[no-untyped-def]
    log_in(page, platform, "support", "/dang-nhap?next=/nhap-file")
    page.wait_for_url("**/nhap-file")
    look(page, "bulk")
    template = page.request.get(platform.portal + "/nhap-file/mau.csv")
    assert template.ok and "title" in template.text()
    upload = tmp_path / "so-lieu.csv"
    upload.write_bytes(_csv_upload(template.text(), 990, 10))
    page.set_input_files("#f-file", str(upload))
    page.click("#bulk-form button[type=submit]")
    expect(page.locator("#bulk-accepted")).to_have_text("990", timeout=60_000)
    expect(page.locator("#bulk-rejected")).to_have_text("10")
    assert page.locator("#rejected-rows tbody tr").count() == 10
    expect(page.locator("#rejected-rows")).to_contain_text("target_group")
    look(page, "bulk-result")

    # Uploading the same file again creates nothing twice.
    page.goto(platform.portal + "/nhap-file")
    page.set_input_files("#f-file", str(upload))
    page.click("#bulk-form button[type=submit]")
    expect(page.locator("#bulk-duplicates")).to_have_text("990", timeout=60_000)
    expect(page.locator("#bulk-accepted")).to_have_text("0")

    # One paper form typed in on a member's behalf: the page and the initiative say so.
    page.goto(platform.portal + "/sang-kien/moi")
    expect(page.locator(".notice")).to_contain_text("nộp thay")
    page.select_option("#f-unit", "HN-KL-C001")
    page.fill("#f-title", "Sáng kiến nộp thay đoàn viên")
    page.select_option("#f-field", "union_work")
    page.select_option("#f-target_group", "5")
    for name in ("problem", "solution", "novelty", "scope"):
        page.fill(f"#f-{name}", "Theo phiếu giấy đã thu.")
    page.fill("#f-authors-0-name", "Đặng Văn Tư")
    page.fill("#f-authors-0-share_percent", "100")
    page.click("#initiative-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/sang-kien/[0-9a-f-]{36}\?da-gui=1"))
    expect(page.locator(".facts")).to_contain_text("Tổ hỗ trợ nộp thay")

    # The unit's list, page by page, holds the 990.
    titles: set[str] = set()
    page.goto(platform.portal + "/sang-kien?limit=200")
    look(page, "unit-initiatives")
    while True:
        titles.update(
            t for t in page.locator("#initiative-list tbody a").all_inner_texts() if t.startswith("Sáng kiến giấy")
        )
        more = page.locator("text=Trang sau")
        if more.count() == 0:
            break
        more.click()
    assert len(titles) == 990


def _went_through_login(page: Page, url: str) -> bool:
    """Whether opening `url` passed through the portal's login (the provider may answer at once
    from its own single sign-on session, so the chain of redirects is what tells)."""
    response = page.goto(url)
    assert response is not None
    request, seen = response.request, []
    while request is not None:
        seen.append(request.url)
        request = request.redirected_from
    return any("/dang-nhap" in u for u in seen) and any("/auth/callback" in u for u in seen)


def test_bad_sessions_go_back_to_login_and_forged_forms_are_refused(page: Page, platform: Platform) -> None:
    # A forged cookie is no session: the portal sends the person to log in.
    page.context.add_cookies([{"name": "sk_session", "value": "forged-value", "url": platform.portal}])
    page.goto(platform.portal + "/sang-kien")
    page.wait_for_url(f"{platform.url('idp')}/**")

    log_in(page, platform, "member", "/dang-nhap?next=/sang-kien")
    page.wait_for_url("**/sang-kien")
    # A form posted without its CSRF token is refused and changes nothing.
    refused = page.request.post(platform.portal + "/sang-kien/moi", form={"title": "không có mã CSRF"})
    assert refused.status == 403
    refused = page.request.post(platform.portal + "/dang-xuat", form={})
    assert refused.status == 403

    # An expired session is sent to log in again.
    engine = create_engine(normalize_url(platform.databases["portal"]))
    with engine.begin() as conn:
        conn.execute(text("UPDATE sessions SET expires_at = now() - interval '1 minute'"))
    engine.dispose()
    assert _went_through_login(page, platform.portal + "/sang-kien")
    assert page.url.endswith("/sang-kien")

    # Logging out ends the session: its cookie no longer opens anything.
    cookie = next(c for c in page.context.cookies() if c["name"] == "sk_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    page.click("header form[action='/dang-xuat'] button")
    page.wait_for_url(f"{platform.url('idp')}/**")  # the provider asks to end its own session too
    page.context.add_cookies([{"name": "sk_session", "value": cookie["value"], "url": platform.portal}])
    assert _went_through_login(page, platform.portal + "/sang-kien")


SUBMIT_PAGE_BUDGET = 150 * 1024  # bytes transferred on a first load, everything included


def test_the_submit_page_is_light_on_a_first_load(browser, platform: Platform) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    log_in(page, platform, "member", "/dang-nhap?next=/")
    transferred: dict[str, int] = {}

    def count(request) -> None:  # type: ignore[no-untyped-def]
        sizes = request.sizes()
        transferred[request.url] = sizes["responseBodySize"] + sizes["responseHeadersSize"]

    page.on("requestfinished", count)
    page.goto(platform.portal + "/sang-kien/moi")
    page.wait_for_load_state("networkidle")
    total = sum(transferred.values())
    (ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)
    (ROOT / "var" / "bench" / "submit-page.json").write_text(
        json.dumps({"bytes": total, "requests": transferred}, indent=2)
    )
    print(f"submit page, first load: {total} bytes in {len(transferred)} requests")
    assert total <= SUBMIT_PAGE_BUDGET, transferred
    context.close()


def test_unit_admin_grants_switches_and_revokes_roles(page: Page, platform: Platform) -> None:
    log_in(page, platform, "unitadmin", "/dang-nhap?next=/quan-tri/vai-tro")
    page.wait_for_url("**/quan-tri/vai-tro")
    look(page, "staff")
    # Outside the admin's subtree: refused beside the form, nothing granted.
    page.fill("#f-person", "idp|member")
    page.select_option("#f-role", "reviewer")
    page.fill("#f-unit", "THO")
    page.click("form[action='/quan-tri/vai-tro'] >> text=Giao vai trò")
    expect(page.locator("#error-summary")).to_contain_text("không thuộc đơn vị")
    page.fill("#f-person", "idp|member")
    page.select_option("#f-role", "reviewer")
    page.fill("#f-unit", "HN-KL")
    page.click("form[action='/quan-tri/vai-tro'] >> text=Giao vai trò")
    row = page.locator("tr[data-grant='idp|member reviewer HN-KL']")
    expect(row).to_have_count(1)
    row.locator("button").click()
    expect(page.locator("tr[data-grant='idp|member reviewer HN-KL']")).to_have_count(0)

    # The admin also belongs to the support team: switching needs no new login.
    page.select_option("#grant_id", label="Tổ hỗ trợ sáng kiến — HN")
    page.click("form[action='/vai-tro'] button")
    expect(page.locator("nav.menu")).to_contain_text("Nhập từ tệp")
