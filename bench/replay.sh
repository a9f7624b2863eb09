#!/usr/bin/env bash
# Plan simulation throughput: `tributary replay` of a generated history (the example plan as
# current, a proposed plan with marginal revenue tiers) on SQLite, against a reference
# measured in the same run: the sqlite3 shell reading every column replay reads, in the same
# storage order. The ratio says what the engine, the sort and the comparison cost on top of
# reading the rows.
#
# Usage: bench/replay.sh
# Knobs (environment): EVENTS=1000000 (10000000 for the issue's goal: <= 30 s)
#                      DB=path (reuse a generated database; default: generate into WORK_DIR,
#                           or reuse $TMPDIR/tributary-replay-$EVENTS.db when it exists)
#                      TRIBUTARY_BIN=path (skip the build) KEEP_WORK_DIR=1
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

EVENTS="${EVENTS:-1000000}"
need_commands sqlite3:sqlite3 bc:bc
setup_workdir
build_tributary

DB="${DB:-${TMPDIR:-/tmp}/tributary-replay-$EVENTS.db}"
if [ ! -s "$DB" ]; then
    log "generating $EVENTS events into $DB (once; later runs reuse it)"
    "$TRIBUTARY_BIN" --database "sqlite://$DB" generate --events "$EVENTS" 2>"$WORK_DIR/generate.log" | tail -1
fi

cat >"$WORK_DIR/proposed.json" <<'PLAN'
{"rules": [
  {"id": "lead", "trigger": "lead", "reward": {"type": "flat", "amount": {"amount_minor": 300, "currency": "USD"}}},
  {"id": "sales", "trigger": "any_sale", "recurring": {"months": 12},
   "reward": {"type": "tiered", "measure": "revenue", "period": "month", "mode": "marginal",
              "tiers": [{"from": 0, "rate_bp": 1500}, {"from": 500000, "rate_bp": 2500}]}}
]}
PLAN

seconds_of() { # command... -> elapsed seconds on stdout, command output discarded
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s.%N)
    echo "$end - $start" | bc -l
}

# Warm the page cache the same way for both sides.
cat "$DB" >/dev/null

scan=$(seconds_of sqlite3 "$DB" "SELECT count(*), sum(length(id) + length(customer_id) + length(kind) + coalesce(amount_minor, 0) % 7 + length(coalesce(currency, '')) + occurred_at % 7 + length(coalesce(invoice_id, '')) + length(coalesce(milestone, '')) + length(coalesce(metadata_json, ''))) FROM events")
log "reference: sqlite3 reads the columns in ${scan} s"

"$TRIBUTARY_BIN" --database "sqlite://$DB" replay --plan "$WORK_DIR/proposed.json" \
    --from 2000-01-01 --to 2100-12-31 >"$WORK_DIR/report.txt" 2>"$WORK_DIR/replay.log"
line=$(grep 'replayed' "$WORK_DIR/replay.log")
replay=$(echo "$line" | sed -E 's/.* in ([0-9.]+) s .*/\1/')
head -8 "$WORK_DIR/report.txt"
echo
echo "$line"
printf 'replay / raw scan: %.2f (replay %s s, scan %s s)\n' "$(echo "$replay / $scan" | bc -l)" "$replay" "$scan"
