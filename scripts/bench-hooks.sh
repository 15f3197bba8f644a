#!/bin/sh
# The specproof hooks benchmark: how much time the hooks that `specproof install` puts in
# (pre-commit and commit-msg, each `specproof hook NAME`) add to a `git commit`. It is a script,
# not a test: it measures, it does not pass or fail on a figure.
#
#   1. builds specproof in release (`cargo build --release --locked`, into $CARGO_TARGET_DIR
#      when set, else target/), unless SPECPROOF_BIN names a binary to use;
#   2. generates, in a temporary folder removed on exit (the files, plan and tasks with
#      scripts/bench-repo.sh, shared with scripts/bench-receive.sh), a git repository of
#      10,000 Rust source files in nested folders (src/m12/g3/f1234.rs, as scripts/bench.sh
#      does), one plan (plans/bench.md) of 500 sections with 3 file-proof criteria each
#      (file_exists, pattern_matches and no_pattern_exists on literal paths; in every tenth
#      section the last one is a pattern_matches over a glob, src/m57/**/*.rs and the like),
#      and one task per section (.specproof/tasks/T-NNN.md) holding its criteria, with an
#      Echo-Back of every criterion and an Assumptions item (gate G2 holds). Then, as a team
#      would:
#        - commits it (--no-verify), runs `specproof verify` (every criterion passes) and commits
#          the evidence;
#        - moves 200 of the tasks, spread over the plan, to `done` and commits that (--no-verify):
#          that commit is the base B of every case below;
#        - one more task, T-BENCH (section "Bench task"), has 10 file-proof criteria, is
#          in_progress and verified: its evidence is on disk, not committed;
#      and specproof.yml says what the pre-commit hook re-runs: `on_commit: { rerun: file-proofs }`
#      (the default, written out). The repository is packed (`git gc`; automatic gc and
#      maintenance are off, so none starts during a measurement). Then `specproof install`
#      (pre-commit, commit-msg, pre-push).
#   3. checks that `specproof lint` finds no problem, that every criterion passes, and that the
#      hooks are live: a commit that breaks a done task's criterion is rejected (F10), and so is
#      T-BENCH moved to done without its evidence (G3); and that each case below, committed once
#      with the hooks, is accepted;
#   4. times with hyperfine (https://github.com/sharkdp/hyperfine) three commits on top of B,
#      each with the hooks and without them (`git -c core.hooksPath=<an empty folder> commit`,
#      in the same repository):
#        no specproof file, no criterion   one source file that no criterion reads gets a line;
#        no specproof file, done criterion one source file that a done task's pattern_matches
#                                          criterion reads gets a line: the hook runs that
#                                          proof again on the index's content (regression, F10);
#        T-BENCH to done                   T-BENCH's status in_progress -> done, with its 10
#                                          evidence files: gates G1, G2 and G3 for T-BENCH;
#      and, as the floor any hooks pay, the first commit with two shell hooks that do nothing
#      (pre-commit and commit-msg, `exit 0`) instead of specproof's;
#      every run makes the very same commit (same tree, parent, message, author, committer and
#      dates): before each run, --prepare resets the branch and the index to it
#      (`git reset -q --hard C && git reset -q --soft B`), so the run commits C again;
#      and prints one markdown table, in ms: case, without hooks (mean ± σ), with hooks, and
#      what the hooks add: the difference of the means (the two σ combined), of the medians,
#      and of the CPU time (user + system of git and every process it starts: other load on
#      the machine disturbs it less than the wall-clock time).
#
# Git's global and system configuration are not read (GIT_CONFIG_GLOBAL=/dev/null,
# GIT_CONFIG_NOSYSTEM=1): a global core.hooksPath or fsmonitor would change what is measured.
#
# Options:
#   --files N              source files to generate (default 10000)
#   --tasks N              plan sections and tasks, besides T-BENCH (default 500)
#   --per-task N           criteria per task (default 3, at least 2)
#   --done N               tasks moved to done (default 200)
#   --warmup N             hyperfine warm-up runs before each measurement (default 3)
#   --runs N               hyperfine runs per measurement (default: hyperfine's, at least 10)
#   --out DIR              also write the table (bench-hooks.md) and hyperfine's markdown and
#                          JSON exports there
#   --keep                 keep the generated repository and print where it is
#   --install-hyperfine    install hyperfine when it is missing: `apt-get install -y hyperfine`
#                          (as root, or through sudo), else `cargo install hyperfine --locked`
#   -h, --help             this text
# Environment:
#   SPECPROOF_BIN=/path/to/specproof   do not build; time this binary
#   CARGO_TARGET_DIR                   where cargo builds (honoured as cargo does)
# Exit: 0 when the benchmark ran, 1 when a step did not behave as expected (lint found
# problems, a criterion failed, a hook rejected a good commit or let a bad one through), 2 on a
# usage error or when hyperfine is missing and --install-hyperfine was not given.
set -eu

files=10000
tasks=500
per_task=3
done_tasks=200
warmup=3
runs=
out=
keep=0
install=0

usage_error() {
    echo "bench-hooks.sh: $*" >&2
    exit 2
}

number() {
    case $2 in
        '' | *[!0-9]*) usage_error "$1 needs a whole number, not \"$2\"" ;;
    esac
}

while [ $# -gt 0 ]; do
    case $1 in
        --files | --tasks | --per-task | --done | --warmup | --runs | --out)
            [ $# -ge 2 ] || usage_error "$1 needs a value"
            case $1 in
                --out) out=$2 ;;
                *)
                    number "$1" "$2"
                    case $1 in
                        --files) files=$2 ;;
                        --tasks) tasks=$2 ;;
                        --per-task) per_task=$2 ;;
                        --done) done_tasks=$2 ;;
                        --warmup) warmup=$2 ;;
                        --runs) runs=$2 ;;
                    esac
                    ;;
            esac
            shift 2
            ;;
        --keep) keep=1; shift ;;
        --install-hyperfine) install=1; shift ;;
        -h | --help)
            sed -n '2,/^set -eu$/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *) usage_error "unknown argument: $1 (try --help)" ;;
    esac
done
[ "$tasks" -ge 10 ] || usage_error "--tasks must be at least 10"
[ "$per_task" -ge 2 ] || usage_error "--per-task must be at least 2"
[ "$done_tasks" -ge 1 ] && [ "$done_tasks" -le "$tasks" ] || usage_error "--done must be between 1 and --tasks ($tasks)"
# Task t reads the files t*stride .. t*stride+per_task-1; T-BENCH reads one more file in each of
# the first 10 strides; one more is left for nobody.
stride=$((files / tasks))
[ "$stride" -ge $((per_task + 2)) ] || usage_error "--files must be at least --tasks × (--per-task + 2) = $((tasks * (per_task + 2)))"
[ -z "$runs" ] || [ "$runs" -ge 2 ] || usage_error "--runs must be at least 2"

case $out in
    '' | /*) ;;
    *) out=$PWD/$out ;;
esac

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
top=$(CDPATH='' cd -- "$here/.." && pwd)

step() {
    printf '\n== %s\n' "$*"
}

fail() {
    printf '\nbench-hooks.sh: FAILED: %s\n' "$*" >&2
    exit 1
}

# Nothing from an outer git command (a hook, a rebase) may point git elsewhere, and the user's
# global and system git configuration stay out of the measurement.
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES \
    GIT_COMMON_DIR GIT_PREFIX GIT_CONFIG_PARAMETERS GIT_CONFIG_COUNT SPECPROOF_OVERRIDE \
    SPECPROOF_FAIL_OPEN 2>/dev/null || true
GIT_CONFIG_GLOBAL=/dev/null
GIT_CONFIG_NOSYSTEM=1
# Every commit of the benchmark has the same author, committer and dates: a run that commits the
# same tree on the same parent with the same message makes the very same commit.
GIT_AUTHOR_NAME="specproof bench"
GIT_AUTHOR_EMAIL=bench@example.invalid
GIT_COMMITTER_NAME=$GIT_AUTHOR_NAME
GIT_COMMITTER_EMAIL=$GIT_AUTHOR_EMAIL
GIT_AUTHOR_DATE="2026-01-01T00:00:00Z"
GIT_COMMITTER_DATE=$GIT_AUTHOR_DATE
export GIT_CONFIG_GLOBAL GIT_CONFIG_NOSYSTEM GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME \
    GIT_COMMITTER_EMAIL GIT_AUTHOR_DATE GIT_COMMITTER_DATE

# 1. hyperfine, first: no point building for minutes to stop then. 2. The binary.
. "$here/bench-tools.sh"
bench_hyperfine bench-hooks.sh "$install"
bench_binary "$top"

# 3. The repository, in a temporary folder removed on exit.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/specproof-bench-hooks.XXXXXX")
cleanup() {
    if [ "$keep" -eq 1 ]; then
        printf '\nKept the repository: %s/repo\n' "$tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# The folder's name goes into the commands hyperfine runs, inside single quotes.
case $tmp in
    *\'*) fail "the temporary folder's path contains a single quote: $tmp" ;;
esac
repo=$tmp/repo
nohooks=$tmp/no-hooks
# The floor: what any two hooks cost, a pre-commit and a commit-msg that are shell scripts
# doing nothing (`exit 0`), as specproof's are shell shims.
emptyhooks=$tmp/empty-hooks
mkdir "$repo" "$nohooks" "$emptyhooks" "$tmp/done"
for h in pre-commit commit-msg; do
    printf '#!/bin/sh\nexit 0\n' >"$emptyhooks/$h"
    chmod +x "$emptyhooks/$h"
done
cd "$repo"

criteria=$((tasks * per_task + 10))
step "Generating $files files, $criteria criteria in $tasks tasks and T-BENCH in $repo"
git init -q .
git config commit.gpgsign false
# No automatic gc or maintenance: a `git commit` past gc.auto's 6,700 loose objects starts one
# (in the background), which would run during the measurements. The repository is packed once,
# explicitly, before them.
git config gc.auto 0
git config maintenance.auto false

# The files, the plan and the tasks: scripts/bench-repo.sh, shared with scripts/bench-receive.sh.
. "$here/bench-repo.sh"
bench_repo_generate scripts/bench-hooks.sh "$tmp" || fail "generating the repository"
. "$tmp/picks"
git add -A
git commit -q --no-verify -m "benchmark tree: $files files, $criteria criteria in $((tasks + 1)) tasks"
echo "$(git ls-files | wc -l | tr -d ' ') files committed"

# `count KEY FILE N`: the summary of verify's JSON report in $tmp/FILE has "KEY": N.
count() {
    grep -Eq "^ *\"$1\": $3,?\$" "$tmp/$2"
}

# 4. Sanity, evidence, the done tasks, the hooks.
step "specproof lint"
"$bin" --color never lint || fail "specproof lint found problems in the generated files"

step "specproof verify (every task: every proof runs)"
"$bin" --color never verify --format json >"$tmp/verify.json" || fail "verify failed: $tmp/verify.json (use --keep)"
count criteria verify.json "$criteria" && count passed verify.json "$criteria" || fail "not every criterion passed: $tmp/verify.json"
echo "$criteria passed"

step "Committing the evidence (T-BENCH's stays on disk), then $done_tasks tasks moved to done"
git add -A -- . ':(exclude).specproof/evidence/T-BENCH'
git commit -q --no-verify -m "evidence of every task but T-BENCH"
for f in "$tmp"/done/T-[0-9]*.md; do
    cp "$f" .specproof/tasks/
done
git add .specproof/tasks
git commit -q --no-verify -m "$done_tasks tasks done"
base=$(git rev-parse HEAD)
[ -n "$(git status --porcelain -- .specproof/evidence/T-BENCH)" ] || fail "T-BENCH has no evidence on disk"
echo "base: $base ($(git ls-files | wc -l | tr -d ' ') files; T-BENCH's evidence on disk, not committed)"

# The three commits, each made once here without hooks; every timed run makes it again.
msg_quiet="bench: a source file that no criterion reads"
msg_watched="bench: a source file that a criterion of a done task reads"
msg_bench="bench: T-BENCH done"
line='// One more line, written by scripts/bench-hooks.sh.'
printf '%s\n' "$line" >>"$quiet"
git add -- "$quiet"
git commit -q --no-verify -m "$msg_quiet"
c_quiet=$(git rev-parse HEAD)
git reset -q --hard "$base"
printf '%s\n' "$line" >>"$watched"
git add -- "$watched"
git commit -q --no-verify -m "$msg_watched"
c_watched=$(git rev-parse HEAD)
git reset -q --hard "$base"
cp "$tmp/done/T-BENCH.md" .specproof/tasks/T-BENCH.md
git add -- .specproof/tasks/T-BENCH.md .specproof/evidence/T-BENCH
git commit -q --no-verify -m "$msg_bench"
c_bench=$(git rev-parse HEAD)
git reset -q --hard "$base"

step "git gc (everything packed, as in a cloned or maintained repository)"
git gc -q
git count-objects -v | grep -E '^(count|in-pack|packs):' | tr '\n' ' '
echo

step "specproof install"
"$bin" --color never install || fail "specproof install failed"

step "The hooks are live: a commit that breaks $watched_task $watched_criterion ($watched) is rejected"
printf '// emptied by scripts/bench-hooks.sh\n' >"$watched"
git add -- "$watched"
if git commit -q -m "bench: break a done criterion" 2>"$tmp/rejected.txt"; then
    fail "the hooks let through a commit that breaks $watched_task $watched_criterion"
fi
grep -q F10 "$tmp/rejected.txt" || fail "the rejection does not name F10: $(cat "$tmp/rejected.txt")"
[ "$(git rev-parse HEAD)" = "$base" ] || fail "HEAD moved although the hook rejected"
echo "rejected (F10), as it should be"
git reset -q --hard "$base"

step "The hooks are live: T-BENCH done without its evidence in the commit is rejected (G3)"
cp "$tmp/done/T-BENCH.md" .specproof/tasks/T-BENCH.md
git add -- .specproof/tasks/T-BENCH.md
if git commit -q -m "bench: T-BENCH done without its evidence" 2>"$tmp/rejected.txt"; then
    fail "the hooks let T-BENCH be done without its evidence in the commit"
fi
grep -q G3 "$tmp/rejected.txt" || fail "the rejection does not name G3: $(cat "$tmp/rejected.txt")"
[ "$(git rev-parse HEAD)" = "$base" ] || fail "HEAD moved although the hook rejected"
echo "rejected (G3), as it should be"
git reset -q --hard "$base"

# `again C MSG`: make commit C again with the hooks, once: it must pass and give C.
again() {
    git reset -q --hard "$1"
    git reset -q --soft "$base"
    git commit -q -m "$2" || fail "the hooks rejected the commit \"$2\""
    [ "$(git rev-parse HEAD)" = "$1" ] || fail "the commit \"$2\" is not the same commit twice"
}
step "Each case once with the hooks: accepted, and the same commit"
again "$c_quiet" "$msg_quiet"
again "$c_watched" "$msg_watched"
again "$c_bench" "$msg_bench"
echo "accepted, each the same commit as without hooks"

# 5. hyperfine.
set -- --warmup "$warmup" --style basic --time-unit millisecond
[ -z "$runs" ] || set -- "$@" --runs "$runs"
results=$tmp/results
mkdir "$results"

# `measure_case NAME TITLE C MSG HOOKS [hyperfine options]`: commit C again, without and with
# the hooks (HOOKS: a core.hooksPath for "with", or empty for the installed ones).
measure_case() {
    name=$1 title=$2 commit=$3 message=$4 hooks=$5
    shift 5
    with="git commit -q -m '$message'"
    [ -z "$hooks" ] || with="git -c core.hooksPath='$hooks' commit -q -m '$message'"
    step "hyperfine: $title"
    hyperfine "$@" --prepare "git reset -q --hard $commit && git reset -q --soft $base" \
        --export-markdown "$results/$name.md" --export-json "$results/$name.json" \
        -n "without hooks" "git -c core.hooksPath='$nohooks' commit -q -m '$message'" \
        -n "with hooks" "$with"
    [ "$(git rev-parse HEAD)" = "$commit" ] || fail "the last run did not make the commit \"$message\""
}
case_quiet="a source file no criterion reads"
case_watched="a source file a done criterion reads"
case_bench="T-BENCH to done (10 criteria)"
case_floor="floor: two empty shell hooks, first commit"
measure_case quiet "$case_quiet" "$c_quiet" "$msg_quiet" "" "$@"
measure_case watched "$case_watched" "$c_watched" "$msg_watched" "" "$@"
measure_case bench "$case_bench" "$c_bench" "$msg_bench" "" "$@"
measure_case floor "$case_floor" "$c_quiet" "$msg_quiet" "$emptyhooks" "$@"

# One table from hyperfine's JSON exports: per case, both means (± σ) and what the hooks add:
# the difference of the means (σ: both combined), of the medians, and of the CPU time (user +
# system, of git and every process it starts), which other load on the machine disturbs less.
row() {
    awk -v title="$2" '
        function value(line) { sub(/^[^:]*: */, "", line); sub(/,$/, "", line); return line * 1000 }
        /"command":/ { c = ($0 ~ /"without hooks"/) ? "a" : "b" }
        /"mean":/ { mean[c] = value($0) }
        /"stddev":/ { sd[c] = value($0) }
        /"median":/ { median[c] = value($0) }
        /"user":/ { cpu[c] += value($0) }
        /"system":/ { cpu[c] += value($0) }
        END {
            printf "| %s | %.1f ± %.1f | %.1f ± %.1f | %.1f ± %.1f | %.1f | %.1f |\n", title,
                mean["a"], sd["a"], mean["b"], sd["b"], mean["b"] - mean["a"],
                sqrt(sd["a"] * sd["a"] + sd["b"] * sd["b"]), median["b"] - median["a"], cpu["b"] - cpu["a"]
        }
    ' "$results/$1.json"
}
{
    echo "| Commit | Without hooks [ms] | With hooks [ms] | Added [ms] | Added, medians [ms] | Added CPU time [ms] |"
    echo "|:---|---:|---:|---:|---:|---:|"
    row quiet "$case_quiet"
    row watched "$case_watched"
    row bench "$case_bench"
    row floor "$case_floor"
} >"$results/bench-hooks.md"

step "Results: $files files, $criteria criteria in $((tasks + 1)) tasks ($done_tasks done), $(nproc 2>/dev/null || echo '?') CPUs"
cat "$results/bench-hooks.md"
if [ -n "$out" ]; then
    mkdir -p "$out"
    cp "$results"/*.md "$results"/*.json "$out"/
    echo "(written to $out)"
fi
