//! The judge of `semantic_match` (SPEC §4): a command configured in `judge.command` reads
//! `{"criterion":{"id","description"},"rubric":[…],"files":[{"path","content"}]}` on stdin and
//! prints `{"verdict":"pass"|"fail","confidence":0.0-1.0,"reason":"…"}`. It gets nothing from
//! the implementer. Inconclusive is never a pass.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::diagnostic::FailureCode;
use crate::proof::Verdict;
use crate::proof::command::{self, Run};

/// Each file's content is cut to this many bytes for the judge.
pub const FILE_CAP: usize = 64 * 1024;
/// All contents together are cut to this many bytes.
pub const TOTAL_CAP: usize = 256 * 1024;

/// The judge's request.
#[derive(Debug, Serialize)]
pub struct Request<'a> {
    pub criterion: CriterionRef<'a>,
    pub rubric: &'a [String],
    pub files: Vec<FileRef>,
}

#[derive(Debug, Serialize)]
pub struct CriterionRef<'a> {
    pub id: &'a str,
    pub description: &'a str,
}

#[derive(Debug, Serialize)]
pub struct FileRef {
    pub path: String,
    pub content: String,
}

#[derive(Debug, Deserialize)]
struct Answer {
    verdict: String,
    confidence: f64,
    #[serde(default)]
    reason: String,
}

/// An inconclusive verdict with the judge's output.
fn inconclusive(code: FailureCode, detail: String, output: String) -> Verdict {
    Verdict::inconclusive(code, detail).with_output(output, None)
}

/// The files for the judge, each and all capped, lossy UTF-8.
#[must_use]
pub fn cap_files(files: Vec<(String, Vec<u8>)>) -> Vec<FileRef> {
    let mut budget = TOTAL_CAP;
    files
        .into_iter()
        .map(|(path, bytes)| {
            let mut take = bytes.len().min(FILE_CAP).min(budget);
            // Never cut a UTF-8 character in two: back up to the start of the last one.
            if take < bytes.len() {
                while take > 0 && bytes[take] & 0b1100_0000 == 0b1000_0000 {
                    take -= 1;
                }
            }
            budget -= take;
            let mut content = String::from_utf8_lossy(&bytes[..take]).into_owned();
            if take < bytes.len() {
                // Writing to a String cannot fail.
                let _ = write!(content, "\n[… {} bytes cut …]", bytes.len() - take);
            }
            FileRef { path, content }
        })
        .collect()
}

/// How to reach the judge.
#[derive(Debug, Clone)]
pub struct JudgeConfig {
    /// `judge.command`; None when no judge is configured.
    pub command: Option<String>,
    pub min_confidence: f64,
    pub timeout: Duration,
    /// Where the command runs (the repository root).
    pub dir: PathBuf,
}

/// Asks the judge about `request`.
#[must_use]
pub fn judge(config: &JudgeConfig, task: &str, request: &Request<'_>) -> Verdict {
    let Some(command) = &config.command else {
        return inconclusive(
            FailureCode::F9,
            "no judge configured: set `judge: { command: \"…\" }` in specproof.yml to a command that reads the request as JSON on stdin and prints {\"verdict\",\"confidence\",\"reason\"}".into(),
            String::new(),
        );
    };
    let input = match serde_json::to_vec(request) {
        Ok(bytes) => bytes,
        Err(e) => {
            return inconclusive(
                FailureCode::F9,
                format!("cannot build the judge's request: {e}"),
                String::new(),
            );
        }
    };
    let run = Run {
        command: command.clone(),
        dir: config.dir.clone(),
        env: std::collections::BTreeMap::new(),
        task: task.to_owned(),
        criterion: request.criterion.id.to_owned(),
        timeout: config.timeout,
        input: Some(input),
    };
    let finished = match command::run(&run) {
        Ok(f) => f,
        Err(e) => {
            return inconclusive(
                FailureCode::F9,
                format!("the judge did not start: {e}"),
                String::new(),
            );
        }
    };
    let output = finished.stdout.text();
    if finished.timed_out {
        return inconclusive(
            FailureCode::F9,
            format!(
                "the judge ran past {} s and was stopped",
                config.timeout.as_secs()
            ),
            output,
        );
    }
    if finished.exit_code != Some(0) {
        let how = finished.exit_code.map_or_else(
            || "was killed by a signal".to_owned(),
            |c| format!("exited with {c}"),
        );
        let stderr = finished.stderr.text();
        return inconclusive(
            FailureCode::F9,
            format!("the judge {how}: {}", stderr.trim()),
            output,
        );
    }
    let answer: Answer = match serde_json::from_str(output.trim()) {
        Ok(a) => a,
        Err(e) => {
            return inconclusive(
                FailureCode::F9,
                format!("the judge's answer is not the expected JSON: {e}"),
                output,
            );
        }
    };
    if answer.verdict != "pass" && answer.verdict != "fail" {
        return inconclusive(
            FailureCode::F9,
            format!(
                "the judge's verdict {:?} is neither pass nor fail",
                answer.verdict
            ),
            output,
        );
    }
    if !(0.0..=1.0).contains(&answer.confidence) {
        return inconclusive(
            FailureCode::F9,
            format!(
                "the judge's confidence {} is not between 0 and 1",
                answer.confidence
            ),
            output,
        );
    }
    if answer.confidence < config.min_confidence {
        return inconclusive(
            FailureCode::F4,
            format!(
                "the judge said {} with confidence {}, below judge.min_confidence {}: a person must decide ({})",
                answer.verdict, answer.confidence, config.min_confidence, answer.reason
            ),
            output,
        );
    }
    let detail = format!(
        "judge: {} ({}): {}",
        answer.verdict, answer.confidence, answer.reason
    );
    Verdict::judged(answer.verdict == "pass", detail).with_output(output, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Outcome;

    fn config(dir: &std::path::Path, script: Option<&str>) -> JudgeConfig {
        let command = script.map(|s| {
            let path = dir.join("judge.sh");
            std::fs::write(&path, s).unwrap();
            format!("sh {}", path.display())
        });
        JudgeConfig {
            command,
            min_confidence: 0.7,
            timeout: Duration::from_secs(20),
            dir: dir.to_path_buf(),
        }
    }

    fn ask(script: Option<&str>) -> Verdict {
        let dir = tempfile::tempdir().unwrap();
        let rubric = vec!["totals are explained".to_owned()];
        let request = Request {
            criterion: CriterionRef {
                id: "BILL-5",
                description: "invoices read well",
            },
            rubric: &rubric,
            files: cap_files(vec![(
                "docs/invoices.md".into(),
                b"Totals: sum of lines.".to_vec(),
            )]),
        };
        judge(&config(dir.path(), script), "T-001", &request)
    }

    #[test]
    fn a_confident_pass_passes_and_a_fail_fails() {
        let j = ask(Some(
            "cat > /dev/null; echo '{\"verdict\":\"pass\",\"confidence\":0.9,\"reason\":\"clear\"}'",
        ));
        assert_eq!(
            (j.outcome, j.failure_code),
            (Outcome::Pass, None),
            "{}",
            j.detail
        );
        let j = ask(Some(
            "cat > /dev/null; echo '{\"verdict\":\"fail\",\"confidence\":0.95,\"reason\":\"no totals\"}'",
        ));
        assert_eq!(
            (j.outcome, j.failure_code),
            (Outcome::Fail, Some(FailureCode::F3))
        );
        assert!(j.detail.contains("no totals"), "{}", j.detail);
    }

    #[test]
    fn the_judge_receives_the_request_on_stdin() {
        let script = "req=$(cat); case \"$req\" in *'\"id\":\"BILL-5\"'*'\"rubric\":[\"totals are explained\"]'*'Totals: sum of lines.'*) v=pass;; *) v=fail;; esac; echo \"{\\\"verdict\\\":\\\"$v\\\",\\\"confidence\\\":1}\"";
        let j = ask(Some(script));
        assert_eq!(j.outcome, Outcome::Pass, "{} / {}", j.detail, j.output);
    }

    #[test]
    fn low_confidence_is_inconclusive_f4() {
        let j = ask(Some(
            "echo '{\"verdict\":\"pass\",\"confidence\":0.5,\"reason\":\"unsure\"}'",
        ));
        assert_eq!(
            (j.outcome, j.failure_code),
            (Outcome::Inconclusive, Some(FailureCode::F4))
        );
        assert!(
            j.detail.contains("below judge.min_confidence 0.7"),
            "{}",
            j.detail
        );
    }

    #[test]
    fn a_broken_judge_is_inconclusive_f9() {
        for (script, says) in [
            ("echo 'not json'", "not the expected JSON"),
            ("echo boom >&2; exit 3", "exited with 3: boom"),
            (
                "echo '{\"verdict\":\"maybe\",\"confidence\":0.9}'",
                "neither pass nor fail",
            ),
            (
                "echo '{\"verdict\":\"pass\",\"confidence\":7}'",
                "not between 0 and 1",
            ),
            (
                "echo '{\"verdict\":\"maybe\",\"confidence\":0.1}'",
                "neither pass nor fail",
            ),
        ] {
            let j = ask(Some(script));
            assert_eq!(
                (j.outcome, j.failure_code),
                (Outcome::Inconclusive, Some(FailureCode::F9)),
                "{script}"
            );
            assert!(j.detail.contains(says), "{script}: {}", j.detail);
        }
    }

    #[test]
    fn a_judge_past_its_timeout_is_inconclusive_f9() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(dir.path(), Some("sleep 30"));
        cfg.timeout = Duration::from_millis(300);
        let rubric = vec!["x".to_owned()];
        let request = Request {
            criterion: CriterionRef {
                id: "A",
                description: "d",
            },
            rubric: &rubric,
            files: Vec::new(),
        };
        let j = judge(&cfg, "T", &request);
        assert_eq!(
            (j.outcome, j.failure_code),
            (Outcome::Inconclusive, Some(FailureCode::F9))
        );
        assert!(j.detail.contains("was stopped"), "{}", j.detail);
    }

    #[test]
    fn no_judge_says_how_to_configure_one() {
        let j = ask(None);
        assert_eq!(j.outcome, Outcome::Inconclusive);
        assert!(j.detail.contains("set `judge: { command:"), "{}", j.detail);
    }

    #[test]
    fn a_cut_never_splits_a_character() {
        let mut bytes = vec![b'a'; FILE_CAP - 1];
        bytes.extend_from_slice("é and more".as_bytes());
        let files = cap_files(vec![("a".into(), bytes)]);
        assert!(
            !files[0].content.contains('\u{fffd}'),
            "no replacement character from a split"
        );
        assert!(files[0].content.ends_with("bytes cut …]"));
    }

    #[test]
    fn file_contents_are_capped() {
        let files = cap_files(vec![
            ("a".into(), vec![b'x'; FILE_CAP + 10]),
            ("b".into(), vec![0xff; 10]),
        ]);
        assert!(files[0].content.starts_with(&"x".repeat(FILE_CAP)));
        assert!(files[0].content.ends_with("[… 10 bytes cut …]"));
        assert_eq!(
            files[1].content,
            "\u{fffd}".repeat(10),
            "non-UTF-8 is passed lossily"
        );
        let many = cap_files(
            (0..10)
                .map(|i| (i.to_string(), vec![b'y'; FILE_CAP]))
                .collect(),
        );
        let total: usize = many
            .iter()
            .map(|f| f.content.bytes().take_while(|&b| b == b'y').count())
            .sum();
        assert_eq!(total, TOTAL_CAP);
    }
}
