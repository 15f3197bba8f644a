//! Gate G2, echo verified (SPEC §6.1): before work starts, the task's Echo-Back restates every
//! criterion in the worker's own words (not a copy of the criterion), and a task of tier 1 or more
//! lists its assumptions.

use crate::diagnostic::{FailureCode, did_you_mean};
use crate::task::Task;

/// One reason the Echo-Back does not pass G2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EchoProblem {
    /// The criterion ID the problem is about (the ID an echo line names, for a misnamed one).
    pub criterion: Option<String>,
    /// 1-based line in the task file: the echo line, else the Echo-Back heading, else line 1.
    pub line: usize,
    /// F2 (missing, misnamed or empty echo; no assumptions) or F13 (parroting).
    pub code: FailureCode,
    /// What is wrong and what to write, starting with the criterion ID when there is one.
    pub message: String,
}

/// The G2 problems of `task`. `criteria` are the task's criteria as (ID, description of the plan
/// snapshot's definition); an echo line more similar to its description than
/// `parrot_similarity` (0 to 1, see [`similarity`]) is parroting.
///
/// Problems come in this order: criteria not echoed (in the order of `criteria`), then the echo
/// lines' problems (in file order), then missing assumptions. An echo text with no letter or digit
/// (`...`, `-`) counts as empty. A task without usable front matter is judged as tier 1.
pub fn check(
    task: &Task,
    criteria: &[(String, String)],
    parrot_similarity: f64,
) -> Vec<EchoProblem> {
    let mut problems = Vec::new();
    let heading = task.section("echo back").map(|s| s.line);
    let fallback = heading.unwrap_or(1);
    let where_to = if heading.is_some() {
        "under ### Echo-Back"
    } else {
        "under a heading ### Echo-Back in ## Worker Report"
    };

    for (id, _) in criteria {
        if !task.echo.iter().any(|e| e.id == *id) {
            problems.push(EchoProblem {
                criterion: Some(id.clone()),
                line: fallback,
                code: FailureCode::F2,
                message: format!(
                    "{id}: not echoed: add a line `- {id}: <in your own words, what you will build and how it is checked>` {where_to}"
                ),
            });
        }
    }

    for echo in &task.echo {
        let id = &echo.id;
        let Some((_, description)) = criteria.iter().find(|(c, _)| c == id) else {
            // Prefer a criterion that no line echoes: that is the one the typo was meant for.
            let unechoed = criteria
                .iter()
                .map(|(c, _)| c.as_str())
                .filter(|c| !task.echo.iter().any(|e| e.id == *c));
            let hint = did_you_mean(id, unechoed)
                .or_else(|| did_you_mean(id, criteria.iter().map(|(c, _)| c.as_str())));
            let known = if criteria.is_empty() {
                "the task has no criteria".to_owned()
            } else {
                let ids: Vec<&str> = criteria.iter().map(|(c, _)| c.as_str()).collect();
                format!("its criteria are {}", ids.join(", "))
            };
            let message = match hint {
                Some(near) => format!(
                    "{id}: echoed, but not a criterion of this task (did you mean {near}?): name the criterion exactly as the Acceptance Criteria block does"
                ),
                None => format!(
                    "{id}: echoed, but not a criterion of this task ({known}): echo only the task's criteria, each by its ID"
                ),
            };
            problems.push(EchoProblem {
                criterion: Some(id.clone()),
                line: echo.pos.line,
                code: FailureCode::F2,
                message,
            });
            continue;
        };
        if !echo.text.chars().any(char::is_alphanumeric) {
            problems.push(EchoProblem {
                criterion: Some(id.clone()),
                line: echo.pos.line,
                code: FailureCode::F2,
                message: format!(
                    "{id}: the echo line is empty: write after `{id}:`, in your own words, what you will build and how it is checked"
                ),
            });
            continue;
        }
        let score = similarity(&echo.text, description);
        if score > parrot_similarity {
            let (score, limit) = percents(score, parrot_similarity);
            problems.push(EchoProblem {
                criterion: Some(id.clone()),
                line: echo.pos.line,
                code: FailureCode::F13,
                message: format!(
                    "{id}: the echo is a near-copy of the criterion's description ({score} similar, above the limit of {limit}, echo.parrot_similarity): restate in your own words what you will build and how it is checked"
                ),
            });
        }
    }

    let tier = task.meta.as_ref().map_or(1, |m| m.tier);
    if tier >= 1 && task.assumptions.as_ref().is_none_or(Vec::is_empty) {
        let line = heading
            .or_else(|| task.section("assumptions").map(|s| s.line))
            .unwrap_or(1);
        let what = if task.assumptions.is_some() {
            "the `Assumptions:` list has no items"
        } else {
            "no assumptions are listed"
        };
        problems.push(EchoProblem {
            criterion: None,
            line,
            code: FailureCode::F2,
            message: format!(
                "{what}: a task of tier {tier} states its assumptions: add a line `Assumptions:` and at least one `- ` item {where_to}, after the echo lines (tier 0 tasks are exempt)"
            ),
        });
    }
    problems
}

/// How alike two texts are, from 0 (nothing alike) to 1 (the same): the normalised Levenshtein
/// similarity of the texts in lower case, with each run of whitespace made one space and
/// punctuation at the start and end of each word removed (`(ok).` is `ok`).
pub fn similarity(a: &str, b: &str) -> f64 {
    strsim::normalized_levenshtein(&normalize(a), &normalize(b))
}

fn normalize(text: &str) -> String {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
        .filter(|w| !w.is_empty())
        .collect();
    words.join(" ")
}

/// Two fractions as percentages with as few decimals as tell them apart (at most 4):
/// (0.95, 0.9) → ("95%", "90%"); (0.904, 0.9) → ("90.4%", "90%").
fn percents(a: f64, b: f64) -> (String, String) {
    let show = |value: f64, decimals: usize| {
        let text = format!("{:.*}", decimals, value * 100.0);
        let text = if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.')
        } else {
            &text
        };
        format!("{text}%")
    };
    let mut decimals = 0;
    loop {
        let (x, y) = (show(a, decimals), show(b, decimals));
        if x != y || decimals == 4 {
            return (x, y);
        }
        decimals += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::criterion::Ctx;

    const DESCRIPTION: &str = "Expired token returns 401 with code token_expired";

    fn task(tier: u32, echo: &str) -> Task {
        let src = format!(
            "---\ntask_id: T-1\nplan_file: plans/auth.md\nstatus: in_progress\ntier: {tier}\n---\n## Worker Report\n### Echo-Back\n{echo}### Self-Review\n"
        );
        let task = Task::parse(".specproof/tasks/T-1.md", src.as_bytes(), Ctx::default());
        assert!(task.diagnostics.is_empty(), "{:?}", task.diagnostics);
        task
    }

    fn criteria() -> Vec<(String, String)> {
        vec![
            (
                "AUTH-1".to_owned(),
                "JWT validation function exported from src/auth.rs".to_owned(),
            ),
            ("AUTH-3".to_owned(), DESCRIPTION.to_owned()),
        ]
    }

    const GOOD: &str = "- AUTH-1: a validate_jwt fn in src/auth.rs; a pattern check finds it\n- AUTH-3: expired tokens get a 401 body naming token_expired, shown by the expired_token test\nAssumptions:\n- the jsonwebtoken crate is allowed\n";

    fn messages(problems: &[EchoProblem]) -> Vec<String> {
        problems
            .iter()
            .map(|p| format!("{}:{:?}:{}", p.line, p.code, p.message))
            .collect()
    }

    #[test]
    fn a_good_echo_passes() {
        assert_eq!(check(&task(1, GOOD), &criteria(), 0.9), []);
    }

    #[test]
    fn a_criterion_not_echoed_is_f2_at_the_heading() {
        let echo = GOOD.replace("- AUTH-3: expired tokens get a 401 body naming token_expired, shown by the expired_token test\n", "");
        let problems = check(&task(1, &echo), &criteria(), 0.9);
        assert_eq!(
            messages(&problems),
            [
                "8:F2:AUTH-3: not echoed: add a line `- AUTH-3: <in your own words, what you will build and how it is checked>` under ### Echo-Back"
            ]
        );
        assert_eq!(problems[0].criterion.as_deref(), Some("AUTH-3"));
    }

    #[test]
    fn without_an_echo_back_every_criterion_is_missing_at_line_1() {
        let src = "---\ntask_id: T-1\nplan_file: plans/auth.md\nstatus: in_progress\ntier: 0\n---\n## Source\n";
        let task = Task::parse("t/T-1.md", src.as_bytes(), Ctx::default());
        let problems = check(&task, &criteria(), 0.9);
        assert_eq!(problems.len(), 2);
        assert!(
            problems
                .iter()
                .all(|p| p.line == 1 && p.code == FailureCode::F2)
        );
        assert!(
            problems[0]
                .message
                .contains("### Echo-Back in ## Worker Report"),
            "{}",
            problems[0].message
        );
    }

    #[test]
    fn a_misnamed_echo_is_f2_with_the_nearest_id() {
        let echo = GOOD.replace("- AUTH-3:", "- AUTH-4:");
        let problems = check(&task(1, &echo), &criteria(), 0.9);
        let m = messages(&problems);
        assert_eq!(m.len(), 2, "{m:?}");
        assert!(m[0].starts_with("8:F2:AUTH-3: not echoed"), "{m:?}");
        assert_eq!(
            m[1],
            "10:F2:AUTH-4: echoed, but not a criterion of this task (did you mean AUTH-3?): name the criterion exactly as the Acceptance Criteria block does"
        );
        assert_eq!(problems[1].criterion.as_deref(), Some("AUTH-4"));

        let echo = GOOD.replace("Assumptions:", "- NOTES: by the way\nAssumptions:");
        let m = messages(&check(&task(1, &echo), &criteria(), 0.9));
        assert_eq!(
            m,
            [
                "11:F2:NOTES: echoed, but not a criterion of this task (its criteria are AUTH-1, AUTH-3): echo only the task's criteria, each by its ID"
            ]
        );
    }

    #[test]
    fn an_empty_echo_is_f2() {
        for empty in ["- AUTH-3:\n", "- AUTH-3: ...\n", "- AUTH-3:   -\n"] {
            let echo = GOOD.replace("- AUTH-3: expired tokens get a 401 body naming token_expired, shown by the expired_token test\n", empty);
            let m = messages(&check(&task(1, &echo), &criteria(), 0.9));
            assert_eq!(
                m,
                [
                    "10:F2:AUTH-3: the echo line is empty: write after `AUTH-3:`, in your own words, what you will build and how it is checked"
                ],
                "{empty:?}"
            );
        }
    }

    #[test]
    fn parroting_is_f13_and_names_the_similarity_and_the_limit() {
        let echo = GOOD.replace(
            "expired tokens get a 401 body naming token_expired, shown by the expired_token test",
            "Expired token returns 401 with code token_expired.",
        );
        let problems = check(&task(1, &echo), &criteria(), 0.9);
        assert_eq!(
            messages(&problems),
            [
                "10:F13:AUTH-3: the echo is a near-copy of the criterion's description (100% similar, above the limit of 90%, echo.parrot_similarity): restate in your own words what you will build and how it is checked"
            ]
        );
    }

    #[test]
    fn parroting_ignores_case_and_whitespace() {
        let copy = "EXPIRED   token\treturns 401 WITH code token_expired";
        assert!((similarity(copy, DESCRIPTION) - 1.0).abs() < f64::EPSILON);
        let echo = GOOD.replace(
            "expired tokens get a 401 body naming token_expired, shown by the expired_token test",
            copy,
        );
        let problems = check(&task(1, &echo), &criteria(), 0.9);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].code, FailureCode::F13);
    }

    #[test]
    fn exactly_at_the_threshold_is_not_parroting() {
        // One changed letter in 49.
        let near = "Expired token returns 401 with code token_expirex";
        let score = similarity(near, DESCRIPTION);
        assert!((score - 48.0 / 49.0).abs() < 1e-12, "{score}");
        let echo = GOOD.replace(
            "expired tokens get a 401 body naming token_expired, shown by the expired_token test",
            near,
        );
        let task = task(1, &echo);
        assert_eq!(check(&task, &criteria(), score), []);
        let above = check(&task, &criteria(), score - 1e-9);
        assert_eq!(above.len(), 1);
        assert_eq!(above[0].code, FailureCode::F13);
        let above = check(&task, &criteria(), 0.979);
        assert!(
            above[0]
                .message
                .contains("(98% similar, above the limit of 97.9%, "),
            "{}",
            above[0].message
        );
    }

    #[test]
    fn tier_1_needs_an_assumption_and_tier_0_does_not() {
        let none = GOOD.replace("Assumptions:\n- the jsonwebtoken crate is allowed\n", "");
        let m = messages(&check(&task(1, &none), &criteria(), 0.9));
        assert_eq!(
            m,
            [
                "8:F2:no assumptions are listed: a task of tier 1 states its assumptions: add a line `Assumptions:` and at least one `- ` item under ### Echo-Back, after the echo lines (tier 0 tasks are exempt)"
            ]
        );
        let empty = GOOD.replace("- the jsonwebtoken crate is allowed\n", "");
        let m = messages(&check(&task(2, &empty), &criteria(), 0.9));
        assert_eq!(m.len(), 1);
        assert!(
            m[0].starts_with("8:F2:the `Assumptions:` list has no items: a task of tier 2"),
            "{m:?}"
        );
        assert_eq!(check(&task(0, &none), &criteria(), 0.9), []);
        assert_eq!(check(&task(0, &empty), &criteria(), 0.9), []);
    }

    #[test]
    fn the_task_template_fails_g2_until_it_is_filled_in() {
        let src = include_str!("../templates/task.md");
        let task = Task::parse(".specproof/tasks/T-001.md", src.as_bytes(), Ctx::default());
        let criteria: Vec<(String, String)> = task
            .criteria
            .iter()
            .map(|c| (c.id.clone(), c.description.clone()))
            .collect();
        assert_eq!(criteria.len(), 3);
        let problems = check(&task, &criteria, 0.9);
        let codes: Vec<(Option<&str>, FailureCode)> = problems
            .iter()
            .map(|p| (p.criterion.as_deref(), p.code))
            .collect();
        assert_eq!(
            codes,
            [
                (Some("EX-1"), FailureCode::F2),
                (Some("EX-2"), FailureCode::F2),
                (Some("EX-3"), FailureCode::F2),
                (None, FailureCode::F2),
            ]
        );
    }

    #[test]
    fn percentages_tell_the_two_apart() {
        let p = |a, b| {
            let (x, y) = percents(a, b);
            format!("{x} {y}")
        };
        assert_eq!(p(0.95, 0.9), "95% 90%");
        assert_eq!(p(0.904, 0.9), "90.4% 90%");
        assert_eq!(p(1.0, 0.0), "100% 0%");
        assert_eq!(p(0.979_59, 0.979), "98% 97.9%");
        assert_eq!(p(0.9, 0.9), "90% 90%");
    }

    proptest::proptest! {
        #[test]
        fn similarity_is_a_symmetric_score_from_0_to_1(a in "\\PC{0,40}", b in "\\PC{0,40}") {
            let ab = similarity(&a, &b);
            proptest::prop_assert!((0.0..=1.0).contains(&ab), "{ab}");
            proptest::prop_assert!((ab - similarity(&b, &a)).abs() < 1e-12);
            proptest::prop_assert!((similarity(&a, &a) - 1.0).abs() < f64::EPSILON);
        }

        #[test]
        fn case_and_spacing_never_change_the_score(a in "[a-zA-Z ,.]{0,40}", b in "[a-zA-Z ,.]{0,40}") {
            let spaced = a.to_uppercase().replace(' ', " \t ");
            proptest::prop_assert!((similarity(&a, &b) - similarity(&spaced, &b)).abs() < 1e-12);
        }
    }
}
