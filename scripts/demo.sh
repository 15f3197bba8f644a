#!/bin/sh
# The specproof demo: builds and installs specproof, then shows the loop on a throw-away git
# repository:
#
#   1. install.sh (at the top of the checkout) builds the binary and installs it with
#      `cargo install --path . --locked` into $CARGO_INSTALL_ROOT/bin, else
#      ${CARGO_HOME:-$HOME/.cargo}/bin, as cargo does;
#   2. a temporary git repository is created (mktemp -d) and removed again on exit;
#   3. `specproof init` writes the starter files there;
#   4. `specproof lint` checks them: no problems, exit 0;
#   5. `specproof verify` runs the task's proofs before any work is done: they fail (exit 1),
#      and the task's `attempts` and `escalation` are updated;
#   6. the work is done (hello.sh and its test), `specproof verify` passes (exit 0) and writes
#      signed evidence; run again, it reuses that evidence (cached); `verify --plan` proves
#      the plan's cross-cutting criterion;
#   7. a deliberate mistake goes into the plan (`proof: file_exists` -> `proof: file_exist`),
#      and `specproof lint` reports it with a did-you-mean and exit 1, in text and in JSON;
#   8. `specproof init` run again refuses to overwrite anything (exit 1).
#
# The script fails (non-zero) as soon as any step does not behave as shown.
# It needs no terminal and no standard input.
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

section() {
    printf '\n== %s\n\n' "$*"
}

fail() {
    printf '\ndemo.sh: FAILED: %s\n' "$*" >&2
    exit 1
}

# Nothing from an outer git command (a hook, a rebase) may point git elsewhere.
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES \
    GIT_COMMON_DIR GIT_PREFIX 2>/dev/null || true

# 1. The binary.
if [ -n "${SPECPROOF_BIN:-}" ]; then
    section "Using SPECPROOF_BIN=$SPECPROOF_BIN (not building)"
    bin=$SPECPROOF_BIN
else
    section "Building and installing specproof (./install.sh)"
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
fi
[ -x "$bin" ] || fail "$bin is not an executable file"

# 2. A temporary repository, removed on exit.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/specproof-demo.XXXXXX")
cleanup() {
    if [ "$keep" = 1 ]; then
        printf '\nThe demo repository is kept at %s\n' "$tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

repo=$tmp/demo-repo
mkdir "$repo"
cd "$repo"
section "Creating a temporary git repository"
git init -q
git config user.name demo
git config user.email demo@example.invalid
git config commit.gpgsign false
echo "git init in $repo"

# run EXPECTED-EXIT COMMAND...: runs a command, prints its output (both streams), and fails the
# demo when it exits with anything other than EXPECTED-EXIT. The output is kept in $out.
run() {
    expected=$1
    shift
    printf '$ %s\n' "$*"
    rc=0
    out=$("$@" 2>&1) || rc=$?
    [ -z "$out" ] || printf '%s\n' "$out"
    printf '(exit %s)\n' "$rc"
    [ "$rc" -eq "$expected" ] || fail "\`$*\` exited $rc; expected $expected"
}

# Shown as `specproof ...`: the binary is run by its full path, so PATH does not matter.
specproof() {
    "$bin" "$@"
}

# 3. init
section "specproof init"
run 0 specproof init
for f in specproof.yml plans/example.md .specproof/tasks/T-001.md; do
    [ -f "$f" ] || fail "specproof init did not write $f"
done

# 4. lint on the starter files: no problems.
section "specproof lint (the starter files: expect no problems, exit 0)"
run 0 specproof lint
case $out in
    *"ok: no problems"*) ;;
    *) fail "lint did not say \"ok: no problems\"" ;;
esac

git add -A
# No hooks of the user's (a global core.hooksPath) run in the throw-away repository.
git -c core.hooksPath="$tmp/no-hooks" commit -q -m "Add specproof starter files"
echo ""
echo "Committed the starter files: $(git log --oneline -1)"

# 5. verify before the work: the proofs fail.
section "specproof verify (nothing is built yet: expect failures, exit 1)"
run 1 specproof verify
case $out in
    *"T-001"*"EX-1"*"file_exists"*"fail F3"*) ;;
    *) fail "verify did not report EX-1 failing with F3" ;;
esac
grep -q '^attempts: 1$' .specproof/tasks/T-001.md || fail "verify did not count the failed attempt"
grep -q '^escalation: retry$' .specproof/tasks/T-001.md || fail "verify did not set escalation: retry"
echo ""
echo "The task file now says attempts: 1, escalation: retry."

# 6. Do the work, then verify again.
section "Doing the work: hello.sh and its test"
cat >hello.sh <<'SCRIPT'
#!/bin/sh
echo "Hello, world"
SCRIPT
mkdir -p tests
cat >tests/hello_test.sh <<'SCRIPT'
#!/bin/sh
if [ "$(sh hello.sh)" = "Hello, world" ]; then
    echo "1 passed, 0 failed"
else
    echo "0 passed, 1 failed"
    exit 1
fi
SCRIPT
echo "wrote hello.sh and tests/hello_test.sh"

section "specproof verify (expect every criterion to pass, exit 0)"
run 0 specproof verify
case $out in
    *"ok: 3 criteria: 3 passed"*) ;;
    *) fail "verify did not pass all three criteria" ;;
esac
[ -f .specproof/evidence/T-001/iter-1/EX-3.json ] || fail "verify wrote no evidence for EX-3"
echo ""
echo "Evidence .specproof/evidence/T-001/iter-1/EX-3.json (signed, bound to the content):"
sed -n '1,40p' .specproof/evidence/T-001/iter-1/EX-3.json | grep -E '"(task_id|criterion_id|proof|result|detail|criterion_digest|input_digest|signature)"'

section "specproof verify again (nothing changed: the fresh evidence is reused, exit 0)"
run 0 specproof verify
case $out in
    *"3 passed (3 cached)"*) ;;
    *) fail "the second verify did not reuse the evidence" ;;
esac

section "specproof verify --plan plans/example.md (the plan's cross-cutting criterion, exit 0)"
run 0 specproof verify --plan plans/example.md
case $out in
    *"EX-4"*"pass"*) ;;
    *) fail "verify --plan did not pass EX-4" ;;
esac

# 7. A deliberate mistake: a misspelt proof name.
section "A deliberate mistake in the plan: proof: file_exists -> proof: file_exist"
sed 's/proof: file_exists/proof: file_exist/' plans/example.md >plans/example.md.new
mv plans/example.md.new plans/example.md
git --no-pager diff --no-color -U1 -- plans/example.md

section "specproof lint (expect the problem, with a did-you-mean, and exit 1)"
run 1 specproof lint
case $out in
    *'unknown proof "file_exist"'*'did you mean "file_exists"?'*) ;;
    *) fail "lint did not report the misspelt proof with a did-you-mean" ;;
esac

section "specproof lint --format json (the same problem as the stable JSON document, exit 1)"
run 1 specproof lint --format json
case $out in
    *'"suggestion": "file_exists"'*) ;;
    *) fail "the JSON output does not carry the suggestion \"file_exists\"" ;;
esac

# 8. init refuses to overwrite.
section "specproof init again (refuses to overwrite anything, exit 1)"
run 1 specproof init

section "Done"
echo "init wrote the starter files and lint passed them (exit 0); verify failed the task before"
echo "the work (exit 1), passed it after (exit 0) with signed evidence, and reused that evidence"
echo "when nothing changed; lint caught the misspelt proof name with a did-you-mean (exit 1)."
echo "The installed binary is $bin"
