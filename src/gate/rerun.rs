//! Running a done task's proof again on the content being committed or pushed (SPEC §7: the
//! regression check). File and git proofs read the content's blobs; command proofs, when the
//! policy runs them, run in a temporary export of the content's tree, never in the working tree.

use std::cell::OnceCell;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::content::{Content, MODE_EXECUTABLE, MODE_SYMLINK};
use crate::criterion::{CommandSpec, Criterion, Proof};
use crate::proof::command::{self, Run};
use crate::proof::files::FileCache;
use crate::proof::{self, Verdict, outcome};

/// Runs command proofs for the regression check, or says why it cannot.
pub trait CommandRunner {
    /// Runs `criterion`'s command in a copy of `content`'s tree.
    ///
    /// # Errors
    /// A message when the command cannot be run at all.
    fn run(
        &self,
        content: &Content<'_>,
        config: &Config,
        task: &str,
        criterion: &Criterion,
    ) -> Result<Verdict, String>;
}

/// Runs proofs again on one content.
pub struct Rerunner<'a, 'r> {
    pub git: &'a git2::Repository,
    pub content: &'a Content<'r>,
    pub config: &'a Config,
    pub excluded: &'a dyn Fn(&str) -> bool,
    pub cache: FileCache,
}

impl Rerunner<'_, '_> {
    /// A file or git proof's verdict on the content (`base`: a git proof's base commit); None
    /// for command proofs and the judge.
    #[must_use]
    pub fn local(&self, criterion: &Criterion, base: Option<git2::Oid>) -> Option<Verdict> {
        proof::run_local(
            self.git,
            self.content,
            criterion,
            base,
            self.excluded,
            &self.cache,
            self.config.max_file_size.0,
        )
    }
}

/// Command proofs in a temporary export of the content, made once on first use and removed when
/// the runner is dropped.
#[derive(Default)]
pub struct ExportRunner {
    dir: OnceCell<Result<tempfile::TempDir, String>>,
    /// The longest one command may run, and when every command must have ended (a server's
    /// `specproof.commandTimeout` and push budget): shorter than the proof's own timeout wins.
    limit: Option<(Duration, Instant)>,
}

impl ExportRunner {
    /// A runner whose commands run at most `max` each, and never past `deadline`.
    #[must_use]
    pub fn limited(max: Duration, deadline: Instant) -> Self {
        Self {
            dir: OnceCell::new(),
            limit: Some((max, deadline)),
        }
    }
}

impl std::fmt::Debug for ExportRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportRunner").finish_non_exhaustive()
    }
}

impl CommandRunner for ExportRunner {
    fn run(
        &self,
        content: &Content<'_>,
        config: &Config,
        task: &str,
        criterion: &Criterion,
    ) -> Result<Verdict, String> {
        let mut cap = None;
        if let Some((max, deadline)) = self.limit {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(
                    "the time allowed for checking this push (specproof.pushTimeout) is spent"
                        .into(),
                );
            }
            cap = Some((max.min(left), max < left));
        }
        let dir = self
            .dir
            .get_or_init(|| export(content))
            .as_ref()
            .map_err(Clone::clone)?;
        let spec_run = |spec: &CommandSpec| {
            let own = spec
                .timeout
                .or(criterion.timeout)
                .unwrap_or(config.command_timeout);
            let timeout = cap.map_or(Duration::from_secs(own), |(cap, _)| {
                Duration::from_secs(own).min(cap)
            });
            let secs = timeout.as_secs().max(1);
            let dir = spec
                .cwd
                .as_deref()
                .map_or_else(|| dir.path().to_path_buf(), |d| dir.path().join(d));
            (
                Run {
                    command: spec.command.clone(),
                    dir,
                    env: spec.env.clone(),
                    task: task.to_owned(),
                    criterion: criterion.id.clone(),
                    timeout,
                    input: None,
                },
                secs,
            )
        };
        let finish = |run: Run| command::run(&run).map_err(|e| e.to_string());
        let verdict = match &criterion.proof {
            Proof::BuildsClean { run } => {
                let (run, secs) = spec_run(run);
                outcome::builds_clean(&finish(run)?, secs)
            }
            Proof::TestPasses {
                run,
                min_tests,
                expect,
            } => {
                let (run, secs) = spec_run(run);
                outcome::test_passes(&finish(run)?, secs, *min_tests, expect)
            }
            Proof::CommandOutputMatches {
                run,
                pattern,
                stream,
                exit,
            } => {
                let regex = match proof::pattern(pattern) {
                    Ok(r) => r,
                    Err(broken) => return Ok(broken),
                };
                let (run, secs) = spec_run(run);
                outcome::command_output_matches(&finish(run)?, secs, &regex, *stream, *exit)
            }
            _ => {
                return Err(format!(
                    "{} is not a command proof",
                    criterion.kind().name()
                ));
            }
        };
        let mut verdict = verdict;
        if let Some((cap, by_command_timeout)) = cap
            && verdict.failure_code == Some(crate::diagnostic::FailureCode::F5)
        {
            let key = if by_command_timeout {
                "specproof.commandTimeout"
            } else {
                "what was left of specproof.pushTimeout"
            };
            let _ = write!(
                verdict.detail,
                " (this server let it run {:.1} s: {key})",
                cap.as_secs_f64()
            );
        }
        Ok(verdict)
    }
}

/// Writes every file of `content` into a new temporary folder, with git's modes and links.
fn export(content: &Content<'_>) -> Result<tempfile::TempDir, String> {
    let dir = tempfile::Builder::new()
        .prefix("specproof-export-")
        .tempdir()
        .map_err(|e| format!("cannot make a temporary folder for the export: {e}"))?;
    for entry in content.files() {
        let path = dir.path().join(&entry.path);
        write_entry(content, &entry.path, entry.mode, &path)
            .map_err(|e| format!("cannot export {} to {}: {e}", entry.path, path.display()))?;
    }
    Ok(dir)
}

fn write_entry(content: &Content<'_>, rel: &str, mode: u32, path: &Path) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    let bytes = content.read(rel).map_err(|e| e.to_string())?;
    if mode == MODE_SYMLINK {
        let target = String::from_utf8_lossy(&bytes).into_owned();
        return std::os::unix::fs::symlink(target, path).map_err(|e| e.to_string());
    }
    std::fs::write(path, &bytes).map_err(|e| e.to_string())?;
    if mode == MODE_EXECUTABLE {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}
