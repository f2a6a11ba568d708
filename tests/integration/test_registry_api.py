"""Units, programmes, targets and members over HTTP, with their events."""

from __future__ import annotations

import requests

from chassis.contracts import contract_errors
from tests.conftest import token
from tests.factories import UNIT, UPPER
from tests.integration.conftest import post


def test_units_filter_by_top_level_and_parent(api) -> None:  # type: ignore[no-untyped-def]
    tops = requests.get(f"{api}/api/v1/units", params={"level": "top"}, timeout=10).json()
    codes = {u["code"] for u in tops["items"]}
    assert {"HN", "THO", "CTVN"} <= codes and tops["total"] == len(tops["items"])
    provinces = [u for u in tops["items"] if (u["cluster"] and not u["code"].isalpha()) or u["code"] in codes]
    assert len(provinces) >= 34
    hn = requests.get(f"{api}/api/v1/units", params={"top": "HN", "level": "grassroots"}, timeout=10).json()
    assert hn["items"] and all(u["top"] == "HN" and u["level"] == "grassroots" for u in hn["items"])
    children = requests.get(f"{api}/api/v1/units", params={"parent": UPPER}, timeout=10).json()["items"]
    assert UNIT in {u["code"] for u in children}
    one = requests.get(f"{api}/api/v1/units/HN", timeout=10).json()
    assert one == {**one, "code": "HN", "level": "top", "parent": "VGCL", "top": "HN"}
    assert requests.get(f"{api}/api/v1/units/NOPE", timeout=10).status_code == 404
    national = requests.get(f"{api}/api/v1/units/VGCL", timeout=10).json()
    assert national["level"] == "national" and national["parent"] is None


def test_programmes_have_phases(api) -> None:  # type: ignore[no-untyped-def]
    programme = requests.get(f"{api}/api/v1/programmes/TRIEUSANGKIEN", timeout=10).json()
    assert [(p["code"], p["starts_on"], p["ends_on"]) for p in programme["phases"]] == [
        ("P1", "2021-09-01", "2022-05-31"),
        ("P2", "2022-06-01", "2023-09-30"),
    ]
    assert len(requests.get(f"{api}/api/v1/programmes", timeout=10).json()) >= 2


def test_unit_admin_registers_a_target(api, tap) -> None:  # type: ignore[no-untyped-def]
    events = tap(["target.registered.HN"])
    body = {"unit": "HN", "programme": "TRIEUSANGKIEN", "phase": "P1", "block": "enterprise", "target": 45000}
    response = requests.put(
        f"{api}/api/v1/targets", json=body, headers=token("unit_admin", "HN", "admin-hn"), timeout=10
    )
    assert response.status_code == 200, response.text
    _, event = events.get()
    assert contract_errors(event) == [] and event["data"]["target"] == 45000
    listed = requests.get(
        f"{api}/api/v1/targets", params={"unit": "HN", "programme": "TRIEUSANGKIEN", "phase": "P1"}, timeout=10
    ).json()
    assert {t["block"]: t["target"] for t in listed}["enterprise"] == 45000
    other = requests.put(f"{api}/api/v1/targets", json=body, headers=token("unit_admin", "THO"), timeout=10)
    assert other.status_code == 403
    bad = requests.put(
        f"{api}/api/v1/targets",
        json={**body, "phase": "P9", "target": 0},
        headers=token("unit_admin", "HN"),
        timeout=10,
    )
    assert bad.status_code == 422 and {"target"} <= set(bad.json()["error"]["fields"])


def test_member_registration_keeps_contacts_out_of_events(api, tap) -> None:  # type: ignore[no-untyped-def]
    events = tap(["member.registered.*"])
    body = {
        "member_id": "dv-moi",
        "full_name": "Phạm Thị Mới",
        "unit": UNIT,
        "email": "moi@example.vn",
        "phone": "0912345678",
    }
    created = post(f"{api}/api/v1/members", body, token("support_team", UPPER))
    assert created.status_code == 201, created.text
    assert post(f"{api}/api/v1/members", body, token("support_team", UPPER)).status_code == 200
    _, event = events.get()
    assert contract_errors(event) == []
    assert "moi@example.vn" not in str(event) and "Phạm" not in str(event)
    events.assert_quiet()
    self_read = requests.get(f"{api}/api/v1/members/dv-moi", headers=token("member", UNIT, "dv-moi"), timeout=10)
    assert self_read.status_code == 200 and self_read.json()["email"] == "moi@example.vn"
    assert (
        requests.get(f"{api}/api/v1/members/dv-moi", headers=token("member", UNIT, "dv-khac"), timeout=10).status_code
        == 404  # as for an unknown id: another member's membership is not disclosed
    )
    bad = post(f"{api}/api/v1/members", {**body, "member_id": "x y", "email": "not-mail"}, token("support_team", UPPER))
    assert bad.status_code == 422 and {"member_id", "email"} <= set(bad.json()["error"]["fields"])


def test_unit_admin_registers_a_grassroots_unit_under_their_subtree(api, tap) -> None:  # type: ignore[no-untyped-def]
    events = tap(["unit.registered.HN"])
    admin = token("unit_admin", "HN", "admin-hn")
    body = {
        "code": "HN-KL-C099",
        "name": "Công đoàn cơ sở Công ty Demo mới",
        "level": "grassroots",
        "parent": UPPER,
        "block": "enterprise",
    }
    created = post(f"{api}/api/v1/units", body, admin)
    assert created.status_code == 201, created.text
    assert post(f"{api}/api/v1/units", body, admin).status_code == 200  # same again: nothing new
    _, event = events.get()
    assert contract_errors(event) == [] and event["data"]["path"] == ["VGCL", "HN", UPPER, "HN-KL-C099"]
    events.assert_quiet()
    # It takes initiatives at once.
    member = token("member", "HN-KL-C099", "dv-moi")
    from tests.factories import initiative

    ini = initiative(unit="HN-KL-C099", authors=[{"name": "A", "member_id": "dv-moi", "share_percent": 100}])
    assert post(f"{api}/api/v1/initiatives", ini, member).status_code == 201

    changed = post(f"{api}/api/v1/units", {**body, "name": "Tên khác"}, admin)
    assert changed.status_code == 409
    assert post(f"{api}/api/v1/units", {**body, "code": "HN-KL-C100"}, token("unit_admin", "THO")).status_code == 403
    bad = post(f"{api}/api/v1/units", {**body, "code": "THO-X-C1", "block": None, "parent": "HN-KL-C001"}, admin)
    assert bad.status_code == 422
    assert {"level", "code", "block"} <= set(bad.json()["error"]["fields"])
    unknown = post(f"{api}/api/v1/units", {**body, "parent": "HN-NOPE"}, admin)
    assert unknown.status_code == 422 and "parent" in unknown.json()["error"]["fields"]
    wrong_shape = post(f"{api}/api/v1/units", {**body, "code": "HN-C1", "level": "upper", "parent": UPPER}, admin)
    assert wrong_shape.status_code == 422 and {"level", "block"} <= set(wrong_shape.json()["error"]["fields"])


def test_support_team_lists_its_members(api) -> None:  # type: ignore[no-untyped-def]
    team = token("support_team", UPPER)
    for i in range(3):
        body = {"member_id": f"dv-list-{i}", "full_name": f"Đoàn viên {i}", "unit": UNIT}
        assert post(f"{api}/api/v1/members", body, team).status_code == 201
    page = requests.get(
        f"{api}/api/v1/members", params={"unit": "HN", "limit": 2}, headers=token("unit_admin", "HN"), timeout=10
    )
    assert page.status_code == 200 and page.json()["total"] == 3 and len(page.json()["items"]) == 2
    assert (
        requests.get(
            f"{api}/api/v1/members", params={"unit": "HN"}, headers=token("support_team", "THO"), timeout=10
        ).status_code
        == 403
    )
    assert requests.get(f"{api}/api/v1/members", headers=token("member", UNIT), timeout=10).status_code == 403


def test_unit_admin_searches_members_by_name_or_id(api) -> None:  # type: ignore[no-untyped-def]
    team = token("support_team", UPPER)
    for member_id, name in (("dv-tim-01", "Nguyễn Thị Hoa"), ("dv-tim-02", "Trần Văn Hùng"), ("NV_7", "Lê Hoa 100%")):
        assert (
            post(f"{api}/api/v1/members", {"member_id": member_id, "full_name": name, "unit": UNIT}, team).status_code
            == 201
        )
    admin = token("unit_admin", "HN")

    def found(q: str, **extra: str) -> tuple[int, list[str]]:
        answer = requests.get(
            f"{api}/api/v1/members", params={"unit": "HN", "q": q, **extra}, headers=admin, timeout=10
        )
        assert answer.status_code == 200, answer.text
        return answer.json()["total"], [m["member_id"] for m in answer.json()["items"]]

    assert found("hoa") == (2, ["NV_7", "dv-tim-01"])  # any case, anywhere in the name
    assert found("NGUYỄN THỊ") == (1, ["dv-tim-01"])  # Vietnamese letters fold too
    assert found("TIM-02") == (1, ["dv-tim-02"])  # part of the member id
    assert found("  hùng ") == (1, ["dv-tim-02"])  # surrounding spaces are not part of it
    assert found("100%") == (1, ["NV_7"]) and found("%")[0] == 1  # % and _ are text, not wildcards
    assert found("_")[0] == 1
    assert found("hoa", limit="1", offset="1") == (2, ["dv-tim-01"])  # pages through the matches
    assert found("")[0] == 3
    too_long = requests.get(f"{api}/api/v1/members", params={"unit": "HN", "q": "x" * 101}, headers=admin, timeout=10)
    assert too_long.status_code == 422
    assert set(too_long.json()["error"]["fields"]) == {"q"} and too_long.json()["error"]["fields_vi"]["q"]
