"""HTTP request and response schemas (marshmallow)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, validate

from chassis.validation import Pattern
from submission.domain import FIELDS, HISTORY_KINDS, LEVELS, STATUSES, in_order

MAX_TEXT = 20_000


class UtcDateTime(fields.DateTime):
    """RFC 3339 with an offset, also for the naive UTC values SQLite hands back."""

    def _serialize(self, value: datetime | None, attr: object, obj: object, **kwargs: object) -> str | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)


def _share_in_range(value: Decimal) -> None:
    if not 0 < value <= 100:
        raise ValidationError("Must be greater than 0 and less than or equal to 100.")


UNIT_CODE = Pattern(r"^[A-Z][A-Z0-9-]{0,39}$")


class AuthorIn(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 200))
    member_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 100))
    # Exact decimals, so that 33.34 + 33.33 + 33.33 is 100; the range is declared in metadata
    # because apispec would render a Decimal bound as a string.
    share_percent = fields.Decimal(
        required=True,
        places=2,
        validate=_share_in_range,
        metadata={"type": "number", "exclusiveMinimum": 0, "maximum": 100, "multipleOf": 0.01},
    )


class InitiativeContent(Schema):
    """The application's content; shared by submission and resubmission."""

    title = fields.String(required=True, validate=validate.Length(1, 500))
    field = fields.String(required=True, validate=validate.OneOf(sorted(FIELDS)))
    target_group = fields.Integer(required=True, strict=True, validate=validate.Range(1, 5))
    problem = fields.String(required=True, validate=validate.Length(1, MAX_TEXT))
    solution = fields.String(required=True, validate=validate.Length(1, MAX_TEXT))
    novelty = fields.String(required=True, validate=validate.Length(1, MAX_TEXT))
    scope = fields.String(required=True, validate=validate.Length(1, MAX_TEXT))
    first_applied_on = fields.Date(load_default=None, allow_none=True)
    benefit_vnd_per_year = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(0, 10**15)
    )
    benefit_description = fields.String(load_default=None, allow_none=True, validate=validate.Length(0, MAX_TEXT))
    authors = fields.List(fields.Nested(AuthorIn), required=True, validate=validate.Length(1, 20))
    confidential = fields.Boolean(load_default=False)


class InitiativeIn(InitiativeContent):
    unit = fields.String(required=True, validate=UNIT_CODE)
    programme = fields.String(required=True, validate=validate.Length(1, 40))


class WithdrawIn(Schema):
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(0, 2000))


class AuthorOut(Schema):
    name = fields.String()
    member_id = fields.String(allow_none=True)
    share_percent = fields.Float()


LEVEL = validate.OneOf(LEVELS)


class HistoryEntryOut(Schema):
    """One step of the initiative's life, as its authors' timeline shows it."""

    kind = fields.String(
        validate=validate.OneOf(HISTORY_KINDS),
        metadata={
            "description": "submitted, resubmitted or withdrawn here; received (at the next level, after a "
            "nomination), accepted (review.started), scored, returned, rejected, recognized, nominated or "
            "deadline_missed by review"
        },
    )
    revision = fields.Integer(allow_none=True, metadata={"description": "Revision of the content it concerns"})
    level = fields.String(allow_none=True, validate=LEVEL, metadata={"description": "Review level"})
    unit = fields.String(allow_none=True, metadata={"description": "Code of the reviewing unit at that level"})
    at = UtcDateTime(metadata={"description": "When it happened"})
    reason = fields.String(allow_none=True, metadata={"description": "Why (returned, rejected, nominated, withdrawn)"})
    score = fields.Float(allow_none=True, metadata={"description": "scored: the level's total, 0–10"})
    passed = fields.Boolean(allow_none=True, metadata={"description": "scored: whether it reached the pass mark"})
    honour = fields.String(allow_none=True, metadata={"description": "nominated: the honour proposed"})
    event_id = fields.String(allow_none=True, metadata={"description": "The event that announced it"})


class InitiativeItemOut(Schema):
    """An initiative in a list: everything but its history."""

    id = fields.String()
    revision = fields.Integer()
    status = fields.String(validate=validate.OneOf(STATUSES))
    review_level = fields.String(
        allow_none=True,
        validate=LEVEL,
        metadata={"description": "The review level that has it now (or decided last)"},
    )
    reviewing_unit = fields.String(allow_none=True, metadata={"description": "The unit reviewing it at that level"})
    recognized_level = fields.String(
        allow_none=True, validate=LEVEL, metadata={"description": "The highest level that recognised it"}
    )
    programme = fields.String()
    phase = fields.String()
    unit = fields.String()
    top_unit = fields.String()
    block = fields.String(allow_none=True)
    title = fields.String()
    field = fields.String()
    target_group = fields.Integer()
    problem = fields.String()
    solution = fields.String()
    novelty = fields.String()
    scope = fields.String()
    first_applied_on = fields.Date(allow_none=True)
    benefit_vnd_per_year = fields.Integer(allow_none=True)
    benefit_description = fields.String(allow_none=True)
    confidential = fields.Boolean()
    authors = fields.List(fields.Nested(AuthorOut))
    submitted_by = fields.String()
    submitted_by_role = fields.String()
    on_behalf = fields.Boolean()
    submitted_at = UtcDateTime()
    updated_at = UtcDateTime()
    return_reason = fields.String(allow_none=True)
    withdraw_reason = fields.String(allow_none=True)


class InitiativeOut(InitiativeItemOut):
    """One initiative with its history, oldest step first."""

    history = fields.Method(
        "_history", metadata={"type": "array", "items": {"$ref": "#/components/schemas/HistoryEntryOut"}}
    )

    def _history(self, ini: object) -> list[dict]:
        return HISTORY_ENTRY.dump(in_order(getattr(ini, "history", [])), many=True)


class InitiativePage(Schema):
    items = fields.List(fields.Nested(InitiativeItemOut))
    next_cursor = fields.String(allow_none=True)


class UnitOut(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.String()
    parent = fields.String(allow_none=True)
    top = fields.String(allow_none=True)
    cluster = fields.String(allow_none=True)
    block = fields.String(allow_none=True)


class UnitIn(Schema):
    code = fields.String(required=True, validate=Pattern(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$"))
    name = fields.String(required=True, validate=validate.Length(1, 300))
    level = fields.String(required=True, validate=validate.OneOf(["upper", "grassroots"]))
    parent = fields.String(required=True, validate=UNIT_CODE)
    block = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(["enterprise", "administration"]))


class UnitPage(Schema):
    items = fields.List(fields.Nested(UnitOut))
    total = fields.Integer()


class PhaseOut(Schema):
    code = fields.String()
    name = fields.String()
    starts_on = fields.Date()
    ends_on = fields.Date()


class ProgrammeOut(Schema):
    code = fields.String()
    name = fields.String()
    description = fields.String()
    blocks = fields.List(fields.Dict())
    phases = fields.List(fields.Nested(PhaseOut))


class TargetIn(Schema):
    unit = fields.String(required=True, validate=UNIT_CODE)
    programme = fields.String(required=True, validate=validate.Length(1, 40))
    phase = fields.String(required=True, validate=validate.Length(1, 20))
    block = fields.String(required=True, validate=validate.OneOf(["enterprise", "administration", "all"]))
    target = fields.Integer(required=True, strict=True, validate=validate.Range(1, 10_000_000))


class TargetOut(TargetIn):
    registered_by = fields.String()
    registered_at = UtcDateTime()


class MemberIn(Schema):
    member_id = fields.String(required=True, validate=Pattern(r"^[A-Za-z0-9._-]{1,100}$"))
    full_name = fields.String(required=True, validate=validate.Length(1, 200))
    unit = fields.String(required=True, validate=UNIT_CODE)
    email = fields.Email(load_default=None, allow_none=True)
    phone = fields.String(load_default=None, allow_none=True, validate=Pattern(r"^\+?[0-9]{8,15}$"))


class MemberOut(MemberIn):
    registered_at = UtcDateTime()


class MemberPage(Schema):
    items = fields.List(fields.Nested(MemberOut))
    total = fields.Integer()


class BulkRowError(Schema):
    row = fields.Integer()
    fields_ = fields.Dict(data_key="fields")
    fields_vi = fields.Dict()


class BulkResult(Schema):
    total = fields.Integer()
    accepted = fields.Integer()
    duplicates = fields.Integer()
    rejected = fields.Integer()
    rejected_rows = fields.List(fields.Nested(BulkRowError))


HISTORY_ENTRY = HistoryEntryOut()
