#!/usr/bin/env bash
# Installs the Debian packages the lab (scripts/lab.sh) and the end-to-end tests need.
# Idempotent: when everything is already installed it does nothing and needs no network.
# Used by scripts/test.sh, scripts/lab.sh and .ci/run.
set -euo pipefail

# Real DHCP programs the tests drive, and the tools the harness uses.
PACKAGES=(
    iproute2          # ip, ss: namespaces, veths, bridges
    procps            # kill, sysctl
    isc-dhcp-client   # dhclient
    busybox           # udhcpc
    dhcpcd-base       # dhcpcd
    kea-admin         # perfdhcp (acts as a relay agent)
    kea-dhcp4-server  # Kea, the comparison server
    isc-dhcp-relay    # dhcrelay
    tshark            # packet captures when debugging
    libcap2-bin       # setcap/getcap
    ca-certificates
)
# A C compiler for the bundled SQLite, when none is installed.
if ! command -v cc >/dev/null 2>&1; then
    PACKAGES+=(gcc libc6-dev)
fi

if [[ ${EUID:-$(id -u)} -ne 0 ]]; then
    echo "install-deps.sh: must run as root (sudo $0)" >&2
    exit 1
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-deps.sh: all packages present"
    exit 0
fi
echo "install-deps.sh: installing ${missing[*]}"

# Keep apt from starting daemons (kea, dhcrelay) while installing: policy-rc.d exit 101 =
# "action forbidden". Put back whatever was there before.
POLICY=/usr/sbin/policy-rc.d
BACKUP=""
if [[ -e $POLICY ]]; then
    BACKUP=$(mktemp)
    cp -p "$POLICY" "$BACKUP"
fi
restore_policy() {
    if [[ -n $BACKUP ]]; then
        mv -f "$BACKUP" "$POLICY"
    else
        rm -f "$POLICY"
    fi
}
trap restore_policy EXIT
printf '#!/bin/sh\nexit 101\n' > "$POLICY"
chmod 755 "$POLICY"

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install-deps.sh: done"
