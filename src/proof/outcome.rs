//! How the command proofs judge a finished command (SPEC §4): `builds_clean` (exit 0),
//! `test_passes` (exit 0, the Test Mirage guard, named tests) and `command_output_matches`.

use regex::bytes::Regex;

use crate::criterion::{ExitExpect, Stream};
use crate::diagnostic::FailureCode;
use crate::proof::command::Finished;
use crate::proof::{Verdict, summary};

fn output_of(f: &Finished) -> String {
    let (out, err) = (f.stdout.text(), f.stderr.text());
    match (out.is_empty(), err.is_empty()) {
        (_, true) => out,
        (true, false) => err,
        (false, false) => format!("{out}\n--- stderr ---\n{err}"),
    }
}

fn verdict(f: &Finished, pass: bool, detail: String) -> Verdict {
    Verdict::judged(pass, detail).with_output(output_of(f), f.exit_code)
}

/// The verdict for a command that timed out or was killed, if it was.
fn ended_badly(f: &Finished, timeout_secs: u64) -> Option<Verdict> {
    if f.timed_out {
        let detail =
            format!("timed out after {timeout_secs} s: the whole process group was killed");
        let timed_out = Verdict {
            failure_code: Some(FailureCode::F5),
            ..Verdict::judged(false, detail)
        };
        return Some(timed_out.with_output(output_of(f), None));
    }
    f.signal
        .map(|s| verdict(f, false, format!("killed by signal {s}")))
}

fn exit_text(f: &Finished) -> String {
    f.exit_code
        .map_or_else(|| "no exit code".to_owned(), |c| format!("exit code {c}"))
}

/// `builds_clean`: exit code 0.
#[must_use]
pub fn builds_clean(f: &Finished, timeout_secs: u64) -> Verdict {
    if let Some(v) = ended_badly(f, timeout_secs) {
        return v;
    }
    verdict(f, f.exit_code == Some(0), exit_text(f))
}

/// `test_passes`: exit code 0; where the runner's summary is recognised, at least `min_tests`
/// tests ran (else "ran no test", even on exit 0); every name in `expect` passed.
#[must_use]
pub fn test_passes(f: &Finished, timeout_secs: u64, min_tests: u64, expect: &[String]) -> Verdict {
    if let Some(v) = ended_badly(f, timeout_secs) {
        return v;
    }
    let text = format!("{}\n{}", f.stdout.text(), f.stderr.text());
    let summary = summary::recognise(&text);
    let exit = exit_text(f);
    let Some(s) = summary else {
        if !expect.is_empty() && f.exit_code == Some(0) {
            return verdict(
                f,
                false,
                format!(
                    "{exit}; no test runner summary recognised, so the expected tests {expect:?} cannot be confirmed"
                ),
            );
        }
        return verdict(
            f,
            f.exit_code == Some(0),
            format!(
                "{exit}; no test runner summary recognised: the number of tests run is unknown"
            ),
        );
    };
    let counts = format!(
        "{}: {} passed, {} failed, {} not run",
        s.runner, s.passed, s.failed, s.skipped
    );
    if f.exit_code != Some(0) {
        return verdict(f, false, format!("{exit}; {counts}"));
    }
    if s.failed > 0 {
        // A pipe (`cargo test | tail`) hides the runner's exit code; its summary does not lie.
        return verdict(
            f,
            false,
            format!(
                "{exit}, but the runner reports {} failed {}; {counts}",
                s.failed,
                if s.failed == 1 { "test" } else { "tests" }
            ),
        );
    }
    if s.ran() < min_tests {
        let detail = if s.ran() == 0 {
            format!("ran no test ({counts}): a filter that matches nothing must not pass")
        } else {
            format!(
                "ran too few tests: {} ran, min_tests is {min_tests} ({counts})",
                s.ran()
            )
        };
        return verdict(f, false, detail);
    }
    let missing: Vec<&String> = expect.iter().filter(|name| !s.has_passed(name)).collect();
    if !missing.is_empty() {
        return verdict(
            f,
            false,
            format!("{counts}; expected tests not seen passing: {missing:?}"),
        );
    }
    verdict(f, true, counts)
}

/// `command_output_matches`: the exit code is as expected and the chosen stream matches.
#[must_use]
pub fn command_output_matches(
    f: &Finished,
    timeout_secs: u64,
    pattern: &Regex,
    stream: Stream,
    exit: ExitExpect,
) -> Verdict {
    if let Some(v) = ended_badly(f, timeout_secs) {
        return v;
    }
    if let ExitExpect::Code(want) = exit
        && f.exit_code != Some(want)
    {
        return verdict(f, false, format!("{}, expected {want}", exit_text(f)));
    }
    let matched = |c: &crate::proof::command::Captured| {
        pattern.is_match(&c.head) || pattern.is_match(&c.tail)
    };
    let found = match stream {
        Stream::Stdout => matched(&f.stdout),
        Stream::Stderr => matched(&f.stderr),
        Stream::Both => matched(&f.stdout) || matched(&f.stderr),
    };
    let which = match stream {
        Stream::Stdout => "stdout",
        Stream::Stderr => "stderr",
        Stream::Both => "the output",
    };
    let detail = if found {
        format!("{which} matches ({})", exit_text(f))
    } else {
        format!("{which} does not match ({})", exit_text(f))
    };
    verdict(f, found, detail)
}

#[cfg(test)]
mod tests {
    use crate::evidence::Outcome;
    use std::time::Duration;

    use super::*;
    use crate::criterion::compile_pattern;
    use crate::proof::command::Captured;

    fn finished(code: Option<i32>, stdout: &str, stderr: &str) -> Finished {
        let cap = |s: &str| Captured {
            head: s.as_bytes().to_vec(),
            tail: Vec::new(),
            total: s.len() as u64,
        };
        Finished {
            exit_code: code,
            signal: None,
            timed_out: false,
            interrupted: false,
            stdout: cap(stdout),
            stderr: cap(stderr),
            duration: Duration::ZERO,
        }
    }

    #[test]
    fn a_summary_with_failures_fails_even_on_exit_0() {
        for failing in [CARGO_FAIL, PYTEST_FAIL] {
            let v = test_passes(&finished(Some(0), failing, ""), 60, 1, &[]);
            assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
            assert_eq!(v.failure_code, Some(FailureCode::F3));
            assert!(v.detail.contains("reports 1 failed test"), "{}", v.detail);
        }
    }

    const CARGO_FAIL: &str = include_str!("../../tests/fixtures/runners/cargo-fail.txt");
    const PYTEST_FAIL: &str = include_str!("../../tests/fixtures/runners/pytest-fail.txt");
    const CARGO_NONE: &str = include_str!("../../tests/fixtures/runners/cargo-none.txt");
    const CARGO_PASS: &str = include_str!("../../tests/fixtures/runners/cargo-pass.txt");
    const JEST_NONE: &str = include_str!("../../tests/fixtures/runners/jest-none.txt");

    #[test]
    fn a_filter_that_matches_nothing_fails_even_on_exit_0() {
        for output in [CARGO_NONE, JEST_NONE] {
            let v = test_passes(&finished(Some(0), output, ""), 600, 1, &[]);
            assert_eq!(
                (v.outcome, v.failure_code),
                (Outcome::Fail, Some(FailureCode::F3)),
                "{}",
                v.detail
            );
            assert!(v.detail.starts_with("ran no test"), "{}", v.detail);
        }
    }

    #[test]
    fn test_passes_checks_the_count_and_the_expected_names() {
        let v = test_passes(
            &finished(Some(0), CARGO_PASS, ""),
            600,
            3,
            &["alpha".into()],
        );
        assert_eq!(v.outcome, Outcome::Pass, "{}", v.detail);
        assert_eq!(v.detail, "cargo test: 3 passed, 0 failed, 0 not run");
        let v = test_passes(&finished(Some(0), CARGO_PASS, ""), 600, 4, &[]);
        assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
        let v = test_passes(
            &finished(Some(0), CARGO_PASS, ""),
            600,
            1,
            &["delta".into()],
        );
        assert!(
            v.detail
                .contains("expected tests not seen passing: [\"delta\"]"),
            "{}",
            v.detail
        );
        let v = test_passes(&finished(Some(101), CARGO_PASS, ""), 600, 1, &[]);
        assert_eq!(v.outcome, Outcome::Fail);
        assert_eq!(v.exit_code, Some(101));
    }

    #[test]
    fn without_a_summary_the_evidence_says_so() {
        let v = test_passes(&finished(Some(0), "all fine\n", ""), 600, 1, &[]);
        assert_eq!(v.outcome, Outcome::Pass);
        assert!(
            v.detail.contains("no test runner summary recognised"),
            "{}",
            v.detail
        );
        let v = test_passes(
            &finished(Some(0), "all fine\n", ""),
            600,
            1,
            &["alpha".into()],
        );
        assert_eq!(
            v.outcome,
            Outcome::Fail,
            "expected names cannot be confirmed: {}",
            v.detail
        );
    }

    #[test]
    fn a_timeout_is_f5_and_a_signal_fails() {
        let mut f = finished(None, "", "");
        f.timed_out = true;
        let v = builds_clean(&f, 7);
        assert_eq!(
            (v.outcome, v.failure_code),
            (Outcome::Fail, Some(FailureCode::F5))
        );
        assert!(v.detail.contains("timed out after 7 s"), "{}", v.detail);
        let mut f = finished(None, "", "");
        f.signal = Some(9);
        assert_eq!(builds_clean(&f, 7).detail, "killed by signal 9");
        assert_eq!(
            builds_clean(&finished(Some(0), "", ""), 7).outcome,
            Outcome::Pass
        );
        assert_eq!(
            builds_clean(&finished(Some(2), "", "error"), 7).output,
            "error"
        );
    }

    #[test]
    fn output_matching_honours_stream_and_exit() {
        let re = compile_pattern("^Invoice \\d+$").unwrap();
        let f = finished(Some(1), "", "Invoice 42\n");
        assert_eq!(
            command_output_matches(&f, 5, &re, Stream::Stderr, ExitExpect::Any).outcome,
            Outcome::Pass
        );
        assert_eq!(
            command_output_matches(&f, 5, &re, Stream::Both, ExitExpect::Any).outcome,
            Outcome::Pass
        );
        assert_eq!(
            command_output_matches(&f, 5, &re, Stream::Stdout, ExitExpect::Any).outcome,
            Outcome::Fail
        );
        let v = command_output_matches(&f, 5, &re, Stream::Stderr, ExitExpect::Code(0));
        assert_eq!(
            (v.outcome, v.detail.as_str()),
            (Outcome::Fail, "exit code 1, expected 0")
        );
    }
}
