//! Property tests: the plan, task and config parsers never panic, whatever they are fed, keep
//! every reported position inside the file, and read back valid criteria exactly.

use proptest::prelude::*;
use serde_yaml::Value;
use specproof::config::Config;
use specproof::criterion::{Ctx, Proof};
use specproof::diagnostic::Diagnostic;
use specproof::plan::Plan;
use specproof::task::Task;

const WORDS: [&str; 24] = [
    "id",
    "description",
    "proof",
    "args",
    "path",
    "pattern",
    "min",
    "max",
    "scope",
    "severity",
    "inputs",
    "timeout",
    "serial",
    "command",
    "file_exists",
    "test_passes",
    "task_id",
    "plan_file",
    "status",
    "done",
    "plans",
    "echo",
    "judge",
    "rubric",
];

fn key() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop::sample::select(WORDS.to_vec()).prop_map(|s| Value::String(s.to_owned())),
        1 => "\\PC{0,12}".prop_map(Value::String),
        1 => any::<i64>().prop_map(|n| Value::Number(n.into())),
    ]
}

fn yaml_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| Value::Number(n.into())),
        any::<f64>().prop_map(|f| Value::Number(f.into())),
        "\\PC{0,24}".prop_map(Value::String),
        prop::sample::select(WORDS.to_vec()).prop_map(|s| Value::String(s.to_owned())),
        Just(Value::String("../../etc/passwd".into())),
        Just(Value::String("(unclosed".into())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Sequence),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|kv| Value::Mapping(kv.into_iter().collect())),
        ]
    })
}

/// Markdown assembled from the lines that matter to the scanner.
fn markdown() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        Just("```criteria".to_owned()),
        Just("```".to_owned()),
        Just("~~~~".to_owned()),
        Just("---".to_owned()),
        Just("## Acceptance Criteria".to_owned()),
        Just("### Echo-Back".to_owned()),
        Just("Assumptions:".to_owned()),
        Just("- [ ] A-1: checkbox".to_owned()),
        Just("- id: A-1".to_owned()),
        Just("  proof: file_exists".to_owned()),
        Just("  args: { path: a }".to_owned()),
        Just("task_id: T-1".to_owned()),
        "\\PC{0,30}",
    ];
    prop::collection::vec(line, 0..40).prop_map(|lines| lines.join("\n"))
}

fn assert_inside(diagnostics: &[Diagnostic], text: &[u8]) {
    let lines = text.split(|&b| b == b'\n').count();
    for d in diagnostics {
        assert!(
            d.line >= 1 && d.line <= lines,
            "line {} outside 1..={lines}: {d}",
            d.line
        );
        assert!(d.column >= 1, "column 0: {d}");
        assert!(!d.message.is_empty());
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let plan = Plan::parse("plans/p.md", &bytes, Ctx::default());
        assert_inside(&plan.diagnostics, &bytes);
        let task = Task::parse(".specproof/tasks/T-1.md", &bytes, Ctx::default());
        assert_inside(&task.diagnostics, &bytes);
        let _ = Config::parse(&bytes, None);
    }

    #[test]
    fn arbitrary_markdown_never_panics(text in markdown()) {
        let plan = Plan::parse("plans/p.md", text.as_bytes(), Ctx::default());
        assert_inside(&plan.diagnostics, text.as_bytes());
        let task = Task::parse("t/T-1.md", format!("---\ntask_id: T-1\nplan_file: p.md\nstatus: done\n---\n{text}").as_bytes(), Ctx::default());
        let _ = task.section("echo-back");
    }

    #[test]
    fn arbitrary_yaml_in_a_criteria_block_never_panics(value in yaml_value()) {
        let yaml = serde_yaml::to_string(&value).unwrap_or_default();
        let src = format!("# Plan\n\n## S\n\n```criteria\n{yaml}```\n");
        let plan = Plan::parse("plans/p.md", src.as_bytes(), Ctx::default());
        assert_inside(&plan.diagnostics, src.as_bytes());
        // A list of one arbitrary mapping exercises the criterion fields and args.
        let item = serde_yaml::to_string(&Value::Sequence(vec![value])).unwrap_or_default();
        let src = format!("```criteria\n{item}```\n");
        let plan = Plan::parse("plans/p.md", src.as_bytes(), Ctx::default());
        assert_inside(&plan.diagnostics, src.as_bytes());
    }

    #[test]
    fn arbitrary_yaml_as_task_front_matter_never_panics(value in yaml_value()) {
        let yaml = serde_yaml::to_string(&value).unwrap_or_default();
        let src = format!("---\n{yaml}---\n## Acceptance Criteria\n```criteria\n{yaml}```\n");
        let task = Task::parse("t/T-1.md", src.as_bytes(), Ctx::default());
        assert_inside(&task.diagnostics, src.as_bytes());
    }

    #[test]
    fn arbitrary_yaml_as_config_never_panics(value in yaml_value()) {
        let yaml = serde_yaml::to_string(&value).unwrap_or_default();
        if let Err(diagnostics) = Config::parse(yaml.as_bytes(), None) {
            assert!(!diagnostics.is_empty());
            assert_inside(&diagnostics, yaml.as_bytes());
        }
    }

    #[test]
    fn valid_criteria_read_back_exactly(
        id in "[A-Z][A-Z0-9]{0,4}-[0-9]{1,3}",
        description in "[A-Za-z][A-Za-z ,.]{0,40}",
        path in "[a-z]{1,8}(/[a-z]{1,8}){0,2}\\.rs",
        pattern in "[a-z_]{1,10}",
        min in 1u64..1000,
    ) {
        let src = format!(
            "## Section\n\n```criteria\n- id: {id}\n  description: \"{description}\"\n  proof: pattern_matches\n  args: {{ path: \"{path}\", pattern: \"{pattern}\", min: {min} }}\n```\n"
        );
        let plan = Plan::parse("plans/p.md", src.as_bytes(), Ctx::default());
        prop_assert!(plan.diagnostics.is_empty(), "{:?}", plan.diagnostics);
        prop_assert_eq!(plan.criteria.len(), 1);
        let c = &plan.criteria[0];
        prop_assert_eq!(&c.id, &id);
        prop_assert_eq!(&c.description, &description);
        prop_assert_eq!(c.pos.line, 4);
        prop_assert_eq!(c.section.as_deref(), Some("Section"));
        prop_assert_eq!(&c.proof, &Proof::PatternMatches { path, pattern, min });
    }
}
