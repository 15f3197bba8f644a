# What the benchmarks (scripts/bench.sh, scripts/bench-hooks.sh, scripts/bench-receive.sh) need
# before they measure, sourced by each (POSIX sh; it only defines functions, which use the
# caller's `step` and `fail`).
#
# `bench_hyperfine SCRIPT INSTALL`: hyperfine on PATH. Missing, it says how to install it and
# exits 2, or with INSTALL=1 installs it (apt-get as root or through sudo, else
# `cargo install hyperfine --locked`).
#
# `bench_binary TOP`: sets `bin` to the specproof to time, an absolute path: SPECPROOF_BIN when
# set, else TOP's release build (`cargo build --release --locked`).

bench_hyperfine() {
    if ! command -v hyperfine >/dev/null 2>&1; then
        if [ "$2" -eq 0 ]; then
            echo "$1: hyperfine is not installed." >&2
            echo "  install it with: sudo apt-get install hyperfine   (or: cargo install hyperfine --locked)" >&2
            echo "  or run this script with --install-hyperfine" >&2
            exit 2
        fi
        step "Installing hyperfine"
        if command -v apt-get >/dev/null 2>&1; then
            if [ "$(id -u)" -eq 0 ]; then
                DEBIAN_FRONTEND=noninteractive apt-get install -y hyperfine || true
            elif command -v sudo >/dev/null 2>&1; then
                sudo DEBIAN_FRONTEND=noninteractive apt-get install -y hyperfine || true
            fi
        fi
        if ! command -v hyperfine >/dev/null 2>&1; then
            command -v cargo >/dev/null 2>&1 || fail "cannot install hyperfine: no apt-get (as root or with sudo) and no cargo"
            cargo install hyperfine --locked
            PATH=${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}/bin:$PATH
            export PATH
        fi
        command -v hyperfine >/dev/null 2>&1 || fail "hyperfine is still not on PATH after installing it"
    fi
    echo "hyperfine: $(hyperfine --version)"
}

bench_binary() {
    if [ -n "${SPECPROOF_BIN:-}" ]; then
        step "Using SPECPROOF_BIN=$SPECPROOF_BIN (not building)"
        bin=$SPECPROOF_BIN
    else
        step "Building specproof (cargo build --release --locked)"
        (cd "$1" && cargo build --release --locked) || fail "cargo build failed"
        target=${CARGO_TARGET_DIR:-target}
        case $target in
            /*) ;;
            *) target=$1/$target ;;
        esac
        bin=${target%/}/release/specproof
    fi
    case $bin in
        /*) ;;
        *) bin=$PWD/$bin ;;
    esac
    [ -x "$bin" ] || fail "$bin is not an executable file"
    case $bin in
        *\'*) fail "the binary's path contains a single quote: $bin" ;;
    esac
    echo "specproof: $bin ($("$bin" --version))"
}
