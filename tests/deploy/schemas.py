"""Offline validation: Kubernetes kinds with kubernetes-validate, custom resources with vendored CRDs."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

CRD_DIR = Path(__file__).parent / "crd-schemas"
# The cluster version the manifests target (kubectl v1.32 renders them).
KUBERNETES_VERSION = "1.32.0"
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def to_json_schema(node: Any) -> Any:
    """An openAPIV3Schema as JSON Schema with the API server's strictness: unknown fields fail.

    The API server prunes (or, with strict field validation, rejects) fields a structural schema
    does not declare, unless x-kubernetes-preserve-unknown-fields says otherwise.
    """
    if isinstance(node, list):
        return [to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_json_schema(v) for k, v in node.items() if not k.startswith("x-kubernetes-")}
    if "properties" in node:
        out["properties"] = {k: to_json_schema(v) for k, v in node["properties"].items()}
    preserve = node.get("x-kubernetes-preserve-unknown-fields") is True
    if "properties" in node and "additionalProperties" not in node and not preserve:
        out["additionalProperties"] = False
    if node.get("x-kubernetes-int-or-string") and "anyOf" not in node:
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and "type" in node:
        out["type"] = [node["type"], "null"]
    if isinstance(node.get("pattern"), str) and "(?i)" in node["pattern"][1:]:
        # Go allows `^(?i)...`; Python wants global flags first.
        out["pattern"] = "(?i)" + node["pattern"].replace("(?i)", "")
    return out


@functools.cache
def crd_validators() -> dict[tuple[str, str], jsonschema.protocols.Validator]:
    """(apiVersion, kind) -> validator, from tests/deploy/crd-schemas/*.yaml."""
    validators = {}
    for path in sorted(CRD_DIR.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text(encoding="utf-8"))
        schema = to_json_schema(crd["openAPIV3Schema"])
        jsonschema.Draft7Validator.check_schema(schema)
        validators[(f"{crd['group']}/{crd['version']}", crd["kind"])] = jsonschema.Draft7Validator(schema)
    return validators


def problems(doc: dict[str, Any]) -> list[str]:
    """Why the API server would refuse this object; empty when it would accept it."""
    where = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
    name = doc.get("metadata", {}).get("name", "")
    if not DNS_SUBDOMAIN.match(name) or len(name) > 253:
        return [f"{where}: invalid name"]
    validator = crd_validators().get((doc["apiVersion"], doc["kind"]))
    if validator is not None:
        return [f"{where} {list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]
    if "." in doc["apiVersion"].split("/")[0] and not doc["apiVersion"].split("/")[0].endswith(".k8s.io"):
        return [f"{where}: custom resource {doc['apiVersion']} without a vendored CRD schema"]
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{where} {list(exc.absolute_path)}: {exc.message}"]
    except kubernetes_validate.SchemaNotFoundError as exc:
        return [f"{where}: {exc.message}"]
    return []
