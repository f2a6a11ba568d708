"""The services' ConfigMaps set only settings the chassis knows (a misspelt name is silently ignored)."""

from __future__ import annotations

import re

import pytest

from chassis.config import SETTINGS
from tests.deploy.conftest import OVERLAYS
from tests.deploy.manifests import of_kind

# Read by chassis.run, or composed into <SERVICE>_DATABASE_URL in the pod spec.
EXTRA = re.compile(r"^(LOG_LEVEL|[A-Z]+_DB_(HOST|PORT|NAME))$")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_config_keys_are_known_settings(rendered, overlay: str) -> None:
    service_maps = [c for c in of_kind(rendered[overlay], "ConfigMap") if c["metadata"]["name"] != "grafana-dashboards"]
    assert service_maps
    unknown = {
        (c["metadata"]["name"], key)
        for c in service_maps
        for key in c["data"]
        if key not in SETTINGS and not EXTRA.match(key)
    }
    assert unknown == set()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_servers_listen_on_all_interfaces_of_their_port(rendered, overlay: str) -> None:
    for cm in of_kind(rendered[overlay], "ConfigMap"):
        if "WEB_SERVER_ADDRESS" in cm.get("data", {}):
            assert cm["data"]["WEB_SERVER_ADDRESS"] == "0.0.0.0:8000"
