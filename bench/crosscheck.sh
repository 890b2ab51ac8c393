#!/usr/bin/env bash
# Cross-check of the generator against perfdhcp: both search for Kea's (single-threaded) highest
# DORA rate with < 1 % loss under identical conditions (same namespaces, same CPU pinning, same
# step length and client count, fresh Kea per step). A quick doubling ladder with the generator
# brackets Kea's capacity, then both tools climb the same 5 % ladder through the bracket, rung by
# rung interleaved. The two results should agree within 10 %.
#
# Usage (as root): bench/crosscheck.sh
# Environment: see search.sh; HDB_OUT as in compare.sh.
set -euo pipefail
HDB_ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$HDB_ROOT/bench/netns.sh"
. "$HDB_ROOT/bench/kea.sh"
. "$HDB_ROOT/bench/search.sh"

HDB_OUT=${HDB_OUT:-$(mktemp -d /tmp/hdb-crosscheck.XXXXXX)}
mkdir -p "$HDB_OUT"

hdb_netns_up
hdb_tmpdir WORK
start_kea_st() { hdb_kea_start "$WORK" 0 "$SERVER_CPU"; }
SERVER_START=start_kea_st
echo "generator: $(hdb_bench_bin); logs in $HDB_OUT" >&2
echo "start $(date -u +%FT%TZ), load average $(cut -d" " -f1-3 /proc/loadavg)" >&2

# Bracket: double until the generator fails (one try per step).
STEP_TOOL=gen; HDB_LABEL=bracket; rate=$START_RATE
while :; do
    STEP_TRIES=1 hdb_step "$rate"
    [ "$STEP_PASS" = 1 ] && [ "$rate" -lt "$MAX_RATE" ] || break
    rate=$((rate * 2))
done
# Ladder from 80 % of the last passing bracket rate to 130 % of the failing one.
lo=$((rate * 4 / 10)); [ "$lo" -lt 100 ] && lo=100
hdb_ladder_pair kea-st "$lo" $((rate * 13 / 10))

{
    printf '\n| tool vs Kea 2.2 single-threaded | sustained: highest rung < %s %% loss before the first failed rung (DORA/s) | achieved leases/s | loss %% | peak: highest passing rung |\n' "$MAX_LOSS_PCT"
    printf '|---|---:|---:|---:|---:|\n'
    read -r _ ach loss _ _ <<<"$GEN_RESULT";  printf '| hyperdhcp bench | %s | %s | %s | %s |\n' "$GEN_RATE" "$ach" "$loss" "$GEN_PEAK"
    read -r _ ach loss _ _ <<<"$PERF_RESULT"; printf '| perfdhcp | %s | %s | %s | %s |\n' "$PERF_RATE" "$ach" "$loss" "$PERF_PEAK"
    awk -v a="$GEN_RATE" -v b="$PERF_RATE" 'BEGIN {
        if (b == 0) { print "\nperfdhcp found no passing rate"; exit }
        d = (a - b) * 100 / b; printf "\nsustained-rate difference: %+.1f %% (%s)\n", d, (d < 10 && d > -10) ? "within 10 %" : "NOT within 10 %" }'
    awk -v a="$GEN_PEAK" -v b="$PERF_PEAK" 'BEGIN { if (b > 0) printf "peak-rate difference: %+.1f %%\n", (a - b) * 100 / b }'
    printf '\nfinished %s, load average %s\n' "$(date -u +%FT%TZ)" "$(cut -d" " -f1-3 /proc/loadavg)"
} | tee "$HDB_OUT/crosscheck.md"
