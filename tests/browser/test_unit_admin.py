"""A unit admin's day in a real browser: targets, members, roles, lower units, the council, the ranking."""

from __future__ import annotations

import requests
from playwright.sync_api import Page, expect

from tests.browser.conftest import dev_headers, log_in, look
from tests.browser.platform import Platform, wait_until
from tests.factories import initiative

HANOI = "Liên đoàn Lao động thành phố Hà Nội"
MEMBERS = (
    ("dv-hn-kl-c001-01", "Nguyễn Văn An", "HN-KL-C001"),
    ("dv-hd-02", "Phạm Thị Dung", "HN-KL-C001"),
    ("dv-hd-03", "Lê Văn Cường", "HN-KL-C002"),
)


def _register_members(platform: Platform) -> None:
    team = dev_headers("support_team", "HN")
    for member_id, name, unit in MEMBERS:
        body = {"member_id": member_id, "full_name": name, "unit": unit}
        answer = requests.post(f"{platform.url('submission')}/api/v1/members", json=body, headers=team, timeout=10)
        assert answer.status_code in (200, 201), answer.text


def test_unit_admin_runs_the_unit(page: Page, platform: Platform) -> None:
    _register_members(platform)
    log_in(page, platform, "unitadmin", "/dang-nhap?next=/quan-tri/chi-tieu")
    page.wait_for_url("**/quan-tri/chi-tieu")

    # Targets: a target that is not a number is refused beside its field; then it is registered.
    page.fill("#f-target", "nhiều")
    page.select_option("#f-block", "administration")
    page.click("#target-form button[type=submit]")
    expect(page.locator("#f-target-error")).to_contain_text("số nguyên")
    expect(page.locator("#f-unit")).to_have_value("HN")
    page.fill("#f-target", "1.200")
    page.click("#target-form button[type=submit]")
    expect(page.locator("#saved-notice")).to_be_visible()
    row = page.locator("tr[data-target='LDST2026 P1 administration']")
    expect(row).to_contain_text("1.200")
    look(page, "admin-targets")

    # Members: the search finds one by part of the name, in any case.
    page.goto(platform.portal + "/quan-tri/doan-vien")
    # Other journeys register members of Hà Nội too (the newcomer joins): at least these are listed.
    for member_id, _name, _unit in MEMBERS:
        expect(page.locator(f"tr[data-member='{member_id}']")).to_have_count(1)
    page.fill("#f-q", "phạm thị")
    page.click("#member-search button[type=submit]")
    expect(page.locator("#member-list tbody tr")).to_have_count(1)
    expect(page.locator("tr[data-member='dv-hd-02']")).to_contain_text("Phạm Thị Dung")
    look(page, "admin-members")

    # Roles: a reviewer in a grassroots union of the subtree.
    page.goto(platform.portal + "/quan-tri/vai-tro")
    page.fill("#f-person", "idp|member")
    page.select_option("#f-role", "reviewer")
    page.fill("#f-unit", "HN-KL-C001")
    page.click("form[action='/quan-tri/vai-tro'] >> text=Giao vai trò")
    expect(page.locator("tr[data-grant='idp|member reviewer HN-KL-C001']")).to_have_count(1)

    # Lower units: a code outside Hà Nội's prefix is refused beside the field, then the unit is added.
    page.goto(platform.portal + "/quan-tri/don-vi")
    expect(page.locator("tr[data-unit='HN-KL']")).to_have_count(1)
    page.fill("#f-code", "tho-moi")
    page.fill("#f-name", "Công đoàn phường Hoàng Liệt")
    page.select_option("#f-level", "upper")
    page.click("#unit-form button[type=submit]")
    expect(page.locator("#f-code-error")).to_contain_text("HN-")
    expect(page.locator("#f-name")).to_have_value("Công đoàn phường Hoàng Liệt")
    look(page, "admin-units-errors")
    page.fill("#f-code", "hn-hl")
    page.click("#unit-form button[type=submit]")
    expect(page.locator("#added-notice")).to_contain_text("HN-HL")
    expect(page.locator("tr[data-unit='HN-HL']")).to_contain_text("Công đoàn phường Hoàng Liệt")
    look(page, "admin-units")

    # The council: the unit's reviewers, seated by the id their logins carry (review checks a score
    # against it). A second reviewer of Hà Nội is granted, added, and made chair, which makes the
    # first (the demo's `council`, chair unless another journey seated it already) a member again.
    page.goto(platform.portal + "/quan-tri/vai-tro")
    page.fill("#f-person", "idp|council2")
    page.select_option("#f-role", "reviewer")
    page.fill("#f-unit", "HN")
    page.click("form[action='/quan-tri/vai-tro'] >> text=Giao vai trò")
    expect(page.locator("tr[data-grant='idp|council2 reviewer HN']")).to_have_count(1)
    page.goto(platform.portal + "/quan-tri/hoi-dong")
    if page.locator("tr[data-council^='idp|council ']").count() == 0:
        page.select_option("#f-member_id", "idp|council")
        page.check("#f-role")
        page.click("#council-form button[type=submit]")
    expect(page.locator("tr[data-council='idp|council chair']")).to_have_count(1)
    page.select_option("#f-member_id", "idp|council2")
    page.click("#council-form button[type=submit]")
    page.locator("tr[data-council='idp|council2 member'] button", has_text="Đặt làm chủ tịch").click()
    expect(page.locator("tr[data-council='idp|council2 chair']")).to_have_count(1)
    expect(page.locator("tr[data-council='idp|council member']")).to_have_count(1)
    look(page, "admin-council")

    # Forged or odd forms get field errors or a refusal, never a server error.
    csrf = page.locator("input[name=csrf_token]").first.get_attribute("value") or ""
    for url, form in (
        ("/quan-tri/hoi-dong", {"action": "add", "member_id": "../../units/HN"}),
        ("/quan-tri/hoi-dong", {"action": "chair", "member_id": "dv-hn-kl-c001-01"}),
        ("/quan-tri/hoi-dong", {"action": "explode"}),
        ("/quan-tri/chi-tieu", {"unit": "THO", "programme": "LDST2026", "phase": "P1", "block": "x", "target": "5"}),
        ("/quan-tri/don-vi", {"code": "", "name": "", "level": "national"}),
    ):
        answer = page.request.post(platform.portal + url, form={**form, "csrf_token": csrf}, max_redirects=0)
        assert answer.status in (403, 409, 422), (url, form, answer.status)

    # The ranking moves once members of the unit submit (through the API, as another system would).
    page.goto(platform.portal + "/quan-tri/chi-tieu")
    counted = int(row.locator("td").nth(3).inner_text().replace(".", "").replace("—", "0") or 0)
    page.goto(platform.portal + "/bang-xep-hang")
    hanoi = page.locator("#ranking tr", has_text=HANOI)
    expect(hanoi).to_have_count(1)
    before = hanoi.inner_text()
    member = dev_headers("member", "HN-KL-C001", "dv-hn-kl-c001-01")
    for n in range(3):
        body = initiative(
            title=f"Sáng kiến quản trị {n}",
            authors=[{"name": "Nguyễn Văn An", "member_id": "dv-hn-kl-c001-01", "share_percent": 100}],
        )
        sent = requests.post(f"{platform.url('submission')}/api/v1/initiatives", json=body, headers=member, timeout=10)
        assert sent.status_code == 201, sent.text

    def moved() -> bool:
        page.reload()
        return hanoi.inner_text() != before

    wait_until(moved, 30, "the ranking to count the new initiatives", interval=1.0)

    # And the unit's progress against its administration-block target counts them.
    page.goto(platform.portal + "/quan-tri/chi-tieu")
    expect(row.locator("td").nth(3)).to_have_text(str(counted + 3))
    expect(row.locator("progress")).to_be_visible()
    page.goto(platform.portal + "/quan-tri/chi-tieu?unit=HN-KL-C001")
    expect(page.locator("tr[data-target='LDST2026 P1 administration'] progress")).not_to_have_attribute("value", "0")
    look(page, "admin-targets-progress")
