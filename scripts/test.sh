#!/usr/bin/env bash
# The project's test command: `./scripts/test.sh` (as root).
# Installs missing Debian packages, builds everything, then runs every test of the workspace:
# unit, integration and the end-to-end tests (real binary, real DHCP clients, in network
# namespaces the tests create and remove; they need root). Extra arguments go to the test
# binaries, e.g. `./scripts/test.sh dhclient` runs only tests whose name matches.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
require_root test.sh
find_cargo
./scripts/install-deps.sh

start=$(date +%s)
cargo build --workspace --all-targets
# Two test threads: each end-to-end test runs a server and real clients, and the machines
# this project is built on have two cores.
cargo test --workspace -- --test-threads=2 "$@"
echo "test.sh: finished in $(( $(date +%s) - start ))s"
