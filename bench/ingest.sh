#!/usr/bin/env bash
# Event ingestion throughput: POST /api/v1/events with wrk, one new lead per request (its own
# Idempotency-Key and customer_id), against `tributary demo` on a fresh SQLite file. An event
# is durable before its 201, so every 201 wrk counted must be a stored event: the script
# checks that against tributary_events_ingested_total and fails if an acknowledged event is
# missing.
#
# Usage: bench/ingest.sh
# Knobs (environment): THREADS=2 CONNECTIONS=64 DURATION=10s
#                      ATTRIBUTED=1 (each lead carries a real click id: attribution, binding,
#                                    commission and ledger posting on every event)
#                      BACKEND=postgres (PostgreSQL instead of SQLite; PG_URL names the server)
#                      EVENT_LOG=1 (with BACKEND=postgres: tier 2, an edge node answers 202 once
#                                   NATS JetStream has the event, a worker stores it; NATS_URL)
#                      TRIBUTARY_BIN=path (skip the build) KEEP_WORK_DIR=1 (keep logs)
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-64}"
DURATION="${DURATION:-10s}"
ATTRIBUTED="${ATTRIBUTED:-0}"
EVENT_LOG="${EVENT_LOG:-0}"

need_commands wrk:wrk curl:curl
setup_workdir
build_tributary
start_demo

api_key="$(demo_value 'api key')"
case "$api_key" in trb_*) ;; *) die "the demo's api key does not look like trb_...: $api_key" ;; esac
base="http://$TRIBUTARY_ADDR"
# Where events are stored and counted: the demo node, or (tier 2) the worker.
store_addr="$TRIBUTARY_ADDR"
first_status=201
if [ "$EVENT_LOG" = 1 ]; then
    [ "${BACKEND:-sqlite}" = postgres ] || die "EVENT_LOG=1 needs BACKEND=postgres"
    edge_port="$(free_port)"
    worker_port="$(free_port)"
    log "tier 2: edge on 127.0.0.1:$edge_port, worker on 127.0.0.1:$worker_port (NATS namespace bench_$$)"
    start_log_node edge "$edge_port" "$WORK_DIR/edge.log"
    start_log_node worker "$worker_port" "$WORK_DIR/worker.log"
    base="http://127.0.0.1:$edge_port"
    store_addr="127.0.0.1:$worker_port"
    first_status=202
fi
run_id="$(date +%s)-$$"

click_id=""
if [ "$ATTRIBUTED" = 1 ]; then
    link="$(demo_value link)"
    location="$(curl -s -o /dev/null -w '%{redirect_url}' -H "User-Agent: $BROWSER_UA" "$link")"
    click_id="$(printf '%s' "$location" | sed -n 's/.*[?&]tclid=\([^&#]*\).*/\1/p')"
    [ -n "$click_id" ] || die "no tclid in the redirect from $link ($location)"
    log "every lead carries click id $click_id"
fi

# Smoke test of the contract before measuring: 201 first, 200 + idempotent-replayed on replay.
post_event() { # key body → prints "status replayed-header"
    curl -s -o /dev/null -D "$WORK_DIR/headers.txt" -w '%{http_code}' \
        -H "Authorization: Bearer $api_key" -H 'Content-Type: application/json' \
        -H "Idempotency-Key: $1" --data "$2" "$base/api/v1/events"
}
smoke_body="{\"type\":\"lead\",\"customer_id\":\"cus-smoke-$run_id\"}"
status="$(post_event "smoke-$run_id" "$smoke_body")"
[ "$status" = "$first_status" ] || die "first POST /api/v1/events answered $status, not $first_status"
# Tier 2: the replay answers 200 once the worker has stored the first.
for _ in $(seq 1 100); do
    status="$(post_event "smoke-$run_id" "$smoke_body")"
    [ "$status" = 200 ] && break
    sleep 0.1
done
[ "$status" = 200 ] && grep -qi '^idempotent-replayed: true' "$WORK_DIR/headers.txt" ||
    die "replay answered $status without idempotent-replayed: true"

ingested_before="$(metric_at "$store_addr" tributary_events_ingested_total)"
groups_before="$(metric_at "$store_addr" tributary_ingest_groups_total)"
replayed_before="$(metric_at "$store_addr" tributary_events_replayed_total)"

out="$WORK_DIR/wrk-ingest.txt"
echo
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency -s bench/ingest.lua, $(nproc) CPUs, attributed=$ATTRIBUTED"
run_waited wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$BENCH_DIR/ingest.lua" \
    "$base/api/v1/events" -- "$api_key" "$run_id" ${click_id:+"$click_id"} >"$out" 2>"$WORK_DIR/wrk-ingest.err"

count() { awk -v name="$1" '$1 == name { print $2 }' "$out"; }
created="$(($(count status_201) + $(count status_202)))"
elapsed_seconds="$(awk '/ requests in / {
    d = $4; sub(/,$/, "", d)
    if (d ~ /ms$/) { sub(/ms$/, "", d); d = d / 1000 }
    else if (d ~ /m$/) { sub(/m$/, "", d); d = d * 60 }
    else sub(/s$/, "", d)
    print d }' "$out")"
events_per_second="$(awk -v n="$created" -v s="$elapsed_seconds" 'BEGIN { printf "%.0f", n / s }')"

printf 'ingest: %s events/s (201s and 202s / %ss)   p99 %s ms   wrk req/s %s\n' \
    "$events_per_second" "$elapsed_seconds" "$(wrk_p99_ms "$out")" "$(wrk_rps "$out")"
printf 'responses: 201+202=%s 200=%s 4xx=%s 5xx=%s other=%s   non-2xx (wrk)=%s   socket errors: %s\n' \
    "$created" "$(count status_200)" "$(count status_4xx)" "$(count status_5xx)" \
    "$(count status_other)" "$(wrk_bad_responses "$out")" "$(wrk_socket_errors "$out")"
[ -s "$WORK_DIR/wrk-ingest.err" ] && sed 's/^/wrk: /' "$WORK_DIR/wrk-ingest.err"

# Requests still in flight when wrk stops are processed (and stored) but not counted by wrk,
# so stored may exceed the 201s by at most one per connection; it may never be lower.
# Tier 2: the worker may still be catching up; wait (bounded) until it has them all.
stored_now() { echo $(($(metric_at "$store_addr" tributary_events_ingested_total) - ingested_before)); }
if [ "$EVENT_LOG" = 1 ]; then
    drain_started="$(date +%s.%N)"
    for _ in $(seq 1 1200); do
        [ "$(stored_now)" -ge "$created" ] && break
        sleep 0.1
    done
    printf 'worker caught up %.1f s after wrk stopped\n' \
        "$(awk -v a="$drain_started" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')"
fi
stored="$(stored_now)"
replayed=$(($(metric_at "$store_addr" tributary_events_replayed_total) - replayed_before))
in_flight=$((stored - created))
printf 'stored during the run (tributary_events_ingested_total): %s; replayed: %s; stored - 201s = %s\n' \
    "$stored" "$replayed" "$in_flight"
groups_after="$(metric_at "$store_addr" tributary_ingest_groups_total)"
if [ "$groups_before" != missing ] && [ "$groups_after" -gt "$groups_before" ]; then
    groups=$((groups_after - groups_before))
    printf 'durable commits (tributary_ingest_groups_total): %s, %s events per commit\n' \
        "$groups" "$(ratio "$stored" "$groups")"
fi
latest="$(curl -fsS -H "Authorization: Bearer $api_key" "$base/api/v1/events?limit=1")"
case "$latest" in *"cus-bench-$run_id-"*) echo "GET /api/v1/events?limit=1 shows a benchmark event: ok" ;;
    *) echo "GET /api/v1/events?limit=1 answered: $latest" ;; esac

if [ "$stored" -lt "$created" ]; then
    die "acknowledged events are missing: $created answered 201, $stored stored"
fi
if [ "$in_flight" -gt "$CONNECTIONS" ]; then
    die "$stored stored but only $created answered 201 (more than $CONNECTIONS in flight)"
fi
echo "check: every 201 is a stored event (extra stored = requests in flight at wrk's stop, <= $CONNECTIONS)"
