"""The services' ConfigMaps set only settings the chassis knows (a misspelt name is silently ignored)."""

from __future__ import annotations

import re

import pytest

from tests.deploy.conftest import OVERLAYS
from tests.deploy.manifests import by_name, of_kind, service_of
from tests.deploy.services import known_settings

# Read by chassis.run, or composed into <SERVICE>_DATABASE_URL in the pod spec.
EXTRA = re.compile(r"^(LOG_LEVEL|[A-Z]+_DB_(HOST|PORT|NAME))$")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_config_keys_are_known_settings(rendered, overlay: str) -> None:
    """Each key a workload gets from a ConfigMap is a setting of the chassis or of its own service."""
    docs = rendered[overlay]
    maps = by_name(docs, "ConfigMap")
    service_maps = {name for name in maps if name != "grafana-dashboards"}
    assert service_maps
    used, unknown = set(), set()
    for workload in [d for d in docs if d["kind"] in ("Deployment", "Job")]:
        known = known_settings(service_of(workload))
        for source in workload["spec"]["template"]["spec"]["containers"][0].get("envFrom", []):
            if "configMapRef" in source:
                name = source["configMapRef"]["name"]
                used.add(name)
                unknown |= {(name, key) for key in maps[name]["data"] if key not in known and not EXTRA.match(key)}
    assert unknown == set()
    # No ConfigMap that no workload reads (its keys would be checked against nothing).
    assert service_maps <= used


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_servers_listen_on_all_interfaces_of_their_port(rendered, overlay: str) -> None:
    for cm in of_kind(rendered[overlay], "ConfigMap"):
        if "WEB_SERVER_ADDRESS" in cm.get("data", {}):
            assert cm["data"]["WEB_SERVER_ADDRESS"] == "0.0.0.0:8000"
