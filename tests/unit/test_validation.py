import pytest

from chassis.validation import flatten, to_vietnamese, validation_failed
from submission.commands import load
from submission.schemas import InitiativeIn
from tests.factories import initiative


def test_marshmallow_messages_get_vietnamese_counterparts() -> None:
    assert to_vietnamese("Missing data for required field.") == "Thiếu trường bắt buộc."
    assert to_vietnamese("Length must be between 1 and 500.") == "Độ dài phải từ 1 đến 500."
    assert to_vietnamese("Something new.") == "Something new."


def test_nested_errors_are_keyed_by_dotted_path() -> None:
    errors = flatten({"authors": {0: {"share_percent": ["Not a valid number."]}}, "title": ["Unknown field."]})
    assert {(e.field, e.message_en) for e in errors} == {
        ("authors.0.share_percent", "Not a valid number."),
        ("title", "Unknown field."),
    }


def test_validation_failed_carries_both_languages() -> None:
    body = validation_failed(flatten({"unit": ["Missing data for required field."]})).body()
    assert body["error"]["fields"] == {"unit": ["Missing data for required field."]}
    assert body["error"]["fields_vi"] == {"unit": ["Thiếu trường bắt buộc."]}
    assert body["error"]["message_vi"] and body["error"]["message_en"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"target_group": "5"}, "target_group"),
        ({"target_group": 6}, "target_group"),
        ({"title": ""}, "title"),
        ({"title": "x" * 501}, "title"),
        ({"problem": "x" * 20_001}, "problem"),
        ({"field": "astrology"}, "field"),
        ({"authors": []}, "authors"),
        ({"authors": [{"name": "A", "share_percent": 0}]}, "authors.0.share_percent"),
        ({"benefit_vnd_per_year": -1}, "benefit_vnd_per_year"),
        ({"first_applied_on": "21/11/2026"}, "first_applied_on"),
        ({"unit": "hn.kl"}, "unit"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_schema_rejects_bad_fields(change: dict, field: str) -> None:
    with pytest.raises(Exception) as info:
        load(InitiativeIn(), initiative(**change))
    assert field in info.value.fields  # type: ignore[attr-defined]


def test_a_json_array_is_not_an_initiative() -> None:
    with pytest.raises(Exception) as info:
        load(InitiativeIn(), [1, 2])
    assert "_body" in info.value.fields  # type: ignore[attr-defined]
