# Shared helpers for bench/*.sh. Sourced, not run. Everything here targets loopback only.
# shellcheck shell=bash

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"

# A browser User-Agent, so the redirect does not flag the clicks as bots.
BROWSER_UA='Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36'

# Processes this script started, stopped by pid on exit.
STARTED_PIDS=()
WORK_DIR=""

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Makes a private temporary directory and registers the cleanup trap.
setup_workdir() {
    WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/tributary-bench.XXXXXX")"
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

cleanup() {
    local status=$?
    local pid
    for pid in "${STARTED_PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
        fi
    done
    for pid in "${STARTED_PIDS[@]}"; do
        # Give a graceful shutdown (click log flush) a few seconds, then insist.
        local waited=0
        while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 50 ]; do
            sleep 0.1
            waited=$((waited + 1))
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    drop_bench_database
    if [ -n "$WORK_DIR" ] && [ -d "$WORK_DIR" ]; then
        if [ "$status" -ne 0 ] || [ "${KEEP_WORK_DIR:-0}" = 1 ]; then
            log "logs kept in $WORK_DIR"
        else
            rm -rf "$WORK_DIR"
        fi
    fi
    exit "$status"
}

# Installs Debian packages for the commands that are missing: `need_commands wrk:wrk nginx:nginx-light`.
need_commands() {
    local missing=() pair command package
    for pair in "$@"; do
        command="${pair%%:*}"
        package="${pair#*:}"
        if ! command -v "$command" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$command" ]; then
            missing+=("$package")
        fi
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get to install them"
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    log "installing ${missing[*]} from Debian"
    if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; then
        "${sudo[@]}" apt-get update -qq
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

# nginx lives in /usr/sbin, which is not on every PATH.
nginx_binary() {
    command -v nginx 2>/dev/null || echo /usr/sbin/nginx
}

# Builds the release binary unless TRIBUTARY_BIN points at one.
build_tributary() {
    if [ -n "${TRIBUTARY_BIN:-}" ]; then
        [ -x "$TRIBUTARY_BIN" ] || die "TRIBUTARY_BIN=$TRIBUTARY_BIN is not executable"
        return 0
    fi
    log "building tributary (release)"
    (cd "$REPO_DIR" && cargo build --release --quiet -p tributary)
    local target_dir="${CARGO_TARGET_DIR:-$REPO_DIR/target}"
    TRIBUTARY_BIN="$target_dir/release/tributary"
    [ -x "$TRIBUTARY_BIN" ] || die "build did not produce $TRIBUTARY_BIN"
}

# Prints a loopback TCP port nobody listens on.
free_port() {
    local port attempt
    for attempt in $(seq 1 100); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    die "no free loopback port found"
}

# Waits until `url` answers 2xx, while `pid` lives. `wait_http URL PID LOGFILE`.
wait_http() {
    local url="$1" pid="$2" logfile="$3" tries=0
    until curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null; do
        kill -0 "$pid" 2>/dev/null || { cat "$logfile" >&2; die "process $pid exited before $url answered"; }
        tries=$((tries + 1))
        [ "$tries" -lt 300 ] || { cat "$logfile" >&2; die "$url did not answer within 30 s"; }
        sleep 0.1
    done
}

# Sets BENCH_DATABASE_URL, the database the demo runs on: a SQLite file in the work directory, or with
# BACKEND=postgres a fresh database on PG_URL's server (default
# postgres://postgres@127.0.0.1:5432), dropped on exit.
BENCH_PG_DATABASE=""
bench_database() {
    if [ "${BACKEND:-sqlite}" = postgres ]; then
        local server="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
        BENCH_PG_DATABASE="tributary_bench_$$_$RANDOM"
        psql "$server/postgres" -qc "CREATE DATABASE $BENCH_PG_DATABASE" >/dev/null ||
            die "cannot create a database on $server"
        BENCH_PG_SERVER="$server"
        BENCH_DATABASE_URL="$server/$BENCH_PG_DATABASE"
    else
        BENCH_DATABASE_URL="sqlite://$WORK_DIR/bench.db"
    fi
}

drop_bench_database() {
    if [ -n "$BENCH_PG_DATABASE" ]; then
        psql "$BENCH_PG_SERVER/postgres" -qc "DROP DATABASE IF EXISTS $BENCH_PG_DATABASE WITH (FORCE)" >/dev/null 2>&1 || true
    fi
}

# Starts `tributary demo` on a fresh SQLite file and a free port. Sets TRIBUTARY_PID,
# TRIBUTARY_ADDR, DEMO_LOG. The demo prints its logins, key and link, then serves.
start_demo() {
    local port database
    port="$(free_port)"
    TRIBUTARY_ADDR="127.0.0.1:$port"
    DEMO_LOG="$WORK_DIR/tributary.log"
    bench_database
    database="$BENCH_DATABASE_URL"
    log "starting tributary demo on $TRIBUTARY_ADDR ($database)"
    RUST_LOG="${RUST_LOG:-warn}" "$TRIBUTARY_BIN" demo \
        --database "$database" \
        --listen "$TRIBUTARY_ADDR" >"$DEMO_LOG" 2>&1 &
    TRIBUTARY_PID=$!
    STARTED_PIDS+=("$TRIBUTARY_PID")
    wait_http "http://$TRIBUTARY_ADDR/healthz" "$TRIBUTARY_PID" "$DEMO_LOG"
}

# The value after `label:` on the demo's output, e.g. `demo_value 'api key'`.
demo_value() {
    local value
    value="$(sed -n "s/^[[:space:]]*$1:[[:space:]]*//p" "$DEMO_LOG" | head -n 1)"
    [ -n "$value" ] || { cat "$DEMO_LOG" >&2; die "the demo printed no '$1:' line"; }
    echo "$value"
}

# One counter from tributary's /metrics.
metric() {
    metric_at "$TRIBUTARY_ADDR" "$1"
}

# One counter from another node's /metrics: `metric_at ADDR NAME`.
metric_at() {
    curl -fsS --max-time 5 "http://$1/metrics" |
        awk -v name="$2" '$1 == name { print $2; found = 1 } END { if (!found) print "missing" }'
}

# Starts `tributary serve --role ROLE` on the bench database with the NATS event log
# (namespace bench_<pid>) and waits for it: `start_log_node ROLE PORT LOGFILE`; sets NODE_PID.
start_log_node() {
    RUST_LOG="${RUST_LOG:-warn}" "$TRIBUTARY_BIN" --database "$BENCH_DATABASE_URL" serve \
        --role "$1" --listen "127.0.0.1:$2" \
        --event-log "${NATS_URL:-nats://127.0.0.1:4222}" --event-log-namespace "bench_$$" >"$3" 2>&1 &
    NODE_PID=$!
    STARTED_PIDS+=("$NODE_PID")
    wait_http "http://127.0.0.1:$2/healthz" "$NODE_PID" "$3"
}

# --- reading wrk's output -------------------------------------------------------------

# Requests per second.
wrk_rps() { awk '/^Requests\/sec:/ { print $2 }' "$1"; }

# Completed requests.
wrk_requests() { awk '/ requests in / { print $1 }' "$1"; }

# The 99th percentile latency from `--latency`, in milliseconds.
wrk_p99_ms() {
    awk '$1 == "99%" {
        value = $2; unit = value; sub(/^[0-9.]+/, "", unit); sub(/[a-z]+$/, "", value)
        if (unit == "us") ms = value / 1000
        else if (unit == "ms") ms = value
        else if (unit == "s") ms = value * 1000
        else if (unit == "m") ms = value * 60000
        else ms = -1
        printf "%.2f\n", ms
    }' "$1"
}

# Non-2xx/3xx responses (0 when wrk printed none).
wrk_bad_responses() {
    awk -F': *' '/Non-2xx or 3xx responses/ { n = $2 } END { print n + 0 }' "$1"
}

# wrk's socket error line, or "none".
wrk_socket_errors() {
    awk '/Socket errors:/ { sub(/^ +/, ""); print; found = 1 } END { if (!found) print "none" }' "$1"
}

# Runs a command in the background and waits for it, so a signal reaches our trap at once
# (bash runs traps only after a foreground child exits) and cleanup stops it too.
run_waited() {
    "$@" &
    local pid=$!
    STARTED_PIDS+=("$pid")
    local status=0
    wait "$pid" || status=$?
    # Forget the finished pid so cleanup can never signal a later process that reuses it.
    local kept=() other
    for other in "${STARTED_PIDS[@]}"; do
        [ "$other" = "$pid" ] || kept+=("$other")
    done
    STARTED_PIDS=("${kept[@]}")
    return "$status"
}

# Divides two decimals: `ratio A B` → A/B with two places.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f\n", a / b; else print "n/a" }'; }
