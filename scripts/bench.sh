#!/bin/sh
# The specproof benchmark: how long `specproof verify` takes on a large repository, cold and
# cached. It is a script, not a test: it measures, it does not pass or fail on a figure.
#
#   1. builds specproof in release (`cargo build --release --locked`, into $CARGO_TARGET_DIR
#      when set, else target/), unless SPECPROOF_BIN names a binary to use;
#   2. generates, in a temporary folder removed on exit, a git repository of 10,000 Rust source
#      files in nested folders (src/m12/g3/f1234.rs: 100 files per src/mNN, 10 per gN),
#      committed, and 4 plans (plans/bench-N.md) with 2,000 file-proof criteria in all:
#      file_exists, pattern_matches and no_pattern_exists in turn, on literal paths, with one
#      glob criterion in every 200 (src/m05/**/*.rs and the like); they are split into 20 tasks
#      of 100 criteria (.specproof/tasks/T-NNN.md, status in_progress), and every one passes;
#   3. checks that `specproof lint` finds no problem, that a first `specproof verify` passes
#      every criterion and that a second one reports every criterion cached;
#   4. times with hyperfine (https://github.com/sharkdp/hyperfine):
#        cold                         `specproof verify`, every evidence file removed before
#                                     each run (--prepare 'rm -rf .specproof/evidence'):
#                                     every proof runs and writes its evidence;
#        cached                       `specproof verify` with every evidence file fresh and
#                                     not committed, as a previous verify leaves them;
#        cached, evidence committed   the same after `git commit` of the evidence;
#        specproof lint (reference)   `specproof lint`: reading and checking every plan and
#                                     task, which verify does first;
#        git status (reference)       `git status --porcelain --untracked-files=all` in the
#                                     same repository: what finding the changed files costs git;
#      and prints one markdown table of the results (mean ± σ, min, max, in ms).
#
# The repository's specproof.yml is the default one: proofs run with one job per CPU.
#
# Options:
#   --files N              source files to generate (default 10000)
#   --criteria N           criteria in all (default 2000)
#   --per-task N           criteria per task (default 100)
#   --warmup N             hyperfine warm-up runs before each measurement (default 3)
#   --runs N               hyperfine runs per measurement (default: hyperfine's, at least 10)
#   --out DIR              also write the table (bench.md) and hyperfine's JSON exports there
#   --keep                 keep the generated repository and print where it is
#   --install-hyperfine    install hyperfine when it is missing: `apt-get install -y hyperfine`
#                          (as root, or through sudo), else `cargo install hyperfine --locked`
#   -h, --help             this text
# Environment:
#   SPECPROOF_BIN=/path/to/specproof   do not build; time this binary
#   CARGO_TARGET_DIR                   where cargo builds (honoured as cargo does)
# Exit: 0 when the benchmark ran, 1 when a step did not behave as expected (lint found
# problems, a criterion failed, the second verify was not all cached), 2 on a usage error or
# when hyperfine is missing and --install-hyperfine was not given.
set -eu

files=10000
criteria=2000
per_task=100
warmup=3
runs=
out=
keep=0
install=0

usage_error() {
    echo "bench.sh: $*" >&2
    exit 2
}

number() {
    case $2 in
        '' | *[!0-9]*) usage_error "$1 needs a whole number, not \"$2\"" ;;
    esac
}

while [ $# -gt 0 ]; do
    case $1 in
        --files | --criteria | --per-task | --warmup | --runs | --out)
            [ $# -ge 2 ] || usage_error "$1 needs a value"
            case $1 in
                --out) out=$2 ;;
                *)
                    number "$1" "$2"
                    case $1 in
                        --files) files=$2 ;;
                        --criteria) criteria=$2 ;;
                        --per-task) per_task=$2 ;;
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
[ "$files" -ge 1 ] || usage_error "--files must be at least 1"
[ "$criteria" -ge 1 ] || usage_error "--criteria must be at least 1"
[ "$per_task" -ge 1 ] || usage_error "--per-task must be at least 1"
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
    printf '\nbench.sh: FAILED: %s\n' "$*" >&2
    exit 1
}

# Nothing from an outer git command (a hook, a rebase) may point git elsewhere.
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES \
    GIT_COMMON_DIR GIT_PREFIX 2>/dev/null || true

# 1. hyperfine, first: no point building for minutes to stop then. 2. The binary.
. "$here/bench-tools.sh"
bench_hyperfine bench.sh "$install"
bench_binary "$top"

# 3. The repository, in a temporary folder removed on exit.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/specproof-bench.XXXXXX")
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
repo=$tmp/repo
mkdir "$repo"
cd "$repo"

tasks=$(((criteria + per_task - 1) / per_task))
step "Generating $files files, $criteria criteria in $tasks tasks in $repo"
git init -q .
git config user.name "specproof bench"
git config user.email "bench@example.invalid"
git config commit.gpgsign false

# The folders, then every file, plan and task from one awk program (no process per file).
awk -v files="$files" 'BEGIN {
    for (m = 0; m * 100 < files; m++)
        for (g = 0; g < 10 && m * 100 + g * 10 < files; g++)
            printf "src/m%02d/g%d\n", m, g
    print "plans"
    print ".specproof/tasks"
    print ".specproof/evidence"
    print ".specproof/snapshots"
}' | xargs mkdir -p

awk -v files="$files" -v criteria="$criteria" -v per_task="$per_task" '
function path(i) {
    return sprintf("src/m%02d/g%d/f%04d.rs", int(i / 100), int(i / 10) % 10, i)
}
function name(i) {
    return sprintf("f%04d", i)
}
# Files in folder src/mNN.
function in_module(m) {
    n = files - m * 100
    return n > 100 ? 100 : n
}
# Criterion j (0-based) as YAML list items.
function criterion(j,    id, i, p, kind, m, g) {
    id = sprintf("B-%04d", j + 1)
    if (j % 200 == 199) {
        # A glob criterion over one src/mNN folder.
        m = int(j / 200) % (int((files - 1) / 100) + 1)
        g = sprintf("src/m%02d", m)
        kind = int(j / 200) % 3
        if (kind == 0)
            return sprintf("- id: %s\n  description: every file of %s is there\n  proof: file_exists\n  args: { path: \"%s/**/*.rs\", min: %d }\n", id, g, g, in_module(m))
        if (kind == 1)
            return sprintf("- id: %s\n  description: every file of %s defines a function\n  proof: pattern_matches\n  args: { path: \"%s/g*/*.rs\", pattern: \"^pub fn f[0-9]+[(][)]\", min: %d }\n", id, g, g, in_module(m))
        return sprintf("- id: %s\n  description: %s keeps no debugging leftovers\n  proof: no_pattern_exists\n  args: { path: \"%s/**\", pattern: \"(?i)todo|fixme|dbg!|unimplemented!\" }\n", id, g, g)
    }
    i = int(j * files / criteria) % files
    p = path(i)
    kind = j % 3
    if (kind == 0)
        return sprintf("- id: %s\n  description: %s exists\n  proof: file_exists\n  args: { path: %s }\n", id, p, p)
    if (kind == 1)
        return sprintf("- id: %s\n  description: %s defines %s\n  proof: pattern_matches\n  args: { path: %s, pattern: \"pub fn %s[(][)] -> u32\" }\n", id, p, name(i), p, name(i))
    return sprintf("- id: %s\n  description: %s keeps no debugging leftovers\n  proof: no_pattern_exists\n  args: { path: %s, pattern: \"(?i)todo|fixme|dbg!|unimplemented!\" }\n", id, p, p)
}
BEGIN {
    for (i = 0; i < files; i++) {
        f = path(i)
        printf "//! %s of the generated benchmark tree.\n\n", name(i) > f
        printf "/// Returns the number of this file.\n" > f
        printf "pub fn %s() -> u32 {\n    %d\n}\n\n", name(i), i > f
        printf "#[cfg(test)]\nmod tests {\n    #[test]\n    fn number() {\n" > f
        printf "        assert_eq!(super::%s(), %d);\n    }\n}\n", name(i), i > f
        close(f)
    }
    tasks = int((criteria + per_task - 1) / per_task)
    for (t = 0; t < tasks; t++) {
        plan = sprintf("plans/bench-%d.md", int(t / 5) + 1)
        if (t % 5 == 0) {
            if (t > 0) close(previous)
            printf "# Benchmark plan %d\n\nGenerated by scripts/bench.sh.\n", int(t / 5) + 1 > plan
            previous = plan
        }
        section = sprintf("Area %03d", t + 1)
        source = sprintf("Area %03d of the generated tree: its files exist, define their function and keep no debugging leftovers.", t + 1)
        block = ""
        for (j = t * per_task; j < (t + 1) * per_task && j < criteria; j++)
            block = block criterion(j)
        printf "\n## %s\n\n%s\n\n```criteria\n%s```\n", section, source, block > plan

        task = sprintf(".specproof/tasks/T-%03d.md", t + 1)
        printf "---\ntask_id: T-%03d\nplan_file: %s\nplan_section: %s\n", t + 1, plan, section > task
        printf "status: in_progress\nassigned_to: worker-1\ntier: 1\niteration: 1\nattempts: 0\n" > task
        printf "base: null\nescalation: null\ndepends_on: []\n---\n" > task
        printf "## Source\n\n%s\n\n## Acceptance Criteria\n\n```criteria\n%s```\n\n", source, block > task
        printf "## File Targets\n\n- src/\n\n## Context\n\n## Worker Report\n\n### Echo-Back\n\n" > task
        for (j = t * per_task; j < (t + 1) * per_task && j < criteria; j++)
            printf "- B-%04d: the generator writes it; specproof checks it\n", j + 1 > task
        printf "\nAssumptions:\n\n### Implementation Notes\n\n### Evidence\n\n### Code Changes\n\n" > task
        printf "### Self-Review\n\n### Status Update\n" > task
        close(task)
    }
}'
git add -A
git commit -q --no-verify -m "benchmark tree: $files files, $criteria criteria in $tasks tasks"
echo "$(git ls-files | wc -l | tr -d ' ') files committed"

# `count KEY FILE N`: the summary of verify's JSON report in $tmp/FILE has "KEY": N.
count() {
    grep -Eq "^ *\"$1\": $3,?\$" "$tmp/$2"
}

# 4. Sanity: lint clean, every criterion passes, then every criterion is cached.
step "specproof lint"
"$bin" --color never lint || fail "specproof lint found problems in the generated files"

step "specproof verify (first run: every proof runs)"
"$bin" --color never verify --format json >"$tmp/first.json" || fail "the first verify failed: $tmp/first.json (use --keep)"
count criteria first.json "$criteria" && count passed first.json "$criteria" || fail "not every criterion passed: $tmp/first.json"
echo "$criteria passed"

step "specproof verify (second run: every criterion cached)"
"$bin" --color never verify --format json >"$tmp/second.json" || fail "the second verify failed"
count passed second.json "$criteria" && count cached second.json "$criteria" || fail "the second verify did not reuse every evidence file: $tmp/second.json"
echo "$criteria passed, $criteria cached"

# 5. hyperfine.
set -- --warmup "$warmup" --style basic --time-unit millisecond
[ -z "$runs" ] || set -- "$@" --runs "$runs"
verify="'$bin' --color never verify"
results=$tmp/results
mkdir "$results"

step "hyperfine: cold (evidence removed before each run)"
hyperfine "$@" --prepare 'rm -rf .specproof/evidence' \
    --export-markdown "$results/cold.md" --export-json "$results/cold.json" \
    -n cold "$verify"

step "hyperfine: cached (evidence fresh, not committed)"
"$bin" --color never verify >/dev/null || fail "verify failed before the cached runs"
hyperfine "$@" --export-markdown "$results/cached.md" --export-json "$results/cached.json" \
    -n cached "$verify"

step "hyperfine: cached, evidence committed; lint and git status for reference"
git add -A
git commit -q --no-verify -m "evidence"
hyperfine "$@" --export-markdown "$results/committed.md" --export-json "$results/committed.json" \
    -n "cached, evidence committed" "$verify" \
    -n "specproof lint (reference)" "'$bin' --color never lint" \
    -n "git status (reference)" "git status --porcelain --untracked-files=all"
[ -z "$(git status --porcelain)" ] || fail "verify changed the committed tree"

# One table: hyperfine's rows without the "Relative" column (each run has its own baseline).
{
    echo "| Command | Mean [ms] | Min [ms] | Max [ms] |"
    echo "|:---|---:|---:|---:|"
    for f in cold cached committed; do
        awk -F'|' 'NR > 2 && NF > 5 { printf "|%s|%s|%s|%s|\n", $2, $3, $4, $5 }' "$results/$f.md"
    done
} >"$results/bench.md"

step "Results: $files files, $criteria criteria in $tasks tasks, $(nproc 2>/dev/null || echo '?') CPUs"
cat "$results/bench.md"
if [ -n "$out" ]; then
    mkdir -p "$out"
    cp "$results"/*.md "$results"/*.json "$out"/
    echo "(written to $out)"
fi
