#!/usr/bin/env bash
# Long crash-safety soak: the CI test crates/hyperdhcp/tests/e2e_crash.rs with many more rounds.
# Each round runs a short DORA load, kill -9s the server at a random moment, restarts it on the
# same store and checks that every ACK the generator logged is a bound lease of the same MAC in
# the store (no address twice, no client with two), then that the restarted server serves.
#
# Usage (as root): bench/crash-soak.sh [ROUNDS]        # default 200 rounds (~2 s each)
# Environment: HD_CRASH_SEED replays a run (its seed is printed first), PROFILE=release builds
# and runs the optimised binaries (default: the debug build CI uses), HD_E2E_KEEP=1 keeps the
# lab's files (ack logs, stores, server logs) for inspection.
# Network safety: the test's own namespaces and 198.18.0.0/15 only (see tests/common/mod.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
require_root crash-soak.sh
find_cargo

ROUNDS=${1:-200}
if ! [[ $ROUNDS =~ ^[0-9]+$ ]] || [[ $ROUNDS -lt 1 ]]; then
    echo "usage: $0 [ROUNDS]   (a positive number; default 200)" >&2
    exit 2
fi
profile_args=()
if [[ ${PROFILE:-debug} == release ]]; then
    profile_args=(--release)
fi
echo "crash-soak: $ROUNDS rounds, $(date -u +%FT%TZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
start=$(date +%s)
HD_CRASH_ROUNDS=$ROUNDS cargo test "${profile_args[@]}" -p hyperdhcp --test e2e_crash -- \
    --nocapture kill_9_under_load_loses_no_acknowledged_lease
echo "crash-soak: $ROUNDS rounds passed in $(( $(date +%s) - start ))s"
