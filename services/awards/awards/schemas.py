"""HTTP schemas of the awards API (marshmallow), documented in OpenAPI and checked by the tests."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from awards.queries import LEDGER_KINDS, SCOPES
from awards.ranking import METRICS


class RankingItemOut(Schema):
    rank = fields.Integer(allow_none=True)
    unit = fields.String()
    name = fields.String(allow_none=True)
    cluster = fields.String(allow_none=True)
    value = fields.Float(allow_none=True)
    submitted = fields.Integer()
    recognized = fields.Integer()
    participants = fields.Integer(allow_none=True)
    benefit_vnd = fields.Integer(allow_none=True)
    target = fields.Integer(allow_none=True)
    progress = fields.Float(allow_none=True)
    previous_rank = fields.Integer(allow_none=True)
    rank_change = fields.Integer(allow_none=True)


class RankingOut(Schema):
    programme = fields.String()
    phase = fields.String()
    metric = fields.String(validate=validate.OneOf(METRICS))
    scope = fields.String(validate=validate.OneOf(SCOPES))
    cluster = fields.String(allow_none=True)
    top = fields.String(allow_none=True)
    as_of = fields.DateTime(allow_none=True)
    compared_with = fields.DateTime(allow_none=True)
    items = fields.List(fields.Nested(RankingItemOut))


class BreakdownOut(Schema):
    block = fields.String(allow_none=True)
    target_group = fields.Integer(allow_none=True)
    submitted = fields.Integer()
    recognized = fields.Integer()
    benefit_vnd = fields.Integer()


class StandingOut(Schema):
    unit = fields.String()
    name = fields.String(allow_none=True)
    level = fields.String(allow_none=True)
    cluster = fields.String(allow_none=True)
    programme = fields.String()
    phase = fields.String()
    submitted = fields.Integer()
    recognized = fields.Integer()
    participants = fields.Integer()
    members_registered = fields.Integer()
    benefit_vnd = fields.Integer()
    recognized_benefit_vnd = fields.Integer()
    target = fields.Integer()
    progress = fields.Float(allow_none=True)
    ranks = fields.Dict(keys=fields.String(), values=fields.Integer(allow_none=True))
    breakdown = fields.List(fields.Nested(BreakdownOut))


class DayOut(Schema):
    day = fields.Date()
    submitted = fields.Integer()
    recognized = fields.Integer()


class HistoryOut(Schema):
    unit = fields.String()
    programme = fields.String()
    series = fields.List(fields.Nested(DayOut))


class TargetOut(Schema):
    unit = fields.String()
    programme = fields.String()
    phase = fields.String()
    block = fields.String(allow_none=True)
    target = fields.Integer()
    unit_submitted = fields.Integer()
    unit_target = fields.Integer()
    progress = fields.Float(allow_none=True)


class LedgerEntryOut(Schema):
    id = fields.String()
    kind = fields.String(validate=validate.OneOf(LEDGER_KINDS))
    programme = fields.String()
    rule_id = fields.String()
    rule_version = fields.String()
    recipient_type = fields.String()
    recipient_unit = fields.String()
    recipient_member = fields.String(allow_none=True)
    top_unit = fields.String()
    initiative_id = fields.String(allow_none=True)
    period = fields.String(allow_none=True)
    amount_vnd = fields.Integer(allow_none=True)
    details = fields.Dict()
    reason = fields.String()
    certificate_number = fields.String(allow_none=True)
    verification_code = fields.String(allow_none=True)
    due_on = fields.Date(allow_none=True)
    due_announced_at = fields.DateTime(allow_none=True)
    paid_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class LedgerPage(Schema):
    items = fields.List(fields.Nested(LedgerEntryOut))
    total = fields.Integer()
    next_offset = fields.Integer(allow_none=True)


class AwardRunIn(Schema):
    programme = fields.String(required=True)
    period = fields.String(required=True, metadata={"description": "2026, 2026-H1 or 2026-Q3"})


class AwardRunOut(Schema):
    granted = fields.List(fields.Nested(LedgerEntryOut))


class CertificateCheckOut(Schema):
    valid = fields.Boolean()
    number = fields.String()
    verification_code = fields.String()
    award = fields.String(allow_none=True)
    recipient_type = fields.String()
    recipient_unit = fields.String()
    period = fields.String(allow_none=True)
    reason = fields.String()
    issued_at = fields.DateTime()
