"""Admission control: requests beyond the cap are refused at once, slots are given back, probes pass."""

from __future__ import annotations

import json
from contextlib import ExitStack

import pytest

from chassis.admission import REQUESTS_REJECTED, Admission
from chassis.errors import TooManyRequests


def test_requests_beyond_the_cap_are_refused_until_a_slot_is_free() -> None:
    admission = Admission(2, "unit-test-cap")
    with ExitStack() as held:
        assert held.enter_context(admission.slot("/api/v1/initiatives")) is True
        assert held.enter_context(admission.slot("/api/v1/initiatives")) is True
        assert admission.in_flight == 2
        with admission.slot("/api/v1/initiatives") as third:
            assert third is False
        assert admission.in_flight == 2  # a refused request holds no slot
    assert admission.in_flight == 0
    with admission.slot("/api/v1/initiatives") as again:
        assert again is True
    assert REQUESTS_REJECTED.labels("unit-test-cap")._value.get() == 1


def test_a_failing_request_gives_its_slot_back() -> None:
    admission = Admission(1, "unit-test-error")
    with pytest.raises(RuntimeError), admission.slot("/api/v1/initiatives"):
        raise RuntimeError("the handler broke")
    assert admission.in_flight == 0
    with admission.slot("/api/v1/initiatives") as admitted:
        assert admitted is True


def test_probes_and_scrapes_are_never_refused() -> None:
    admission = Admission(1, "unit-test-probes")
    with admission.slot("/api/v1/units") as first:
        assert first is True
        for path in ("/healthz", "/readyz", "/metrics"):
            with admission.slot(path) as probe:
                assert probe is True
        assert admission.in_flight == 1  # probes are not counted either


def test_zero_means_no_cap_and_negative_is_refused() -> None:
    admission = Admission(0, "unit-test-off")
    with ExitStack() as held:
        for _ in range(500):
            assert held.enter_context(admission.slot("/x")) is True
        assert admission.in_flight == 500
    with pytest.raises(ValueError):
        Admission(-1)


def test_the_refusal_is_a_429_with_retry_after_in_both_languages() -> None:
    response = TooManyRequests(retry_after=1).response()
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    error = json.loads(response.get_data())["error"]
    assert error["code"] == "too_many_requests" and error["message_vi"] and error["message_en"]
