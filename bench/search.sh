#!/usr/bin/env bash
# Rate search for the benchmark scripts (source after netns.sh): finds the highest offered
# DORA rate a server sustains with < 1 % loss, with a fresh server for every step.
#
# Caller provides:
#   SERVER_START  name of a function starting the server (fresh state) in $HDB_SRV_NS;
#                 it must set HDB_LAST_PID.
#   STEP_TOOL     "gen" (our generator) or "perfdhcp".
# Tunables (environment): STEP_SECS (5), CLIENTS (60000), MAX_LOSS_PCT (1), START_RATE (1000),
# MAX_RATE (150000), SERVER_CPU (0), GEN_CPU (1), STEP_TRIES (2), BENCH_BIN (generator command),
# GEN_ARGS (extra generator options, e.g. "--batch 1").

STEP_SECS=${STEP_SECS:-5}
CLIENTS=${CLIENTS:-60000}
MAX_LOSS_PCT=${MAX_LOSS_PCT:-1}
START_RATE=${START_RATE:-1000}
MAX_RATE=${MAX_RATE:-150000}
SERVER_CPU=${SERVER_CPU:-0}
STEP_TRIES=${STEP_TRIES:-2}
GEN_CPU=${GEN_CPU:-1}
# A step passes only when the tool really offered at least this share of the target rate.
MIN_OFFERED_SHARE=0.95

# hdb_bench_bin: the generator command line (the CLI subcommand when wired, else the example).
hdb_bench_bin() {
    if [ -n "${BENCH_BIN:-}" ]; then
        echo "$BENCH_BIN"
    elif [ -x "$HDB_ROOT/target/release/hyperdhcp" ] && "$HDB_ROOT/target/release/hyperdhcp" bench --help >/dev/null 2>&1; then
        echo "$HDB_ROOT/target/release/hyperdhcp bench"
    else
        echo "$HDB_ROOT/target/release/examples/bench"
    fi
}

# run_gen RATE LOG: one bounded generator run; prints "offered achieved loss p50 p99".
run_gen() {
    local rate=$1 log=$2 count
    count=$((rate * STEP_SECS))
    # shellcheck disable=SC2046
    ip netns exec "$HDB_CLI_NS" taskset -c "$GEN_CPU" timeout $((STEP_SECS + 30)) $(hdb_bench_bin) \
        --local "$HDB_CLI_ADDR" --server "$HDB_SRV_ADDR" --rate "$rate" --duration "$STEP_SECS" \
        --count "$count" --clients "$CLIENTS" --timeout-ms 1000 --json ${GEN_ARGS:-} >"$log" 2>&1 || true
    python3 - "$log" <<'PY'
import json, sys
try:
    r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
    print(f"{r['offered_per_s']:.0f} {r['achieved_per_s']:.0f} {r['loss_pct']:.3f} {r['p50_ms']:.3f} {r['p99_ms']:.3f}")
except Exception:
    print("0 0 100 0 0")
PY
}

# run_perfdhcp RATE LOG: one bounded perfdhcp run (relay agent on cli0, like our relay mode);
# prints "offered achieved loss p50 p99" (perfdhcp reports no percentiles: avg delays instead).
run_perfdhcp() {
    local rate=$1 log=$2
    ip netns exec "$HDB_CLI_NS" taskset -c "$GEN_CPU" timeout $((STEP_SECS + 30)) \
        perfdhcp -4 -l "$HDB_CLI_IF" -r "$rate" -R "$CLIENTS" -p "$STEP_SECS" -W 1000000 -g single \
        "$HDB_SRV_ADDR" >"$log" 2>&1 || true
    python3 - "$log" "$STEP_SECS" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
secs = float(sys.argv[2])
def section(name):
    m = re.search(r"Statistics for: " + name + r"\*\*\*(.*?)(\*\*\*|\Z)", text, re.S)
    return m.group(1) if m else ""
def num(sec, key):
    m = re.search(key + r":\s*([0-9.]+)", sec)
    return float(m.group(1)) if m else 0.0
do, ra = section("DISCOVER-OFFER"), section("REQUEST-ACK")
sent, acks = num(do, "sent packets"), num(ra, "received packets")
loss = (sent - acks) * 100.0 / sent if sent else 100.0
print(f"{sent/secs:.0f} {acks/secs:.0f} {loss:.3f} {num(do, 'avg delay') + num(ra, 'avg delay'):.3f} 0")
PY
}

# hdb_step RATE: one load step, tried up to STEP_TRIES times until it passes (the machine is
# shared, a transient stall should not end a search); sets STEP_PASS (0/1) and STEP_RESULT.
hdb_step() {
    local try
    for try in $(seq "$STEP_TRIES"); do
        hdb_step_once "$1" "$try"
        [ "$STEP_PASS" = 1 ] && return 0
    done
    return 0
}

# hdb_step_once RATE TRY: fresh server, one load step; sets STEP_PASS (0/1) and STEP_RESULT.
hdb_step_once() {
    local rate=$1 log
    log="$HDB_OUT/$HDB_LABEL-$STEP_TOOL-$rate-$2.log"
    "$SERVER_START"
    local pid=$HDB_LAST_PID
    if [ "$STEP_TOOL" = perfdhcp ]; then
        STEP_RESULT=$(run_perfdhcp "$rate" "$log")
    else
        STEP_RESULT=$(run_gen "$rate" "$log")
    fi
    hdb_stop "$pid"
    STEP_PASS=$(echo "$STEP_RESULT" | awk -v r="$rate" -v max="$MAX_LOSS_PCT" -v share="$MIN_OFFERED_SHARE" \
        '{ print ($3 < max && $1 >= r * share) ? 1 : 0 }')
    printf '  %-10s %-9s rate %7d: offered %7s achieved %7s loss %7s%% p50 %7s p99 %7s  %s\n' \
        "$HDB_LABEL" "$STEP_TOOL" "$rate" $STEP_RESULT "$([ "$STEP_PASS" = 1 ] && echo ok || echo FAIL)" >&2
    echo "$HDB_LABEL $STEP_TOOL $rate $STEP_RESULT $STEP_PASS" >>"$HDB_OUT/steps.txt"
}

# hdb_search LABEL: doubling ladder from START_RATE until a step fails, then bisection until
# the bracket is within 5 % (or 100/s). Sets BEST_RATE and BEST_RESULT (of the best passing step).
hdb_search() {
    HDB_LABEL=$1
    local good=0 bad=0 rate=$START_RATE
    BEST_RESULT="0 0 100 0 0"
    while :; do
        hdb_step "$rate"
        if [ "$STEP_PASS" = 1 ]; then
            good=$rate; BEST_RESULT=$STEP_RESULT
            [ "$rate" -ge "$MAX_RATE" ] && break
            rate=$((rate * 2)); [ "$rate" -gt "$MAX_RATE" ] && rate=$MAX_RATE
        else
            bad=$rate; break
        fi
    done
    while [ "$bad" -gt 0 ] && [ $(((bad - good) * 100)) -gt $((5 * good)) ] && [ $((bad - good)) -gt 100 ]; do
        rate=$(((good + bad) / 2))
        hdb_step "$rate"
        if [ "$STEP_PASS" = 1 ]; then good=$rate; BEST_RESULT=$STEP_RESULT; else bad=$rate; fi
    done
    BEST_RATE=$good
}

# hdb_ladder_pair LABEL LO HI: both tools (gen, perfdhcp) on the same geometric ladder of rates
# (5 % apart) from LO to HI, interleaved rung by rung so background load hits both alike. A tool
# stops after two consecutive failed rungs. Sets GEN_RATE/GEN_RESULT and PERF_RATE/PERF_RESULT
# (the highest rung passed before the tool's first failed rung: the sustained rate, as a plain
# ladder would stop) and GEN_PEAK/PERF_PEAK (the highest rung passed at all, which a lucky quiet
# moment on a shared machine can lift).
hdb_ladder_pair() {
    HDB_LABEL=$1
    local rate=$2 hi=$3 gen_fails=0 perf_fails=0
    GEN_RATE=0; PERF_RATE=0; GEN_RESULT="0 0 100 0 0"; PERF_RESULT="0 0 100 0 0"
    GEN_PEAK=0; PERF_PEAK=0
    local gen_failed=0 perf_failed=0
    while [ "$rate" -le "$hi" ] && { [ "$gen_fails" -lt 2 ] || [ "$perf_fails" -lt 2 ]; }; do
        if [ "$gen_fails" -lt 2 ]; then
            STEP_TOOL=gen; hdb_step "$rate"
            if [ "$STEP_PASS" = 1 ]; then
                GEN_PEAK=$rate; gen_fails=0
                [ "$gen_failed" = 0 ] && { GEN_RATE=$rate; GEN_RESULT=$STEP_RESULT; }
            else
                gen_fails=$((gen_fails + 1)); gen_failed=1
            fi
        fi
        if [ "$perf_fails" -lt 2 ]; then
            STEP_TOOL=perfdhcp; hdb_step "$rate"
            if [ "$STEP_PASS" = 1 ]; then
                PERF_PEAK=$rate; perf_fails=0
                [ "$perf_failed" = 0 ] && { PERF_RATE=$rate; PERF_RESULT=$STEP_RESULT; }
            else
                perf_fails=$((perf_fails + 1)); perf_failed=1
            fi
        fi
        rate=$(((rate * 105 + 99) / 100))
    done
}
