"""HTTP schemas of the notify API (marshmallow): inputs checked field by field, outputs documented."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from chassis.validation import Pattern

# The events notify consumes; webhook subscribers choose among them.
EVENT_TYPES = (
    "initiative.submitted",
    "initiative.resubmitted",
    "initiative.withdrawn",
    "review.started",
    "initiative.returned",
    "initiative.rejected",
    "initiative.recognized",
    "initiative.nominated",
    "review.deadline_missed",
    "award.granted",
    "remuneration.scheduled",
    "remuneration.due",
)
CHANNELS = ("email", "zalo", "sms")


class StrictBoolean(fields.Boolean):
    """true or false only: 0 and "yes" are not booleans in the document, so not here either."""

    def _deserialize(self, value: object, attr: str | None, data: object, **kwargs: object) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class PreferencesIn(Schema):
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=320))
    phone = fields.String(load_default=None, allow_none=True, validate=Pattern(r"^\+?[0-9]{8,15}$"))
    zalo_user_id = fields.String(load_default=None, allow_none=True, validate=Pattern(r"^[0-9A-Za-z_-]{1,64}$"))
    language = fields.String(load_default="vi", validate=validate.OneOf(("vi", "en")))
    channels = fields.List(
        fields.String(validate=validate.OneOf(CHANNELS)), load_default=list, validate=validate.Length(max=3)
    )
    digest = StrictBoolean(load_default=True)


class PreferencesOut(Schema):
    recipient = fields.String()
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    zalo_user_id = fields.String(allow_none=True)
    language = fields.String()
    channels = fields.List(fields.String())
    digest = fields.Boolean()
    updated_at = fields.DateTime(allow_none=True)


class MessageOut(Schema):
    id = fields.String()
    category = fields.String()
    subject = fields.String()
    body = fields.String()
    initiative_id = fields.String(allow_none=True)
    recipient = fields.String()
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


class InboxPage(Schema):
    items = fields.List(fields.Nested(MessageOut))
    total = fields.Integer()
    unread = fields.Integer()
    next_offset = fields.Integer(allow_none=True)


class SubscriptionIn(Schema):
    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False, validate=validate.Length(max=500))
    secret = fields.String(required=True, load_only=True, validate=validate.Length(16, 200))
    event_types = fields.List(
        fields.String(validate=validate.OneOf(EVENT_TYPES)), required=True, validate=validate.Length(min=1)
    )
    units = fields.List(
        fields.String(validate=Pattern(r"^(\*|[A-Z][A-Z0-9]{0,31})$")),
        load_default=lambda: ["*"],
        validate=validate.Length(min=1),
    )


class SubscriptionOut(Schema):
    id = fields.String()
    url = fields.String()
    event_types = fields.List(fields.String())
    units = fields.List(fields.String())
    active = fields.Boolean()
    created_by = fields.String()
    created_at = fields.DateTime()


class DeliveryOut(Schema):
    id = fields.String()
    event_id = fields.String()
    recipient = fields.String()
    channel = fields.String()
    category = fields.String()
    status = fields.String(validate=validate.OneOf(("pending", "sent", "parked")))
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime()
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)


class DeliveryPage(Schema):
    items = fields.List(fields.Nested(DeliveryOut))
    total = fields.Integer()
    next_offset = fields.Integer(allow_none=True)
