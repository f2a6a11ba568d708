"""The review service: multi-level review of initiatives along the union tree."""

SERVICE = "review"
SOURCE = "/vgcl/review"
EXCHANGE = "review.events"
