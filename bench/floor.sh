#!/usr/bin/env bash
# The test bed's own floor: the same generator runs against a responder that does no work
# (crates/bench/examples/null_responder.rs: answers at once, no lease table, no disk) and against
# hyperdhcp, alternately, at the same fixed rates. What the null responder shows (latency, and
# the highest rate the generator reaches at all) is what the kernel, the veth pair, the VM's
# scheduling and the generator add; the rest is the server's.
#
# Usage (as root, after cargo build --release -p hyperdhcp and
#        cargo build --release -p hyperdhcp-bench --example null_responder):
#   bench/floor.sh                        # RATES="2000 28000", RUNS=3, plus a ceiling search
#   RATES=28000 RUNS=5 SEARCH=0 bench/floor.sh
# Environment: RATES, RUNS, SEARCH (1: also find the null responder's highest rate < 1 % loss),
# HDB_OUT (logs; kept), STEP_SECS and the other search.sh tunables.
set -euo pipefail
HDB_ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$HDB_ROOT/bench/netns.sh"
. "$HDB_ROOT/bench/search.sh"
. "$HDB_ROOT/bench/hyperdhcp.sh"

RATES=${RATES:-"2000 28000"}
RUNS=${RUNS:-3}
SEARCH=${SEARCH:-1}
HDB_OUT=${HDB_OUT:-$(mktemp -d /tmp/hdb-floor.XXXXXX)}
mkdir -p "$HDB_OUT"
HYPERDHCP_BIN=${HYPERDHCP_BIN:-$HDB_ROOT/target/release/hyperdhcp}
NULL_BIN=${NULL_BIN:-$HDB_ROOT/target/release/examples/null_responder}
for b in "$HYPERDHCP_BIN" "$NULL_BIN"; do
    [ -x "$b" ] || { echo "missing $b (build it first, see the usage above)" >&2; exit 1; }
done

hdb_netns_up
hdb_tmpdir WORK

start_null() {
    hdb_spawn "$HDB_SRV_NS" "$SERVER_CPU" "$WORK/null.log" \
        "$NULL_BIN" --listen "$HDB_SRV_ADDR" --seconds $((STEP_SECS + 60))
    hdb_wait_udp67 "$HDB_SRV_NS"
}

# hyperdhcp as in compare.sh (bench/hyperdhcp.sh).
start_hyperdhcp() { hdb_hyperdhcp_start "$WORK/h"; }

# legs LOG: "offered achieved loss | D→O p50 p99 | R→A p50 p99 | DORA p50 p99" of one run.
legs() {
    python3 - "$1" <<'PY'
import json, sys
try:
    r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
except Exception:
    print("| failed | | | | | | | | |"); sys.exit()
d, a = r["discover_offer"], r["request_ack"]
print(f"| {r['offered_per_s']:.0f} | {r['achieved_per_s']:.0f} | {r['loss_pct']:.2f} | "
      f"{d['p50_ms']:.3f} | {d['p99_ms']:.3f} | {a['p50_ms']:.3f} | {a['p99_ms']:.3f} | "
      f"{r['p50_ms']:.3f} | {r['p99_ms']:.3f} |")
PY
}

echo "machine: $(nproc) CPUs, kernel $(uname -r); start $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "server CPU $SERVER_CPU, generator CPU $GEN_CPU, ${STEP_SECS}s per run, logs in $HDB_OUT"
echo
echo "| rate/s | run | server | offered/s | achieved/s | loss % | D→O p50 | D→O p99 | R→A p50 | R→A p99 | DORA p50 | DORA p99 | steal ticks |"
echo "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for rate in $RATES; do
    for i in $(seq "$RUNS"); do
        for s in null hyperdhcp; do
            "start_$s"
            pid=$HDB_LAST_PID
            steal0=$(awk '/^cpu /{print $9}' /proc/stat)
            run_gen "$rate" "$HDB_OUT/$s-$rate-$i.json" >/dev/null
            steal1=$(awk '/^cpu /{print $9}' /proc/stat)
            echo "| $rate | $i | $s $(legs "$HDB_OUT/$s-$rate-$i.json") $((steal1 - steal0)) |"
            hdb_stop "$pid"
        done
    done
done

if [ "$SEARCH" = 1 ]; then
    echo
    STEP_TOOL=gen
    SERVER_START=start_null
    hdb_search null >&2
    echo "null responder: highest rate < 1 % loss $BEST_RATE/s ($BEST_RESULT): the generator's ceiling on this bed"
fi
echo "end $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
