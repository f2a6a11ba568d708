"""What the services' code declares, for comparison with the manifests."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from chassis.config import SETTINGS, Setting
from chassis.handler import UnitEventHandler

ROOT = Path(__file__).resolve().parents[2]
# Service name -> its class, as the Deployments run it (python -m chassis.run <service> <target>).
TARGETS = {
    "submission": "submission.service:SubmissionService",
    "review": "review.service:ReviewService",
    "awards": "awards.service:AwardsService",
    "notify": "notify.service:NotifyService",
    "portal": "portal.service:PortalService",
}


def built(service: str) -> bool:
    """A service exists once its service module does (services/<name>/<name>/service.py)."""
    return (ROOT / "services" / service / service / "service.py").exists()


def service_class(service: str) -> Any:
    """Imports the class the way the image runs it (services/<name> on the path); fails loudly."""
    sys.path.insert(0, str(ROOT / "services" / service))
    module, _, name = TARGETS[service].partition(":")
    return getattr(importlib.import_module(module), name)


def consumed_events(cls: Any) -> set[tuple[str, str]]:
    """(source service, event type) of every unit_event_handler entrypoint of a service class."""
    found = set()
    for attr in vars(cls).values():
        for ext in getattr(attr, ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(ext, UnitEventHandler):
                found.add((ext.source_service, ext.event_type))
    return found


def known_settings(service: str) -> set[str]:
    """The variables a service reads: the chassis' settings and those of its own `<service>.settings`
    module, if it has one (the portal's PORTAL_*, OIDC_*, UPSTREAM_*)."""
    service_class(service)
    try:
        module = importlib.import_module(f"{service}.settings")
    except ModuleNotFoundError:
        return set(SETTINGS)
    own = {
        s.name
        for value in vars(module).values()
        if isinstance(value, dict)
        for s in value.values()
        if isinstance(s, Setting)
    }
    return set(SETTINGS) | own
