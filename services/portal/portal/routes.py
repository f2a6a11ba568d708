"""The gateway's routing table: which service owns which `/api/v1` path. Data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass

# First path segment after /api/v1/ -> owner. "review" is resolved to a deployment by unit.
OWNERS: dict[str, str] = {
    "initiatives": "submission",
    "units": "submission",
    "programmes": "submission",
    "members": "submission",
    "reviews": "review",
    "councils": "review",
    "rankings": "awards",
    "standings": "awards",
    "ledger": "awards",
    "award-runs": "awards",
    "reports": "awards",
    "charts": "awards",
    "exports": "awards",
    "inbox": "notify",
    "preferences": "notify",
    "webhooks": "notify",
    "deliveries": "notify",
}
# Paths two services document: targets are registered in submission and measured in awards;
# certificates of recognition are review's, certificates of merit awards'.
SHARED = ("targets", "certificates")
SERVICES = ("submission", "review", "awards", "notify")


@dataclass(frozen=True)
class Route:
    """Where one request goes: a service, or every deployment of it in turn (`fan_out`)."""

    service: str
    fan_out: tuple[str, ...] = ()
    unit: str | None = None  # the unit whose top-level unit picks the review deployment


def segments(path: str) -> list[str]:
    return [s for s in path[len("/api/v1/") :].split("/") if s] if path.startswith("/api/v1/") else []


def route(method: str, path: str, query: dict[str, str]) -> Route | None:
    parts = segments(path)
    if not parts:
        return None
    head = parts[0]
    if head == "targets":
        # Registration (PUT) and the registry (?view=registry) are submission's; progress is awards'.
        if method == "PUT" or query.get("view") == "registry":
            return Route("submission")
        return Route("awards")
    if head == "certificates":
        return Route("review", fan_out=("review", "awards"))
    owner = OWNERS.get(head)
    if owner is None:
        return None
    if head == "councils" and len(parts) > 1:
        return Route(owner, unit=parts[1])
    return Route(owner)
