//! How `git commit` was invoked, as the hooks read it from git's command line: an amend is
//! recognised by `--amend` as an option (not as the value of `-m`), also when git runs under
//! another name, and commit-msg cleans the message as git will (comment lines are kept when the
//! message was not written in the editor; `--cleanup`, `commit.cleanup` and `git -c
//! core.commentChar` are honoured).

use std::path::{Path, PathBuf};

use crate::common::{Repo, Run};
use crate::hooks::{TASK, accepted, commit_all, hooked, rejected, set_status, work_and_verify};

/// The git that `git` names on PATH, found as the shell finds it.
fn real_git() -> PathBuf {
    let path = std::env::var_os("PATH").expect("PATH");
    std::env::split_paths(&path)
        .map(|dir| dir.join("git"))
        .find(|p| p.is_file())
        .expect("git on PATH")
}

/// Runs git through `program` (e.g. a symlink to git with another name) in the repository.
fn git_as(repo: &Repo, program: &Path, args: &[&str]) -> Run {
    let out = repo
        .command(program, repo.path())
        .args(["-c", "commit.gpgsign=false"])
        .args(args)
        .output()
        .expect("run git");
    Run::from(&out)
}

#[test]
fn a_message_that_reads_dash_dash_amend_is_not_an_amend() {
    let repo = hooked();
    work_and_verify(&repo);
    set_status(&repo, TASK, "in_progress", "done");
    accepted(&repo, &repo.head(), &commit_all(&repo, "done"));
    set_status(&repo, TASK, "done", "complete");
    accepted(&repo, &repo.head(), &commit_all(&repo, "complete"));
    let head = repo.head();

    // `-m --amend` is a new commit whose message is "--amend": judged against HEAD, where T-1 is
    // complete, not against HEAD's parent, where it was done and could go back.
    set_status(&repo, TASK, "complete", "in_progress");
    let run = commit_all(&repo, "--amend");
    rejected(
        &repo,
        &head,
        &run,
        &["T-1", "lifecycle", "complete is final"],
    );
    // The same as the value of --message, and an --amend taken back by --no-amend.
    for args in [
        &["commit", "--message=--amend"][..],
        &["commit", "-m", "reopen", "--amend", "--no-amend"],
    ] {
        let run = repo.git_env(args, &[]);
        rejected(&repo, &head, &run, &["complete is final"]);
    }
}

#[test]
fn an_amend_through_a_symlinked_git_with_another_name_is_judged_against_the_parent() {
    let repo = hooked();
    work_and_verify(&repo);
    set_status(&repo, TASK, "in_progress", "done");
    accepted(&repo, &repo.head(), &commit_all(&repo, "done"));
    let head = repo.head();
    // Amending the done commit into a complete one: against the parent, T-1 goes from
    // in_progress to complete, and its evidence was not committed before (G4).
    set_status(&repo, TASK, "done", "complete");
    repo.git(&["add", "-A"]);
    let bin = tempfile::tempdir().expect("tempdir");
    let vcs = bin.path().join("vcs");
    std::os::unix::fs::symlink(real_git(), &vcs).expect("symlink");
    let run = git_as(
        &repo,
        &vcs,
        &["commit", "--amend", "-m", "done and complete"],
    );
    rejected(
        &repo,
        &head,
        &run,
        &["G4 evidence persisted", "W-1", "later commit"],
    );
    // A prefix git accepts for --amend, after global options, is an amend too.
    let run = git_as(
        &repo,
        &vcs,
        &["-C", ".", "--no-pager", "commit", "-q", "--am", "--no-edit"],
    );
    rejected(&repo, &head, &run, &["G4 evidence persisted"]);
    // Without --amend the same change is a new commit on top of the done one: accepted.
    let run = git_as(&repo, &vcs, &["commit", "-m", "complete"]);
    accepted(&repo, &head, &run);
}

/// An editor (a value for `GIT_EDITOR`) that writes `message` above the lines git put in the
/// file: git's comment lines stay, as an editor leaves them.
fn editor(repo: &Repo, message: &str) -> String {
    let dir = repo.path().join(".git");
    std::fs::write(dir.join("typed.txt"), message).expect("message");
    std::fs::write(
        dir.join("editor.sh"),
        format!(
            "#!/bin/sh\ncat '{}' \"$1\" > \"$1.new\" && mv \"$1.new\" \"$1\"\n",
            dir.join("typed.txt").display()
        ),
    )
    .expect("editor");
    format!("sh '{}'", dir.join("editor.sh").display())
}

#[test]
fn comment_lines_given_with_dash_m_are_judged_and_those_from_the_editor_are_not() {
    let repo = hooked();
    repo.write("specproof.yml", "rationalization: { commit_msg: block }\n");
    repo.git(&["add", "-A"]);
    let head = repo.head();
    // git keeps lines starting with `#` in a message given with -m: they are the message.
    let run = repo.git_env(
        &[
            "commit",
            "-m",
            "Fix parser",
            "-m",
            "# should work",
            "-m",
            "# ok",
        ],
        &[],
    );
    rejected(
        &repo,
        &head,
        &run,
        &["should work", "line 3", "commit rejected"],
    );

    // The same lines written in the editor are comments: git drops them.
    let edit = editor(&repo, "Fix parser\n# should work\n# ok\n");
    let run = repo.git_env(&["commit"], &[("GIT_EDITOR", &edit)]);
    accepted(&repo, &head, &run);
    let head = repo.head();
    assert_eq!(
        repo.git(&["log", "-1", "--format=%B"]).trim_end(),
        "Fix parser"
    );

    // -m with -e opens the editor: comment lines go.
    repo.write("x.txt", "x\n");
    repo.git(&["add", "x.txt"]);
    let run = repo.git_env(&["commit", "-e", "-m", "Add x"], &[("GIT_EDITOR", &edit)]);
    accepted(&repo, &head, &run);
}

#[test]
fn the_cleanup_mode_git_is_given_is_the_one_judged() {
    let repo = hooked();
    repo.write("specproof.yml", "rationalization: { commit_msg: block }\n");
    repo.git(&["add", "-A"]);
    let head = repo.head();
    // --cleanup=verbatim keeps the editor's comment lines in the commit: they are judged.
    let edit = editor(&repo, "Fix parser\n# should work\n");
    let run = repo.git_env(&["commit", "--cleanup=verbatim"], &[("GIT_EDITOR", &edit)]);
    rejected(&repo, &head, &run, &["should work", "commit rejected"]);
    // commit.cleanup=strip drops comment lines also from a -m message.
    let run = repo.git_env(
        &[
            "-c",
            "commit.cleanup=strip",
            "commit",
            "-m",
            "Fix parser",
            "-m",
            "# should work",
        ],
        &[],
    );
    accepted(&repo, &head, &run);
    assert_eq!(
        repo.git(&["log", "-1", "--format=%B"]).trim_end(),
        "Fix parser"
    );
    // So does the repository's commit.cleanup, unless the command line says otherwise.
    repo.git(&["config", "commit.cleanup", "strip"]);
    let head = repo.head();
    repo.write("x.txt", "x\n");
    repo.git(&["add", "x.txt"]);
    let run = repo.git_env(
        &[
            "commit",
            "--cleanup=whitespace",
            "-m",
            "Add x",
            "-m",
            "# should work",
        ],
        &[],
    );
    rejected(&repo, &head, &run, &["should work"]);
    let run = repo.git_env(&["commit", "-m", "Add x", "-m", "# should work"], &[]);
    accepted(&repo, &head, &run);
}

#[test]
fn a_comment_char_given_with_git_dash_c_is_the_one_stripped() {
    let repo = hooked();
    repo.write("specproof.yml", "rationalization: { commit_msg: block }\n");
    repo.git(&["add", "-A"]);
    let head = repo.head();
    // libgit2 does not read `git -c`; the command line does.
    let edit = editor(&repo, "Fix parser\n; should work\n");
    let run = repo.git_env(
        &["-c", "core.commentChar=;", "commit"],
        &[("GIT_EDITOR", &edit)],
    );
    accepted(&repo, &head, &run);
    assert_eq!(
        repo.git(&["log", "-1", "--format=%B"]).trim_end(),
        "Fix parser"
    );
}

#[test]
fn an_amend_through_a_git_alias_is_judged_against_the_parent() {
    let repo = hooked();
    work_and_verify(&repo);
    set_status(&repo, TASK, "in_progress", "done");
    accepted(&repo, &repo.head(), &commit_all(&repo, "done"));
    let head = repo.head();
    set_status(&repo, TASK, "done", "complete");
    repo.git(&["add", "-A"]);
    repo.git(&["config", "alias.fixup-last", "commit --amend --no-edit"]);
    repo.git(&["config", "alias.fl", "fixup-last"]);
    let run = repo.git_env(&["fl"], &[]);
    rejected(&repo, &head, &run, &["G4 evidence persisted", "W-1"]);
    let run = repo.git_env(&["-c", "alias.ci=commit", "ci", "-m", "complete"], &[]);
    accepted(&repo, &head, &run);
}
