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
    total = fields.Integer()
    next_offset = fields.Integer(allow_none=True)
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


# --- Reports ------------------------------------------------------------------------------------


class ReportUnitOut(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.String()
    cluster = fields.String(allow_none=True)
    top = fields.String(allow_none=True)


class ReportPeriodOut(Schema):
    code = fields.String(metadata={"description": "2026-H1, 2026-H2 or 2026"})
    kind = fields.String(validate=validate.OneOf(("half", "year")))
    start = fields.Date(metadata={"description": "First day (local calendar)"})
    end = fields.Date(metadata={"description": "Last day, inclusive"})


class ReportCountsOut(Schema):
    submitted = fields.Integer(metadata={"description": "Submitted in the period, not withdrawn"})
    recognized = fields.Integer(metadata={"description": "First recognised in the period, not withdrawn"})
    benefit_vnd = fields.Integer(metadata={"description": "Estimated benefit of those submitted in the period"})
    recognized_benefit_vnd = fields.Integer(metadata={"description": "Estimated benefit of those recognised"})


class ReportLineOut(ReportCountsOut):
    participants = fields.Integer(metadata={"description": "Distinct authors (member ids) of the submissions"})
    target = fields.Float(metadata={"description": "The unit's own targets pro rata for the period"})
    progress = fields.Float(allow_none=True, metadata={"description": "Percent of the target; none without one"})


class ReportChildOut(ReportLineOut):
    unit = fields.String()
    name = fields.String(allow_none=True)
    direct = fields.Boolean(metadata={"description": "Initiatives filed at the reported unit itself"})


class ReportRankOut(Schema):
    scope = fields.String(validate=validate.OneOf(("national", "cluster", "top")))
    within = fields.String(allow_none=True, metadata={"description": "The cluster, or the top-level unit"})
    metric = fields.String(validate=validate.OneOf(("submitted", "participants", "progress")))
    rank = fields.Integer(allow_none=True)
    of = fields.Integer(metadata={"description": "Units ranked"})
    value = fields.Float(allow_none=True)


class ReportGroupOut(ReportCountsOut):
    target_group = fields.Integer(allow_none=True)
    label = fields.String()


class ReportFieldOut(ReportCountsOut):
    field = fields.String(allow_none=True)
    label = fields.String()


class ReportAwardOut(Schema):
    kind = fields.String(validate=validate.OneOf(LEDGER_KINDS))
    label = fields.String()
    rule_id = fields.String()
    entries = fields.Integer()
    certificates = fields.Integer()
    amount_vnd = fields.Integer()
    paid_vnd = fields.Integer()


class ReportCertificateOut(Schema):
    certificate_number = fields.String()
    award = fields.String(allow_none=True)
    rule_id = fields.String()
    period = fields.String(allow_none=True)
    recipient_type = fields.String()
    recipient_unit = fields.String()
    recipient_member = fields.String(allow_none=True)
    reason = fields.String()


class ReportOut(Schema):
    unit = fields.Nested(ReportUnitOut)
    programme = fields.String()
    period = fields.Nested(ReportPeriodOut)
    generated_at = fields.DateTime(metadata={"description": "Local time; ranks are as of this moment"})
    summary = fields.Nested(ReportLineOut)
    ranks = fields.List(fields.Nested(ReportRankOut))
    children = fields.List(fields.Nested(ReportChildOut))
    target_groups = fields.List(fields.Nested(ReportGroupOut))
    fields_ = fields.List(fields.Nested(ReportFieldOut), data_key="fields", attribute="fields")
    awards = fields.List(fields.Nested(ReportAwardOut))
    certificates = fields.List(fields.Nested(ReportCertificateOut))
