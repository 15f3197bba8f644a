//! `specproof install` and `specproof uninstall` (SPEC §7.1): small shell shims in the hooks
//! folder git uses, each running `specproof hook <name>`.
//!
//! The folder is git's own answer to `git rev-parse --git-path hooks`, so a repository-local
//! `core.hooksPath` is honoured and linked worktrees share the common dir's hooks. A hooks
//! folder shared with other repositories (outside this one, or set in the global or system
//! config) is refused unless forced. A hook that is not specproof's is never overwritten: it is
//! kept as `<name>.pre-specproof`, which the shim runs first, and uninstall puts it back.

use std::ffi::OsString;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

use thiserror::Error;

/// The second line of every shim: what identifies a hook file as specproof's.
pub const MARKER: &str =
    "# specproof-hook-shim v1: installed by `specproof install`; remove with `specproof uninstall`";

/// What a shim's second line starts with, in every version of the shim.
const MARKER_PREFIX: &[u8] = b"# specproof-hook-shim ";

/// The suffix a kept hook gets: `pre-commit` becomes `pre-commit.pre-specproof`.
pub const KEPT_SUFFIX: &str = ".pre-specproof";

/// The hooks specproof has a shim for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Hook {
    PreCommit,
    CommitMsg,
    PrePush,
    /// Run by `git merge` for a merge commit it makes without stopping (git runs no pre-commit
    /// then); the same checks as pre-commit.
    PreMergeCommit,
    PreReceive,
}

impl Hook {
    /// The hooks `specproof install` writes by default: the client hooks.
    pub const CLIENT: [Self; 4] = [
        Self::PreCommit,
        Self::CommitMsg,
        Self::PrePush,
        Self::PreMergeCommit,
    ];

    /// git's name of the hook, which is also its file name.
    pub fn name(self) -> &'static str {
        match self {
            Self::PreCommit => "pre-commit",
            Self::CommitMsg => "commit-msg",
            Self::PrePush => "pre-push",
            Self::PreMergeCommit => "pre-merge-commit",
            Self::PreReceive => "pre-receive",
        }
    }

    /// git writes lines to this hook's stdin, which the shim hands to both the kept hook and
    /// specproof.
    pub fn reads_stdin(self) -> bool {
        matches!(self, Self::PrePush | Self::PreReceive)
    }

    /// The file name of the foreign hook this hook's shim keeps, e.g. `pre-commit.pre-specproof`.
    pub fn kept_name(self) -> String {
        format!("{}{KEPT_SUFFIX}", self.name())
    }
}

/// Why the hooks could not be installed or removed.
#[derive(Debug, Error)]
pub enum InstallError {
    #[error("cannot run `git {args}` (is git installed and on PATH?)")]
    Spawn {
        args: String,
        #[source]
        source: io::Error,
    },
    #[error("`git {args}` failed in {}: {message}", .dir.display())]
    Git {
        args: String,
        dir: PathBuf,
        message: String,
    },
    #[error("{0}")]
    Shared(Box<SharedHooks>),
    #[error("cannot {what} {}", .path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// A refusal: the hooks folder is shared with other repositories and `--force` was not given.
#[derive(Debug)]
pub struct SharedHooks {
    /// The hooks folder git uses.
    pub dir: PathBuf,
    /// Where `core.hooksPath` comes from and what it says.
    pub setting: Setting,
    /// The folder lies outside the repository (else it is inside but set in a shared config).
    pub outside: bool,
    /// `install` or `uninstall`.
    pub command: &'static str,
    /// The repository's own hooks folder (`<common dir>/hooks`).
    pub own: PathBuf,
}

impl std::fmt::Display for SharedHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Setting {
            value,
            scope,
            origin,
        } = &self.setting;
        let where_ = if self.outside {
            "is outside this repository"
        } else {
            "comes from a config file every repository reads"
        };
        write!(
            f,
            "the hooks folder {} {where_} (core.hooksPath = {value}, {scope} config {origin}): \
             it is shared by every repository that uses it, so hooks {} there {} all of them\n  \
             to {} there anyway: specproof {} --force",
            self.dir.display(),
            if self.command == "install" {
                "installed"
            } else {
                "removed"
            },
            if self.command == "install" {
                "run in"
            } else {
                "are gone from"
            },
            self.command,
            self.command,
        )?;
        if self.command == "install" {
            let fix = match self.setting.scope.as_str() {
                "local" => "git config --unset core.hooksPath".to_owned(),
                "worktree" => "git config --worktree --unset core.hooksPath".to_owned(),
                _ => format!(
                    "git config core.hooksPath {}",
                    shell_word(&self.own.display().to_string())
                ),
            };
            write!(
                f,
                "\n  to give this repository hooks of its own instead: {fix}, then specproof install"
            )?;
        }
        Ok(())
    }
}

/// `core.hooksPath` as git reports it (`git config --show-scope --show-origin`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The value as written (before `~` is expanded).
    pub value: String,
    /// `local`, `worktree`, `global`, `system` or `command`.
    pub scope: String,
    /// The file it is set in (or `command line`).
    pub origin: String,
}

/// The hooks folder git runs hooks from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HooksDir {
    /// Absolute: git's `--git-path hooks`, relative answers joined to the folder git runs hooks in.
    pub path: PathBuf,
    /// The folder lies inside the repository: its working tree or its (common) git dir.
    pub inside: bool,
    /// The folder lies inside the working tree (a repository-local `core.hooksPath` such as
    /// `.githooks`) rather than in the git dir.
    pub in_work_tree: bool,
}

/// Finds the hooks folder git uses for `git`: `git rev-parse --git-path hooks`, which honours
/// `core.hooksPath` and gives a linked worktree the common dir's hooks. Runs git once.
///
/// # Errors
/// When git cannot be run or fails.
pub fn hooks_dir(git: &git2::Repository) -> Result<HooksDir, InstallError> {
    let base = base_dir(git);
    let out = run_git(git, &["rev-parse", "--git-path", "hooks"])?;
    let answer = out.trim_end_matches(['\n', '\r']);
    if answer.is_empty() {
        return Err(InstallError::Git {
            args: "rev-parse --git-path hooks".to_owned(),
            dir: base,
            message: "it printed nothing".to_owned(),
        });
    }
    let path = base.join(answer);
    let resolved = resolve(&path);
    let in_git_dir =
        resolved.starts_with(resolve(git.commondir())) || resolved.starts_with(resolve(git.path()));
    let in_work_tree = !in_git_dir
        && git
            .workdir()
            .is_some_and(|w| resolved.starts_with(resolve(w)));
    let inside = in_git_dir || in_work_tree;
    Ok(HooksDir {
        path,
        inside,
        in_work_tree,
    })
}

/// True when specproof's shim for the hook `name` (e.g. `"commit-msg"`) is installed, as an
/// executable file, in the hooks folder git uses for `git`. Works in a running hook (git's
/// variables pointing at the repository are ignored in favour of `git`; a `git -c
/// core.hooksPath=…` of the command running the hook is honoured). Runs git once.
///
/// # Errors
/// When git cannot be run, or the hook file exists but cannot be read.
pub fn is_installed(git: &git2::Repository, name: &str) -> Result<bool, InstallError> {
    let dir = hooks_dir(git)?;
    let path = dir.path.join(name);
    Ok(matches!(classify(&path)?, Kind::Shim) && is_executable(&path))
}

/// The text of the shim for `hook`, running `binary` (`specproof` on PATH when that file is gone).
pub fn shim(hook: Hook, binary: &Path) -> Vec<u8> {
    let name = hook.name();
    let mut s = format!(
        "#!/bin/sh\n{MARKER}\n# Runs the hook that was here before (kept as {name}{KEPT_SUFFIX}), then `specproof hook {name}`.\nhook={name}\nspecproof="
    )
    .into_bytes();
    s.extend_from_slice(&shell_quote(binary.as_os_str().as_bytes()));
    s.push(b'\n');
    s.extend_from_slice(SHIM_START.as_bytes());
    s.extend_from_slice(
        if hook.reads_stdin() {
            STDIN_KEPT
        } else {
            ARGS_KEPT
        }
        .as_bytes(),
    );
    s.extend_from_slice(SHIM_END.as_bytes());
    s
}

const SHIM_START: &str = r#"case $0 in */*) dir=${0%/*} ;; *) dir=. ;; esac
kept=$dir/$hook.pre-specproof
if [ -f "$kept" ] && [ -x "$kept" ]; then
"#;

const ARGS_KEPT: &str = r#"    "$kept" "$@" || exit $?
fi
"#;

// git writes stdin once: it is saved to a temporary file, opened twice (one reader for each
// hook) and removed before either runs, so nothing is left behind even when the exec below
// replaces this shell.
const STDIN_KEPT: &str = r#"    input=$(mktemp "${TMPDIR:-/tmp}/specproof-$hook.XXXXXX") || exit 1
    trap 'rm -f "$input"' EXIT
    trap 'exit 1' HUP INT TERM
    cat >"$input" || exit 1
    exec 3<"$input" 4<"$input"
    rm -f "$input"
    trap - EXIT HUP INT TERM
    "$kept" "$@" <&3 3<&- 4<&- || exit $?
    exec <&4 3<&- 4<&-
fi
"#;

const SHIM_END: &str = r#"if ! { [ -f "$specproof" ] && [ -x "$specproof" ]; }; then
    if command -v specproof >/dev/null 2>&1; then
        specproof=specproof
    else
        echo "specproof: the git hook $hook cannot run: the specproof binary is missing (was $specproof, and there is no specproof on PATH)." >&2
        echo "  Install it (in a specproof checkout: ./install.sh, or cargo install --locked --path .)," >&2
        echo "  or remove specproof's hooks with \`specproof uninstall\` (any specproof binary), or by hand: rm $0" >&2
        if [ -e "$kept" ] || [ -L "$kept" ]; then
            echo "  and put your own hook back: mv $kept $dir/$hook" >&2
        fi
        if [ "${SPECPROOF_FAIL_OPEN:-}" = 1 ]; then
            echo "specproof: warning: SPECPROOF_FAIL_OPEN=1: the $hook hook passes without specproof's checks" >&2
            exit 0
        fi
        exit 1
    fi
fi
exec "$specproof" hook "$hook" "$@"
"#;

/// What `install` did with one hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The shim was written where there was no hook, or where a foreign hook was just kept.
    Installed,
    /// A different shim (another binary, an older version, not executable) was rewritten.
    Updated,
    /// The same shim was already there: nothing changed.
    AlreadyInstalled,
    /// Nothing was changed, for this reason.
    Refused(String),
}

/// A foreign hook kept next to the shim, which the shim runs first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// Its file name, e.g. `pre-commit.pre-specproof`.
    pub file: String,
    /// It was moved there by this run (else it was there before).
    pub now: bool,
    /// git would run it: the shim runs only an executable kept hook, as git does.
    pub executable: bool,
}

/// One hook's result of `install`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    pub hook: Hook,
    pub action: Action,
    pub kept: Option<Kept>,
}

/// What `uninstall` did with one hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// The shim was removed; there was no kept hook.
    Removed,
    /// The shim was replaced by the hook it kept.
    Restored,
    /// No shim, but a kept hook, which was moved back.
    RestoredOnly,
    /// No shim and no kept hook.
    NotInstalled,
    /// The hook file is not specproof's: left alone (and the kept one too, if any).
    Foreign { kept: bool },
}

/// The hooks folder to work in, checked: a shared one only when forced.
#[derive(Debug, Clone)]
pub struct Plan {
    pub dir: HooksDir,
}

/// Finds the hooks folder and refuses a shared one unless `force`.
///
/// # Errors
/// [`InstallError::Shared`] for a shared folder without `force`; git failures.
pub fn plan(
    git: &git2::Repository,
    force: bool,
    command: &'static str,
) -> Result<Plan, InstallError> {
    let dir = hooks_dir(git)?;
    let setting = hooks_path_setting(git)?;
    let shared_scope = setting
        .as_ref()
        .is_some_and(|s| matches!(s.scope.as_str(), "global" | "system"));
    if !force && (!dir.inside || shared_scope) {
        let setting = setting.unwrap_or_else(|| Setting {
            value: dir.path.display().to_string(),
            scope: "unknown".to_owned(),
            origin: "(not found by git config)".to_owned(),
        });
        return Err(InstallError::Shared(Box::new(SharedHooks {
            outside: !dir.inside,
            dir: dir.path,
            setting,
            command,
            own: git.commondir().join("hooks"),
        })));
    }
    Ok(Plan { dir })
}

/// Writes the shims of `hooks`, running `binary`, into the planned folder (created if missing).
///
/// # Errors
/// I/O errors; a hook that cannot be installed without losing a file is a [`Action::Refused`].
pub fn install(plan: &Plan, hooks: &[Hook], binary: &Path) -> Result<Vec<Installed>, InstallError> {
    let dir = &plan.dir.path;
    fs::create_dir_all(dir).map_err(io_error("create the hooks folder", dir))?;
    let mut done = Vec::new();
    for &hook in hooks {
        done.push(install_one(dir, hook, &shim(hook, binary))?);
    }
    Ok(done)
}

fn install_one(dir: &Path, hook: Hook, content: &[u8]) -> Result<Installed, InstallError> {
    let path = dir.join(hook.name());
    let kept_path = dir.join(hook.kept_name());
    let kept = |now: bool| Kept {
        file: hook.kept_name(),
        now,
        executable: is_executable(&kept_path),
    };
    let refused = |reason: String| Installed {
        hook,
        action: Action::Refused(reason),
        kept: None,
    };
    let action = match classify(&path)? {
        Kind::Missing => {
            write_atomic(dir, hook.name(), content)?;
            Action::Installed
        }
        Kind::Shim => {
            let same = fs::read(&path).is_ok_and(|old| old == content)
                && is_regular(&path)
                && mode(&path) == Some(0o755);
            if same {
                Action::AlreadyInstalled
            } else {
                write_atomic(dir, hook.name(), content)?;
                Action::Updated
            }
        }
        Kind::NotAFile => {
            return Ok(refused(format!(
                "{} is a folder, not a hook; move it away and run specproof install again",
                path.display()
            )));
        }
        Kind::Foreign if exists(&kept_path) => {
            return Ok(refused(format!(
                "{} is not specproof's, and {} already exists: keeping the hook would overwrite \
                 that file. Move one of them away (or merge them into {}) and run specproof \
                 install again",
                path.display(),
                hook.kept_name(),
                hook.name()
            )));
        }
        Kind::Foreign => {
            let how = keep(&path, &kept_path)?;
            if let Err(e) = write_atomic(dir, hook.name(), content) {
                // Put the foreign hook back as it was before reporting the failure.
                let _ = match how {
                    KeptBy::Link => fs::remove_file(&kept_path),
                    KeptBy::Rename => fs::rename(&kept_path, &path),
                };
                return Err(e);
            }
            return Ok(Installed {
                hook,
                action: Action::Installed,
                kept: Some(kept(true)),
            });
        }
    };
    Ok(Installed {
        hook,
        action,
        kept: exists(&kept_path).then(|| kept(false)),
    })
}

/// Removes the shims of `hooks` from the planned folder and moves kept hooks back.
///
/// # Errors
/// I/O errors.
pub fn uninstall(plan: &Plan, hooks: &[Hook]) -> Result<Vec<(Hook, Removal)>, InstallError> {
    let dir = &plan.dir.path;
    let mut done = Vec::new();
    for &hook in hooks {
        let path = dir.join(hook.name());
        let kept = dir.join(hook.kept_name());
        let removal = match classify(&path)? {
            Kind::Shim if exists(&kept) => {
                // One rename: the hook file is never missing in between.
                fs::rename(&kept, &path).map_err(io_error("restore the kept hook", &kept))?;
                Removal::Restored
            }
            Kind::Shim => {
                fs::remove_file(&path).map_err(io_error("remove the shim", &path))?;
                Removal::Removed
            }
            Kind::Missing if exists(&kept) => {
                fs::rename(&kept, &path).map_err(io_error("restore the kept hook", &kept))?;
                Removal::RestoredOnly
            }
            Kind::Missing => Removal::NotInstalled,
            Kind::Foreign | Kind::NotAFile => Removal::Foreign {
                kept: exists(&kept),
            },
        };
        done.push((hook, removal));
    }
    Ok(done)
}

/// What sits at a hook's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Missing,
    /// A file (or a link to one) whose second line is specproof's marker.
    Shim,
    /// Anything else a hook can be: a script, a binary, a link (also a dangling one).
    Foreign,
    /// A folder (or a link to one): not a hook.
    NotAFile,
}

fn classify(path: &Path) -> Result<Kind, InstallError> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Kind::Missing),
        Err(e) => return Err(io_error("read", path)(e)),
    };
    let target = if meta.file_type().is_symlink() {
        match fs::metadata(path) {
            Ok(target) => target,
            // A dangling link is the user's: keep it.
            Err(_) => return Ok(Kind::Foreign),
        }
    } else {
        meta
    };
    if target.is_dir() {
        return Ok(Kind::NotAFile);
    }
    if !target.is_file() {
        return Ok(Kind::Foreign);
    }
    let mut head = Vec::new();
    fs::File::open(path)
        .and_then(|f| f.take(512).read_to_end(&mut head))
        .map_err(io_error("read", path))?;
    let second = head.split(|&b| b == b'\n').nth(1).unwrap_or_default();
    Ok(if second.starts_with(MARKER_PREFIX) {
        Kind::Shim
    } else {
        Kind::Foreign
    })
}

/// How a foreign hook was kept, to undo it when the shim cannot be written.
enum KeptBy {
    Link,
    Rename,
}

/// Makes `kept` the foreign hook at `path` without ever replacing an existing `kept`: a hard
/// link (which fails when `kept` exists) where the file system has them, else a rename after
/// checking. The shim then replaces `path` in one rename.
fn keep(path: &Path, kept: &Path) -> Result<KeptBy, InstallError> {
    match fs::hard_link(path, kept) {
        Ok(()) => Ok(KeptBy::Link),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            Err(io_error("keep the hook as", kept)(e))
        }
        Err(_) if !exists(kept) => {
            fs::rename(path, kept).map_err(io_error("keep the hook as", kept))?;
            Ok(KeptBy::Rename)
        }
        Err(e) => Err(io_error("keep the hook as", kept)(e)),
    }
}

/// Writes `name` in `dir` whole or not at all: a temporary file in the same folder, mode 0755,
/// synced, then renamed over `name`.
fn write_atomic(dir: &Path, name: &str, content: &[u8]) -> Result<(), InstallError> {
    let path = dir.join(name);
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}.specproof-"))
        .tempfile_in(dir)
        .map_err(io_error("write a temporary file in", dir))?;
    tmp.write_all(content)
        .and_then(|()| {
            tmp.as_file()
                .set_permissions(fs::Permissions::from_mode(0o755))
        })
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(io_error("write", &path))?;
    tmp.persist(&path)
        .map_err(|e| io_error("write", &path)(e.error))?;
    // Best effort: the rename itself is durable once the folder is synced.
    if let Ok(folder) = fs::File::open(dir) {
        let _ = folder.sync_all();
    }
    Ok(())
}

/// Where git runs hooks, and where relative answers of `git rev-parse` start: the working tree's
/// root, or the git dir of a bare repository.
fn base_dir(git: &git2::Repository) -> PathBuf {
    git.workdir().unwrap_or_else(|| git.path()).to_path_buf()
}

/// Runs `git args…` on `git`'s repository. The variables that point git at a repository (set
/// while a hook runs) are replaced by explicit `--git-dir`/`--work-tree`; config given with
/// `git -c` stays.
fn git_output(git: &git2::Repository, args: &[&str]) -> Result<std::process::Output, InstallError> {
    let mut cmd = Command::new("git");
    let mut git_dir = OsString::from("--git-dir=");
    // Without git2's trailing slash, which git would keep in the paths it prints.
    git_dir.push(git.path().components().collect::<PathBuf>());
    cmd.arg(git_dir);
    if let Some(workdir) = git.workdir() {
        let mut work_tree = OsString::from("--work-tree=");
        work_tree.push(workdir);
        cmd.arg(work_tree);
    }
    cmd.args(args)
        .current_dir(base_dir(git))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, _) in std::env::vars_os() {
        if name
            .to_str()
            .is_some_and(|n| crate::proof::command::is_git_local(n) && !n.starts_with("GIT_CONFIG"))
        {
            cmd.env_remove(&name);
        }
    }
    cmd.output().map_err(|source| InstallError::Spawn {
        args: args.join(" "),
        source,
    })
}

/// The stdout of `git args…`, which must succeed.
fn run_git(git: &git2::Repository, args: &[&str]) -> Result<String, InstallError> {
    let out = git_output(git, args)?;
    let failed = |message: String| InstallError::Git {
        args: args.join(" "),
        dir: base_dir(git),
        message,
    };
    if !out.status.success() {
        return Err(failed(
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ));
    }
    String::from_utf8(out.stdout).map_err(|_| failed("its answer is not UTF-8".to_owned()))
}

/// `core.hooksPath` with its scope and file, or None when it is not set.
fn hooks_path_setting(git: &git2::Repository) -> Result<Option<Setting>, InstallError> {
    let args = [
        "config",
        "--show-scope",
        "--show-origin",
        "--get",
        "core.hooksPath",
    ];
    let out = git_output(git, &args)?;
    // `git config --get` exits 1, saying nothing, when the key is not set.
    if out.status.code() == Some(1) && out.stderr.is_empty() {
        return Ok(None);
    }
    if !out.status.success() {
        return Err(InstallError::Git {
            args: args.join(" "),
            dir: base_dir(git),
            message: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.trim_end_matches(['\n', '\r']).splitn(3, '\t');
    let (Some(scope), Some(origin), Some(value)) = (parts.next(), parts.next(), parts.next())
    else {
        return Ok(None);
    };
    let origin = origin.strip_prefix("file:").unwrap_or(origin);
    Ok(Some(Setting {
        value: value.to_owned(),
        scope: scope.to_owned(),
        origin: origin.trim_end_matches(':').to_owned(),
    }))
}

/// `path` with the symlinks of its existing part resolved and the `..` of the rest applied
/// lexically (a folder that does not exist yet is no link).
fn resolve(path: &Path) -> PathBuf {
    let parts: Vec<Component<'_>> = path.components().collect();
    for split in (0..=parts.len()).rev() {
        let head: PathBuf = parts[..split].iter().collect();
        if head.as_os_str().is_empty() {
            continue;
        }
        if let Ok(mut out) = head.canonicalize() {
            for part in &parts[split..] {
                match part {
                    Component::ParentDir => {
                        out.pop();
                    }
                    Component::Normal(name) => out.push(name),
                    _ => {}
                }
            }
            return out;
        }
    }
    path.to_path_buf()
}

fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

fn is_regular(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file())
}

fn mode(path: &Path) -> Option<u32> {
    fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `bytes` as one single-quoted sh word.
fn shell_quote(bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![b'\''];
    for &b in bytes {
        if b == b'\'' {
            out.extend_from_slice(b"'\\''");
        } else {
            out.push(b);
        }
    }
    out.push(b'\'');
    out
}

/// `s` as a word to paste into a shell: as is when it is plain, else single-quoted.
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:,@%".contains(&b))
    {
        s.to_owned()
    } else {
        String::from_utf8_lossy(&shell_quote(s.as_bytes())).into_owned()
    }
}

fn io_error(what: &'static str, path: &Path) -> impl FnOnce(io::Error) -> InstallError {
    let path = path.to_path_buf();
    move |source| InstallError::Io { what, path, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_with_quotes_and_spaces_is_one_shell_word() {
        assert_eq!(shell_quote(b"/a b/it's"), b"'/a b/it'\\''s'".to_vec());
        assert_eq!(shell_word("/x/.git/hooks"), "/x/.git/hooks");
        assert_eq!(shell_word("/x y/hooks"), "'/x y/hooks'");
    }

    #[test]
    fn the_shim_is_marked_on_its_second_line_and_parses() {
        for hook in [
            Hook::PreCommit,
            Hook::CommitMsg,
            Hook::PrePush,
            Hook::PreReceive,
        ] {
            let text = shim(hook, Path::new("/opt/it's here/specproof"));
            let text = String::from_utf8(text).unwrap();
            assert_eq!(text.lines().nth(1), Some(MARKER));
            assert!(text.contains("exec \"$specproof\" hook \"$hook\" \"$@\""));
            assert!(text.contains(&format!("hook={}\n", hook.name())));
            let status = Command::new("sh")
                .args(["-n", "-c", &text])
                .status()
                .unwrap();
            assert!(status.success(), "{text}");
            assert_eq!(text.contains("mktemp"), hook.reads_stdin());
        }
    }

    #[test]
    fn is_installed_sees_only_an_executable_shim_in_the_folder_git_uses() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        crate::testutil::sh(
            &root,
            "git init -q . && git config core.hooksPath .githooks",
            &[],
        );
        let git = git2::Repository::open(&root).unwrap();
        assert!(!is_installed(&git, "commit-msg").unwrap());
        let plan = plan(&git, false, "install").unwrap();
        assert_eq!(plan.dir.path, root.join(".githooks"));
        assert!(plan.dir.inside && plan.dir.in_work_tree);
        let done = install(&plan, &[Hook::CommitMsg], Path::new("/bin/specproof")).unwrap();
        assert_eq!(done[0].action, Action::Installed);
        assert!(is_installed(&git, "commit-msg").unwrap());
        assert!(!is_installed(&git, "pre-commit").unwrap());
        let shim = root.join(".githooks/commit-msg");
        fs::set_permissions(&shim, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(!is_installed(&git, "commit-msg").unwrap());
        fs::write(&shim, "#!/bin/sh\nexit 0\n").unwrap();
        fs::set_permissions(&shim, fs::Permissions::from_mode(0o755)).unwrap();
        assert!(!is_installed(&git, "commit-msg").unwrap());
    }

    #[test]
    fn the_shim_in_hooks_readme_is_the_one_install_writes() {
        let readme = include_str!("../../hooks/README.md");
        let start = readme.find("```sh\n").unwrap() + "```sh\n".len();
        let end = start + readme[start..].find("```\n").unwrap();
        let written = shim(Hook::PreCommit, Path::new("/home/me/.cargo/bin/specproof"));
        assert_eq!(&readme[start..end], String::from_utf8(written).unwrap());
    }

    #[test]
    fn resolve_applies_dot_dot_of_folders_that_do_not_exist() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        assert_eq!(resolve(&root.join("a/b/../../c")), root.join("c"));
        assert_eq!(resolve(&root.join("..")), root.parent().unwrap());
        assert!(!resolve(&root.join("new/../../x")).starts_with(&root));
    }

    #[test]
    fn only_a_file_marked_on_its_second_line_is_a_shim() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h");
        assert_eq!(classify(&p).unwrap(), Kind::Missing);
        fs::write(&p, format!("#!/bin/sh\n{MARKER}\n")).unwrap();
        assert_eq!(classify(&p).unwrap(), Kind::Shim);
        fs::write(&p, format!("#!/bin/sh\necho '{MARKER}'\n")).unwrap();
        assert_eq!(classify(&p).unwrap(), Kind::Foreign);
        fs::write(&p, format!("{MARKER}\n")).unwrap();
        assert_eq!(classify(&p).unwrap(), Kind::Foreign);
        fs::remove_file(&p).unwrap();
        std::os::unix::fs::symlink("nowhere", &p).unwrap();
        assert_eq!(classify(&p).unwrap(), Kind::Foreign);
        fs::remove_file(&p).unwrap();
        fs::create_dir(&p).unwrap();
        assert_eq!(classify(&p).unwrap(), Kind::NotAFile);
    }
}
