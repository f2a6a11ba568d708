"""The image build, read as text (no container engine runs here)."""

from __future__ import annotations

import re

from tests.deploy.conftest import ROOT

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
