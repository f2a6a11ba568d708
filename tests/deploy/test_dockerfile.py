"""The image build, read as text (no container engine runs here)."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import sys
import tomllib

from packaging.requirements import Requirement

from tests.deploy.conftest import ROOT
from tests.deploy.services import TARGETS, built, service_class

DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def _instructions(text: str) -> list[str]:
    """One line per instruction: continuations joined, comments and blank lines dropped."""
    joined = re.sub(r"\\\n", " ", text)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


LINES = _instructions(DOCKERFILE)


def _args() -> dict[str, str]:
    return dict(re.match(r"ARG (\w+)=?(.*)", line).groups() for line in LINES if line.startswith("ARG "))  # type: ignore[union-attr]


def _from_images() -> list[str]:
    args = _args()
    images = [line.split()[1] for line in LINES if line.startswith("FROM ")]
    return [re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], image) for image in images]


def test_multi_stage_with_a_pinned_base() -> None:
    stages = [line for line in LINES if line.startswith("FROM ")]
    assert len(stages) >= 2 and all(" AS " in s for s in stages)
    for image in _from_images():
        # An exact release (x.y.z) or a digest; never a floating tag.
        assert re.search(r"(:\d+\.\d+\.\d+[\w.-]*|@sha256:[0-9a-f]{64})$", image), image
    assert any(line.startswith("COPY --from=build") for line in LINES)


def test_runs_as_a_numeric_non_root_user() -> None:
    users = [line.split()[1] for line in LINES if line.startswith("USER ")]
    assert users, "no USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, users[-1]
    # The Deployments' securityContext runs the same uid.
    assert "runAsUser: 10001" in (ROOT / "deploy/k8s/base/submission/deployment.yaml").read_text(encoding="utf-8")
    assert uid == "10001"


def test_installs_only_locked_runtime_dependencies_and_one_service() -> None:
    text = " ".join(LINES)
    assert "--constraint requirements.lock" in text
    assert "COPY services/${SERVICE}" in text
    assert 'ENTRYPOINT ["python", "-m", "chassis.run"]' in LINES


def test_the_build_context_is_an_allow_list() -> None:
    patterns = [p for p in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines() if p and p[0] != "#"]
    assert patterns[0] == "**"  # everything out, then the few paths the image needs back in
    allowed = [line[1:] for line in patterns if line.startswith("!")]
    assert not any(a.split("/")[0] in {".venv", "var", "tests", ".git"} for a in allowed)
    for copied in re.findall(r"^COPY (?!--from)(\S+)", DOCKERFILE, flags=re.MULTILINE):
        top = copied.replace("${SERVICE}", "x").split("/")[0]
        assert any(a.split("/")[0] == top for a in allowed), copied


def _installed_in_image() -> set[str]:
    """pyproject's runtime dependencies and, transitively, what they require (what pip installs)."""

    def norm(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    wanted = [Requirement(d) for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]]
    seen: set[str] = set()
    while wanted:
        requirement = wanted.pop()
        name = norm(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        for extra in ["", *requirement.extras]:
            for line in importlib.metadata.requires(requirement.name) or []:
                dep = Requirement(line)
                if dep.marker is None or dep.marker.evaluate({"extra": extra}):
                    wanted.append(dep)
    return seen


def test_the_image_installs_what_every_service_imports() -> None:
    """The image installs pyproject's runtime dependencies only: each service's third-party imports
    (awards' matplotlib and openpyxl, notify's Jinja2 and requests, ...) must come with them."""
    installed = _installed_in_image()
    first_party = {"chassis", *TARGETS}
    distributions = importlib.metadata.packages_distributions()
    missing = set()
    packages = [ROOT / "libs/chassis/chassis"] + [ROOT / "services" / s / s for s in TARGETS if built(s)]
    for package in packages:
        for path in package.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for top in {n.split(".")[0] for n in names} - first_party - set(sys.stdlib_module_names):
                    dists = {re.sub(r"[-_.]+", "-", d).lower() for d in distributions.get(top, [top])}
                    if not dists & installed:
                        missing.add(f"{path.relative_to(ROOT)}: {top}")
    assert sorted(missing) == []
    assert {"matplotlib", "jinja2", "requests", "openpyxl"} <= installed


def test_the_portal_image_ships_the_front_end_files_it_serves() -> None:
    """The portal serves Swagger UI itself (/static/vendor/..., no CDN) from
    services/portal/assets/node_modules, which is not in the repository: the image installs the
    locked npm packages there in a stage of its own, and each file served comes from a runtime one."""
    stages = [line.split()[-1] for line in LINES if line.startswith("FROM ")]
    assert "assets" in stages
    text = " ".join(LINES)
    assert "COPY services/portal/assets/package.json services/portal/assets/package-lock.json ./" in LINES
    assert "npm ci --omit=dev --ignore-scripts" in text
    assert "mv node_modules /out/services/portal/assets/" in text
    # Into the runtime stage, relative to the repository layout it keeps under /app.
    runtime = LINES[LINES.index(next(line for line in LINES if line.endswith(" AS runtime"))) :]
    assert runtime.index("WORKDIR /app") < runtime.index("COPY --from=assets /out/ ./")
    service_class("portal")
    from portal.service import ASSETS, VENDOR

    assert ASSETS == ROOT / "services" / "portal" / "assets" / "node_modules"
    package = json.loads((ROOT / "services/portal/assets/package.json").read_text(encoding="utf-8"))
    lock = json.loads((ROOT / "services/portal/assets/package-lock.json").read_text(encoding="utf-8"))
    assert VENDOR
    for served in VENDOR.values():
        name = served.split("/")[0]
        # --omit=dev leaves out devDependencies (axe-core, for the browser tests only).
        assert name in package["dependencies"], served
        assert not lock["packages"][f"node_modules/{name}"].get("dev"), served
