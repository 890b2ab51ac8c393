# Shared helpers for scripts/*.sh (sourced, not run).

# Exits unless running as root; $1 names the calling script for the message.
require_root() {
    if [[ ${EUID:-$(id -u)} -ne 0 ]]; then
        echo "$1: creates network namespaces and installs packages: run as root (sudo $0)" >&2
        exit 1
    fi
}

# Makes `cargo` callable: under sudo, root's PATH usually lacks the invoking user's rustup
# toolchain, so fall back to that user's ~/.cargo and ~/.rustup.
find_cargo() {
    if ! command -v cargo >/dev/null 2>&1 && [[ -n ${SUDO_USER:-} ]]; then
        local user_home
        user_home=$(getent passwd "$SUDO_USER" | cut -d: -f6)
        export CARGO_HOME=${CARGO_HOME:-$user_home/.cargo}
        export RUSTUP_HOME=${RUSTUP_HOME:-$user_home/.rustup}
        export PATH="$CARGO_HOME/bin:$PATH"
    fi
    if ! command -v cargo >/dev/null 2>&1; then
        echo "cargo not found: install Rust (https://rustup.rs) first" >&2
        exit 1
    fi
}
