#!/bin/sh
# Builds specproof from this checkout and installs the binary with
# `cargo install --path . --locked`. Works from any folder.
#
# Where it goes is cargo's choice, as for any `cargo install`:
#   $CARGO_INSTALL_ROOT/bin             when CARGO_INSTALL_ROOT is set,
#   ${CARGO_HOME:-$HOME/.cargo}/bin     otherwise
# (cargo's `install.root` config setting also applies; this script then says so).
# To install elsewhere:  CARGO_INSTALL_ROOT=/opt/specproof ./install.sh
#
# Any other arguments go to `cargo install` unchanged (e.g. --offline, --debug).
set -eu

usage() {
    cat <<'EOF'
Usage: ./install.sh [CARGO INSTALL OPTIONS]

Builds specproof from this checkout and installs it with
`cargo install --path . --locked`, into $CARGO_INSTALL_ROOT/bin when that is
set, else into ${CARGO_HOME:-$HOME/.cargo}/bin. Other options are passed to
cargo install (for example --offline). To choose the folder, set
CARGO_INSTALL_ROOT rather than passing --root.
EOF
}

for arg in "$@"; do
    case $arg in
        -h | --help)
            usage
            exit 0
            ;;
        --root | --root=*)
            echo "install.sh: set CARGO_INSTALL_ROOT=DIR instead of --root, so this script can tell where the binary went" >&2
            exit 2
            ;;
        --path | --path=*)
            echo "install.sh: --path is set by this script (it installs this checkout)" >&2
            exit 2
            ;;
    esac
done

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)

if ! command -v cargo >/dev/null 2>&1; then
    echo "install.sh: cargo was not found on PATH." >&2
    echo "  specproof is built from source: install a Rust toolchain (https://rustup.rs), then run this again." >&2
    exit 1
fi

# The folder cargo installs into, as an absolute path (cargo reads relative values from the
# current folder).
if [ -n "${CARGO_INSTALL_ROOT:-}" ]; then
    root=$CARGO_INSTALL_ROOT
elif [ -n "${CARGO_HOME:-}" ]; then
    root=$CARGO_HOME
else
    root=${HOME:?install.sh: HOME is not set; set CARGO_INSTALL_ROOT or CARGO_HOME}/.cargo
fi
case $root in
    /*) ;;
    *) root=$PWD/$root ;;
esac
bindir=${root%/}/bin
bin=$bindir/specproof

echo "Building and installing specproof from $here"
cargo install --path "$here" --locked "$@"

if [ ! -x "$bin" ]; then
    echo ""
    echo "specproof was installed, but not to $bin:"
    echo "  cargo's install.root setting (in a .cargo/config.toml) chose another folder; its bin/ holds specproof."
    exit 0
fi

echo ""
echo "Installed: $bin"
"$bin" --version

case ":${PATH:-}:" in
    *":$bindir:"* | *":$bindir/:"*)
        found=$(command -v specproof 2>/dev/null || true)
        if [ -n "$found" ] && [ "$found" != "$bin" ]; then
            echo ""
            echo "warning: another specproof comes first on PATH: $found" >&2
            echo "  run $bin, or remove the other one" >&2
        fi
        ;;
    *)
        echo ""
        echo "warning: $bindir is not on your PATH, so \`specproof\` alone will not be found." >&2
        echo "  add it, e.g. in ~/.profile:  export PATH=\"$bindir:\$PATH\"" >&2
        echo "  or run it as:  $bin" >&2
        ;;
esac
