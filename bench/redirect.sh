#!/usr/bin/env bash
# Tracked redirect throughput: tributary's GET /r/{code} against nginx answering a fixed
# `return 302`, both on loopback, measured with wrk in interleaved runs
# (nginx, tributary, nginx, tributary, ...). Prints requests/s, p99 latency and the ratio
# tributary/nginx, then tributary's click counters to show the clicks were captured.
#
# Usage: bench/redirect.sh
# Knobs (environment): THREADS=2 CONNECTIONS=64 DURATION=10s ROUNDS=2 NGINX_WORKERS=1
#                      TRIBUTARY_BIN=path (skip the build) KEEP_WORK_DIR=1 (keep logs)
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-64}"
DURATION="${DURATION:-10s}"
ROUNDS="${ROUNDS:-2}"
NGINX_WORKERS="${NGINX_WORKERS:-1}"

need_commands wrk:wrk nginx:nginx-light curl:curl
setup_workdir
build_tributary
start_demo

link="$(demo_value link)"
code="${link##*/r/}"
[ -n "$code" ] && [ "$code" != "$link" ] || die "cannot read a link code from '$link'"
tributary_url="http://$TRIBUTARY_ADDR/r/$code"

# nginx: one fixed 302, no access log, everything under the work directory.
nginx_port="$(free_port)"
nginx_url="http://127.0.0.1:$nginx_port/r/$code"
mkdir -p "$WORK_DIR/nginx"
cat >"$WORK_DIR/nginx/nginx.conf" <<EOF
worker_processes $NGINX_WORKERS;
daemon off;
pid $WORK_DIR/nginx/nginx.pid;
error_log $WORK_DIR/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WORK_DIR/nginx/client_body;
    proxy_temp_path $WORK_DIR/nginx/proxy;
    fastcgi_temp_path $WORK_DIR/nginx/fastcgi;
    uwsgi_temp_path $WORK_DIR/nginx/uwsgi;
    scgi_temp_path $WORK_DIR/nginx/scgi;
    server {
        listen 127.0.0.1:$nginx_port;
        location /r/ { return 302 https://example.com/landing?tclid=x; }
    }
}
EOF
log "starting nginx on 127.0.0.1:$nginx_port"
"$(nginx_binary)" -p "$WORK_DIR/nginx" -e "$WORK_DIR/nginx/error.log" \
    -c "$WORK_DIR/nginx/nginx.conf" >"$WORK_DIR/nginx/stdout.log" 2>&1 &
nginx_pid=$!
STARTED_PIDS+=("$nginx_pid")

# Both must answer 302 before anything is measured (wait_http follows no redirect: -f
# accepts 3xx).
wait_http "$nginx_url" "$nginx_pid" "$WORK_DIR/nginx/error.log"
for url in "$nginx_url" "$tributary_url"; do
    status="$(curl -s -o /dev/null -w '%{http_code}' -H "User-Agent: $BROWSER_UA" "$url")"
    [ "$status" = 302 ] || die "$url answered $status, not 302"
done

clicks_before="$(metric tributary_clicks_total)"

run_wrk() { # name url round
    local out="$WORK_DIR/wrk-$1-$3.txt"
    run_waited wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency \
        -H "User-Agent: $BROWSER_UA" "$2" >"$out"
    printf '%-10s round %d: %10s req/s   p99 %7s ms   non-3xx %s   socket errors: %s\n' \
        "$1" "$3" "$(wrk_rps "$out")" "$(wrk_p99_ms "$out")" "$(wrk_bad_responses "$out")" \
        "$(wrk_socket_errors "$out")"
}

echo
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency, $(nproc) CPUs, interleaved"
nginx_rps_total=0
tributary_rps_total=0
tributary_requests=0
for round in $(seq 1 "$ROUNDS"); do
    run_wrk nginx "$nginx_url" "$round"
    run_wrk tributary "$tributary_url" "$round"
    n="$WORK_DIR/wrk-nginx-$round.txt"
    t="$WORK_DIR/wrk-tributary-$round.txt"
    nginx_rps_total="$(awk -v a="$nginx_rps_total" -v b="$(wrk_rps "$n")" 'BEGIN { print a + b }')"
    tributary_rps_total="$(awk -v a="$tributary_rps_total" -v b="$(wrk_rps "$t")" 'BEGIN { print a + b }')"
    tributary_requests=$((tributary_requests + $(wrk_requests "$t")))
    printf '%-10s round %d: tributary/nginx = %s\n' ratio "$round" "$(ratio "$(wrk_rps "$t")" "$(wrk_rps "$n")")"
done
echo
printf 'mean req/s: nginx %.0f, tributary %.0f, tributary/nginx = %s\n' \
    "$(awk -v a="$nginx_rps_total" -v r="$ROUNDS" 'BEGIN { print a / r }')" \
    "$(awk -v a="$tributary_rps_total" -v r="$ROUNDS" 'BEGIN { print a / r }')" \
    "$(ratio "$tributary_rps_total" "$nginx_rps_total")"

# The click writer drains on a short tick; give it a moment to catch up before reading.
for _ in $(seq 1 100); do
    accepted="$(metric tributary_clicks_total)"
    settled="$(($(metric tributary_clicks_written_total) + $(metric tributary_clicks_dropped_total)))"
    [ "$settled" -ge "$accepted" ] && break
    sleep 0.1
done
echo
echo "tributary /metrics after the runs (wrk completed $tributary_requests redirects; clicks before: $clicks_before):"
for name in tributary_clicks_total tributary_clicks_written_total tributary_clicks_dropped_total \
    tributary_clicks_bot_total tributary_click_write_errors_total; do
    printf '  %-36s %s\n' "$name" "$(metric "$name")"
done
