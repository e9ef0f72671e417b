#!/usr/bin/env bash
# Installs the system packages the project needs (Debian/Ubuntu, apt) and the Python
# venv used by the interoperability tests. Idempotent: installs only what is missing,
# runs `apt-get update` only when something is missing. Safe under CI=true with no stdin.
#
#   scripts/bootstrap.sh
#
# Packages: pkg-config libncurses-dev libssl-dev zlib1g-dev (build), tmux (TUI tests),
# nodejs node-ws (Node interop peer), tshark (capture checks), openssl (test certs),
# python3-venv (Python interop peer). Venv: .build-venv with `websockets`.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD

PACKAGES=(pkg-config libncurses-dev libssl-dev zlib1g-dev tmux nodejs node-ws tshark openssl python3-venv)

log() { printf 'bootstrap: %s\n' "$*"; }

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { log "not root and no sudo; cannot install packages"; exit 1; }
    SUDO=(sudo -n)
fi

installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing=()
for p in "${PACKAGES[@]}"; do
    installed "$p" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
    log "system packages: all present"
else
    log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # tshark's postinst asks whether non-root users may capture; answer no, up front.
    echo 'wireshark-common wireshark-common/install-setuid boolean false' \
        | "${SUDO[@]}" debconf-set-selections
    aptlog=$(mktemp)
    trap 'rm -f "$aptlog"' EXIT
    apt() {
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q "$@" </dev/null >"$aptlog" 2>&1 \
            || { log "apt-get $1 failed:"; tail -n 20 "$aptlog"; exit 1; }
    }
    log "apt-get update"
    apt update
    log "apt-get install"
    apt install -y --no-install-recommends "${missing[@]}"
    for p in "${missing[@]}"; do
        installed "$p" || { log "package $p still not installed"; exit 1; }
    done
    log "system packages: installed ${#missing[@]}"
fi

# Python venv for the interop peers. Debian's interpreter, because python3-venv belongs to it.
VENV=$ROOT/.build-venv
PY_BASE=/usr/bin/python3
[ -x "$PY_BASE" ] || PY_BASE=$(command -v python3)
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import websockets' 2>/dev/null; then
    log "venv: websockets $("$VENV/bin/python" -c 'import websockets; print(websockets.__version__)') present"
else
    if [ ! -x "$VENV/bin/python" ]; then
        log "venv: creating $VENV"
        "$PY_BASE" -m venv "$VENV"
    fi
    log "venv: pip install websockets"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check 'websockets>=13' </dev/null
    "$VENV/bin/python" -c 'import websockets' \
        || { log "venv: websockets still not importable"; exit 1; }
    log "venv: websockets $("$VENV/bin/python" -c 'import websockets; print(websockets.__version__)') installed"
fi
log "done"
