"""The top-level unit codes that routing keys carry, read the way the services read them."""

from __future__ import annotations

import json
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
REGISTRY = REPO_ROOT / "contracts" / "top-units.json"
NATIONAL_UNIT = "VGCL"  # the root of the tree; national events are routed with it
# Until contracts/top-units.json exists, the submission service's seed data is the registry.
SEED_UNITS = REPO_ROOT / "services" / "submission" / "submission" / "seed" / "units.json"


def top_unit_codes(registry: Path = REGISTRY, seed: Path = SEED_UNITS) -> list[str]:
    """Codes in registry order: contracts/top-units.json (a list, or {"units": [...]}), else the seed."""
    if registry.exists():
        data = json.loads(registry.read_text(encoding="utf-8"))
        units = data["units"] if isinstance(data, dict) else data
        return [u["code"] for u in units]
    seed_units = json.loads(seed.read_text(encoding="utf-8"))["units"]
    return [u["code"] for u in seed_units if u.get("level") == "top"]
