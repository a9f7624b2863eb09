#!/usr/bin/env bash
# Redirect throughput by click sink: the embedded sink (the click log's writer appends
# batches to the store) against the NATS JetStream sink (tier 2: the edge publishes batches
# and a worker stores them), both on one PostgreSQL database, measured with wrk in
# interleaved runs (embedded, nats, embedded, nats...). Prints requests/s, p99 and the ratio
# nats/embedded, then drains the stream with a worker and checks every published click
# reached PostgreSQL.
#
# Usage: bench/redirect-sinks.sh
# Knobs (environment): THREADS=2 CONNECTIONS=64 DURATION=10s ROUNDS=2
#                      PG_URL=postgres://postgres@127.0.0.1:5432 NATS_URL=nats://127.0.0.1:4222
#                      TRIBUTARY_BIN=path (skip the build) KEEP_WORK_DIR=1 (keep logs)
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-64}"
DURATION="${DURATION:-10s}"
ROUNDS="${ROUNDS:-2}"
NATS_URL="${NATS_URL:-nats://127.0.0.1:4222}"
BACKEND=postgres

need_commands wrk:wrk curl:curl psql:postgresql-client
setup_workdir
build_tributary
start_demo   # on a fresh PostgreSQL database: the embedded sink
embedded_addr="$TRIBUTARY_ADDR"
embedded_pid="$TRIBUTARY_PID"
link="$(demo_value link)"
code="${link##*/r/}"

edge_port="$(free_port)"
log "starting the NATS edge on 127.0.0.1:$edge_port (namespace bench_$$, no worker while measuring)"
start_log_node edge "$edge_port" "$WORK_DIR/edge.log"
edge_pid="$NODE_PID"
edge_addr="127.0.0.1:$edge_port"


run_wrk() { # name addr round
    local out="$WORK_DIR/wrk-$1-$3.txt"
    run_waited wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency \
        -H "User-Agent: $BROWSER_UA" "http://$2/r/$code" >"$out"
    printf '%-9s round %d: %10s req/s   p99 %7s ms   non-3xx %s   socket errors: %s\n' \
        "$1" "$3" "$(wrk_rps "$out")" "$(wrk_p99_ms "$out")" "$(wrk_bad_responses "$out")" \
        "$(wrk_socket_errors "$out")"
}

echo
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency, $(nproc) CPUs, PostgreSQL, interleaved"
embedded_total=0
nats_total=0
for round in $(seq 1 "$ROUNDS"); do
    run_wrk embedded "$embedded_addr" "$round"
    run_wrk nats "$edge_addr" "$round"
    e="$(wrk_rps "$WORK_DIR/wrk-embedded-$round.txt")"
    n="$(wrk_rps "$WORK_DIR/wrk-nats-$round.txt")"
    embedded_total="$(awk -v a="$embedded_total" -v b="$e" 'BEGIN { print a + b }')"
    nats_total="$(awk -v a="$nats_total" -v b="$n" 'BEGIN { print a + b }')"
    printf '%-9s round %d: nats/embedded = %s\n' ratio "$round" "$(ratio "$n" "$e")"
done
echo
printf 'mean req/s: embedded %.0f, nats %.0f, nats/embedded = %s\n' \
    "$(awk -v a="$embedded_total" -v r="$ROUNDS" 'BEGIN { print a / r }')" \
    "$(awk -v a="$nats_total" -v r="$ROUNDS" 'BEGIN { print a / r }')" \
    "$(ratio "$nats_total" "$embedded_total")"

# Let the edge publish what it buffered, then drain the stream with a worker.
for _ in $(seq 1 100); do
    accepted="$(metric_at "$edge_addr" tributary_clicks_total)"
    settled="$(($(metric_at "$edge_addr" tributary_clicks_published_total) + $(metric_at "$edge_addr" tributary_clicks_dropped_total) + $(metric_at "$edge_addr" tributary_click_write_errors_total)))"
    [ "$settled" -ge "$accepted" ] && break
    sleep 0.1
done
published="$(metric_at "$edge_addr" tributary_clicks_published_total)"
echo
echo "edge: accepted $(metric_at "$edge_addr" tributary_clicks_total), published to JetStream $published, dropped $(metric_at "$edge_addr" tributary_clicks_dropped_total)"
worker_port="$(free_port)"
log "draining with a worker on 127.0.0.1:$worker_port"
start_log_node worker "$worker_port" "$WORK_DIR/worker.log"
worker_pid="$NODE_PID"
edge_link_id="$(psql "$BENCH_DATABASE_URL" -tAc "SELECT id FROM links WHERE code = '$code'")"
# The embedded node wrote its clicks itself; count the edge's through the worker's metric.
for _ in $(seq 1 600); do
    written="$(metric_at "127.0.0.1:$worker_port" tributary_clicks_written_total)"
    [ "$written" -ge "$published" ] && break
    sleep 0.2
done
echo "worker: wrote $written of $published published clicks to PostgreSQL (link $edge_link_id)"
[ "$written" -eq "$published" ] || die "the worker wrote $written clicks, expected $published"
kill "$edge_pid" "$worker_pid" "$embedded_pid" 2>/dev/null || true
