//! The Test Mirage guard (SPEC §4): recognise the summary a test runner prints, so that a run
//! which executed no test cannot pass on its exit code alone, and find the tests that passed.

use std::sync::LazyLock;

use regex::Regex;

/// What a runner's output says about the run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    /// The runner recognised.
    pub runner: &'static str,
    pub passed: u64,
    pub failed: u64,
    /// Skipped, ignored, pending, deselected or filtered out: not executed.
    pub skipped: u64,
    /// Names of tests reported as passed, as the runner printed them.
    pub passed_names: Vec<String>,
}

impl Summary {
    /// Tests that ran: passed plus failed.
    #[must_use]
    pub fn ran(&self) -> u64 {
        self.passed + self.failed
    }

    /// True when `name` is among the passed tests: exactly, or as the last part of a path
    /// (`tests::alpha`, `test_x.py::test_alpha`, `suite > alpha`). A plain
    /// space is not a separator: `not alpha` does not satisfy `alpha`.
    #[must_use]
    pub fn has_passed(&self, name: &str) -> bool {
        self.passed_names.iter().any(|p| {
            p == name
                || p.strip_suffix(name).is_some_and(|head| {
                    head.ends_with("::")
                        || head.ends_with('.')
                        || head.ends_with('/')
                        || head.ends_with(" > ")
                })
        })
    }
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| unreachable!("summary regex {pattern:?} is valid: {e}"))
}

fn count(caps: &regex::Captures<'_>, name: &str) -> u64 {
    caps.name(name)
        .and_then(|m| m.as_str().parse().ok())
        .unwrap_or(0)
}

fn names(output: &str, pattern: &Regex) -> Vec<String> {
    pattern
        .captures_iter(output)
        .filter_map(|c| c.name("name").map(|m| m.as_str().trim().to_owned()))
        .filter(|n| !n.is_empty())
        .collect()
}

/// Recognises the summary of cargo test, cargo nextest, pytest, go test, jest, vitest, mocha,
/// node's test runner, or a plain `N passed, N failed` line. None when nothing is recognised.
#[must_use]
pub fn recognise(output: &str) -> Option<Summary> {
    let output = &strip_ansi(output);
    [
        nextest, cargo, pytest, jest, vitest, mocha, node_tap, node_spec, go, plain,
    ]
    .iter()
    .find_map(|f| f(output))
}

fn strip_ansi(text: &str) -> String {
    static ANSI: LazyLock<Regex> = LazyLock::new(|| re(r"\x1b\[[0-9;?]*[A-Za-z]"));
    ANSI.replace_all(text, "").into_owned()
}

fn cargo(output: &str) -> Option<Summary> {
    static RESULT: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?m)^test result: \w+\. (?P<passed>\d+) passed; (?P<failed>\d+) failed; (?P<ignored>\d+) ignored; (?P<measured>\d+) measured; (?P<filtered>\d+) filtered out",
        )
    });
    static PASS: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^test (?P<name>\S+) \.\.\. ok\s*$"));
    let mut summary = Summary {
        runner: "cargo test",
        ..Summary::default()
    };
    let mut found = false;
    for caps in RESULT.captures_iter(output) {
        found = true;
        summary.passed += count(&caps, "passed");
        summary.failed += count(&caps, "failed");
        summary.skipped += count(&caps, "ignored") + count(&caps, "filtered");
    }
    found.then(|| {
        summary.passed_names = names(output, &PASS);
        summary
    })
}

fn nextest(output: &str) -> Option<Summary> {
    static SUMMARY: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?m)^\s*Summary \[.*?\]\s+(?P<run>\d+) tests? run: (?P<passed>\d+) passed(?:[^,\n]*)?(?:, (?P<failed>\d+) failed)?(?:.*?(?P<skipped>\d+) skipped)?",
        )
    });
    static PASS: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?m)^\s*PASS \[.*?\](?: \(\d+/\d+\))? (?P<name>.+?)\s*$"));
    let caps = SUMMARY.captures_iter(output).last()?;
    Some(Summary {
        runner: "cargo nextest",
        passed: count(&caps, "passed"),
        failed: count(&caps, "failed"),
        skipped: count(&caps, "skipped"),
        // nextest prints "<binary id> <test path>": keep the test path.
        passed_names: names(output, &PASS)
            .into_iter()
            .map(|n| {
                n.split_once(' ')
                    .map_or(n.clone(), |(_, path)| path.to_owned())
            })
            .collect(),
    })
}

/// A summary from a line of "N word" parts ("1 failed, 2 passed", "2 passed | 1 skipped"):
/// passed, failed (and errors), and everything else but a total counted as not run.
fn from_parts(runner: &'static str, body: &str, output: &str, pass: &Regex) -> Summary {
    static PART: LazyLock<Regex> = LazyLock::new(|| re(r"(?P<n>\d+) (?P<what>\w+)"));
    let mut summary = Summary {
        runner,
        passed_names: names(output, pass),
        ..Summary::default()
    };
    for part in PART.captures_iter(body) {
        let n = count(&part, "n");
        match part.name("what").map_or("", |m| m.as_str()) {
            "passed" | "xpassed" => summary.passed += n,
            "failed" | "error" | "errors" => summary.failed += n,
            "total" => {}
            _ => summary.skipped += n,
        }
    }
    summary
}

fn pytest(output: &str) -> Option<Summary> {
    static LINE: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?m)^(?:=+ )?(?P<body>(?:\d+ \w+(?:, )?)+|no tests ran) in [\d.]+s(?: \([^)]*\))?(?: =+)?\s*$",
        )
    });
    static PASS: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^(?P<name>\S+::\S+) PASSED"));
    let caps = LINE.captures_iter(output).last()?;
    Some(from_parts(
        "pytest",
        caps.name("body").map_or("", |m| m.as_str()),
        output,
        &PASS,
    ))
}

fn go(output: &str) -> Option<Summary> {
    static PACKAGE: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^(?:ok|FAIL|---|=== RUN|\?)\s"));
    static PASS: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^\s*--- PASS: (?P<name>\S+)"));
    static FAIL: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^\s*--- FAIL: \S+"));
    static SKIP: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^\s*--- SKIP: \S+"));
    static OK: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?m)^(?:ok\s+\S+\s+.*|\?\s+\S+\s+\[no test files\])$"));
    if !PACKAGE.is_match(output) {
        return None;
    }
    let passed_names = names(output, &PASS);
    let failed = FAIL.find_iter(output).count() as u64;
    let skipped = SKIP.find_iter(output).count() as u64;
    let counted = !passed_names.is_empty() || failed > 0 || skipped > 0;
    let packages: Vec<&str> = OK.find_iter(output).map(|m| m.as_str()).collect();
    let all_empty = !packages.is_empty()
        && packages
            .iter()
            .all(|l| l.contains("[no tests to run]") || l.contains("[no test files]"));
    if !counted && !all_empty {
        // `go test` without -v prints no counts (`ok pkg 0.01s`): nothing to recognise. Only
        // when every package says "[no tests to run]" is it known that none ran.
        return None;
    }
    Some(Summary {
        runner: "go test",
        passed: passed_names.len() as u64,
        failed,
        skipped,
        passed_names,
    })
}

fn jest(output: &str) -> Option<Summary> {
    static TESTS: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?m)^Tests:\s+(?P<body>.*?\d+ total)\s*$"));
    static PASS: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?m)^\s*[✓√] (?P<name>.+?)(?: \(\d+ ?m?s\))?\s*$"));
    let caps = TESTS.captures_iter(output).last()?;
    Some(from_parts(
        "jest",
        caps.name("body").map_or("", |m| m.as_str()),
        output,
        &PASS,
    ))
}

fn vitest(output: &str) -> Option<Summary> {
    static TESTS: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?m)^\s*Tests\s+(?P<body>.*?)\((?P<total>\d+)\)\s*$"));
    static PASS: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?m)^\s*[✓√] (?P<name>.+?)(?: \d+ ?m?s)?\s*$"));
    let caps = TESTS.captures_iter(output).last()?;
    Some(from_parts(
        "vitest",
        caps.name("body").map_or("", |m| m.as_str()),
        output,
        &PASS,
    ))
}

fn mocha(output: &str) -> Option<Summary> {
    static PASSING: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?m)^\s+(?P<n>\d+) passing(?: \(\d+\w*\))?\s*$"));
    static FAILING: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^\s+(?P<n>\d+) failing\s*$"));
    static PENDING: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^\s+(?P<n>\d+) pending\s*$"));
    static PASS: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?m)^\s+[✔✓√] (?P<name>.+?)(?: \(\d+ms\))?\s*$"));
    let passing = PASSING.captures_iter(output).last()?;
    let pick = |r: &Regex| r.captures_iter(output).last().map_or(0, |c| count(&c, "n"));
    Some(Summary {
        runner: "mocha",
        passed: count(&passing, "n"),
        failed: pick(&FAILING),
        skipped: pick(&PENDING),
        passed_names: names(output, &PASS),
    })
}

fn node_counts(output: &str, prefix: &str, runner: &'static str, pass: &Regex) -> Option<Summary> {
    let line = |what: &str| {
        Regex::new(&format!(r"(?m)^{prefix} {what} (?P<n>\d+)\s*$"))
            .ok()
            .and_then(|r| r.captures_iter(output).last().map(|c| count(&c, "n")))
    };
    let tests = line("tests")?;
    let passed = line("pass")?;
    let failed = line("fail").unwrap_or(0);
    let skipped =
        line("skipped").unwrap_or(0) + line("todo").unwrap_or(0) + line("cancelled").unwrap_or(0);
    // A summary whose counts do not add up is not one this parser understands.
    (passed + failed <= tests).then(|| Summary {
        runner,
        passed,
        failed,
        skipped,
        passed_names: names(output, pass),
    })
}

fn node_tap(output: &str) -> Option<Summary> {
    // `ok 1 - alpha # SKIP …` is a skipped test, not a passed one: the directive excludes it.
    static PASS: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^\s*ok \d+ - (?P<name>[^#\n]+?)\s*$"));
    node_counts(output, "#", "node --test", &PASS)
}

fn node_spec(output: &str) -> Option<Summary> {
    static PASS: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?m)^\s*✔ (?P<name>.+?)(?: \([\d.]+m?s\))?\s*$"));
    node_counts(output, "ℹ", "node --test", &PASS)
}

fn plain(output: &str) -> Option<Summary> {
    static LINE: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?mi)^\W*(?P<passed>\d+) passed, (?P<failed>\d+) failed\b"));
    let caps = LINE.captures_iter(output).last()?;
    Some(Summary {
        runner: "plain",
        passed: count(&caps, "passed"),
        failed: count(&caps, "failed"),
        ..Summary::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!("../../tests/fixtures/runners/", $name, ".txt"))
        };
    }

    /// (fixture, runner, passed, failed, skipped, a passed name or "")
    const CASES: &[(&str, &str, &str, u64, u64, u64, &str)] = &[
        (
            "cargo-pass",
            fixture!("cargo-pass"),
            "cargo test",
            3,
            0,
            0,
            "alpha",
        ),
        (
            "cargo-fail",
            fixture!("cargo-fail"),
            "cargo test",
            2,
            1,
            0,
            "gamma",
        ),
        (
            "cargo-none",
            fixture!("cargo-none"),
            "cargo test",
            0,
            0,
            3,
            "",
        ),
        (
            "cargo-skipped",
            fixture!("cargo-skipped"),
            "cargo test",
            2,
            0,
            1,
            "tests::gamma",
        ),
        (
            "cargo-multi-pass",
            fixture!("cargo-multi-pass"),
            "cargo test",
            5,
            0,
            0,
            "epsilon",
        ),
        (
            "cargo-multi-fail",
            fixture!("cargo-multi-fail"),
            "cargo test",
            4,
            1,
            0,
            "delta",
        ),
        (
            "nextest-pass",
            fixture!("nextest-pass"),
            "cargo nextest",
            3,
            0,
            0,
            "alpha",
        ),
        (
            "nextest-fail",
            fixture!("nextest-fail"),
            "cargo nextest",
            2,
            1,
            0,
            "tests::alpha",
        ),
        (
            "nextest-none",
            fixture!("nextest-none"),
            "cargo nextest",
            0,
            0,
            3,
            "",
        ),
        (
            "nextest-none-default",
            fixture!("nextest-none-default"),
            "cargo nextest",
            0,
            0,
            3,
            "",
        ),
        (
            "nextest-skipped",
            fixture!("nextest-skipped"),
            "cargo nextest",
            2,
            0,
            1,
            "gamma",
        ),
        (
            "nextest-multi-pass",
            fixture!("nextest-multi-pass"),
            "cargo nextest",
            5,
            0,
            0,
            "epsilon",
        ),
        (
            "pytest-pass",
            fixture!("pytest-pass"),
            "pytest",
            3,
            0,
            0,
            "",
        ),
        (
            "pytest-fail",
            fixture!("pytest-fail"),
            "pytest",
            2,
            1,
            0,
            "",
        ),
        (
            "pytest-none",
            fixture!("pytest-none"),
            "pytest",
            0,
            0,
            3,
            "",
        ),
        (
            "pytest-skipped",
            fixture!("pytest-skipped"),
            "pytest",
            2,
            0,
            1,
            "",
        ),
        (
            "pytest-v-pass",
            fixture!("pytest-v-pass"),
            "pytest",
            3,
            0,
            0,
            "test_alpha",
        ),
        (
            "pytest-v-fail",
            fixture!("pytest-v-fail"),
            "pytest",
            2,
            1,
            0,
            "test_gamma",
        ),
        ("jest-pass", fixture!("jest-pass"), "jest", 3, 0, 0, "alpha"),
        ("jest-fail", fixture!("jest-fail"), "jest", 2, 1, 0, "alpha"),
        ("jest-none", fixture!("jest-none"), "jest", 0, 0, 3, ""),
        (
            "jest-skipped",
            fixture!("jest-skipped"),
            "jest",
            2,
            0,
            1,
            "gamma",
        ),
        (
            "vitest-pass",
            fixture!("vitest-pass"),
            "vitest",
            3,
            0,
            0,
            "",
        ),
        (
            "vitest-fail",
            fixture!("vitest-fail"),
            "vitest",
            2,
            1,
            0,
            "",
        ),
        (
            "vitest-none",
            fixture!("vitest-none"),
            "vitest",
            0,
            0,
            3,
            "",
        ),
        (
            "vitest-skipped",
            fixture!("vitest-skipped"),
            "vitest",
            2,
            0,
            1,
            "",
        ),
        (
            "vitest-verbose-pass",
            fixture!("vitest-verbose-pass"),
            "vitest",
            3,
            0,
            0,
            "beta",
        ),
        (
            "vitest-pass-npx",
            fixture!("vitest-pass-npx"),
            "vitest",
            3,
            0,
            0,
            "",
        ),
        (
            "mocha-pass",
            fixture!("mocha-pass"),
            "mocha",
            3,
            0,
            0,
            "alpha",
        ),
        (
            "mocha-fail",
            fixture!("mocha-fail"),
            "mocha",
            2,
            1,
            0,
            "alpha",
        ),
        ("mocha-none", fixture!("mocha-none"), "mocha", 0, 0, 0, ""),
        (
            "mocha-skipped",
            fixture!("mocha-skipped"),
            "mocha",
            2,
            0,
            1,
            "gamma",
        ),
        (
            "node-pass",
            fixture!("node-pass"),
            "node --test",
            3,
            0,
            0,
            "alpha",
        ),
        (
            "node-fail",
            fixture!("node-fail"),
            "node --test",
            2,
            1,
            0,
            "gamma",
        ),
        (
            "node-none",
            fixture!("node-none"),
            "node --test",
            0,
            0,
            3,
            "",
        ),
        (
            "node-skipped",
            fixture!("node-skipped"),
            "node --test",
            2,
            0,
            1,
            "alpha",
        ),
        (
            "node-spec-pass",
            fixture!("node-spec-pass"),
            "node --test",
            3,
            0,
            0,
            "gamma",
        ),
        (
            "node-spec-fail",
            fixture!("node-spec-fail"),
            "node --test",
            2,
            1,
            0,
            "alpha",
        ),
    ];

    #[test]
    fn real_runner_outputs_are_recognised() {
        for &(name, output, runner, passed, failed, skipped, passed_name) in CASES {
            let s = recognise(output).unwrap_or_else(|| panic!("{name}: not recognised"));
            assert_eq!(
                (s.runner, s.passed, s.failed, s.skipped),
                (runner, passed, failed, skipped),
                "{name}: {s:?}"
            );
            if !passed_name.is_empty() {
                assert!(
                    s.has_passed(passed_name),
                    "{name}: {passed_name} passed, found {:?}",
                    s.passed_names
                );
            }
        }
    }

    #[test]
    fn filters_that_match_nothing_ran_no_test() {
        for &(name, output, ..) in CASES.iter().filter(|c| c.0.contains("none")) {
            let s = recognise(output).unwrap_or_else(|| panic!("{name}: not recognised"));
            assert_eq!(s.ran(), 0, "{name}: {s:?}");
            assert!(
                s.passed_names.is_empty(),
                "{name}: nothing passed, found {:?}",
                s.passed_names
            );
        }
    }

    #[test]
    fn a_failed_or_skipped_test_is_not_a_passed_one() {
        let fail = recognise(fixture!("cargo-fail")).unwrap();
        assert!(!fail.has_passed("beta"), "{:?}", fail.passed_names);
        let skipped = recognise(fixture!("node-skipped")).unwrap();
        assert!(!skipped.has_passed("beta"), "{:?}", skipped.passed_names);
        let pending = recognise(fixture!("mocha-skipped")).unwrap();
        assert!(!pending.has_passed("beta"), "{:?}", pending.passed_names);
        // A name is matched as a whole last part, never as a fragment.
        assert!(!recognise(fixture!("cargo-pass")).unwrap().has_passed("pha"));
    }

    #[test]
    fn real_go_test_output_is_recognised_and_counts_only_what_it_shows() {
        let pass = recognise(fixture!("go-v-pass")).unwrap();
        assert_eq!((pass.runner, pass.ran(), pass.failed), ("go test", 2, 0));
        assert!(pass.has_passed("TestBeta"));
        let fail = recognise(fixture!("go-v-fail")).unwrap();
        assert_eq!((fail.passed, fail.failed, fail.skipped), (3, 1, 1));
        assert!(!fail.has_passed("TestFails"));
        assert_eq!(recognise(fixture!("go-v-none")).unwrap().ran(), 0);
        assert_eq!(recognise(fixture!("go-none")).unwrap().ran(), 0);
        // One package ran its filtered test without -v: the count is unknown, not zero.
        assert!(recognise(fixture!("go-multi-filter")).is_none());
        assert!(recognise(fixture!("go-pass")).is_none());
        // A package without test files ran nothing.
        let none = recognise("?   \texample.com/demo\t[no test files]\n").unwrap();
        assert_eq!(none.ran(), 0);
    }

    #[test]
    fn the_plain_line_and_go_verbose_output_are_recognised() {
        let plain = recognise("running…\n12 passed, 0 failed\n").unwrap();
        assert_eq!((plain.runner, plain.passed, plain.failed), ("plain", 12, 0));
        // Go is not installed here; this is go test -v's documented shape.
        let go = recognise("=== RUN   TestAlpha\n--- PASS: TestAlpha (0.00s)\n=== RUN   TestBeta\n--- FAIL: TestBeta (0.00s)\nFAIL\nFAIL\texample.com/demo\t0.002s\n").unwrap();
        assert_eq!((go.runner, go.passed, go.failed), ("go test", 1, 1));
        assert!(go.has_passed("TestAlpha"));
        let none = recognise("ok  \texample.com/demo\t0.002s [no tests to run]\n").unwrap();
        assert_eq!(none.ran(), 0);
        assert!(recognise("all good, trust me\n").is_none());
        assert!(
            recognise("ok  \texample.com/demo\t0.002s\n").is_none(),
            "go without -v gives no count"
        );
    }

    #[test]
    fn pytest_quiet_output_is_recognised() {
        let s = recognise("...                                                                      [100%]\n3 passed in 0.01s\n").unwrap();
        assert_eq!((s.runner, s.passed), ("pytest", 3));
    }

    #[test]
    fn a_space_is_not_a_path_separator_for_expected_names() {
        let s = Summary {
            passed_names: vec!["not alpha".into(), "tests::beta".into()],
            ..Summary::default()
        };
        assert!(!s.has_passed("alpha"));
        assert!(s.has_passed("beta") && s.has_passed("tests::beta"));
    }

    #[test]
    fn colour_codes_do_not_hide_a_summary() {
        let s = recognise(
            "\u{1b}[32mtest result: ok.\u{1b}[0m 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n",
        );
        assert_eq!(s.map(|s| s.passed), Some(3));
    }
}
