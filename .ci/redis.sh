#!/usr/bin/env bash
# A throw-away Redis server for the tests that need one (examples/parallel_audit's Redis cases
# and the audit tests). They read its address from ISOSCAN_TEST_REDIS_URL and skip without it.
#
# Sourced (this is what .ci/run does):
#     source .ci/redis.sh && isoscan_redis_start || true
#   starts redis-server on a free 127.0.0.1 port with a fresh temp dir (no persistence),
#   exports ISOSCAN_TEST_REDIS_URL=redis://127.0.0.1:<port>/0 and stops it (removing the dir)
#   when the shell exits, after whatever EXIT trap was set before (.ci/postgres.sh's). On any
#   failure it prints one line why, exports nothing and returns 1.
# Run (for a developer's shell):
#     eval "$(bash .ci/redis.sh start)"   # start, or reuse the one already running
#     bash .ci/redis.sh stop
#
# As root (CI) the server runs as the unprivileged system user isoscan-redis (created if
# missing), and redis-server is installed with apt-get if it is not on PATH.

ISOSCAN_REDIS_SYSUSER=${ISOSCAN_REDIS_SYSUSER:-isoscan-redis}

_isoscan_redis_say() { echo "redis: $*" >&2; }

_isoscan_redis_install() {
    command -v redis-server >/dev/null 2>&1 && return 0
    if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        ISOSCAN_REDIS_WHY="no redis-server on PATH and no way to install it (not root, or no apt-get)"
        return 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server >/dev/null 2>&1 ||
        { apt-get update -q >/dev/null 2>&1 &&
          DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server >/dev/null 2>&1; } ||
        { ISOSCAN_REDIS_WHY="apt-get install redis-server failed"; return 1; }
}

_isoscan_redis_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Runs its arguments as the unprivileged user when root, else as this user.
_isoscan_redis_as() {
    if [[ $(id -u) == 0 ]]; then
        id "$ISOSCAN_REDIS_SYSUSER" >/dev/null 2>&1 ||
            useradd --system --no-create-home --shell /usr/sbin/nologin "$ISOSCAN_REDIS_SYSUSER" ||
            return 1
        runuser -u "$ISOSCAN_REDIS_SYSUSER" -- "$@"
    else
        "$@"
    fi
}

_isoscan_redis_new() {
    _isoscan_redis_install || return 1
    local dir port i
    dir=$(mktemp -d "${TMPDIR:-/tmp}/isoscan-redis.XXXXXXXX") || {
        ISOSCAN_REDIS_WHY="mktemp failed"; return 1; }
    [[ $(id -u) == 0 ]] && { _isoscan_redis_as true || { rm -rf "$dir"; 
        ISOSCAN_REDIS_WHY="cannot create user $ISOSCAN_REDIS_SYSUSER"; return 1; }
        chown "$ISOSCAN_REDIS_SYSUSER" "$dir"; }
    chmod 700 "$dir"
    port=$(_isoscan_redis_free_port) || { rm -rf "$dir"; ISOSCAN_REDIS_WHY="no free port"; return 1; }
    _isoscan_redis_as redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
        --dir "$dir" --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
        >/dev/null 2>&1 || { rm -rf "$dir"; ISOSCAN_REDIS_WHY="redis-server did not start"; return 1; }
    for i in $(seq 1 50); do
        if python3 -c "import socket,sys; s=socket.create_connection(('127.0.0.1',$port),1); s.sendall(b'PING\r\n'); sys.exit(0 if s.recv(16).startswith(b'+PONG') else 1)" 2>/dev/null; then
            echo "redis://127.0.0.1:$port/0" >"$dir/url"
            ISOSCAN_REDIS_DIR=$dir
            export ISOSCAN_TEST_REDIS_URL
            ISOSCAN_TEST_REDIS_URL=$(cat "$dir/url")
            return 0
        fi
        sleep 0.1
    done
    _isoscan_redis_stop_dir "$dir"
    ISOSCAN_REDIS_WHY="redis-server did not answer PING"
    return 1
}

_isoscan_redis_stop_dir() {
    local dir=${1:-${ISOSCAN_REDIS_DIR:-}}
    [[ -n $dir && -d $dir ]] || return 0
    [[ -f $dir/redis.pid ]] && kill "$(cat "$dir/redis.pid")" 2>/dev/null
    rm -rf "$dir"
}

isoscan_redis_start() {
    if [[ -n ${ISOSCAN_TEST_REDIS_URL:-} ]]; then
        _isoscan_redis_say "using ISOSCAN_TEST_REDIS_URL from the environment"
        return 0
    fi
    ISOSCAN_REDIS_WHY="could not start it"
    _isoscan_redis_new || {
        _isoscan_redis_say "$ISOSCAN_REDIS_WHY; the tests that need Redis will skip"
        return 1
    }
    # Keep the EXIT trap already set (the PostgreSQL server's) and stop this server too.
    local previous
    previous=$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\1/")
    # shellcheck disable=SC2064
    trap "_isoscan_redis_stop_dir '$ISOSCAN_REDIS_DIR'; ${previous:-:}" EXIT
    _isoscan_redis_say "server up: ISOSCAN_TEST_REDIS_URL=$ISOSCAN_TEST_REDIS_URL"
}

_isoscan_redis_state() { echo "${TMPDIR:-/tmp}/isoscan-redis-$(id -u).state"; }

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    set -uo pipefail
    state=$(_isoscan_redis_state)
    case ${1:-start} in
        start)
            if [[ -f $state && ! -L $state && -O $state ]] && dir=$(cat "$state") &&
                [[ $dir == */isoscan-redis.* && -f $dir/url && -f $dir/redis.pid ]] &&
                kill -0 "$(cat "$dir/redis.pid")" 2>/dev/null; then
                echo "export ISOSCAN_TEST_REDIS_URL=$(cat "$dir/url")"
                exit 0
            fi
            unset ISOSCAN_TEST_REDIS_URL
            ISOSCAN_REDIS_WHY="could not start it"
            _isoscan_redis_new || { _isoscan_redis_say "$ISOSCAN_REDIS_WHY"; exit 1; }
            (umask 077 && echo "$ISOSCAN_REDIS_DIR" >"$state")
            echo "export ISOSCAN_TEST_REDIS_URL=$ISOSCAN_TEST_REDIS_URL"
            ;;
        stop)
            if [[ -f $state && ! -L $state && -O $state ]]; then
                dir=$(cat "$state")
                [[ $dir == */isoscan-redis.* ]] && _isoscan_redis_stop_dir "$dir"
                rm -f "$state"
            fi
            ;;
        *) echo "usage: bash .ci/redis.sh [start|stop]" >&2; exit 2 ;;
    esac
fi
