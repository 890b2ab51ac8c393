#!/usr/bin/env bash
# Side-by-side capacity test: Kea (single- and multi-threaded, best of both) vs hyperdhcp, same
# generator, server pinned to CPU 0 and generator to CPU 1, each in its own network namespace.
# For each server, finds the highest DORA rate with < 1 % loss (bounded steps, fresh server per
# step) and prints a table with the ratio.
#
# Usage (as root): bench/compare.sh            # both
#                  SERVERS="kea" bench/compare.sh
# Needs: kea-dhcp4, target/release/hyperdhcp (cargo build --release -p hyperdhcp) and the
# generator (hyperdhcp bench, or cargo build --release -p hyperdhcp-bench --examples).
# Environment: see search.sh (STEP_SECS, CLIENTS, START_RATE, MAX_RATE, ...), KEA_MT_THREADS (2),
# HDB_OUT (directory for the logs; default a new /tmp/hdb-compare.* directory, kept),
# HISTORY_RETENTION (hyperdhcp's store.history_retention; unset = its default, 30 days),
# EXTRAS=0 to skip the hyperdhcp extras (p99 at half its best rate, renewal search; renew.sh).
#
# Both servers run without per-decision log lines (Kea: severity WARN; hyperdhcp: log_level
# "warn") and without address-conflict probing (Kea 2.2 has none; hyperdhcp's
# [conflict_detection] is switched off here: with it, every relayed OFFER waits for an ICMP
# echo probe, up to 500 ms, on addresses nobody holds).
set -euo pipefail
HDB_ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$HDB_ROOT/bench/netns.sh"
. "$HDB_ROOT/bench/kea.sh"
. "$HDB_ROOT/bench/hyperdhcp.sh"
. "$HDB_ROOT/bench/search.sh"
. "$HDB_ROOT/bench/renew.sh"

SERVERS=${SERVERS:-"kea hyperdhcp"}
KEA_MT_THREADS=${KEA_MT_THREADS:-2}
HDB_OUT=${HDB_OUT:-$(mktemp -d /tmp/hdb-compare.XXXXXX)}
mkdir -p "$HDB_OUT"
HYPERDHCP_BIN=${HYPERDHCP_BIN:-$HDB_ROOT/target/release/hyperdhcp}

hdb_netns_up
hdb_tmpdir WORK

start_kea_st() { hdb_kea_start "$WORK" 0 "$SERVER_CPU"; }
start_kea_mt() { hdb_kea_start "$WORK" "$KEA_MT_THREADS" "$SERVER_CPU"; }

# hyperdhcp with a fresh store (bench/hyperdhcp.sh).
start_hyperdhcp() {
    hdb_hyperdhcp_start "$WORK/hyperdhcp" "${HISTORY_RETENTION:+history_retention = $HISTORY_RETENTION}"
}

STEP_TOOL=gen
declare -A RATE RESULT
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)" >&2
echo "generator: $(hdb_bench_bin); logs in $HDB_OUT" >&2
echo "start $(date -u +%FT%TZ), load average $(cut -d" " -f1-3 /proc/loadavg)" >&2
for s in $SERVERS; do
    case $s in
        kea)
            SERVER_START=start_kea_st; hdb_search kea-st; RATE[kea-st]=$BEST_RATE; RESULT[kea-st]=$BEST_RESULT
            SERVER_START=start_kea_mt; hdb_search kea-mt; RATE[kea-mt]=$BEST_RATE; RESULT[kea-mt]=$BEST_RESULT
            ;;
        hyperdhcp)
            [ -x "$HYPERDHCP_BIN" ] || { echo "missing $HYPERDHCP_BIN" >&2; exit 1; }
            SERVER_START=start_hyperdhcp; hdb_search hyperdhcp; RATE[hyperdhcp]=$BEST_RATE; RESULT[hyperdhcp]=$BEST_RESULT
            if [ "${EXTRAS:-1}" = 1 ] && [ "$BEST_RATE" -gt 0 ]; then
                # Latency at half the highest rate (one fixed-rate step, retried like the others).
                HDB_LABEL=hyperdhcp-half; hdb_step $((BEST_RATE / 2)); HALF_RESULT=$STEP_RESULT
                hdb_renew_search hyperdhcp; RENEW_RATE=$BEST_RATE; RENEW_RESULT=$BEST_RESULT
            fi
            ;;
        *) echo "unknown server $s" >&2; exit 2 ;;
    esac
done

{
    printf '\n| server | highest rate < %s %% loss (DORA/s offered) | achieved leases/s | loss %% | p50 ms | p99 ms |\n' "$MAX_LOSS_PCT"
    printf '|---|---:|---:|---:|---:|---:|\n'
    for k in kea-st kea-mt hyperdhcp; do
        [ -n "${RATE[$k]:-}" ] || continue
        read -r off ach loss p50 p99 <<<"${RESULT[$k]}"
        printf '| %s | %s | %s | %s | %s | %s |\n' "$k" "${RATE[$k]}" "$ach" "$loss" "$p50" "$p99"
    done
    if [ -n "${RATE[hyperdhcp]:-}" ] && [ -n "${RATE[kea-st]:-}" ]; then
        kea_best=${RATE[kea-st]}
        [ "${RATE[kea-mt]}" -gt "$kea_best" ] && kea_best=${RATE[kea-mt]}
        printf '\nratio hyperdhcp / best Kea: %s\n' "$(awk -v a="${RATE[hyperdhcp]}" -v b="$kea_best" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')"
    fi
    if [ -n "${HALF_RESULT:-}" ]; then
        read -r off ach loss p50 p99 <<<"$HALF_RESULT"
        printf '\nhyperdhcp at half its highest rate (%s DORA/s offered): achieved %s/s, loss %s %%, DORA p50 %s ms, p99 %s ms\n' \
            "$off" "$ach" "$loss" "$p50" "$p99"
    fi
    if [ -n "${RENEW_RATE:-}" ]; then
        read -r off ach loss p50 p99 <<<"$RENEW_RESULT"
        printf 'hyperdhcp renewals: highest rate < %s %% renewal loss %s/s (achieved %s/s, loss %s %%, RENEW->ACK p50 %s ms, p99 %s ms, with %s DORA/s alongside); renewals / DORA rate: %s\n' \
            "$MAX_LOSS_PCT" "$RENEW_RATE" "$ach" "$loss" "$p50" "$p99" "$RENEW_DORA_RATE" \
            "$(awk -v a="$RENEW_RATE" -v b="${RATE[hyperdhcp]:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')"
    fi
    printf '\nfinished %s, load average %s\n' "$(date -u +%FT%TZ)" "$(cut -d" " -f1-3 /proc/loadavg)"
} | tee "$HDB_OUT/table.md"
