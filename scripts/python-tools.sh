#!/bin/sh
# Installs the Python tools the integration tests drive, pinned: the pre-commit framework and
# prek (tests/framework.rs runs specproof's .pre-commit-hooks.yaml through both). They go into a
# virtual environment in the build folder, by default ${CARGO_TARGET_DIR:-target}/python-tools
# (or the folder given as the only argument), from PyPI with pip. Prints the environment's bin
# folder on stdout; everything else goes to stderr.
#
# Idempotent: when the environment already holds exactly these versions it only prints the
# folder (no network). Needs no terminal and no input. Exits non-zero, saying why, when python3
# (3.11 or newer, with its venv module or pip) or PyPI cannot be reached.
#
#   sh scripts/python-tools.sh [DIR]
set -eu

# The pinned set, dependencies included (pip freeze of a fresh install), so every machine gets
# the same tools. Change them together.
PRE_COMMIT_VERSION=4.7.0
PREK_VERSION=0.5.11
REQUIREMENTS="pre-commit==$PRE_COMMIT_VERSION
prek==$PREK_VERSION
cfgv==3.5.0
distlib==0.4.4
filelock==4.2.11
identify==2.6.20
nodeenv==1.12.0
packaging==26.3
platformdirs==4.14.7
python-discovery==1.9.5
PyYAML==6.0.3
virtualenv==21.15.8"

me=python-tools.sh
say() {
    printf '%s: %s\n' "$me" "$*" >&2
}
die() {
    say "error: $*"
    exit 1
}

root=$(cd "$(dirname "$0")/.." && pwd)
case $# in
    0) venv=${CARGO_TARGET_DIR:-$root/target}/python-tools ;;
    1) venv=$1 ;;
    *) die "usage: sh scripts/python-tools.sh [DIR]" ;;
esac
case $venv in
    /*) ;;
    *) venv=$(pwd)/$venv ;;
esac
bin=$venv/bin
stamp=$venv/specproof-requirements.txt

# Already there, and working: print the folder and stop.
ready() {
    [ -f "$stamp" ] &&
        [ "$(cat "$stamp")" = "$REQUIREMENTS" ] &&
        "$bin/pre-commit" --version >/dev/null 2>&1 &&
        "$bin/prek" --version >/dev/null 2>&1
}
if ready; then
    printf '%s\n' "$bin"
    exit 0
fi

python=${PYTHON:-python3}
command -v "$python" >/dev/null 2>&1 ||
    die "$python not found: install Python 3.11 or newer (Debian: apt-get install python3 python3-venv), or name one with PYTHON=/path/to/python3"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null ||
    die "$("$python" --version 2>&1) is too old: pre-commit $PRE_COMMIT_VERSION and its pinned dependencies need Python 3.11 or newer"

# One installer at a time (parallel test binaries, two checkouts sharing a target folder): a
# lock folder holding the owner's process id; a lock whose owner is gone is taken over.
mkdir -p "$(dirname "$venv")"
lock=$venv.lock
waited=0
until mkdir "$lock" 2>/dev/null; do
    owner=$(cat "$lock/pid" 2>/dev/null || true)
    if [ -n "$owner" ] && ! kill -0 "$owner" 2>/dev/null; then
        say "removing the stale lock $lock (process $owner is gone)"
        rm -rf "$lock"
        continue
    fi
    if [ "$waited" -ge 600 ]; then
        die "another install has held $lock for 10 minutes; remove it if no install is running"
    fi
    sleep 1
    waited=$((waited + 1))
done
echo $$ >"$lock/pid"
log=$lock/log
trap 'rm -rf "$lock"' EXIT
trap 'exit 130' INT TERM

# Another process may have finished the install while this one waited.
if ready; then
    printf '%s\n' "$bin"
    exit 0
fi

say "installing pre-commit $PRE_COMMIT_VERSION and prek $PREK_VERSION from PyPI into $venv"
rm -f "$stamp"
if "$python" -m venv --clear "$venv" >"$log" 2>&1; then
    pip() {
        "$bin/python" -m pip "$@"
    }
elif "$python" -m venv --clear --without-pip "$venv" >>"$log" 2>&1 &&
    "$python" -m pip --version >/dev/null 2>&1; then
    # A python3 without ensurepip (Debian without python3-venv): an environment without pip,
    # filled by the system's pip (22.3 or newer).
    pip() {
        "$python" -m pip --python "$bin/python" "$@"
    }
else
    cat "$log" >&2
    die "cannot create a virtual environment with $python (Debian: apt-get install python3-venv)"
fi

requirements=$lock/requirements.txt
printf '%s\n' "$REQUIREMENTS" >"$requirements"
if ! pip install --no-input --disable-pip-version-check --quiet \
    --requirement "$requirements" >>"$log" 2>&1 </dev/null; then
    cat "$log" >&2
    die "pip could not install pre-commit $PRE_COMMIT_VERSION and prek $PREK_VERSION (see above): is PyPI reachable? (pip honours PIP_INDEX_URL and HTTPS_PROXY)"
fi
"$bin/pre-commit" --version >/dev/null 2>&1 || die "$bin/pre-commit does not run after the install"
"$bin/prek" --version >/dev/null 2>&1 || die "$bin/prek does not run after the install"
printf '%s\n' "$REQUIREMENTS" >"$stamp"
say "installed: $("$bin/pre-commit" --version), $("$bin/prek" --version)"
printf '%s\n' "$bin"
