#!/usr/bin/env bash
# Installs the portal's browser assets from npm (no CDN at run time): Aladin Lite and
# plotly.js's basic bundle (scatter, bar, pie: all the portal draws), pinned in
# services/portal/package.json and package-lock.json, copied into the package's assets as
# assets/vendor/aladin.js and assets/vendor/plotly-basic.min.js (git-ignored, shipped in
# the wheel).
#
# Idempotent and quiet: when node_modules matches the lock file and the copy matches
# node_modules, it only checks and exits. npm verifies every tarball against the lock
# file's integrity hash; nothing is downloaded when up to date.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PORTAL_DIR="$REPO_ROOT/services/portal"
LOCK_FILE="$PORTAL_DIR/package-lock.json"
# What `npm ci` was last run for: the lock file's hash, kept inside node_modules so that
# deleting node_modules also forgets it.
STAMP="$PORTAL_DIR/node_modules/.finkportal-lock.sha256"
MODULES="$PORTAL_DIR/node_modules"
VENDOR="$PORTAL_DIR/src/finkportal_portal/assets/vendor"
# npm file -> vendor file name
declare -A BUNDLES=(
    ["$MODULES/aladin-lite/dist/aladin.js"]="aladin.js"
    ["$MODULES/plotly.js-basic-dist-min/plotly-basic.min.js"]="plotly-basic.min.js"
)

log() { echo "install-portal-assets: $*" >&2; }

require_npm() {
    command -v npm >/dev/null 2>&1 && return 0
    log "npm is not installed; the portal's Aladin Lite comes from npm."
    log "Install Node.js and npm: \`sudo bash scripts/install-system-deps.sh\` (Debian),"
    log "or \`apt-get install nodejs npm\`, then run this again."
    exit 1
}

lock_hash() { sha256sum "$LOCK_FILE" | cut -d' ' -f1; }

all_sources_present() {
    local source
    for source in "${!BUNDLES[@]}"; do
        [[ -f $source ]] || return 1
    done
}

node_modules_current() {
    [[ -f $STAMP && $(cat "$STAMP") == "$(lock_hash)" ]] && all_sources_present
}

# Output kept aside, shown only if npm fails (npm prints progress and notices).
npm_ci() {
    local output status=0
    output=$(mktemp)
    (cd "$PORTAL_DIR" && npm ci --ignore-scripts --no-audit --no-fund) >"$output" 2>&1 \
        || status=$?
    if ((status)); then
        cat "$output" >&2
        log "npm ci failed ($status) in $PORTAL_DIR"
    fi
    rm -f "$output"
    return "$status"
}

install_node_modules() {
    node_modules_current && return 0
    require_npm
    npm_ci
    all_sources_present || { log "npm ci did not install every bundle of ${!BUNDLES[*]}"; exit 1; }
    lock_hash >"$STAMP"
}

copy_bundle() {
    local source=$1 target=$2
    cmp -s "$source" "$target" && return 0
    mkdir -p "$(dirname "$target")"
    # Through a temporary name: a running portal never serves half a file.
    cp "$source" "$target.tmp"
    mv "$target.tmp" "$target"
}

main() {
    local source
    install_node_modules
    for source in "${!BUNDLES[@]}"; do
        copy_bundle "$source" "$VENDOR/${BUNDLES[$source]}"
    done
}

main "$@"
