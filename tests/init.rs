//! `specproof init`.

use crate::common::Repo;

const FILES: [&str; 3] = [
    "specproof.yml",
    "plans/example.md",
    ".specproof/tasks/T-001.md",
];

#[test]
fn init_writes_the_starter_files_and_they_lint_clean() {
    let repo = Repo::new();
    let run = repo.run(&["init"]);
    run.code(0);
    for file in FILES {
        assert!(repo.path().join(file).is_file(), "{file} written");
        run.line(&format!("  wrote   {file}"));
    }
    for folder in [
        ".specproof/tasks",
        ".specproof/evidence",
        ".specproof/snapshots",
    ] {
        assert!(repo.path().join(folder).is_dir(), "{folder} created");
    }
    assert_eq!(
        repo.read("specproof.yml"),
        include_str!("../templates/specproof.yml")
    );
    assert_eq!(
        repo.read("plans/example.md"),
        include_str!("../templates/plan.md")
    );
    assert_eq!(
        repo.read(".specproof/tasks/T-001.md"),
        include_str!("../templates/task.md")
    );
    assert!(
        run.stdout.contains("specproof lint"),
        "says what to do next: {}",
        run.stdout
    );

    repo.run(&["lint"])
        .code(0)
        .line("ok: no problems (1 plan with 4 criteria, 1 task)");
    // Nothing else was touched: no index, no commit.
    assert_eq!(
        repo.git(&["status", "--porcelain", "--untracked-files=all"])
            .lines()
            .count(),
        3
    );
}

#[test]
fn init_refuses_to_overwrite_and_changes_nothing() {
    let repo = Repo::new();
    repo.write("specproof.yml", "jobs: 4\n");
    let run = repo.run(&["init"]);
    run.code(1);
    assert!(
        run.stderr.contains("would overwrite specproof.yml"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("nothing was changed"), "{}", run.stderr);
    assert_eq!(repo.read("specproof.yml"), "jobs: 4\n");
    assert!(!repo.path().join("plans").exists());
    assert!(!repo.path().join(".specproof").exists());
}

#[test]
fn init_twice_refuses_the_second_time() {
    let repo = Repo::new();
    repo.run(&["init"]).code(0);
    repo.write("plans/example.md", "# mine\n");
    let run = repo.run(&["init"]);
    run.code(1);
    for file in FILES {
        assert!(run.stderr.contains(file), "names {file}: {}", run.stderr);
    }
    assert_eq!(repo.read("plans/example.md"), "# mine\n");
}

#[test]
fn init_from_a_subfolder_writes_at_the_root() {
    let repo = Repo::new();
    repo.write("src/lib.rs", "");
    repo.run_in("src", &["init"], &[]).code(0);
    assert!(repo.path().join("specproof.yml").is_file());
    assert!(!repo.path().join("src/specproof.yml").exists());
}

#[cfg(unix)]
#[test]
fn init_refuses_when_a_file_or_broken_link_blocks_a_folder() {
    let repo = Repo::new();
    std::fs::create_dir_all(repo.path().join(".specproof")).expect("mkdir");
    std::os::unix::fs::symlink(
        "/nonexistent/target",
        repo.path().join(".specproof/evidence"),
    )
    .expect("symlink");
    let run = repo.run(&["init"]);
    run.code(1);
    assert!(
        run.stderr.contains("needs the folder .specproof/evidence"),
        "{}",
        run.stderr
    );
    assert!(
        !repo.path().join("specproof.yml").exists(),
        "nothing written"
    );
    assert!(!repo.path().join("plans").exists(), "no folder left behind");

    let repo = Repo::new();
    repo.write(".specproof", "a file\n");
    let run = repo.run(&["init"]);
    run.code(1);
    assert!(run.stderr.contains(".specproof"), "{}", run.stderr);
    assert!(!repo.path().join("plans").exists(), "no folder left behind");
    assert!(!repo.path().join("specproof.yml").exists());
}

#[cfg(unix)]
#[test]
fn init_never_writes_outside_the_repository_through_a_linked_folder() {
    let outside = tempfile::tempdir().expect("tempdir");
    let repo = Repo::new();
    std::os::unix::fs::symlink(outside.path(), repo.path().join("plans")).expect("symlink");
    let run = repo.run(&["init"]);
    run.code(1);
    assert!(
        run.stderr.contains("needs the folder plans"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_dir(outside.path()).expect("read").count(),
        0,
        "nothing written outside"
    );
    assert!(!repo.path().join("specproof.yml").exists());
}
