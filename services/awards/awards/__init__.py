"""The awards service: emulation standings and rankings, award rules, remuneration, reports."""

SERVICE = "awards"
SOURCE = "/vgcl/awards"
EXCHANGE = "awards.events"
