//! How command proofs run (SPEC §4): `sh -c` in the repository (or `cwd` inside it), stdin from
//! /dev/null, in their own process group, without the variables that point git at this
//! repository, with `SPECPROOF_TASK` and `SPECPROOF_CRITERION` set. On timeout the whole group gets
//! SIGTERM, then SIGKILL 5 s later. Output is kept as its first and last 32 KiB, never more.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

/// How much of the start and of the end of each stream is kept.
pub const KEEP: usize = 32 * 1024;

/// The grace between SIGTERM and SIGKILL.
pub const KILL_GRACE: Duration = Duration::from_secs(5);

/// How long output is still read after the command ended (a process that escaped the group
/// may hold the pipes open forever).
pub const READ_GRACE: Duration = Duration::from_secs(2);

/// The variables git uses to point at a repository (`git rev-parse --local-env-vars`) and the
/// ones it sets during a push; a proof's command must see none of them, or a test suite that
/// builds its own fixture repository writes into the user's index.
pub const GIT_LOCAL_VARS: [&str; 16] = [
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_CONFIG",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "GIT_OBJECT_DIRECTORY",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_IMPLICIT_WORK_TREE",
    "GIT_GRAFT_FILE",
    "GIT_INDEX_FILE",
    "GIT_NO_REPLACE_OBJECTS",
    "GIT_REPLACE_REF_BASE",
    "GIT_PREFIX",
    "GIT_SHALLOW_FILE",
    "GIT_COMMON_DIR",
    "GIT_QUARANTINE_PATH",
];

/// True for a variable that must not reach a proof's command.
#[must_use]
pub fn is_git_local(name: &str) -> bool {
    GIT_LOCAL_VARS.contains(&name)
        || name.starts_with("GIT_PUSH_OPTION_")
        || name.starts_with("GIT_CONFIG_KEY_")
        || name.starts_with("GIT_CONFIG_VALUE_")
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Run {
    pub command: String,
    /// The folder to run in (the repository root, or `cwd` inside it).
    pub dir: PathBuf,
    /// Extra variables (the criterion's `env`).
    pub env: BTreeMap<String, String>,
    pub task: String,
    pub criterion: String,
    pub timeout: Duration,
    /// Bytes for stdin (the judge's request); None is /dev/null, as for every proof command.
    pub input: Option<Vec<u8>>,
}

/// One output stream, capped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captured {
    /// The first bytes, up to [`KEEP`].
    pub head: Vec<u8>,
    /// The last bytes after the head, up to [`KEEP`].
    pub tail: Vec<u8>,
    /// Every byte the stream carried.
    pub total: u64,
}

impl Captured {
    /// The kept output as text, with a marker where bytes were left out.
    #[must_use]
    pub fn text(&self) -> String {
        let kept = (self.head.len() + self.tail.len()) as u64;
        let mut out = String::from_utf8_lossy(&self.head).into_owned();
        if self.total > kept {
            // Writing to a String cannot fail.
            let _ = write!(out, "\n[… {} bytes left out …]\n", self.total - kept);
        }
        out.push_str(&String::from_utf8_lossy(&self.tail));
        out
    }
}

/// How the command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// The exit code; None when a signal ended it.
    pub exit_code: Option<i32>,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
    /// The timeout was reached and the group was killed (F5).
    pub timed_out: bool,
    /// specproof was interrupted (Ctrl-C) and killed the group: no verdict.
    pub interrupted: bool,
    pub stdout: Captured,
    pub stderr: Captured,
    pub duration: Duration,
}

/// The command could not be started (F9).
#[derive(Debug, thiserror::Error)]
#[error("cannot start `sh -c {command}` in {}: {cause}", .dir.display())]
pub struct SpawnError {
    pub command: String,
    pub dir: PathBuf,
    pub cause: std::io::Error,
}

/// Runs the command to its end or its timeout. Whatever the command leaves running in its process
/// group when it exits is killed too.
///
/// # Errors
/// When `sh` cannot be started.
pub fn run(spec: &Run) -> Result<Finished, SpawnError> {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(&spec.command)
        .current_dir(&spec.dir)
        .stdin(if spec.input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(is_git_local) {
            cmd.env_remove(&name);
        }
    }
    cmd.envs(&spec.env)
        .env("SPECPROOF_TASK", &spec.task)
        .env("SPECPROOF_CRITERION", &spec.criterion);
    cmd.process_group(0);
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|source| SpawnError {
        command: spec.command.clone(),
        dir: spec.dir.clone(),
        cause: source,
    })?;
    let group = i32::try_from(child.id()).unwrap_or(0);
    // Written from a thread, so that a command that does not read cannot block the run; a
    // command that exits without reading all of it closes the pipe, which is its choice. The
    // thread is not waited for: it ends when the pipe closes.
    if let Some((mut stdin, bytes)) = child.stdin.take().zip(spec.input.clone()) {
        thread::spawn(move || {
            let _ = stdin.write_all(&bytes);
        });
    }
    // Readers fill shared buffers and say when their stream ended, so that a process which
    // escaped the group (setsid) and holds a pipe open cannot keep the run waiting.
    let (done_tx, done_rx) = mpsc::channel();
    let mut readers = Vec::new();
    for stream in [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ] {
        let shared = Arc::new(Mutex::new(Ring::default()));
        if let Some(stream) = stream {
            let (shared, done) = (Arc::clone(&shared), done_tx.clone());
            thread::spawn(move || {
                capture(stream, &shared);
                let _ = done.send(());
            });
        } else {
            let _ = done_tx.send(());
        }
        readers.push(shared);
    }

    // A timeout beyond any real run (a plan may say u64::MAX seconds) must not overflow.
    let timeout = spec.timeout.min(Duration::from_hours(100 * 365 * 24));
    let deadline = started + timeout;
    let mut timed_out = false;
    let mut interrupted = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) => {}
            Err(_) => break child.wait().ok(),
        }
        if Instant::now() >= deadline {
            timed_out = true;
            break terminate(&mut child, group);
        }
        if crate::interrupt::interrupted() {
            interrupted = true;
            break terminate(&mut child, group);
        }
        thread::sleep(Duration::from_millis(5));
    };
    // The group may hold children that keep the pipes open: end them so the readers finish.
    if !timed_out && !interrupted {
        signal_group(group, libc::SIGKILL);
    }
    let drain_until = Instant::now() + READ_GRACE;
    for _ in 0..readers.len() {
        let left = drain_until.saturating_duration_since(Instant::now());
        if done_rx.recv_timeout(left).is_err() {
            break;
        }
    }
    let take = |shared: &Arc<Mutex<Ring>>| shared.lock().map(|r| r.captured()).unwrap_or_default();
    Ok(Finished {
        exit_code: status.and_then(|s| s.code()),
        signal: status.and_then(|s| s.signal()),
        timed_out,
        interrupted,
        stdout: take(&readers[0]),
        stderr: take(&readers[1]),
        duration: started.elapsed(),
    })
}

/// SIGTERM to the group, then SIGKILL after the grace if the command is still there.
fn terminate(child: &mut std::process::Child, group: i32) -> Option<std::process::ExitStatus> {
    signal_group(group, libc::SIGTERM);
    let grace = Instant::now() + KILL_GRACE;
    let mut status = None;
    // The grace lasts while any member of the group lives, not only its leader: a child that
    // traps TERM to clean up gets its 5 s even when `sh` itself died at once.
    while Instant::now() < grace {
        if status.is_none() {
            status = child.try_wait().ok().flatten();
        }
        if status.is_some() && !group_alive(group) {
            return status;
        }
        thread::sleep(Duration::from_millis(10));
    }
    signal_group(group, libc::SIGKILL);
    status.or_else(|| child.wait().ok())
}

fn group_alive(group: i32) -> bool {
    // SAFETY: kill(2) with signal 0 only asks whether the group has a member; no memory is touched.
    #[allow(unsafe_code)]
    let alive = group > 0 && unsafe { libc::kill(-group, 0) } == 0;
    alive
}

fn signal_group(group: i32, signal: i32) {
    if group > 0 {
        // SAFETY: kill(2) with a negative pid signals a process group; it touches no memory.
        // An error (the group is already gone) is the outcome we want.
        #[allow(unsafe_code)]
        unsafe {
            libc::kill(-group, signal);
        }
    }
}

/// A stream being read: the first [`KEEP`] bytes, a ring of the last [`KEEP`], the count.
#[derive(Debug, Default)]
struct Ring {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    total: u64,
}

impl Ring {
    fn push(&mut self, mut chunk: &[u8]) {
        self.total += chunk.len() as u64;
        if self.head.len() < KEEP {
            let take = (KEEP - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
        }
        if chunk.len() >= KEEP {
            self.tail.clear();
            self.tail.extend(&chunk[chunk.len() - KEEP..]);
        } else {
            let overflow = (self.tail.len() + chunk.len()).saturating_sub(KEEP);
            self.tail.drain(..overflow);
            self.tail.extend(chunk);
        }
    }

    fn captured(&self) -> Captured {
        Captured {
            head: self.head.clone(),
            tail: self.tail.iter().copied().collect(),
            total: self.total,
        }
    }
}

/// Reads a stream to its end into `shared`, which always holds what was read so far.
fn capture(mut stream: impl Read, shared: &Mutex<Ring>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        match shared.lock() {
            Ok(mut ring) => ring.push(&buf[..n]),
            Err(_) => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(command: &str, timeout: Duration) -> Run {
        Run {
            command: command.into(),
            dir: std::env::temp_dir(),
            env: BTreeMap::from([("EXTRA".into(), "yes".into())]),
            task: "T-1".into(),
            criterion: "C-1".into(),
            timeout,
            input: None,
        }
    }

    #[test]
    fn runs_with_sh_in_the_folder_with_the_variables_set_and_stdin_empty() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = spec(
            "pwd; echo $SPECPROOF_TASK $SPECPROOF_CRITERION $EXTRA; cat; echo err >&2; exit 3",
            Duration::from_secs(30),
        );
        s.dir = dir.path().to_path_buf();
        let f = run(&s).unwrap();
        assert_eq!(f.exit_code, Some(3));
        assert!(!f.timed_out);
        let out = f.stdout.text();
        let mut lines = out.lines();
        assert_eq!(
            std::fs::canonicalize(lines.next().unwrap()).unwrap(),
            dir.path().canonicalize().unwrap()
        );
        assert_eq!(lines.next(), Some("T-1 C-1 yes"));
        assert_eq!(lines.next(), None, "stdin is empty");
        assert_eq!(f.stderr.text(), "err\n");
    }

    #[test]
    fn git_variables_never_reach_the_command() {
        assert!(is_git_local("GIT_INDEX_FILE"));
        assert!(is_git_local("GIT_PUSH_OPTION_0"));
        assert!(is_git_local("GIT_CONFIG_KEY_1"));
        assert!(!is_git_local("GIT_AUTHOR_NAME"));
        // The list is git's own.
        let out = Command::new("git")
            .args(["rev-parse", "--local-env-vars"])
            .output()
            .unwrap();
        for var in String::from_utf8_lossy(&out.stdout).lines() {
            assert!(is_git_local(var), "{var} must be removed");
        }
    }

    #[test]
    fn output_is_capped_to_its_first_and_last_32_kib() {
        let f = run(&spec(
            "head -c 1000000 /dev/zero | tr '\\0' a; echo END",
            Duration::from_mins(1),
        ))
        .unwrap();
        assert_eq!(f.stdout.total, 1_000_004);
        assert_eq!(f.stdout.head.len(), KEEP);
        assert_eq!(f.stdout.tail.len(), KEEP);
        assert!(f.stdout.tail.ends_with(b"aEND\n"));
        assert!(f.stdout.text().contains("bytes left out"));
    }

    #[test]
    fn a_timeout_kills_the_whole_group_including_a_forked_sleeper() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let command = format!("sleep 300 & echo $! > {}; wait", pidfile.display());
        let started = Instant::now();
        let f = run(&spec(&command, Duration::from_millis(500))).unwrap();
        assert!(f.timed_out);
        assert_eq!(f.exit_code, None, "ended by a signal");
        assert!(started.elapsed() < Duration::from_mins(1));
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // Killed means gone or a zombie waiting for its reaper (in a container pid 1 may never
        // reap it); signals arrive asynchronously, so allow a moment.
        let running = || {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    stat.rsplit(") ")
                        .next()
                        .and_then(|rest| rest.chars().next())
                })
                .is_some_and(|state| state != 'Z' && state != 'X')
        };
        let until = Instant::now() + Duration::from_secs(5);
        while running() && Instant::now() < until {
            thread::sleep(Duration::from_millis(20));
        }
        assert!(!running(), "the forked sleeper {pid} was killed too");
    }

    #[test]
    fn a_child_left_running_after_exit_does_not_hang_the_run() {
        let f = run(&spec("sleep 300 & echo started", Duration::from_mins(1))).unwrap();
        assert_eq!(f.exit_code, Some(0));
        assert_eq!(f.stdout.text(), "started\n");
        assert!(f.duration < Duration::from_mins(1));
    }

    #[test]
    fn a_process_that_escaped_the_group_cannot_hang_the_run() {
        let started = Instant::now();
        let f = run(&spec(
            "setsid sleep 300 & sleep 0.2; echo hi",
            Duration::from_secs(30),
        ))
        .unwrap();
        assert_eq!(f.exit_code, Some(0));
        assert_eq!(f.stdout.text(), "hi\n");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn a_huge_timeout_does_not_overflow() {
        let f = run(&spec("echo ok", Duration::from_secs(u64::MAX))).unwrap();
        assert_eq!(f.exit_code, Some(0));
    }

    #[test]
    fn a_child_trapping_term_gets_its_grace() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let command = format!(
            "sh -c 'trap \"sleep 1; echo cleaned >> {log}; exit 0\" TERM; echo start >> {log}; while :; do sleep 0.1; done' & wait",
            log = log.display()
        );
        let f = run(&spec(&command, Duration::from_millis(500))).unwrap();
        assert!(f.timed_out);
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(
            text.contains("cleaned"),
            "the TERM handler ran to its end: {text:?}"
        );
    }

    #[test]
    fn a_missing_folder_is_a_spawn_error() {
        let mut s = spec("true", Duration::from_secs(5));
        s.dir = PathBuf::from("/nonexistent/folder");
        let err = run(&s).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/folder"), "{err}");
    }
}
