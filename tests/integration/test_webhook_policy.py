"""A subscriber cannot point notify's webhooks into the platform's own network."""

from __future__ import annotations

import requests

from notify.service import NotifyService
from tests.conftest import token
from tests.integration.conftest import count


def test_a_private_webhook_url_is_refused_and_nothing_is_written(container_factory, make_config, notify_db_url) -> None:  # type: ignore[no-untyped-def]
    config = make_config(notify_db_url, "notify", UNITS="*", WEBHOOK_ALLOW_PRIVATE="off")
    container_factory(NotifyService, config).start()
    body = {"url": "https://10.1.2.3/hooks", "secret": "s" * 24, "event_types": ["initiative.submitted"]}
    answer = requests.post(
        f"http://{config['WEB_SERVER_ADDRESS']}/api/v1/webhooks",
        json=body,
        headers=token("national_admin", "VGCL", "ad-tw"),
        timeout=10,
    )
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["fields"]["url"] and error["fields_vi"]["url"]
    assert count(notify_db_url, "webhook_subscriptions") == 0
