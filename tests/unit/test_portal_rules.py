"""The portal's rules on plain data: routing, forms to API payloads, grants, timelines, formatting."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from portal import formatting, forms, grants, routes, timeline
from portal.upstreams import parse_review_deployments
from portal.web import safe_next


@pytest.mark.parametrize(
    ("method", "path", "query", "service", "fan_out"),
    [
        ("POST", "/api/v1/initiatives", {}, "submission", ()),
        ("GET", "/api/v1/initiatives/abc/history", {}, "submission", ()),
        ("GET", "/api/v1/reviews", {}, "review", ()),
        ("PUT", "/api/v1/councils/HN-KL/members/dv-1", {}, "review", ()),
        ("GET", "/api/v1/rankings", {}, "awards", ()),
        ("GET", "/api/v1/targets", {}, "awards", ()),
        ("GET", "/api/v1/targets", {"view": "registry"}, "submission", ()),
        ("PUT", "/api/v1/targets", {}, "submission", ()),
        ("GET", "/api/v1/certificates/HN-ABC", {}, "review", ("review", "awards")),
        ("GET", "/api/v1/inbox", {}, "notify", ()),
    ],
)
def test_each_path_goes_to_its_owner(method: str, path: str, query: dict, service: str, fan_out: tuple) -> None:
    target = routes.route(method, path, query)
    assert target is not None and target.service == service and target.fan_out == fan_out


def test_unknown_paths_have_no_owner() -> None:
    assert routes.route("GET", "/api/v1/nothing-here", {}) is None
    assert routes.route("GET", "/api/v1/", {}) is None
    assert routes.route("GET", "/elsewhere", {}) is None


def test_a_council_routes_by_its_unit() -> None:
    assert routes.route("GET", "/api/v1/councils/HN-KL", {}) == routes.Route("review", unit="HN-KL")


def test_review_deployments_parse() -> None:
    assert parse_review_deployments("HN=http://a:1/, *=http://b:2") == {"HN": "http://a:1", "*": "http://b:2"}


def test_form_to_initiative_payload() -> None:
    form = MultiDict(
        {
            "title": " Băng chuyền ",
            "field": "production_business",
            "target_group": "5",
            "problem": "p",
            "solution": "s",
            "novelty": "n",
            "scope": "x",
            "benefit_vnd_per_year": "1.440.000",
            "first_applied_on": "",
            "benefit_description": "",
            "programme": "LDST2026",
            "unit": "HN-KL-C001",
            "authors.0.name": "An",
            "authors.0.member_id": "dv-1",
            "authors.0.share_percent": "33,34",
            "authors.1.name": "Bình",
            "authors.1.share_percent": "66.66",
            "authors.3.name": "",
        }
    )
    payload = forms.initiative(form)
    assert payload["title"] == "Băng chuyền"
    assert payload["target_group"] == 5
    assert payload["benefit_vnd_per_year"] == 1_440_000
    assert payload["first_applied_on"] is None
    assert "benefit_description" not in payload
    assert payload["confidential"] is False
    assert payload["authors"] == [
        {"name": "An", "member_id": "dv-1", "share_percent": 33.34},
        {"name": "Bình", "member_id": None, "share_percent": 66.66},
    ]


def test_what_is_not_a_number_goes_to_the_api_as_typed() -> None:
    payload = forms.initiative(
        MultiDict(
            {
                "target_group": "năm",
                "benefit_vnd_per_year": "nhiều",
                "authors.0.share_percent": "một nửa",
                "authors.0.name": "A",
            }
        )
    )
    assert payload["target_group"] == "năm"
    assert payload["benefit_vnd_per_year"] == "nhiều"
    assert payload["authors"][0]["share_percent"] == "một nửa"


def test_an_initiative_back_into_the_form() -> None:
    values = forms.values_of(
        {
            "title": "T",
            "target_group": 3,
            "authors": [{"name": "A", "member_id": None, "share_percent": 100.0}],
            "confidential": True,
        }
    )
    assert values["authors.0.share_percent"] == "100"
    assert values["target_group"] == "3"
    assert values["confidential"] == "on"


ADMIN_HN = grants.Acting("p1", "unit_admin", "HN", "/VGCL/HN/")


@pytest.mark.parametrize(
    ("actor", "role", "path", "allowed"),
    [
        (ADMIN_HN, "reviewer", "/VGCL/HN/HN-KL/", True),
        (ADMIN_HN, "unit_admin", "/VGCL/HN/", True),
        (ADMIN_HN, "reviewer", "/VGCL/THO/", False),
        (ADMIN_HN, "national_admin", "/VGCL/HN/", False),
        (ADMIN_HN, "member", "/VGCL/HN/HN-KL/HN-KL-C001/", False),
        (grants.Acting("p2", "national_admin", "VGCL", "/VGCL/"), "operator", "/VGCL/", True),
        (grants.Acting("p3", "reviewer", "HN", "/VGCL/HN/"), "reviewer", "/VGCL/HN/", False),
        (ADMIN_HN, "emperor", "/VGCL/HN/", False),
    ],
)
def test_who_may_grant_what(actor: grants.Acting, role: str, path: str, allowed: bool) -> None:
    assert grants.may_grant(actor, role, path) is allowed
    assert (grants.refusal(actor, role, path) is None) is allowed


def test_members_act_as_their_membership() -> None:
    assert grants.token_subject("member", "idp|an", "dv-1") == "dv-1"
    assert grants.token_subject("reviewer", "idp|an", "dv-1") == "idp|an"


def test_timeline_in_words() -> None:
    item = {
        "status": "recognized",
        "history": [
            {"kind": "submitted", "at": "2026-12-01T02:00:00Z", "unit": "HN-KL-C001"},
            {"kind": "accepted", "at": "2026-12-02T02:00:00Z", "level": "grassroots", "unit": "HN-KL-C001"},
            {"kind": "returned", "at": "2026-12-03T02:00:00Z", "level": "grassroots", "reason": "Thiếu số liệu"},
        ],
    }
    steps = timeline.steps(item, "vi")
    assert [s["what"] for s in steps] == ["Gửi sáng kiến", "Tiếp nhận hồ sơ", "Trả lại để bổ sung"]
    assert steps[1]["level"] == "Công đoàn cơ sở"
    assert steps[2]["reason"] == "Thiếu số liệu"
    assert timeline.steps(item, "en")[1]["what"] == "Accepted for review"
    assert not timeline.can_withdraw(item)
    assert timeline.can_resubmit({"status": "returned"}) and timeline.can_withdraw({"status": "returned"})


def test_vietnamese_numbers_and_dates() -> None:
    assert formatting.vnd(1_440_000) == "1.440.000 đ"
    assert formatting.number(None) == "—"
    assert formatting.date("2026-12-06T20:00:00Z") == "07/12/2026"  # Hà Nội is UTC+7
    assert formatting.datetime_local("2026-12-06T20:00:00+00:00") == "07/12/2026 03:00"


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("/sang-kien", "/sang-kien"),
        ("//evil.example", "/"),
        ("https://evil.example/", "/"),
        (None, "/"),
        ("/\\evil", "/"),
    ],
)
def test_only_local_next_urls(sent: str | None, kept: str) -> None:
    assert safe_next(sent) == kept
