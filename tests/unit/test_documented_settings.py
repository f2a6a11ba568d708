"""Every setting a service reads is documented in the README's configuration table."""

from __future__ import annotations

from chassis.config import REPO_ROOT, SETTINGS
from portal.settings import PORTAL_SETTINGS


def test_every_setting_is_in_the_readme() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in [*SETTINGS, *PORTAL_SETTINGS] if f"`{name}`" not in readme]
    assert missing == []
