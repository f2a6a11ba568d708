from datetime import date
from decimal import Decimal

from chassis.auth import Principal
from submission import domain

P1 = domain.PhaseWindow("P1", date(2021, 9, 1), date(2022, 5, 31))
P2 = domain.PhaseWindow("P2", date(2022, 6, 1), date(2023, 9, 30))


def test_phase_is_the_one_containing_the_day() -> None:
    assert domain.phase_on([P1, P2], date(2021, 9, 1)) == P1
    assert domain.phase_on([P1, P2], date(2022, 5, 31)) == P1
    assert domain.phase_on([P1, P2], date(2022, 6, 1)) == P2
    assert domain.phase_on([P1, P2], date(2024, 1, 1)) is None


def test_shares_must_sum_to_exactly_100() -> None:
    assert domain.share_errors([Decimal("60"), Decimal("40")]) == []
    assert domain.share_errors([Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]) == []
    [error] = domain.share_errors([Decimal("60"), Decimal("30")])
    assert error.field == "authors" and "90" in error.message_en and "90" in error.message_vi


def test_first_application_cannot_be_in_the_future() -> None:
    today = date(2026, 11, 21)
    assert domain.first_applied_errors(today, today) == []
    assert domain.first_applied_errors(None, today) == []
    [error] = domain.first_applied_errors(date(2026, 11, 22), today)
    assert error.field == "first_applied_on"


def test_only_grassroots_units_take_initiatives() -> None:
    assert domain.unit_errors("grassroots") == []
    assert domain.unit_errors("upper")[0].field == "unit"
    assert domain.unit_errors(None)[0].message_en == "Unknown unit code."


def test_a_member_submits_only_what_they_authored() -> None:
    member = Principal("dv-1", "member", "HN-KL-C001")
    team = Principal("tht-1", "support_team", "HN-KL")
    assert domain.submitter_errors(member, ["dv-1", None]) == []
    assert domain.submitter_errors(member, ["dv-2"])[0].field == "authors"
    assert domain.submitter_errors(team, [None]) == []


def test_read_and_change_rights_follow_the_unit_tree() -> None:
    path = ["VGCL", "HN", "HN-KL", "HN-KL-C001"]
    assert domain.can_read(Principal("r", "reviewer", "HN"), path, "x", [])
    assert not domain.can_read(Principal("r", "reviewer", "THO"), path, "x", [])
    assert domain.can_read(Principal("dv-1", "member", "HN-KL-C001"), path, "x", ["dv-1"])
    assert not domain.can_read(Principal("dv-2", "member", "HN-KL-C001"), path, "x", ["dv-1"])
    assert not domain.can_change(Principal("r", "reviewer", "HN"), path, "x", [])
    assert domain.can_change(Principal("t", "support_team", "HN-KL"), path, "x", [])
    assert domain.can_change(Principal("a", "national_admin", "VGCL"), path, "x", [])


def test_the_calendar_is_vietnams() -> None:
    from datetime import UTC, datetime

    from chassis.calendar import local_day

    # 17:30 UTC on 31 May is already 1 June in Hà Nội: phase 2 has begun there.
    moment = datetime(2022, 5, 31, 17, 30, tzinfo=UTC)
    assert local_day(moment) == date(2022, 6, 1)
    assert domain.phase_on([P1, P2], local_day(moment)) == P2
