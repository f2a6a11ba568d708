"""The portal: the platform's one front door (pages, login, the API gateway)."""

SERVICE = "portal"
