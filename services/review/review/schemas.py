"""HTTP schemas of the review API (marshmallow): what comes in is checked field by field."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from chassis.validation import not_blank
from review.domain import ACTIONS, CRITERIA, DECISION_RULES, HONOURS, LEVELS, SCORE_MAX, STATUSES

REASON = validate.Length(min=1, max=2000)


class NoteIn(Schema):
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class ReasonIn(Schema):
    reason = fields.String(required=True, validate=[REASON, not_blank])


class ScoreIn(Schema):
    novelty = fields.Float(required=True, validate=validate.Range(0, SCORE_MAX), allow_nan=False)
    applicability = fields.Float(required=True, validate=validate.Range(0, SCORE_MAX), allow_nan=False)
    benefit = fields.Float(required=True, validate=validate.Range(0, SCORE_MAX), allow_nan=False)
    comment = fields.String(load_default="", validate=validate.Length(max=2000))


class DecisionIn(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(("recognize", "reject", "return")))
    reason = fields.String(
        load_default=None,
        validate=validate.Length(max=2000),
        metadata={"description": "Required (not blank) to reject or return; optional to recognise."},
    )

    @validates_schema
    def reason_when_refusing(self, data: dict[str, Any], **_: Any) -> None:
        """Rejecting or returning must say why; recognising need not."""
        if data.get("decision") not in ("reject", "return"):
            return
        reason = data.get("reason")
        if reason is None:
            raise ValidationError("Missing data for required field.", "reason")
        if not reason.strip():
            raise ValidationError("Must not be blank.", "reason")


class NominateIn(Schema):
    honour = fields.String(load_default="higher_recognition", validate=validate.OneOf(HONOURS))
    reason = fields.String(load_default="", validate=validate.Length(max=2000))


class CouncilMemberIn(Schema):
    role = fields.String(load_default="member", validate=validate.OneOf(("chair", "member")))


# Responses: documented in OpenAPI and checked by the fuzzing tests against real answers.


class StepOut(Schema):
    level = fields.String(validate=validate.OneOf(LEVELS))
    unit = fields.String()
    status = fields.String(validate=validate.OneOf(STATUSES))
    revision = fields.Integer()
    received_at = fields.DateTime()
    accepted_at = fields.DateTime(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    clock = fields.String(allow_none=True)
    deadline_state = fields.String(allow_none=True)
    missed_at = fields.DateTime(allow_none=True)
    honour = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    certificate_number = fields.String(allow_none=True)


class QueueItemOut(Schema):
    initiative_id = fields.String()
    title = fields.String()
    programme = fields.String()
    unit = fields.String()
    top_unit = fields.String()
    revision = fields.Integer()
    level = fields.String(validate=validate.OneOf(LEVELS))
    level_unit = fields.String()
    status = fields.String(validate=validate.OneOf(STATUSES))
    received_at = fields.DateTime()
    due_at = fields.DateTime(allow_none=True)
    clock = fields.String(allow_none=True)
    deadline_state = fields.String(allow_none=True)
    similar_max = fields.Float(allow_none=True)


class QueuePage(Schema):
    items = fields.List(fields.Nested(QueueItemOut))
    total = fields.Integer()
    next_offset = fields.Integer(allow_none=True)


class ScorecardOut(Schema):
    level = fields.String()
    revision = fields.Integer()
    reviewer = fields.String()
    novelty = fields.Float()
    applicability = fields.Float()
    benefit = fields.Float()
    total = fields.Float()
    comment = fields.String()
    scored_at = fields.DateTime()


class VerdictOut(Schema):
    decision_rule = fields.String(validate=validate.OneOf(DECISION_RULES))
    scorers = fields.Integer()
    needed = fields.Integer()
    council_size = fields.Integer()
    novelty = fields.Float(allow_none=True)
    applicability = fields.Float(allow_none=True)
    benefit = fields.Float(allow_none=True)
    total = fields.Float(allow_none=True)
    pass_mark = fields.Float()
    passed = fields.Boolean()
    weights = fields.Dict(keys=fields.String(validate=validate.OneOf(CRITERIA)), values=fields.Float())


class AuditOut(Schema):
    level = fields.String(allow_none=True)
    actor = fields.String()
    role = fields.String()
    action = fields.String()
    reason = fields.String(allow_none=True)
    details = fields.Dict()
    at = fields.DateTime()


class SimilarOut(Schema):
    initiative_id = fields.String()
    title = fields.String()
    unit = fields.String()
    score = fields.Float()
    submitted_at = fields.DateTime(allow_none=True)


class CertificateOut(Schema):
    number = fields.String()
    verification_code = fields.String()
    level = fields.String()
    issued_by = fields.String()
    issued_at = fields.DateTime()


class ReviewFileOut(Schema):
    initiative_id = fields.String()
    revision = fields.Integer()
    withdrawn = fields.Boolean()
    programme = fields.String()
    phase = fields.String()
    unit = fields.String()
    top_unit = fields.String()
    title = fields.String()
    field = fields.String()
    target_group = fields.Integer(allow_none=True)
    confidential = fields.Boolean()
    content = fields.Dict()
    benefit_vnd_per_year = fields.Integer(allow_none=True)
    authors = fields.List(fields.Dict())
    submitted_at = fields.DateTime(allow_none=True)
    level = fields.String(allow_none=True)
    steps = fields.List(fields.Nested(StepOut))
    verdict = fields.Nested(VerdictOut, allow_none=True)
    actions = fields.List(
        fields.String(validate=validate.OneOf(ACTIONS)),
        metadata={"description": "What the caller may do on the current level now, by the workflow table."},
    )
    recognition_blocked = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        allow_none=True,
        metadata={"description": "Why recognition is not possible yet (quorum, pass mark), in en and vi."},
    )
    scorecards = fields.List(fields.Nested(ScorecardOut))
    similar = fields.List(fields.Nested(SimilarOut))
    certificates = fields.List(fields.Nested(CertificateOut))
    audit = fields.List(fields.Nested(AuditOut))


class CouncilMemberOut(Schema):
    unit = fields.String()
    member_id = fields.String()
    role = fields.String()
    added_by = fields.String()
    added_at = fields.DateTime()


class CouncilOut(Schema):
    unit = fields.String()
    items = fields.List(fields.Nested(CouncilMemberOut))


class CertificateCheckOut(Schema):
    valid = fields.Boolean()
    number = fields.String()
    verification_code = fields.String()
    title = fields.String()
    level = fields.String()
    issued_by = fields.String()
    top_unit = fields.String()
    issued_at = fields.DateTime()
