"""Webhook URLs: https to public hosts only, unless a development setting allows otherwise."""

from __future__ import annotations

import pytest

from notify.channels import webhook_url_problem


@pytest.mark.parametrize(
    "url",
    [
        "http://203.0.113.7/hook",  # plain http
        "https://127.0.0.1/hook",  # loopback
        "https://10.0.0.5/hook",  # private
        "https://169.254.169.254/latest/meta-data",  # cloud metadata
        "https://[::1]/hook",
        "https://192.168.1.1:8443/hook",
        "https://localhost/hook",
        "https:///no-host",
    ],
)
def test_urls_into_private_networks_are_refused(url: str) -> None:
    problem = webhook_url_problem(url, allow_private=False)
    assert problem is not None and all(problem)


def test_a_public_address_over_https_is_accepted() -> None:
    assert webhook_url_problem("https://8.8.8.8/hooks/sangkien", allow_private=False) is None


def test_development_allows_loopback() -> None:
    assert webhook_url_problem("http://127.0.0.1:8027/hook", allow_private=True) is None
