# Sourced by scripts that use the interop peers: `source scripts/env.sh`.
# Sets ROOT (the package root), NODE_PATH (Debian's node-ws), PYTHON (the venv made by
# scripts/bootstrap.sh) and small helpers. Does not change shell options.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export ROOT
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}
export PYTHON=$ROOT/.build-venv/bin/python
export PYTHONUNBUFFERED=1
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ next to the peers in Tests/Interop

# require_peers: fail with a hint when the interop peers' runtimes are missing.
require_peers() {
    if ! "$PYTHON" -c 'import websockets' 2>/dev/null; then
        echo "missing $PYTHON with websockets: run scripts/bootstrap.sh" >&2
        return 1
    fi
    if ! node -e "require('ws')" 2>/dev/null; then
        echo "missing node or ws (Debian node-ws): run scripts/bootstrap.sh" >&2
        return 1
    fi
}

# wait_for_port FILE [SECONDS]: wait until FILE's first line names a port, print it.
# Accepts a bare number (the peers) or "listening on HOST:PORT" (wscope listen).
wait_for_port() {
    local file=$1 limit=${2:-20} i line port
    for ((i = 0; i < limit * 10; i++)); do
        if [ -s "$file" ]; then
            line=$(head -n 1 "$file")
            port=$(printf '%s\n' "$line" | sed -n -E 's/^(listening on .*:)?([0-9]+)[[:space:]]*$/\2/p')
            if [ -n "$port" ]; then
                printf '%s\n' "$port"
                return 0
            fi
        fi
        sleep 0.1
    done
    return 1
}
