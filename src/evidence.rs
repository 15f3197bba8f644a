//! Evidence files (SPEC §5.1): written only by specproof, atomically, signed with HMAC-SHA256
//! under a key kept in the repository's common git dir; and the freshness rule of §5.2.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use thiserror::Error;

use crate::diagnostic::FailureCode;

/// The evidence schema this version writes.
pub const SCHEMA: u32 = 1;

/// What a proof concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    Inconclusive,
}

/// One evidence file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    pub schema: u32,
    pub task_id: String,
    pub criterion_id: String,
    pub iteration: u32,
    pub proof: String,
    pub result: Outcome,
    pub detail: String,
    /// Capped command output.
    pub output: String,
    pub exit_code: Option<i32>,
    pub criterion_digest: String,
    pub input_digest: String,
    pub input_files: u64,
    pub failure_code: Option<FailureCode>,
    pub started_at: String,
    pub duration_ms: u64,
    pub tool: String,
    /// `hmac-sha256:<hex>` over the other fields; empty before signing.
    pub signature: String,
}

/// Evidence problems.
#[derive(Debug, Error)]
pub enum EvidenceError {
    #[error("cannot read the signing key {}: {cause}", .path.display())]
    Key {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("the signing key {} is damaged ({len} bytes); delete it and re-run `specproof verify --force`", .path.display())]
    BadKey { path: PathBuf, len: usize },
    #[error("cannot write {}: {cause}", .path.display())]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{}: {reason}", .path)]
    Corrupt { path: String, reason: String },
}

type HmacSha256 = Hmac<Sha256>;

const KEY_LEN: usize = 32;

/// The signing key, `<git common dir>/specproof/key`: one per repository, shared by all its
/// worktrees, never committed.
pub struct Key {
    bytes: Vec<u8>,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

impl Key {
    /// The key file's path for a repository whose common git dir is `common_dir`.
    #[must_use]
    pub fn path(common_dir: &Path) -> PathBuf {
        common_dir.join("specproof").join("key")
    }

    /// Reads the key if this machine has one (hooks never create it: evidence checked against a
    /// new key would all be suspect anyway).
    ///
    /// # Errors
    /// When the key exists but cannot be read, is readable by others, or has the wrong size.
    pub fn load(common_dir: &Path) -> Result<Option<Self>, EvidenceError> {
        let path = Self::path(common_dir);
        match std::fs::read(&path) {
            Ok(bytes) => Self::checked(&path, bytes).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(cause) => Err(EvidenceError::Key { path, cause }),
        }
    }

    /// Reads the key, or creates it (mode 0600, atomically) on first use.
    ///
    /// # Errors
    /// When the key cannot be read or written, or has the wrong size.
    pub fn load_or_create(common_dir: &Path) -> Result<Self, EvidenceError> {
        let path = Self::path(common_dir);
        match std::fs::read(&path) {
            Ok(bytes) => return Self::checked(&path, bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(EvidenceError::Key {
                    path,
                    cause: source,
                });
            }
        }
        let key_err = |source| EvidenceError::Key {
            path: path.clone(),
            cause: source,
        };
        let dir = path.parent().unwrap_or(common_dir);
        std::fs::create_dir_all(dir).map_err(key_err)?;
        let mut bytes = vec![0u8; KEY_LEN];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut bytes))
            .map_err(key_err)?;
        // tempfile creates the file with mode 0600.
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(key_err)?;
        tmp.write_all(&bytes)
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(key_err)?;
        match tmp.persist_noclobber(&path) {
            Ok(_) => Ok(Self { bytes }),
            // Another run created it first: use theirs.
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
                let bytes = std::fs::read(&path).map_err(key_err)?;
                Self::checked(&path, bytes)
            }
            Err(e) => Err(key_err(e.error)),
        }
    }

    fn checked(path: &Path, bytes: Vec<u8>) -> Result<Self, EvidenceError> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .map_err(|source| EvidenceError::Key {
                    path: path.to_path_buf(),
                    cause: source,
                })?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(EvidenceError::Key {
                    path: path.to_path_buf(),
                    cause: std::io::Error::new(
                        std::io::ErrorKind::PermissionDenied,
                        format!(
                            "the signing key is readable by others (mode {:o}), so anyone could sign evidence: run `chmod 600 {}`",
                            mode & 0o777,
                            path.display()
                        ),
                    ),
                });
            }
        }
        if bytes.len() == KEY_LEN {
            Ok(Self { bytes })
        } else {
            Err(EvidenceError::BadKey {
                path: path.to_path_buf(),
                len: bytes.len(),
            })
        }
    }

    fn mac(&self, evidence: &Evidence) -> HmacSha256 {
        self.mac_of(signed_bytes(evidence).as_bytes())
    }

    fn mac_of(&self, bytes: &[u8]) -> HmacSha256 {
        // A key of any length is valid for HMAC; `checked` makes it 32 bytes.
        let mut mac = HmacSha256::new_from_slice(&self.bytes)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(bytes);
        mac
    }

    /// The signature (`hmac-sha256:…`) of a JSON document other than evidence (a convergence
    /// record): over the canonical JSON (sorted keys, no spaces) of every field but `signature`.
    #[must_use]
    pub fn sign_json(&self, doc: &serde_json::Value) -> String {
        let tag = self
            .mac_of(canonical(doc).as_bytes())
            .finalize()
            .into_bytes();
        format!("hmac-sha256:{}", hex(&tag))
    }

    /// True when `doc`'s `signature` was made by [`Key::sign_json`] with this key over these
    /// exact fields.
    #[must_use]
    pub fn verify_json(&self, doc: &serde_json::Value) -> bool {
        let Some(tag) = doc
            .get("signature")
            .and_then(serde_json::Value::as_str)
            .and_then(|s| s.strip_prefix("hmac-sha256:"))
            .and_then(unhex)
        else {
            return false;
        };
        self.mac_of(canonical(doc).as_bytes())
            .verify_slice(&tag)
            .is_ok()
    }

    /// Sets `evidence.signature`.
    pub fn sign(&self, evidence: &mut Evidence) {
        let tag = self.mac(evidence).finalize().into_bytes();
        evidence.signature = format!("hmac-sha256:{}", hex(&tag));
    }

    /// True when the signature was made with this key over these exact fields.
    #[must_use]
    pub fn verify(&self, evidence: &Evidence) -> bool {
        let Some(tag) = evidence
            .signature
            .strip_prefix("hmac-sha256:")
            .and_then(unhex)
        else {
            return false;
        };
        self.mac(evidence).verify_slice(&tag).is_ok()
    }
}

/// The canonical JSON of every field but the signature (sorted keys, no spaces).
fn signed_bytes(evidence: &Evidence) -> String {
    canonical(&serde_json::to_value(evidence).unwrap_or(serde_json::Value::Null))
}

/// `doc` without its `signature`, as JSON with sorted keys and no spaces.
fn canonical(doc: &serde_json::Value) -> String {
    let mut value = doc.clone();
    if let serde_json::Value::Object(map) = &mut value {
        map.remove("signature");
    }
    value.to_string()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The repository path of an evidence file. `owner` is a task ID, or `_plan/<plan stem>` for
/// cross-cutting and system criteria.
#[must_use]
pub fn path(evidence_dir: &str, owner: &str, iteration: u32, criterion_id: &str) -> String {
    format!(
        "{}/{owner}/iter-{iteration}/{criterion_id}.json",
        evidence_dir.trim_end_matches('/')
    )
}

/// Writes `evidence` to `root/rel` atomically: a temporary file in the same folder, synced, then
/// renamed over the old one. An interruption leaves the old file or the new one, never half.
///
/// # Errors
/// When the folder or file cannot be written; the old file is then intact.
pub fn write(root: &Path, rel: &str, evidence: &Evidence) -> Result<(), EvidenceError> {
    let target = root.join(rel);
    let err = |source| EvidenceError::Write {
        path: target.clone(),
        cause: source,
    };
    let dir = target.parent().unwrap_or(root);
    std::fs::create_dir_all(dir).map_err(err)?;
    let mut json =
        serde_json::to_string_pretty(evidence).map_err(|e| err(std::io::Error::other(e)))?;
    json.push('\n');
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
    // Evidence is committed like any file: readable as git would check it out (tempfile makes
    // 0600; the signing key is what stays private).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(err)?;
    }
    tmp.write_all(json.as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(err)?;
    // The data is synced before the rename, so the name never points at a partial file. The
    // folder is not synced after it: after a power cut the old file or the new one is there, and
    // evidence can always be made again (a sync per file doubled the time of a cold verify).
    tmp.persist(&target).map_err(|e| err(e.error))?;
    Ok(())
}

/// Parses evidence bytes. Anything that is not a whole, well-formed evidence file is corrupt.
///
/// # Errors
/// [`EvidenceError::Corrupt`] naming the file and what is wrong.
pub fn parse(rel: &str, bytes: &[u8]) -> Result<Evidence, EvidenceError> {
    let corrupt = |reason: String| EvidenceError::Corrupt {
        path: rel.to_owned(),
        reason,
    };
    let evidence: Evidence = serde_json::from_slice(bytes)
        .map_err(|e| corrupt(format!("not an evidence file ({e})")))?;
    if evidence.schema != SCHEMA {
        return Err(corrupt(format!(
            "schema {} is not {SCHEMA}, the one this specproof reads",
            evidence.schema
        )));
    }
    Ok(evidence)
}

/// What evidence must match to be fresh for a task and a content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected<'a> {
    /// The owner the evidence file is stored under: a task ID or `_plan/<stem>`.
    pub task_id: &'a str,
    pub criterion_id: &'a str,
    /// The proof type's name.
    pub proof: &'a str,
    pub iteration: u32,
    pub criterion_digest: &'a str,
    pub input_digest: &'a str,
}

/// The freshness verdict of §5.2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Freshness {
    /// Pass evidence for this iteration, criterion and content.
    Fresh,
    /// No evidence.
    Missing { reason: String },
    /// Evidence that cannot be read or parsed: it counts as missing and is reported (F8).
    Corrupt { reason: String },
    /// The evidence records a failed or inconclusive proof (F3, or its own code).
    Failed { code: FailureCode, reason: String },
    /// The evidence is for another iteration, criterion definition or content (F11).
    Stale { reason: String },
    /// The signature does not verify: not written by specproof on this machine (F12).
    Suspect { reason: String },
}

impl Freshness {
    /// The failure code of a verdict that is not fresh.
    #[must_use]
    pub fn code(&self) -> Option<FailureCode> {
        match self {
            Self::Fresh => None,
            Self::Missing { .. } | Self::Stale { .. } => Some(FailureCode::F11),
            Self::Corrupt { .. } => Some(FailureCode::F8),
            Self::Failed { code, .. } => Some(*code),
            Self::Suspect { .. } => Some(FailureCode::F12),
        }
    }
}

/// Judges `evidence` (None: no file; `Err`: corrupt) against what the content requires. With a
/// `key`, the signature must verify; without one (a server that never saw the key), only the
/// recorded facts are compared.
#[must_use]
pub fn freshness(
    evidence: Option<&Result<Evidence, EvidenceError>>,
    key: Option<&Key>,
    expected: &Expected<'_>,
) -> Freshness {
    let evidence = match evidence {
        None => {
            return Freshness::Missing {
                reason: "no evidence".into(),
            };
        }
        Some(Err(e)) => {
            return Freshness::Corrupt {
                reason: format!("evidence is corrupt and counts as missing: {e}"),
            };
        }
        Some(Ok(e)) => e,
    };
    if key.is_some_and(|k| !k.verify(evidence)) {
        return Freshness::Suspect {
            reason: "the signature does not verify: this file was not written by specproof on this machine, or was edited".into(),
        };
    }
    // A pass never carries a failure code: such a file was edited by hand.
    if evidence.result == Outcome::Pass && evidence.failure_code.is_some() {
        return Freshness::Suspect {
            reason: "the evidence records a pass with a failure code: it was edited after specproof wrote it".into(),
        };
    }
    // Evidence proves one criterion of one owner: a signed file copied to another task or
    // criterion proves nothing there.
    if (
        evidence.task_id.as_str(),
        evidence.criterion_id.as_str(),
        evidence.proof.as_str(),
    ) != (expected.task_id, expected.criterion_id, expected.proof)
    {
        return Freshness::Suspect {
            reason: format!(
                "the evidence is for {} {} ({}), not for {} {} ({})",
                evidence.task_id,
                evidence.criterion_id,
                evidence.proof,
                expected.task_id,
                expected.criterion_id,
                expected.proof
            ),
        };
    }
    if evidence.iteration != expected.iteration {
        return Freshness::Stale {
            reason: format!(
                "evidence is for iteration {}, the task is at iteration {}",
                evidence.iteration, expected.iteration
            ),
        };
    }
    if evidence.criterion_digest != expected.criterion_digest {
        return Freshness::Stale {
            reason: "the criterion's proof or args changed since the evidence was made".into(),
        };
    }
    if evidence.input_digest != expected.input_digest {
        return Freshness::Stale {
            reason: "the files the proof looks at changed since the evidence was made".into(),
        };
    }
    // Stale evidence says nothing about the content now, pass or fail; only fresh results count.
    if evidence.result != Outcome::Pass {
        let code = evidence.failure_code.unwrap_or(FailureCode::F3);
        let result = if evidence.result == Outcome::Fail {
            "failed"
        } else {
            "was inconclusive"
        };
        return Freshness::Failed {
            code,
            reason: format!("the proof {result}: {}", evidence.detail),
        };
    }
    Freshness::Fresh
}

/// One way evidence differs from what fresh evidence must carry (SPEC §5.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "field", rename_all = "snake_case")]
pub enum Stale {
    /// The evidence is for another iteration than the owner's current one.
    Iteration { evidence: u32, expected: u32 },
    /// The criterion's proof, args or inputs changed since the evidence was made.
    CriterionDigest { evidence: String, expected: String },
    /// The files in the criterion's input scope (or a git proof's base) changed.
    InputDigest { evidence: String, expected: String },
}

impl Stale {
    /// The difference in words, digests shortened to 12 hex digits.
    #[must_use]
    pub fn describe(&self) -> String {
        let short = |d: &str| {
            let hex = d.strip_prefix("sha256:").unwrap_or(d);
            format!("{}…", hex.get(..12).unwrap_or(hex))
        };
        match self {
            Self::Iteration { evidence, expected } => {
                format!("made in iteration {evidence}, now at iteration {expected}")
            }
            Self::CriterionDigest { evidence, expected } => format!(
                "criterion digest differs, the proof, args or inputs changed ({} → {})",
                short(evidence),
                short(expected)
            ),
            Self::InputDigest { evidence, expected } => format!(
                "input digest differs, its files changed ({} → {})",
                short(evidence),
                short(expected)
            ),
        }
    }
}

/// Every way `evidence` is stale for `expected`, in the order [`freshness`] checks them (it
/// names only the first); empty when iteration and both digests match.
#[must_use]
pub fn staleness(evidence: &Evidence, expected: &Expected<'_>) -> Vec<Stale> {
    let mut out = Vec::new();
    if evidence.iteration != expected.iteration {
        out.push(Stale::Iteration {
            evidence: evidence.iteration,
            expected: expected.iteration,
        });
    }
    if evidence.criterion_digest != expected.criterion_digest {
        out.push(Stale::CriterionDigest {
            evidence: evidence.criterion_digest.clone(),
            expected: expected.criterion_digest.to_owned(),
        });
    }
    if evidence.input_digest != expected.input_digest {
        out.push(Stale::InputDigest {
            evidence: evidence.input_digest.clone(),
            expected: expected.input_digest.to_owned(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Evidence {
        Evidence {
            schema: SCHEMA,
            task_id: "T-001".into(),
            criterion_id: "AUTH-1".into(),
            iteration: 1,
            proof: "pattern_matches".into(),
            result: Outcome::Pass,
            detail: "2 matches: src/auth.rs:14, src/auth.rs:40".into(),
            output: String::new(),
            exit_code: None,
            criterion_digest: "sha256:c".into(),
            input_digest: "sha256:i".into(),
            input_files: 1,
            failure_code: None,
            started_at: "2026-11-21T10:00:00Z".into(),
            duration_ms: 3,
            tool: "specproof 0.1.0".into(),
            signature: String::new(),
        }
    }

    const EXPECTED: Expected<'static> = Expected {
        task_id: "T-001",
        criterion_id: "AUTH-1",
        proof: "pattern_matches",
        iteration: 1,
        criterion_digest: "sha256:c",
        input_digest: "sha256:i",
    };

    #[test]
    fn staleness_names_every_difference_in_freshness_order() {
        let e = sample();
        assert!(staleness(&e, &EXPECTED).is_empty());
        let expected = Expected {
            iteration: 2,
            input_digest: "sha256:0123456789abcdef",
            ..EXPECTED
        };
        let found = staleness(&e, &expected);
        assert_eq!(
            found,
            [
                Stale::Iteration {
                    evidence: 1,
                    expected: 2
                },
                Stale::InputDigest {
                    evidence: "sha256:i".into(),
                    expected: "sha256:0123456789abcdef".into()
                }
            ]
        );
        assert_eq!(
            found[0].describe(),
            "made in iteration 1, now at iteration 2"
        );
        assert_eq!(
            found[1].describe(),
            "input digest differs, its files changed (i… → 0123456789ab…)"
        );
        let redefined = Expected {
            criterion_digest: "sha256:other",
            ..EXPECTED
        };
        assert!(matches!(
            staleness(&e, &redefined)[..],
            [Stale::CriterionDigest { .. }]
        ));
    }

    #[test]
    fn the_key_is_created_once_with_mode_0600() {
        let git = tempfile::tempdir().unwrap();
        let a = Key::load_or_create(git.path()).unwrap();
        let b = Key::load_or_create(git.path()).unwrap();
        assert_eq!(a.bytes, b.bytes, "the second run reads the first run's key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(Key::path(git.path()))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(Key::path(git.path()), b"short").unwrap();
        assert!(matches!(
            Key::load_or_create(git.path()),
            Err(EvidenceError::BadKey { len: 5, .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn a_key_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let git = tempfile::tempdir().unwrap();
        Key::load_or_create(git.path()).unwrap();
        let path = Key::path(git.path());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Key::load_or_create(git.path()).unwrap_err().to_string();
        assert!(err.contains("readable by others (mode 644)"), "{err}");
        assert!(err.contains("chmod 600"), "{err}");
    }

    #[test]
    fn every_worktree_of_a_repository_shares_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("main");
        let run = |args: &[&str]| {
            let out = std::process::Command::new("git")
                .args(args)
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("HOME", dir.path())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let main_str = main.to_str().unwrap();
        run(&["init", "-q", main_str]);
        run(&[
            "-C",
            main_str,
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "one",
        ]);
        let linked = dir.path().join("linked");
        run(&[
            "-C",
            main_str,
            "worktree",
            "add",
            "-q",
            linked.to_str().unwrap(),
        ]);
        let a = git2::Repository::open(&main).unwrap();
        let b = git2::Repository::open(&linked).unwrap();
        assert_ne!(a.path(), b.path(), "two git dirs");
        let ka = Key::load_or_create(a.commondir()).unwrap();
        let kb = Key::load_or_create(b.commondir()).unwrap();
        assert_eq!(ka.bytes, kb.bytes);
        assert!(main.join(".git/specproof/key").is_file());
    }

    #[test]
    fn a_signature_binds_every_field() {
        let git = tempfile::tempdir().unwrap();
        let key = Key::load_or_create(git.path()).unwrap();
        let mut e = sample();
        key.sign(&mut e);
        assert!(e.signature.starts_with("hmac-sha256:") && e.signature.len() == 12 + 64);
        assert!(key.verify(&e));
        let mut forged = e.clone();
        forged.detail = "all good".into();
        assert!(!key.verify(&forged), "an edited field breaks the signature");
        let other = Key::load_or_create(tempfile::tempdir().unwrap().path()).unwrap();
        assert!(
            !other.verify(&e),
            "another machine's key does not verify it"
        );
        // Every field is covered, not only the detail.
        let fields = serde_json::to_value(&e).unwrap();
        for name in fields
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| *k != "signature")
        {
            let mut edited = fields.clone();
            edited[name] = match &edited[name] {
                serde_json::Value::String(t) => serde_json::Value::String(format!("{t}x")),
                serde_json::Value::Number(n) => serde_json::json!(n.as_u64().unwrap_or(0) + 1),
                serde_json::Value::Null => serde_json::json!(1),
                other => other.clone(),
            };
            if name == "result" {
                edited[name] = serde_json::json!("fail");
            }
            if name == "failure_code" {
                edited[name] = serde_json::json!("F3");
            }
            let edited: Evidence = serde_json::from_value(edited).unwrap();
            assert!(!key.verify(&edited), "editing {name} breaks the signature");
        }
        let mut garbage = e.clone();
        garbage.signature = "hmac-sha256:zz".into();
        assert!(!key.verify(&garbage));
    }

    #[test]
    fn evidence_is_written_atomically_and_reads_back() {
        let root = tempfile::tempdir().unwrap();
        let rel = path(".specproof/evidence/", "T-001", 1, "AUTH-1");
        assert_eq!(rel, ".specproof/evidence/T-001/iter-1/AUTH-1.json");
        let e = sample();
        write(root.path(), &rel, &e).unwrap();
        let bytes = std::fs::read(root.path().join(&rel)).unwrap();
        assert_eq!(parse(&rel, &bytes).unwrap(), e);
        let leftovers = std::fs::read_dir(root.path().join(".specproof/evidence/T-001/iter-1"))
            .unwrap()
            .count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }

    #[test]
    fn corrupt_and_truncated_evidence_is_an_error_not_a_panic() {
        let e = serde_json::to_vec(&sample()).unwrap();
        for bad in [
            &e[..e.len() / 2],
            b"",
            b"{}",
            b"\xff\xfe",
            br#"{"schema": 2}"#,
        ] {
            let err = parse("ev.json", bad).unwrap_err();
            assert!(err.to_string().starts_with("ev.json: "), "{err}");
        }
        let mut other_schema = sample();
        other_schema.schema = 2;
        let err = parse("ev.json", &serde_json::to_vec(&other_schema).unwrap()).unwrap_err();
        assert!(err.to_string().contains("schema 2"), "{err}");
    }

    #[test]
    fn a_pass_with_a_failure_code_was_edited_by_hand() {
        let expected = Expected {
            task_id: "T-1",
            criterion_id: "C-1",
            proof: "semantic_match",
            iteration: 1,
            criterion_digest: "sha256:c",
            input_digest: "sha256:i",
        };
        let mut e = sample();
        e.task_id = "T-1".into();
        e.criterion_id = "C-1".into();
        e.proof = "semantic_match".into();
        e.iteration = 1;
        e.criterion_digest = "sha256:c".into();
        e.input_digest = "sha256:i".into();
        e.result = Outcome::Pass;
        e.failure_code = None;
        assert_eq!(
            freshness(Some(&Ok(e.clone())), None, &expected),
            Freshness::Fresh
        );
        e.failure_code = Some(FailureCode::F3);
        assert!(matches!(
            freshness(Some(&Ok(e)), None, &expected),
            Freshness::Suspect { .. }
        ));
    }

    #[test]
    fn freshness_follows_the_spec() {
        let git = tempfile::tempdir().unwrap();
        let key = Key::load_or_create(git.path()).unwrap();
        let signed = |f: &dyn Fn(&mut Evidence)| {
            let mut e = sample();
            f(&mut e);
            key.sign(&mut e);
            Ok(e)
        };
        assert_eq!(
            freshness(Some(&signed(&|_| {})), Some(&key), &EXPECTED),
            Freshness::Fresh
        );
        assert_eq!(
            freshness(None, Some(&key), &EXPECTED).code(),
            Some(FailureCode::F11)
        );
        let corrupt = parse("x.json", b"{");
        let verdict = freshness(Some(&corrupt), Some(&key), &EXPECTED);
        assert!(matches!(verdict, Freshness::Corrupt { .. }), "{verdict:?}");
        assert_eq!(
            verdict.code(),
            Some(FailureCode::F8),
            "corrupt evidence is reported as F8"
        );

        // A signed file copied to another task or criterion proves nothing there.
        for change in [
            &(|e: &mut Evidence| e.task_id = "T-002".into()) as &dyn Fn(&mut Evidence),
            &|e: &mut Evidence| e.criterion_id = "AUTH-2".into(),
            &|e: &mut Evidence| e.proof = "file_exists".into(),
        ] {
            assert_eq!(
                freshness(Some(&signed(change)), Some(&key), &EXPECTED).code(),
                Some(FailureCode::F12)
            );
        }
        // Failed evidence of an old iteration is stale, not a failure of the content now.
        let old_failure = signed(&|e| {
            e.result = Outcome::Fail;
            e.iteration = 2;
        });
        assert!(matches!(
            freshness(Some(&old_failure), Some(&key), &EXPECTED),
            Freshness::Stale { .. }
        ));

        let failed = signed(&|e| {
            e.result = Outcome::Fail;
            e.failure_code = Some(FailureCode::F5);
        });
        assert_eq!(
            freshness(Some(&failed), Some(&key), &EXPECTED).code(),
            Some(FailureCode::F5)
        );
        let failed_plain = signed(&|e| e.result = Outcome::Fail);
        assert_eq!(
            freshness(Some(&failed_plain), Some(&key), &EXPECTED).code(),
            Some(FailureCode::F3)
        );

        for change in [
            &(|e: &mut Evidence| e.iteration = 2) as &dyn Fn(&mut Evidence),
            &|e: &mut Evidence| e.criterion_digest = "sha256:other".into(),
            &|e: &mut Evidence| e.input_digest = "sha256:other".into(),
        ] {
            let verdict = freshness(Some(&signed(change)), Some(&key), &EXPECTED);
            assert!(matches!(verdict, Freshness::Stale { .. }), "{verdict:?}");
        }

        // A failing result edited to pass: the signature no longer verifies.
        let Ok(mut forged) = failed_plain else {
            unreachable!()
        };
        forged.result = Outcome::Pass;
        let forged = Ok(forged);
        assert_eq!(
            freshness(Some(&forged), Some(&key), &EXPECTED).code(),
            Some(FailureCode::F12)
        );
        // Without the key (a server), only the facts are compared.
        assert_eq!(freshness(Some(&forged), None, &EXPECTED), Freshness::Fresh);
    }
}
