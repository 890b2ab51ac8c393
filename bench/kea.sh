#!/usr/bin/env bash
# Kea helpers for the benchmark scripts (source after netns.sh).

# hdb_kea_config FILE LEASEFILE THREADS: writes a kea-dhcp4 config (memfile, no LFC).
# THREADS = 0 → single-threaded; N → multi-threaded with N threads.
hdb_kea_config() {
    local file=$1 leases=$2 threads=$3 mt=false tps=1
    if [ "$threads" -gt 0 ]; then mt=true; tps=$threads; fi
    cat >"$file" <<JSON
{
  "Dhcp4": {
    "interfaces-config": { "interfaces": [ "$HDB_SRV_IF" ], "dhcp-socket-type": "udp" },
    "lease-database": { "type": "memfile", "persist": true, "name": "$leases", "lfc-interval": 0 },
    "valid-lifetime": 3600,
    "renew-timer": 900,
    "rebind-timer": 1800,
    "multi-threading": { "enable-multi-threading": $mt, "thread-pool-size": $tps, "packet-queue-size": 1024 },
    "subnet4": [
      { "subnet": "198.18.0.0/16", "pools": [ { "pool": "198.18.1.0 - 198.18.255.254" } ] }
    ],
    "loggers": [ { "name": "kea-dhcp4", "output_options": [ { "output": "stderr" } ], "severity": "WARN" } ]
  }
}
JSON
}

# hdb_kea_start DIR THREADS CPU: starts kea-dhcp4 in the server namespace pinned to CPU with a
# fresh lease file in DIR; PID in $HDB_LAST_PID.
hdb_kea_start() {
    local dir=$1 threads=$2 cpu=$3
    rm -f "$dir"/kea-leases4.csv*
    hdb_kea_config "$dir/kea-dhcp4.json" "$dir/kea-leases4.csv" "$threads"
    KEA_PIDFILE_DIR=$dir KEA_LOCKFILE_DIR=$dir \
        hdb_spawn "$HDB_SRV_NS" "$cpu" "$dir/kea.log" kea-dhcp4 -c "$dir/kea-dhcp4.json"
    hdb_wait_udp67 "$HDB_SRV_NS"
}
