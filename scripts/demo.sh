#!/bin/sh
# The specproof demo: builds and installs specproof, then runs `specproof demo`.
#
#   1. install.sh (at the top of the checkout) builds the binary and installs it with
#      `cargo install --path . --locked` into $CARGO_INSTALL_ROOT/bin, else
#      ${CARGO_HOME:-$HOME/.cargo}/bin, as cargo does;
#   2. the installed binary runs `specproof demo`, which tells a task's whole story in a new,
#      temporary git repository, running the real commands and showing their output: `specproof
#      init` (a plan and a first task), `specproof install` (the git hooks), a task claiming done
#      without evidence rejected by the pre-commit hook, `specproof verify` (the proofs pass and
#      signed evidence is written), the same claim accepted, and a later commit that breaks a
#      criterion of the done task rejected as a regression (F10). The repository is removed at
#      the end.
#
# The demo checks every step (this commit is rejected, that one accepted) and exits non-zero as
# soon as one behaves differently. It needs no terminal, no standard input and no git identity.
#
# Options:
#   --keep        keep the temporary repository and print where it is
#   -h, --help    this text
# Environment:
#   SPECPROOF_BIN=/path/to/specproof   skip building and installing; use this binary
set -eu

keep=0
for arg in "$@"; do
    case $arg in
        --keep) keep=1 ;;
        -h | --help)
            sed -n '2,/^set -eu$/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "demo.sh: unknown argument: $arg (try --help)" >&2
            exit 2
            ;;
    esac
done

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
top=$(CDPATH='' cd -- "$here/.." && pwd)

fail() {
    printf '\ndemo.sh: FAILED: %s\n' "$*" >&2
    exit 1
}

# Nothing from an outer git command (a hook, a rebase) may point git elsewhere.
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES \
    GIT_COMMON_DIR GIT_PREFIX 2>/dev/null || true

if [ -n "${SPECPROOF_BIN:-}" ]; then
    printf '== Using SPECPROOF_BIN=%s (not building)\n\n' "$SPECPROOF_BIN"
    bin=$SPECPROOF_BIN
else
    printf '== Building and installing specproof (./install.sh)\n\n'
    "$top/install.sh"
    if [ -n "${CARGO_INSTALL_ROOT:-}" ]; then
        root=$CARGO_INSTALL_ROOT
    else
        root=${CARGO_HOME:-$HOME/.cargo}
    fi
    case $root in
        /*) ;;
        *) root=$PWD/$root ;;
    esac
    bin=${root%/}/bin/specproof
    if [ ! -x "$bin" ]; then
        bin=$(command -v specproof 2>/dev/null) || fail "cannot find the installed specproof (looked in ${root%/}/bin and on PATH)"
    fi
    printf '\n'
fi
[ -x "$bin" ] || fail "$bin is not an executable file"

if [ "$keep" = 1 ]; then
    set -- --keep
else
    set --
fi
printf '== Running %s demo%s\n\n' "$bin" "${1:+ $1}"
exec "$bin" demo "$@"
