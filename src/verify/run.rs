//! Running the proofs: file and git proofs on the calling thread, command proofs and the judge
//! on worker threads, serial commands alone after the others.

use std::collections::{BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::content::Content;
use crate::criterion::{CommandSpec, Proof};
use crate::proof::command::{self, Finished, Run};
use crate::proof::files::{self, FileCache};
use crate::proof::judge::{self, CriterionRef, FileRef, JudgeConfig, Request};
use crate::proof::{self, Verdict, outcome};
use crate::state;

use super::{Pending, Progress, Row, Unit, base_of};

/// How a command proof judges its finished command, given the timeout in seconds.
type Judgement = Box<dyn FnOnce(&Finished, u64) -> Verdict + Send>;

/// Work for a worker thread.
enum Job {
    /// The proof cannot be carried out (F9), for the reason given.
    Broken(String),
    Command {
        run: Run,
        serial: bool,
        timeout_secs: u64,
        judge: Judgement,
    },
    Judge {
        config: JudgeConfig,
        task: String,
        id: String,
        description: String,
        rubric: Vec<String>,
        files: Vec<FileRef>,
    },
}

type Ran = Option<(Verdict, String, Duration)>;

/// Runs every pending proof; None for one cut short by Ctrl-C.
#[allow(clippy::too_many_arguments)]
pub(super) fn run_all(
    root: &Path,
    git: &git2::Repository,
    content: &Content<'_>,
    config: &Config,
    units: &[Unit],
    pending: &[Pending],
    jobs: usize,
    excluded: &dyn Fn(&str) -> bool,
    rows: &[Row],
    progress: &dyn Progress,
) -> Vec<Ran> {
    let mut results: Vec<Ran> = (0..pending.len()).map(|_| None).collect();
    let cache = FileCache::default();
    let max_size = config.max_file_size.0;
    let mut queue = VecDeque::new();
    let mut local = Vec::new();
    for (i, p) in pending.iter().enumerate() {
        let unit = &units[p.unit];
        match job(root, content, config, unit, &cache) {
            Some(job) => queue.push_back((i, job)),
            None => local.push(i),
        }
    }
    // Serial commands run alone, after the parallel ones, one at a time.
    let (serial, parallel): (Vec<_>, Vec<_>) = queue
        .into_iter()
        .partition(|(_, job)| matches!(job, Job::Command { serial: true, .. }));
    let queue = Mutex::new(VecDeque::from(parallel));
    let done = |i: usize, ran: &Ran| {
        if let Some((v, _, d)) = ran {
            let mut row = rows[pending[i].row].clone();
            row.result = v.outcome.into();
            row.failure_code = v.failure_code;
            row.detail.clone_from(&v.detail);
            row.duration_ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
            progress.finished(&row);
        }
    };
    let (tx, rx) = mpsc::channel::<(usize, Ran)>();
    std::thread::scope(|s| {
        let workers = jobs.max(1).min(queue.lock().map_or(0, |q| q.len()));
        for _ in 0..workers {
            let tx = tx.clone();
            let (queue, done) = (&queue, &done);
            s.spawn(move || {
                loop {
                    let next = queue.lock().ok().and_then(|mut q| q.pop_front());
                    let Some((i, job)) = next else { break };
                    let ran = if crate::interrupt::interrupted() {
                        None
                    } else {
                        run_job(job)
                    };
                    done(i, &ran);
                    if tx.send((i, ran)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for i in local {
            if crate::interrupt::interrupted() {
                break;
            }
            let unit = &units[pending[i].unit];
            let started_at = state::now();
            let t = Instant::now();
            let verdict = run_local(git, content, unit, excluded, &cache, max_size);
            let ran = Some((verdict, started_at, t.elapsed()));
            done(i, &ran);
            results[i] = ran;
        }
        for (i, ran) in rx {
            results[i] = ran;
        }
    });
    for (i, job) in serial {
        if crate::interrupt::interrupted() {
            break;
        }
        let ran = run_job(job);
        done(i, &ran);
        results[i] = ran;
    }
    results
}

fn run_job(job: Job) -> Ran {
    let started_at = state::now();
    let t = Instant::now();
    match job {
        Job::Broken(why) => Some((Verdict::broken(why), started_at, t.elapsed())),
        Job::Command {
            run,
            timeout_secs,
            judge,
            ..
        } => {
            let finished = command::run(&run);
            let verdict = match finished {
                Ok(f) if f.interrupted => return None,
                Ok(f) => judge(&f, timeout_secs),
                Err(e) => Verdict::broken(e.to_string()),
            };
            Some((verdict, started_at, t.elapsed()))
        }
        Job::Judge {
            config,
            task,
            id,
            description,
            rubric,
            files,
        } => {
            if files.is_empty() {
                // A judgement over nothing proves nothing: a misspelt path must not pass.
                return Some((
                    Verdict::judged(
                        false,
                        "no file matches the paths to judge: there is nothing to judge".into(),
                    ),
                    started_at,
                    t.elapsed(),
                ));
            }
            let request = Request {
                criterion: CriterionRef {
                    id: &id,
                    description: &description,
                },
                rubric: &rubric,
                files,
            };
            let verdict = judge::judge(&config, &task, &request);
            if crate::interrupt::interrupted() {
                return None;
            }
            Some((verdict, started_at, t.elapsed()))
        }
    }
}

/// The job of a command proof or a judge; None for a proof that runs on the calling thread.
fn job(
    root: &Path,
    content: &Content<'_>,
    config: &Config,
    unit: &Unit,
    cache: &FileCache,
) -> Option<Job> {
    let c = &unit.criterion;
    let task = unit.task.clone().unwrap_or_else(|| unit.owner.clone());
    let run = |spec: &CommandSpec| {
        let secs = spec.timeout.or(c.timeout).unwrap_or(config.command_timeout);
        let dir: PathBuf = spec
            .cwd
            .as_deref()
            .map_or_else(|| root.to_path_buf(), |d| root.join(d));
        (
            Run {
                command: spec.command.clone(),
                dir,
                env: spec.env.clone(),
                task: task.clone(),
                criterion: c.id.clone(),
                timeout: Duration::from_secs(secs),
                input: None,
            },
            secs,
        )
    };
    let command = |spec: &CommandSpec, judge: Judgement| {
        let (run, timeout_secs) = run(spec);
        Some(Job::Command {
            run,
            serial: c.serial,
            timeout_secs,
            judge,
        })
    };
    match &c.proof {
        Proof::BuildsClean { run } => command(run, Box::new(outcome::builds_clean)),
        Proof::TestPasses {
            run,
            min_tests,
            expect,
        } => {
            let (min, expect) = (*min_tests, expect.clone());
            command(
                run,
                Box::new(move |f, t| outcome::test_passes(f, t, min, &expect)),
            )
        }
        Proof::CommandOutputMatches {
            run,
            pattern,
            stream,
            exit,
        } => {
            let (stream, exit) = (*stream, *exit);
            match proof::pattern(pattern) {
                Ok(regex) => command(
                    run,
                    Box::new(move |f, t| {
                        outcome::command_output_matches(f, t, &regex, stream, exit)
                    }),
                ),
                Err(broken) => Some(Job::Broken(broken.detail)),
            }
        }
        Proof::SemanticMatch { rubric, paths } => {
            let files = match judged_files(content, paths, config.max_file_size.0, cache) {
                Ok(files) => files,
                Err(e) => return Some(Job::Broken(e)),
            };
            Some(Job::Judge {
                config: JudgeConfig {
                    command: config.judge.command.clone(),
                    min_confidence: config.judge.min_confidence,
                    timeout: Duration::from_secs(c.timeout.unwrap_or(config.command_timeout)),
                    dir: root.to_path_buf(),
                },
                task,
                id: c.id.clone(),
                description: c.description.clone(),
                rubric: rubric.clone(),
                files: judge::cap_files(files),
            })
        }
        _ => None,
    }
}

/// The files `semantic_match` sends to the judge, each read once; a file over
/// `max_file_size` is named but not sent.
fn judged_files(
    content: &Content<'_>,
    paths: &[String],
    max_size: u64,
    cache: &FileCache,
) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut files = Vec::new();
    let mut seen = BTreeSet::new();
    for glob in paths {
        for entry in files::matching(content, glob)? {
            if !seen.insert(entry.path.clone()) {
                continue;
            }
            if content.size(entry).map_err(|e| e.to_string())? > max_size {
                files.push((
                    entry.path.clone(),
                    format!("[over max_file_size ({max_size} bytes): not sent]").into_bytes(),
                ));
                continue;
            }
            let bytes = cache
                .read_entry(content, entry)
                .map_err(|e| e.to_string())?;
            files.push((entry.path.clone(), bytes.to_vec()));
        }
    }
    Ok(files)
}

/// A file or git proof, on the calling thread.
fn run_local(
    git: &git2::Repository,
    content: &Content<'_>,
    unit: &Unit,
    excluded: &dyn Fn(&str) -> bool,
    cache: &FileCache,
    max_size: u64,
) -> Verdict {
    let base = match base_of(git, unit) {
        Ok(base) => base,
        Err(e) => return Verdict::broken(e),
    };
    proof::run_local(
        git,
        content,
        &unit.criterion,
        base,
        excluded,
        cache,
        max_size,
    )
    .unwrap_or_else(|| {
        Verdict::broken(format!(
            "{} is not a file or git proof",
            unit.criterion.kind().name()
        ))
    })
}
