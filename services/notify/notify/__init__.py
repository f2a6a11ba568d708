"""The notify service: people and other systems hear about what happens on the platform."""

SERVICE = "notify"
