#!/bin/sh
# The specproof server benchmark: how long the pre-receive hook that `specproof install --server`
# puts in a bare repository (`specproof hook pre-receive`) takes to check a push, and what it
# adds to the `git push`. It is a script, not a test: it measures, it does not pass or fail on a
# figure.
#
#   1. builds specproof in release (`cargo build --release --locked`, into $CARGO_TARGET_DIR
#      when set, else target/), unless SPECPROOF_BIN names a binary to use;
#   2. generates, in a temporary folder removed on exit, the repository of
#      scripts/bench-hooks.sh (scripts/bench-repo.sh writes it): 10,000 Rust source files, one
#      plan of 500 sections with 3 file-proof criteria each, one task per section and T-BENCH;
#      then, as a team would:
#        - commits it (--no-verify), runs `specproof verify` (every criterion passes) and commits
#          the evidence, but for T-BENCH and for the 100 tasks of case (b), whose evidence is
#          removed;
#        - moves 200 of the tasks, spread over the plan, to `done` and commits that: that commit
#          is the base B, the server's main branch before every push below;
#      and makes, on top of B, with hooks off (the client installs none: only the server checks):
#        (a) 1,000 commits that touch no task file (branch case-a, with `git fast-import`): each
#            adds a line to one source file that no criterion reads, a different file each time;
#        (b) 100 commits that each move one task to done (branch case-b): for each of 100 tasks
#            spread over the 300 that are not done, `specproof verify --task T` (3 file proofs
#            run and write fresh evidence), then its status in_progress -> done, committed with
#            its evidence: the server replays gates G1 to G3 for T and, with its policy
#            specproof.rerun = file-proofs (the default, written out), runs T's 3 file proofs
#            again on the commit's tree;
#      and two commits it must reject: a task moved to done without evidence (G3), and a source
#      file that a done task's pattern_matches criterion reads emptied (F10). The repository is
#      packed (`git gc`; automatic gc is off).
#   3. makes the server: a bare repository holding B as main (pushed before the hook is there),
#      with `specproof install --server` and automatic gc off (gc.auto 0, receive.autoGc false);
#      it is the template every timed push starts from. A second copy, for the hook alone, also
#      holds the objects of (a) and (b), pushed under temporary refs without the hook and the
#      refs deleted: main still names B, so for the hook every commit of (a) and (b) is new.
#   4. checks that the hook is live: pushing either bad commit to the template is rejected (which
#      leaves it as it was: git drops a rejected push's objects), and the hook alone rejects it;
#      that with the hook skipped (`--receive-pack="git -c core.hooksPath=<an empty folder>
#      receive-pack"`) the same push is accepted; and that the hook alone accepts (a) and (b)
#      (exit 0), and so do real pushes of them, which send every object of the case
#      (`git push --progress` counts them) and leave main at the case's last commit;
#   5. times with hyperfine (https://github.com/sharkdp/hyperfine), for (a) and (b):
#        pre-receive alone   `specproof hook pre-receive` run as git runs it (in the bare
#                            repository, GIT_DIR=.), stdin "<B> <last commit> refs/heads/main";
#                            it writes no ref, so every run checks the same commits;
#        push                `git push <server> <last commit>:refs/heads/main`, without the hook
#                            (the --receive-pack above) and with it; before each run, --prepare
#                            puts a fresh copy of the template in place, so each push transfers
#                            every object into git's quarantine and the hook checks every commit
#                            (resetting the ref alone would leave the objects of the previous run
#                            on the server);
#      and, for reference, (b) alone with the server's specproof.rerun set to none (no proof
#      runs again); and prints one markdown table, in ms: per case, the hook alone (mean ± σ,
#      the fastest run and the CPU time, user + system: other load on the machine disturbs
#      those two less; and the mean per commit), the pushes without and with the hook, and what the hook adds to the push
#      (the difference of the means, the two σ combined) in all and per commit.
#
# Git's global and system configuration are not read (GIT_CONFIG_GLOBAL=/dev/null,
# GIT_CONFIG_NOSYSTEM=1).
#
# Options:
#   --files N              source files to generate (default 10000)
#   --tasks N              plan sections and tasks, besides T-BENCH (default 500)
#   --per-task N           criteria per task (default 3, at least 2)
#   --done N               tasks done in the base (default 200)
#   --commits N            commits of case (a) (default 1000)
#   --done-commits N       commits of case (b), tasks moved to done (default 100; at most
#                          --tasks minus --done)
#   --warmup N             hyperfine warm-up runs before each measurement (default 2)
#   --runs N               hyperfine runs per measurement (default: hyperfine's, at least 10)
#   --out DIR              also write the table (bench-receive.md) and hyperfine's markdown and
#                          JSON exports there
#   --keep                 keep the generated repositories and print where they are
#   --install-hyperfine    install hyperfine when it is missing: `apt-get install -y hyperfine`
#                          (as root, or through sudo), else `cargo install hyperfine --locked`
#   -h, --help             this text
# Environment:
#   SPECPROOF_BIN=/path/to/specproof   do not build; time this binary
#   CARGO_TARGET_DIR                   where cargo builds (honoured as cargo does)
# Exit: 0 when the benchmark ran, 1 when a step did not behave as expected (lint found
# problems, a criterion failed, the hook rejected an honest push or let a bad one through), 2 on
# a usage error or when hyperfine is missing and --install-hyperfine was not given.
set -eu

files=10000
tasks=500
per_task=3
done_tasks=200
commits=1000
done_commits=100
warmup=2
runs=
out=
keep=0
install=0

usage_error() {
    echo "bench-receive.sh: $*" >&2
    exit 2
}

number() {
    case $2 in
        '' | *[!0-9]*) usage_error "$1 needs a whole number, not \"$2\"" ;;
    esac
}

while [ $# -gt 0 ]; do
    case $1 in
        --files | --tasks | --per-task | --done | --commits | --done-commits | --warmup | --runs | --out)
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
                        --commits) commits=$2 ;;
                        --done-commits) done_commits=$2 ;;
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
[ "$done_tasks" -ge 1 ] && [ "$done_tasks" -lt "$tasks" ] || usage_error "--done must be between 1 and --tasks - 1 ($((tasks - 1)))"
[ "$commits" -ge 1 ] || usage_error "--commits must be at least 1"
[ "$done_commits" -ge 1 ] && [ "$done_commits" -le $((tasks - done_tasks)) ] || usage_error "--done-commits must be between 1 and --tasks - --done ($((tasks - done_tasks)))"
# As in scripts/bench-hooks.sh: task t reads the files t*stride .. t*stride+per_task-1.
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
    printf '\nbench-receive.sh: FAILED: %s\n' "$*" >&2
    exit 1
}

# Nothing from an outer git command (a hook, a rebase) may point git elsewhere, and the user's
# global and system git configuration stay out of the measurement.
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES \
    GIT_COMMON_DIR GIT_PREFIX GIT_CONFIG_PARAMETERS GIT_CONFIG_COUNT GIT_QUARANTINE_PATH \
    SPECPROOF_OVERRIDE SPECPROOF_FAIL_OPEN 2>/dev/null || true
GIT_CONFIG_GLOBAL=/dev/null
GIT_CONFIG_NOSYSTEM=1
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
bench_hyperfine bench-receive.sh "$install"
bench_binary "$top"
echo "git: $(command -v git) ($(git --version))"

# 3. The repositories, in a temporary folder removed on exit.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/specproof-bench-receive.XXXXXX")
cleanup() {
    if [ "$keep" -eq 1 ]; then
        printf '\nKept the repositories: %s (repo, server.git, hook.git)\n' "$tmp"
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
# The server every timed push starts from; the server of the hook alone; the one pushed to.
template=$tmp/server.git
hookrepo=$tmp/hook.git
pushrepo=$tmp/push.git
nohooks=$tmp/no-hooks
mkdir "$repo" "$nohooks"
# The push with the server's hooks skipped: receive-pack with core.hooksPath at an empty folder.
skip_hook="--receive-pack=\"git -c core.hooksPath='$nohooks' receive-pack\""
cd "$repo"
started=$(date +%s)

criteria=$((tasks * per_task + 10))
step "Generating $files files, $criteria criteria in $tasks tasks and T-BENCH in $repo"
git init -q -b main .
git config commit.gpgsign false
git config gc.auto 0
git config maintenance.auto false
. "$here/bench-repo.sh"
bench_repo_generate scripts/bench-receive.sh "$tmp" || fail "generating the repository"
. "$tmp/picks"
git add -A
git commit -q --no-verify -m "benchmark tree: $files files, $criteria criteria in $((tasks + 1)) tasks"
echo "$(git ls-files | wc -l | tr -d ' ') files committed"

# `count KEY FILE N`: the summary of verify's JSON report in $tmp/FILE has "KEY": N.
count() {
    grep -Eq "^ *\"$1\": $3,?\$" "$tmp/$2"
}

step "specproof lint"
"$bin" --color never lint || fail "specproof lint found problems in the generated files"

step "specproof verify (every task: every proof runs)"
"$bin" --color never verify --format json >"$tmp/verify.json" || fail "verify failed: $tmp/verify.json (use --keep)"
count criteria verify.json "$criteria" && count passed verify.json "$criteria" || fail "not every criterion passed: $tmp/verify.json"
echo "$criteria passed"

# The tasks of case (b): $done_commits of those that are not done, spread evenly.
awk -v tasks="$tasks" -v n="$done_commits" -v donedir="$tmp/done" 'BEGIN {
    for (t = 1; t <= tasks; t++) {
        id = sprintf("T-%03d", t)
        if ((getline line < (donedir "/" id ".md")) > 0)
            close(donedir "/" id ".md")
        else
            open[m++] = id
    }
    for (k = 0; k < n; k++)
        print open[int(k * m / n)]
}' >"$tmp/claims"
[ "$(wc -l <"$tmp/claims" | tr -d ' ')" -eq "$done_commits" ] || fail "cannot pick $done_commits tasks that are not done"

step "Committing the evidence (but T-BENCH's and that of the $done_commits tasks of case (b)), then $done_tasks tasks moved to done"
while read -r t; do
    rm -rf ".specproof/evidence/$t"
done <"$tmp/claims"
rm -rf .specproof/evidence/T-BENCH
git add -A
git commit -q --no-verify -m "evidence of the verified tasks"
for f in "$tmp"/done/T-[0-9]*.md; do
    cp "$f" .specproof/tasks/
done
git add .specproof/tasks
git commit -q --no-verify -m "$done_tasks tasks done"
base=$(git rev-parse HEAD)
[ -z "$(git status --porcelain)" ] || fail "the work tree is not clean at the base"
echo "base B: $base"

# Case (a): one commit per edited file, each file read from B's work tree, through
# `git fast-import` (no work tree, no index): commit k adds a line to file k of the files that
# no criterion reads (again from the first when there are fewer files than commits).
step "Case (a): $commits commits that each add a line to a source file no criterion reads (git fast-import)"
awk -v commits="$commits" -v base="$base" -v date=1767225600 '
{ paths[n++] = $0 }
END {
    if (n == 0) {
        print "no source file that no criterion reads" > "/dev/stderr"
        exit 1
    }
    who = "specproof bench <bench@example.invalid>"
    for (k = 0; k < commits; k++) {
        p = paths[k % n]
        if (!(p in text)) {
            text[p] = ""
            while ((getline line < p) > 0)
                text[p] = text[p] line "\n"
            close(p)
        }
        text[p] = text[p] sprintf("// Edit %d, written by scripts/bench-receive.sh.\n", k + 1)
        printf "commit refs/heads/case-a\nmark :%d\n", k + 1
        printf "author %s %d +0000\ncommitter %s %d +0000\n", who, date + k + 1, who, date + k + 1
        printf "data <<EOM\nbench: edit %s (%d of %d)\nEOM\n", p, k + 1, commits
        if (k == 0)
            printf "from %s\n", base
        printf "M 100644 inline %s\ndata <<EOT\n%sEOT\n\n", p, text[p]
    }
}' "$tmp/quiet" >"$tmp/case-a.stream" || fail "writing the fast-import stream of case (a)"
git fast-import --quiet <"$tmp/case-a.stream" || fail "git fast-import of case (a)"
rm -f "$tmp/case-a.stream"
tip_a=$(git rev-parse case-a)
[ "$(git rev-list --count "$base..$tip_a")" -eq "$commits" ] || fail "case (a) does not hold $commits commits"
[ -z "$(git diff --name-only "$base" "$tip_a" -- .specproof plans specproof.yml)" ] || fail "case (a) touches a specproof file"
echo "case (a): $tip_a"

# Case (b): what a worker does for each task: verify it, claim it done, commit.
step "Case (b): $done_commits tasks verified (specproof verify --task T) and moved to done, one commit each"
git checkout -q -b case-b "$base"
while read -r t; do
    task=.specproof/tasks/$t.md
    "$bin" --color never verify --task "$t" </dev/null >"$tmp/verify-task.txt" 2>&1 || fail "specproof verify --task $t failed: $(cat "$tmp/verify-task.txt")"
    [ "$(find ".specproof/evidence/$t" -name '*.json' | wc -l | tr -d ' ')" -eq "$per_task" ] || fail "verify --task $t did not write $per_task evidence files"
    sed 's/^status: in_progress$/status: done/' "$task" >"$tmp/task.md"
    cmp -s "$task" "$tmp/task.md" && fail "$t is not in_progress"
    mv "$tmp/task.md" "$task"
    git add -- "$task" ".specproof/evidence/$t"
    git commit -q --no-verify -m "$t done: its $per_task criteria verified" </dev/null
done <"$tmp/claims"
tip_b=$(git rev-parse HEAD)
[ "$(git rev-list --count "$base..$tip_b")" -eq "$done_commits" ] || fail "case (b) does not hold $done_commits commits"
[ -z "$(git status --porcelain)" ] || fail "the work tree is not clean after case (b)"
echo "case (b): $tip_b"

# Two commits the server must reject.
first_claim=$(sed -n 1p "$tmp/claims")
git checkout -q -b bad-claim "$base"
sed 's/^status: in_progress$/status: done/' ".specproof/tasks/$first_claim.md" >"$tmp/task.md"
mv "$tmp/task.md" ".specproof/tasks/$first_claim.md"
git commit -q --no-verify -am "bench: $first_claim done without evidence"
bad_claim=$(git rev-parse HEAD)
git checkout -q -b bad-break "$base"
printf '// emptied by scripts/bench-receive.sh\n' >"$watched"
git commit -q --no-verify -am "bench: break $watched_task $watched_criterion"
bad_break=$(git rev-parse HEAD)
git checkout -q main

step "git gc (everything packed)"
git gc -q
git count-objects -v | grep -E '^(count|in-pack|packs):' | tr '\n' ' '
echo
echo "generated in $(($(date +%s) - started)) s"

# 4. The servers.
step "The server: a bare repository with main at B, then specproof install --server"
git init -q --bare "$template"
git --git-dir="$template" config gc.auto 0
git --git-dir="$template" config receive.autoGc false
git --git-dir="$template" config specproof.rerun file-proofs
git push -q "$template" main:refs/heads/main
"$bin" --color never install --server --repo "$template" || fail "specproof install --server failed"
# The hook alone: a copy that also holds every object of the cases and of the bad commits,
# unreachable from its refs (pushed without the hook under refs that are then deleted).
cp -R "$template" "$hookrepo"
eval "git push -q $skip_hook \"\$hookrepo\" case-a:refs/bench/case-a case-b:refs/bench/case-b bad-claim:refs/bench/bad-claim bad-break:refs/bench/bad-break"
for r in case-a case-b bad-claim bad-break; do
    git --git-dir="$hookrepo" update-ref -d "refs/bench/$r"
done
[ "$(git --git-dir="$hookrepo" for-each-ref --format='%(refname)')" = refs/heads/main ] || fail "the hook's server has refs besides main"

# `hook_alone NAME TIP`: writes the hook's stdin for a push of TIP over B to $tmp/NAME.in and
# runs the hook in $hookrepo as git does (its output in $tmp/hook.txt); returns its exit code.
hook_alone() {
    printf '%s %s refs/heads/main\n' "$base" "$2" >"$tmp/$1.in"
    (cd "$hookrepo" && GIT_DIR=. "$bin" hook pre-receive <"$tmp/$1.in") >"$tmp/hook.txt" 2>&1
}
# `push_fresh TIP [--receive-pack=...]`: a fresh copy of the template, then the push of TIP to
# its main (its output in $tmp/push.txt); returns git push's exit code.
push_fresh() {
    rm -rf "$pushrepo"
    cp -R "$template" "$pushrepo"
    eval "git push --progress ${2:-} \"\$pushrepo\" $1:refs/heads/main" >"$tmp/push.txt" 2>&1
}

# 5. The checks.
step "The hook is live: pushes of the two bad commits are rejected"
for c in "bad-claim G3 $bad_claim" "bad-break F10 $bad_break"; do
    set -- $c
    if git push -q "$template" "$3:refs/heads/main" 2>"$tmp/rejected.txt"; then
        fail "the server accepted the push of $1"
    fi
    grep -q "pre-receive hook declined" "$tmp/rejected.txt" && grep -q "$2" "$tmp/rejected.txt" || fail "the rejection of $1 does not name $2: $(cat "$tmp/rejected.txt")"
    [ "$(git --git-dir="$template" rev-parse main)" = "$base" ] || fail "main moved although the hook rejected $1"
    if hook_alone "$1" "$3"; then
        fail "the hook alone accepted $1"
    fi
    grep -q "$2" "$tmp/hook.txt" || fail "the hook alone rejected $1 without naming $2: $(cat "$tmp/hook.txt")"
    echo "$1: rejected ($2), by the push and by the hook alone"
done
git --git-dir="$template" fsck --no-progress >/dev/null 2>&1 || fail "git fsck finds the server broken"
push_fresh "$bad_claim" "$skip_hook" || fail "with the hook skipped, the push of bad-claim was rejected: $(cat "$tmp/push.txt")"
echo "bad-claim: accepted with the hook skipped (the pushes \"without hook\" below skip it this way)"

step "The honest pushes are accepted"
for c in "a $tip_a $commits" "b $tip_b $done_commits"; do
    set -- $c
    hook_alone "case-$1" "$2" || fail "the hook alone rejected case ($1): $(cat "$tmp/hook.txt")"
    echo "case ($1): the hook alone accepts its $3 commits"
    objects=$(git rev-list --objects "$2" --not "$base" | wc -l | tr -d ' ')
    push_fresh "$2" || fail "the server rejected the push of case ($1): $(cat "$tmp/push.txt")"
    grep -q "Writing objects: 100% ($objects/$objects)" "$tmp/push.txt" || fail "the push of case ($1) did not send its $objects objects: $(cat "$tmp/push.txt")"
    [ "$(git --git-dir="$pushrepo" rev-parse main)" = "$2" ] || fail "after the push of case ($1), main is not its last commit"
    echo "case ($1): the push sends its $objects objects and is accepted"
done

# 6. hyperfine.
set -- --warmup "$warmup" --style basic --time-unit millisecond
[ -z "$runs" ] || set -- "$@" --runs "$runs"
results=$tmp/results
mkdir "$results"
alone="cd '$hookrepo' && GIT_DIR=. '$bin' hook pre-receive"

# `measure NAME TITLE TIP`: the hook alone, then the push without and with it.
measure() {
    name=$1 title=$2 tip=$3
    shift 3
    step "hyperfine: $title, pre-receive alone"
    hyperfine "$@" --export-markdown "$results/$name-alone.md" --export-json "$results/$name-alone.json" \
        -n "pre-receive alone" "$alone <'$tmp/$name.in'"
    step "hyperfine: $title, git push"
    hyperfine "$@" --prepare "rm -rf '$pushrepo' && cp -R '$template' '$pushrepo'" \
        --export-markdown "$results/$name-push.md" --export-json "$results/$name-push.json" \
        -n "push without hook" "git push -q $skip_hook '$pushrepo' $tip:refs/heads/main" \
        -n "push with hook" "git push -q '$pushrepo' $tip:refs/heads/main"
    [ "$(git --git-dir="$pushrepo" rev-parse main)" = "$tip" ] || fail "the last push of $title did not move main to $tip"
}
case_a="(a) $commits commits, no task file"
case_b="(b) $done_commits tasks to done"
measure case-a "$case_a" "$tip_a" "$@"
measure case-b "$case_b" "$tip_b" "$@"

step "hyperfine: $case_b, pre-receive alone with specproof.rerun none (reference)"
git --git-dir="$hookrepo" config specproof.rerun none
hook_alone case-b "$tip_b" || fail "with specproof.rerun none, the hook alone rejected case (b)"
hyperfine "$@" --export-markdown "$results/case-b-none.md" --export-json "$results/case-b-none.json" \
    -n "pre-receive alone, rerun none" "$alone <'$tmp/case-b.in'"
git --git-dir="$hookrepo" config specproof.rerun file-proofs

# One table from hyperfine's JSON exports.
# `row TITLE N ALONE [PUSH]`: a case of N commits; ALONE and PUSH name the exports.
row() {
    push=/dev/null
    [ -z "${4:-}" ] || push=$results/$4.json
    awk -v title="$1" -v n="$2" '
        function value(line) { sub(/^[^:]*: */, "", line); sub(/,$/, "", line); return line * 1000 }
        FNR == 1 { file++ }
        /"command":/ { c = (file == 1) ? "h" : ($0 ~ /"push without hook"/) ? "a" : "b" }
        /"mean":/ { mean[c] = value($0) }
        /"stddev":/ { sd[c] = value($0) }
        /"min":/ { min[c] = value($0) }
        /"user":/ { cpu[c] += value($0) }
        /"system":/ { cpu[c] += value($0) }
        END {
            printf "| %s | %d | %.0f ± %.0f | %.0f | %.0f | %.2f |", title, n, mean["h"], sd["h"], min["h"], cpu["h"], mean["h"] / n
            if (!("a" in mean)) {
                print " | | | |"
                exit
            }
            added = mean["b"] - mean["a"]
            printf " %.0f ± %.0f | %.0f ± %.0f | %.0f ± %.0f | %.2f |\n", mean["a"], sd["a"],
                mean["b"], sd["b"], added, sqrt(sd["a"] * sd["a"] + sd["b"] * sd["b"]), added / n
        }
    ' "$results/$3.json" "$push"
}
{
    echo "| Push | Commits | pre-receive alone [ms] | its min [ms] | its CPU time [ms] | per commit [ms] | push without hook [ms] | push with hook [ms] | added by the hook [ms] | added per commit [ms] |"
    echo "|:---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    row "$case_a" "$commits" case-a-alone case-a-push
    row "$case_b" "$done_commits" case-b-alone case-b-push
    row "$case_b, specproof.rerun none (reference)" "$done_commits" case-b-none
} >"$results/bench-receive.md"

step "Results: $files files, $criteria criteria in $((tasks + 1)) tasks ($done_tasks done at B), $(nproc 2>/dev/null || echo '?') CPUs"
cat "$results/bench-receive.md"
if [ -n "$out" ]; then
    mkdir -p "$out"
    cp "$results"/*.md "$results"/*.json "$out"/
    echo "(written to $out)"
fi
