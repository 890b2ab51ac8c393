#!/usr/bin/env bash
# A/B at one fixed rate: the generator and perfdhcp alternate against a fresh Kea (single-
# threaded) per run, and Kea's UDP socket drop counter is read after each run, to tell server-side
# drops from generator-side ones.
#
# Usage (as root): RATE=4800 RUNS=2 bench/ab.sh
set -euo pipefail
HDB_ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$HDB_ROOT/bench/netns.sh"
. "$HDB_ROOT/bench/kea.sh"
. "$HDB_ROOT/bench/search.sh"

RATE=${RATE:-4800}
RUNS=${RUNS:-2}
HDB_OUT=${HDB_OUT:-$(mktemp -d /tmp/hdb-ab.XXXXXX)}
mkdir -p "$HDB_OUT"
hdb_netns_up
hdb_tmpdir WORK
echo "rate $RATE/s, ${STEP_SECS}s per run; start $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '| run | tool | offered/s | achieved/s | loss %% | Kea socket drops |\n|---|---|---:|---:|---:|---:|\n'
for i in $(seq "$RUNS"); do
    for tool in gen perfdhcp; do
        hdb_kea_start "$WORK" 0 "$SERVER_CPU"
        pid=$HDB_LAST_PID
        if [ "$tool" = gen ]; then
            r=$(run_gen "$RATE" "$HDB_OUT/gen-$i.log")
        else
            r=$(run_perfdhcp "$RATE" "$HDB_OUT/perfdhcp-$i.log")
        fi
        # skmem(...,dN) of Kea's port-67 socket: datagrams dropped because its buffer was full.
        drops=$(ip netns exec "$HDB_SRV_NS" ss -uamn 'sport = :67' | grep -o ',d[0-9]*)' | head -1 | tr -dc 0-9 || true)
        read -r off ach loss _ _ <<<"$r"
        printf '| %s | %s | %s | %s | %s | %s |\n' "$i" "$tool" "$off" "$ach" "$loss" "${drops:-?}"
        hdb_stop "$pid"
    done
done
