#!/usr/bin/env bash
# Installs the portal's browser assets from npm (no CDN at run time): Aladin Lite, pinned
# in services/portal/package.json and package-lock.json, copied into the package's assets
# as assets/vendor/aladin.js (git-ignored, shipped in the wheel).
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
SOURCE="$PORTAL_DIR/node_modules/aladin-lite/dist/aladin.js"
TARGET="$PORTAL_DIR/src/finkportal_portal/assets/vendor/aladin.js"

log() { echo "install-portal-assets: $*" >&2; }

require_npm() {
    command -v npm >/dev/null 2>&1 && return 0
    log "npm is not installed; the portal's Aladin Lite comes from npm."
    log "Install Node.js and npm: \`sudo bash scripts/install-system-deps.sh\` (Debian),"
    log "or \`apt-get install nodejs npm\`, then run this again."
    exit 1
}

lock_hash() { sha256sum "$LOCK_FILE" | cut -d' ' -f1; }

node_modules_current() {
    [[ -f $STAMP && -f $SOURCE && $(cat "$STAMP") == "$(lock_hash)" ]]
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
    [[ -f $SOURCE ]] || { log "npm ci did not install $SOURCE"; exit 1; }
    lock_hash >"$STAMP"
}

copy_bundle() {
    cmp -s "$SOURCE" "$TARGET" && return 0
    mkdir -p "$(dirname "$TARGET")"
    # Through a temporary name: a running portal never serves half a file.
    cp "$SOURCE" "$TARGET.tmp"
    mv "$TARGET.tmp" "$TARGET"
}

main() {
    install_node_modules
    copy_bundle
}

main "$@"
