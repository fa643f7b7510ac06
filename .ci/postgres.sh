#!/usr/bin/env bash
# A throw-away PostgreSQL server for the tests that need one (tests/test_pg_example.py and
# examples/pg_parallel). They read its address from ISOSCAN_TEST_PG_DSN and skip without it.
#
# Sourced (this is what .ci/run does):
#     source .ci/postgres.sh && isoscan_pg_start || true
#   starts a fresh cluster in a new temp dir, exports
#   ISOSCAN_TEST_PG_DSN=postgresql://isoscan@127.0.0.1:<port>/isoscan_test and stops the
#   cluster (and removes the dir) when the shell exits. On any failure it prints one line why,
#   exports nothing and returns 1.
# Run (for a developer's shell):
#     eval "$(bash .ci/postgres.sh start)"   # start, or reuse the one already running
#     bash .ci/postgres.sh stop              # stop it and remove its dir
#   `start` is idempotent: a second call prints the same export line in well under a second.
#
# As root (CI), the server runs as the unprivileged system user isoscan-pg (created if
# missing), since postgres refuses to run as root; the binaries are installed with apt-get if
# /usr/lib/postgresql/*/bin/initdb is missing. As any other user it runs as that user, with the
# binaries that are there. The server listens on 127.0.0.1 only, on a free port, with its unix
# socket inside its 0700 dir; local TCP needs no password (trust), which is fine for a
# throw-away cluster holding test data only.

ISOSCAN_PG_SYSUSER=${ISOSCAN_PG_SYSUSER:-isoscan-pg}
ISOSCAN_PG_DBUSER=isoscan
ISOSCAN_PG_DBNAME=isoscan_test

_isoscan_pg_say() { echo "postgres: $*" >&2; }
# Failures record why here; the caller prints it as its one line.
_isoscan_pg_why() { ISOSCAN_PG_WHY=$*; }

# Prints the bin dir of the newest installed server (highest major version), or fails.
_isoscan_pg_bindir() {
    local d v best="" bestv=0
    for d in /usr/lib/postgresql/*/bin; do
        [[ -x $d/initdb && -x $d/pg_ctl && -x $d/createdb ]] || continue
        v=${d#/usr/lib/postgresql/}
        v=${v%%/*}
        [[ $v =~ ^[0-9]+$ ]] || v=0
        if [[ -z $best ]] || (( v > bestv )); then
            best=$d
            bestv=$v
        fi
    done
    [[ -n $best ]] && echo "$best"
}

# Installs Debian's `postgresql` (server binaries only: no default cluster, nothing started).
_isoscan_pg_install() {
    if [[ $(id -u) != 0 ]]; then
        _isoscan_pg_why "no server binaries in /usr/lib/postgresql and not root to install them"
        return 1
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        _isoscan_pg_why "no server binaries in /usr/lib/postgresql and no apt-get to install them"
        return 1
    fi
    # Keep the package from creating and starting its own 'main' cluster on port 5432 (the
    # file is removed again after the install).
    local conf=/etc/postgresql-common/createcluster.d/isoscan-ci.conf log rc=0
    mkdir -p "${conf%/*}" && echo 'create_main_cluster = false' >"$conf"
    log=$(mktemp) || { rm -f "$conf"; _isoscan_pg_why "mktemp failed"; return 1; }
    local apt=(env DEBIAN_FRONTEND=noninteractive timeout 900 apt-get -qq -y
               -o Dpkg::Options::=--force-confold --no-install-recommends)
    if ! "${apt[@]}" install postgresql >"$log" 2>&1; then
        # The package lists may be missing or stale on a fresh machine.
        if ! { timeout 300 apt-get -qq update && "${apt[@]}" install postgresql; } >"$log" 2>&1
        then
            _isoscan_pg_why "apt-get install postgresql failed (no network?): $(grep -m1 -E '^(E|W):' "$log" || tail -n1 "$log")"
            rc=1
        fi
    fi
    rm -f "$log" "$conf"
    return "$rc"
}

# Prints a TCP port on 127.0.0.1 that nothing listens on now.
_isoscan_pg_free_port() {
    local py
    for py in python3 python; do
        if command -v "$py" >/dev/null 2>&1 &&
            "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null
        then
            return 0
        fi
    done
    local port i
    for i in 1 2 3 4 5 6 7 8 9 10; do
        port=$(( 20000 + RANDOM % 40000 ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

# Runs a command as the server's user (root: the system user; anyone else: themselves).
_isoscan_pg_as() {
    if [[ $(id -u) == 0 ]]; then
        runuser -u "$ISOSCAN_PG_SYSUSER" -- "$@"
    else
        "$@"
    fi
}

# Starts a new cluster in a new dir. Sets ISOSCAN_PG_DIR (the cluster's dir) and exports
# ISOSCAN_TEST_PG_DSN. Every failure records why in ISOSCAN_PG_WHY, cleans up and returns 1.
_isoscan_pg_new_cluster() {
    local bindir
    if ! bindir=$(_isoscan_pg_bindir); then
        _isoscan_pg_install || return 1
        bindir=$(_isoscan_pg_bindir) || {
            _isoscan_pg_why "postgresql installed but no /usr/lib/postgresql/*/bin/initdb"
            return 1
        }
    fi

    local tmp=${TMPDIR:-/tmp}
    if [[ $(id -u) == 0 ]]; then
        if ! command -v runuser >/dev/null 2>&1; then
            _isoscan_pg_why "running as root without runuser to drop to an unprivileged user"
            return 1
        fi
        if ! id -u "$ISOSCAN_PG_SYSUSER" >/dev/null 2>&1 &&
            ! useradd --system --user-group --no-create-home --home-dir /nonexistent \
                --shell /usr/sbin/nologin "$ISOSCAN_PG_SYSUSER" >/dev/null 2>&1 &&
            ! id -u "$ISOSCAN_PG_SYSUSER" >/dev/null 2>&1  # lost a race to create it: fine
        then
            _isoscan_pg_why "could not create the system user $ISOSCAN_PG_SYSUSER to run the server as"
            return 1
        fi
        tmp=/tmp  # the system user must be able to reach the dir
    fi
    # The unix socket path must stay under ~107 bytes.
    if (( ${#tmp} > 60 )); then
        tmp=/tmp
    fi

    local dir
    dir=$(mktemp -d "$tmp/isoscan-pg.XXXXXXXX") || {
        _isoscan_pg_why "could not make a temp dir in $tmp"
        return 1
    }
    if [[ $(id -u) == 0 ]] && ! chown "$ISOSCAN_PG_SYSUSER:" "$dir"; then
        _isoscan_pg_why "could not hand $dir to $ISOSCAN_PG_SYSUSER"
        rm -rf "$dir"
        return 1
    fi
    chmod 700 "$dir"

    if ! (cd "$dir" && _isoscan_pg_as "$bindir/initdb" -D "$dir/data" -U "$ISOSCAN_PG_DBUSER" \
            --auth=trust --encoding=UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1); then
        _isoscan_pg_why "initdb failed: $(grep -m1 -iE 'error|fatal' "$dir/initdb.log" || tail -n1 "$dir/initdb.log")"
        rm -rf "$dir"
        return 1
    fi
    # Only local connections, all without a password: this cluster lives for one test run.
    printf '%s\n' 'local all all trust' 'host all all 127.0.0.1/32 trust' \
        | _isoscan_pg_as tee "$dir/data/pg_hba.conf" >/dev/null

    local attempt port=""
    for attempt in 1 2 3; do
        port=$(_isoscan_pg_free_port) || { port=""; break; }
        # A test database: speed over durability. Socket in the cluster's own 0700 dir.
        printf '%s\n' \
            "listen_addresses = '127.0.0.1'" "port = $port" \
            "unix_socket_directories = '${dir//\'/\'\'}'" \
            "fsync = off" "synchronous_commit = off" "full_page_writes = off" \
            "max_connections = 100" "logging_collector = off" \
            | _isoscan_pg_as tee "$dir/data/postgresql.auto.conf" >/dev/null
        if (cd "$dir" && _isoscan_pg_as "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" \
                -w -t 30 start >"$dir/pg_ctl.log" 2>&1); then
            break
        fi
        # Lost the port to someone else between picking and binding: pick again.
        if ! grep -q -iE 'could not (bind|create listen)|address already in use' \
                "$dir/server.log" 2>/dev/null; then
            attempt=fail
            break
        fi
        port=""
    done
    if [[ -z $port || $attempt == fail ]]; then
        _isoscan_pg_why "server did not start: $(grep -m1 -E 'FATAL|ERROR|could not' "$dir/server.log" 2>/dev/null || tail -n1 "$dir/pg_ctl.log")"
        (cd "$dir" && _isoscan_pg_as "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop \
            >/dev/null 2>&1)
        rm -rf "$dir"
        return 1
    fi
    if ! "$bindir/createdb" -h 127.0.0.1 -p "$port" -U "$ISOSCAN_PG_DBUSER" \
            "$ISOSCAN_PG_DBNAME" >"$dir/createdb.log" 2>&1; then
        _isoscan_pg_why "createdb failed: $(head -n1 "$dir/createdb.log")"
        (cd "$dir" && _isoscan_pg_as "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop \
            >/dev/null 2>&1)
        rm -rf "$dir"
        return 1
    fi
    echo "$bindir" >"$dir/bindir"
    echo "postgresql://$ISOSCAN_PG_DBUSER@127.0.0.1:$port/$ISOSCAN_PG_DBNAME" >"$dir/dsn"
    ISOSCAN_PG_DIR=$dir
    export ISOSCAN_TEST_PG_DSN
    ISOSCAN_TEST_PG_DSN=$(cat "$dir/dsn")
}

# Stops the cluster in dir $1 (default: ISOSCAN_PG_DIR) and removes the dir.
_isoscan_pg_stop_dir() {
    local dir=${1:-${ISOSCAN_PG_DIR:-}} bindir
    [[ -n $dir && -d $dir ]] || return 0
    if [[ -f $dir/data/postmaster.pid ]] && bindir=$(cat "$dir/bindir" 2>/dev/null); then
        (cd "$dir" && { _isoscan_pg_as "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 20 stop ||
            _isoscan_pg_as "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 10 stop; } \
            >/dev/null 2>&1)
    fi
    rm -rf "$dir"
}

# For sourcing: start a fresh cluster, export ISOSCAN_TEST_PG_DSN, stop it at shell exit.
isoscan_pg_start() {
    if [[ -n ${ISOSCAN_TEST_PG_DSN:-} ]]; then
        _isoscan_pg_say "using ISOSCAN_TEST_PG_DSN from the environment"
        return 0
    fi
    local t0=$SECONDS
    ISOSCAN_PG_WHY="could not start it"
    _isoscan_pg_new_cluster || {
        _isoscan_pg_say "$ISOSCAN_PG_WHY; the tests that need PostgreSQL will skip"
        return 1
    }
    trap '_isoscan_pg_stop_dir' EXIT
    # Make INT and TERM go through the EXIT trap too.
    trap 'exit 130' INT
    trap 'exit 143' TERM
    _isoscan_pg_say "server up in $((SECONDS - t0)) s: ISOSCAN_TEST_PG_DSN=$ISOSCAN_TEST_PG_DSN"
}

isoscan_pg_stop() {
    _isoscan_pg_stop_dir "${ISOSCAN_PG_DIR:-}"
    unset ISOSCAN_PG_DIR ISOSCAN_TEST_PG_DSN
    trap - EXIT INT TERM
}

# The file that remembers the dir of the cluster `start` left running for this user.
_isoscan_pg_state_file() { echo "${TMPDIR:-/tmp}/isoscan-pg-$(id -u).state"; }

# Prints the dir of the running cluster that `start` left, if it still answers.
_isoscan_pg_running_dir() {
    local state dir bindir port
    state=$(_isoscan_pg_state_file)
    # Trust only a plain file of ours, pointing to a dir of our own making.
    [[ -f $state && ! -L $state && -O $state ]] || return 1
    dir=$(cat "$state")
    [[ $dir == */isoscan-pg.* && -d $dir && ! -L $dir && -f $dir/dsn ]] || return 1
    bindir=$(cat "$dir/bindir") || return 1
    port=$(sed -E 's|.*:([0-9]+)/.*|\1|' "$dir/dsn")
    "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -t 3 || return 1
    echo "$dir"
}

_isoscan_pg_main() {
    set -uo pipefail
    local state dir
    state=$(_isoscan_pg_state_file)
    case ${1:-start} in
        start)
            if dir=$(_isoscan_pg_running_dir); then
                echo "export ISOSCAN_TEST_PG_DSN=$(cat "$dir/dsn")"
                return 0
            fi
            # A stale one (server gone, dir left): clear it before starting anew.
            if [[ -f $state && ! -L $state && -O $state ]]; then
                dir=$(cat "$state")
                [[ $dir == */isoscan-pg.* ]] && _isoscan_pg_stop_dir "$dir"
                rm -f "$state"
            fi
            unset ISOSCAN_TEST_PG_DSN
            ISOSCAN_PG_WHY="could not start it"
            _isoscan_pg_new_cluster || { _isoscan_pg_say "$ISOSCAN_PG_WHY"; return 1; }
            (umask 077 && echo "$ISOSCAN_PG_DIR" >"$state")
            _isoscan_pg_say "started in $ISOSCAN_PG_DIR (stop: bash .ci/postgres.sh stop)"
            echo "export ISOSCAN_TEST_PG_DSN=$ISOSCAN_TEST_PG_DSN"
            ;;
        stop)
            if [[ -f $state && ! -L $state && -O $state ]]; then
                dir=$(cat "$state")
                [[ $dir == */isoscan-pg.* ]] && _isoscan_pg_stop_dir "$dir"
                rm -f "$state"
            fi
            ;;
        *)
            echo "usage: bash .ci/postgres.sh [start|stop]" >&2
            return 2
            ;;
    esac
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    _isoscan_pg_main "$@"
    exit $?
fi
