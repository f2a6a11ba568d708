"""Fixtures of the deployment checks: the tools (installed when missing) and the rendered overlays."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "prod")
# The generators are scripts, not a package: make them importable for their tests.
sys.path.insert(0, str(K8S / "tools"))


@dataclass(frozen=True)
class Tools:
    kubectl: str
    promtool: str


@pytest.fixture(scope="session")
def tools() -> Tools:
    """kubectl (kustomize v5) and promtool; scripts/ensure-k8s-tools.sh installs what is missing."""
    run = subprocess.run(
        ["bash", str(ROOT / "scripts" / "ensure-k8s-tools.sh")], capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, f"scripts/ensure-k8s-tools.sh failed:\n{run.stdout}\n{run.stderr}"
    found = dict(line.split("=", 1) for line in run.stdout.splitlines() if "=" in line)
    return Tools(kubectl=found["KUBECTL"], promtool=found["PROMTOOL"])


@pytest.fixture(scope="session")
def kustomize(tools: Tools) -> Callable[[Path], list[dict[str, Any]]]:
    """Renders a kustomization directory with `kubectl kustomize`, once per directory."""
    cache: dict[Path, list[dict[str, Any]]] = {}

    def build(path: Path) -> list[dict[str, Any]]:
        if path not in cache:
            run = subprocess.run([tools.kubectl, "kustomize", str(path)], capture_output=True, text=True, timeout=120)
            assert run.returncode == 0, f"kubectl kustomize {path} failed:\n{run.stderr}"
            cache[path] = [d for d in yaml.safe_load_all(run.stdout) if d]
        return cache[path]

    return build


@pytest.fixture(scope="session")
def rendered(kustomize: Callable[[Path], list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    return {name: kustomize(K8S / "overlays" / name) for name in OVERLAYS}
