//! The command line itself: help, version, completions, --repo, --color.

use crate::common::{AUTH_PLAN, Repo};

#[test]
fn help_lists_only_the_commands_that_work() {
    let repo = Repo::bare_folder();
    let run = repo.run(&["--help"]);
    run.code(0);
    let commands: Vec<&str> = run
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        commands,
        vec![
            "init",
            "lint",
            "task",
            "start",
            "verify",
            "converge",
            "escalate",
            "status",
            "matrix",
            "snapshot",
            "drift",
            "review-tasks",
            "trust",
            "install",
            "uninstall",
            "hook",
            "audit",
            "metrics",
            "demo",
            "completions"
        ],
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("--repo <DIR>") && run.stdout.contains("--color <WHEN>"),
        "{}",
        run.stdout
    );
}

#[test]
fn version_is_the_package_version() {
    let run = Repo::bare_folder().run(&["--version"]);
    run.code(0)
        .line(&format!("specproof {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn a_command_that_does_not_exist_is_a_usage_error() {
    let run = Repo::bare_folder().run(&["auditt"]);
    run.code(2);
    assert!(
        run.stderr.contains("unrecognized subcommand 'auditt'") && run.stderr.contains("audit"),
        "{}",
        run.stderr
    );
}

#[test]
fn completions_are_printed_for_bash_zsh_and_fish() {
    let repo = Repo::bare_folder();
    for (shell, marker) in [
        ("bash", "_specproof()"),
        ("zsh", "#compdef specproof"),
        ("fish", "complete -c specproof"),
    ] {
        let run = repo.run(&["completions", shell]);
        run.code(0);
        assert!(run.stdout.contains(marker), "{shell}: {}", run.stdout);
        assert!(
            run.stdout.contains("lint") && run.stdout.contains("init"),
            "{shell} completes the subcommands"
        );
    }
    repo.run(&["completions", "tcsh"]).code(2);
}

#[test]
fn the_repository_is_found_from_a_subfolder() {
    let repo = Repo::new();
    repo.write("plans/auth.md", AUTH_PLAN)
        .write("src/deep/er/keep", "");
    let run = repo.run_in("src/deep/er", &["lint"], &[]);
    run.code(0)
        .line("ok: no problems (1 plan with 3 criteria, 0 tasks)");
}

#[test]
fn repo_option_names_the_repository_from_anywhere() {
    let repo = Repo::new();
    repo.write("plans/auth.md", AUTH_PLAN).write("src/x", "");
    let elsewhere = Repo::bare_folder();
    let sub = repo.path().join("src");
    let run = elsewhere.run(&["--repo", sub.to_str().expect("utf-8 path"), "lint"]);
    run.code(0)
        .line("ok: no problems (1 plan with 3 criteria, 0 tasks)");
}

#[test]
fn outside_a_repository_is_an_error_that_says_what_to_do() {
    let folder = Repo::bare_folder();
    let run = folder.run(&["lint"]);
    run.code(2);
    assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("is not inside a git repository: run `git init`"),
        "{}",
        run.stderr
    );
    let run = folder.run(&["--repo", "no/such/dir", "lint"]);
    run.code(2);
    assert!(
        run.stderr.contains("no/such/dir does not exist"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_bare_repository_is_refused_for_commands_that_need_a_working_tree() {
    let repo = Repo::bare_folder();
    let out = std::process::Command::new("git")
        .args(["init", "-q", "--bare"])
        .current_dir(repo.path())
        .output()
        .expect("git init --bare");
    assert!(out.status.success());
    let run = repo.run(&["lint"]);
    run.code(2);
    assert!(
        run.stderr.contains("is a bare repository"),
        "{}",
        run.stderr
    );
}

fn bad_plan_repo() -> Repo {
    let repo = Repo::new();
    repo.write(
        "plans/p.md",
        "```criteria\n- id: A-1\n  description: d\n  proof: file_exist\n  args: { path: a }\n```\n",
    );
    repo
}

#[test]
fn color_never_and_always_are_obeyed() {
    let repo = bad_plan_repo();
    let plain = repo.run(&["--color", "never", "lint"]);
    plain.code(1);
    assert!(!plain.stdout.contains('\u{1b}'), "{}", plain.stdout);
    let colored = repo.run(&["--color", "always", "lint"]);
    colored.code(1);
    assert!(colored.stdout.contains("\u{1b}["), "{}", colored.stdout);
    // Without a terminal, auto means no colour.
    let auto = repo.run(&["lint"]);
    assert!(!auto.stdout.contains('\u{1b}'), "{}", auto.stdout);
}

/// Runs `specproof --color auto lint` under a pseudo-terminal (util-linux `script`).
fn lint_on_a_terminal(repo: &Repo, no_color: Option<&str>) -> Option<String> {
    let bin = crate::common::bin();
    let mut env: Vec<(&str, &str)> = vec![("TERM", "xterm")];
    if let Some(v) = no_color {
        env.push(("NO_COLOR", v));
    }
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qec", &format!("{} lint", bin.display()), "/dev/null"])
        .current_dir(repo.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn on_a_terminal_auto_colours_unless_no_color_is_set() {
    let repo = bad_plan_repo();
    let Some(colored) = lint_on_a_terminal(&repo, None) else {
        panic!("`script` (util-linux) is needed for this test");
    };
    assert!(
        colored.contains("\u{1b}["),
        "auto on a terminal colours: {colored}"
    );
    let plain = lint_on_a_terminal(&repo, Some("1")).expect("script");
    assert!(plain.contains("unknown proof"), "{plain}");
    assert!(
        !plain.contains("\u{1b}["),
        "NO_COLOR turns colour off: {plain}"
    );
}

#[test]
fn completions_to_a_full_disk_is_an_error_not_a_panic() {
    let repo = Repo::bare_folder();
    let full = std::fs::File::create("/dev/full").expect("/dev/full");
    let out = std::process::Command::new(crate::common::bin())
        .args(["completions", "fish"])
        .current_dir(repo.path())
        .stdout(full)
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: cannot write the completions to stdout"),
        "{stderr}"
    );
}

#[test]
fn repo_option_naming_a_file_says_so() {
    let repo = Repo::new();
    repo.write("file.txt", "");
    let run = repo.run(&["--repo", "file.txt", "lint"]);
    run.code(2);
    assert!(
        run.stderr
            .contains("file.txt is a file; pass --repo with a folder"),
        "{}",
        run.stderr
    );
}

/// On Linux with glibc the binary is linked at a fixed address (build.rs): git starts it for
/// every hook of every commit, and a position-independent one spends start-up time applying
/// thousands of relocations. ELF's `e_type` is 2 (`ET_EXEC`) for such a binary, 3 for a PIE.
#[test]
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn the_binary_git_starts_for_every_hook_is_not_position_independent() {
    if std::env::var_os("SPECPROOF_PIE").is_some_and(|v| v == "1") {
        return;
    }
    let binary = std::fs::read(env!("CARGO_BIN_EXE_specproof")).expect("read the binary");
    assert_eq!(&binary[..4], b"\x7fELF");
    assert_eq!(u16::from_le_bytes([binary[16], binary[17]]), 2, "ET_EXEC");
}
