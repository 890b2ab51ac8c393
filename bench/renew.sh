#!/usr/bin/env bash
# Renewal capacity for the benchmark scripts (source after netns.sh and search.sh): the highest
# rate of renewals (REQUEST in RENEWING state, RFC 2131 §4.4.5) a server answers with < 1 %
# renewal loss, with a fresh server per step. Renewals need bound clients: every step first binds
# RENEW_WARMUP (50000) clients (the generator's --warmup-clients, not measured), then renews
# bound clients at the step's rate, over and over (--renew-rate), while DORAs of new clients run
# alongside at RENEW_DORA_RATE (2000/s) (the figure is conservative).
#
# Caller provides SERVER_START (see search.sh). Tunables: RENEW_DORA_RATE (2000), RENEW_WARMUP
# (50000: enough that, at ~100,000 renewals/s with replies taking up to ~0.5 s, bound clients
# never run out, which would cap the offered rate), RENEW_START (START_RATE), and search.sh's
# STEP_SECS, CLIENTS, MAX_LOSS_PCT, MAX_RATE, SERVER_CPU, GEN_CPU.

RENEW_DORA_RATE=${RENEW_DORA_RATE:-2000}
RENEW_WARMUP=${RENEW_WARMUP:-50000}

# run_renew RATE LOG: one bounded generator run with renewals at RATE; prints
# "offered achieved loss p50 p99" for the renewals (RENEW→ACK latency).
run_renew() {
    local rate=$1 log=$2
    # shellcheck disable=SC2046
    ip netns exec "$HDB_CLI_NS" taskset -c "$GEN_CPU" timeout $((STEP_SECS + 90)) $(hdb_bench_bin) \
        --local "$HDB_CLI_ADDR" --server "$HDB_SRV_ADDR" --rate "$RENEW_DORA_RATE" \
        --renew-rate "$rate" --duration "$STEP_SECS" --clients "$CLIENTS" --timeout-ms 1000 \
        --warmup-clients "$RENEW_WARMUP" --json >"$log" 2>&1 || true
    python3 - "$log" <<'PY'
import json, sys
try:
    r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
    sent, acked = r["renews_sent"], r["renews_acked"]
    loss = (sent - acked) * 100.0 / sent if sent else 100.0
    leg = r.get("renew_ack", {})
    print(f"{sent / r['duration_s']:.0f} {r['renew_per_s']:.0f} {loss:.3f} {leg.get('p50_ms', 0):.3f} {leg.get('p99_ms', 0):.3f}")
except Exception:
    print("0 0 100 0 0")
PY
}

# hdb_renew_search LABEL: like hdb_search, for renewals. Sets BEST_RATE and BEST_RESULT.
hdb_renew_search() {
    HDB_LABEL=$1
    local good=0 bad=0 rate=${RENEW_START:-$START_RATE} log
    BEST_RESULT="0 0 100 0 0"
    renew_step() {
        local try
        for try in $(seq "$STEP_TRIES"); do
            log="$HDB_OUT/$HDB_LABEL-renew-$1-$try.log"
            "$SERVER_START"
            local pid=$HDB_LAST_PID
            STEP_RESULT=$(run_renew "$1" "$log")
            hdb_stop "$pid"
            STEP_PASS=$(echo "$STEP_RESULT" | awk -v r="$1" -v max="$MAX_LOSS_PCT" -v share="$MIN_OFFERED_SHARE" \
                '{ print ($3 < max && $1 >= r * share) ? 1 : 0 }')
            printf '  %-10s %-9s rate %7d: offered %7s achieved %7s loss %7s%% p50 %7s p99 %7s  %s\n' \
                "$HDB_LABEL" renew "$1" $STEP_RESULT "$([ "$STEP_PASS" = 1 ] && echo ok || echo FAIL)" >&2
            echo "$HDB_LABEL renew $1 $STEP_RESULT $STEP_PASS" >>"$HDB_OUT/steps.txt"
            [ "$STEP_PASS" = 1 ] && return 0
        done
        return 0
    }
    while :; do
        renew_step "$rate"
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
        renew_step "$rate"
        if [ "$STEP_PASS" = 1 ]; then good=$rate; BEST_RESULT=$STEP_RESULT; else bad=$rate; fi
    done
    BEST_RATE=$good
}
