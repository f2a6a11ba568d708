"""The submission service: units, programmes, targets, members and initiatives."""

SERVICE = "submission"
SOURCE = "/vgcl/submission"
EXCHANGE = "submission.events"
