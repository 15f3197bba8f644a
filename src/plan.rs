//! Plan files (SPEC §2): sections, criteria blocks, checkbox references, optional front matter.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::criterion::{self, Criterion, Ctx};
use crate::diagnostic::{Diagnostic, FailureCode, Pos, Rule, did_you_mean};
use crate::markdown::{self, heading_key};
use crate::yaml;

/// A heading of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Section {
    pub title: String,
    pub level: usize,
    pub line: usize,
}

/// A checkbox line `- [ ] ID: text` outside every fence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checkbox {
    pub id: String,
    pub text: String,
    pub checked: bool,
    pub pos: Pos,
    pub section: Option<String>,
}

/// Plan approval state (SPEC §6.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PlanStatus {
    Draft,
    Approved,
}

/// The optional front matter of a plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PlanMeta {
    pub status: Option<PlanStatus>,
    pub approved_by: Option<String>,
    pub approved_at: Option<String>,
}

const META_FIELDS: [&str; 3] = ["status", "approved_by", "approved_at"];

/// A parsed plan file. Problems are kept in `diagnostics`; parsing never fails.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Repository-relative path.
    pub path: String,
    pub meta: PlanMeta,
    pub sections: Vec<Section>,
    /// The criteria that validated, each with its section.
    pub criteria: Vec<Criterion>,
    /// Every well-formed criterion ID defined in a block, valid or not.
    pub ids: Vec<(String, Pos)>,
    pub checkboxes: Vec<Checkbox>,
    pub diagnostics: Vec<Diagnostic>,
}

static CHECKBOX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*[-*+]\s+\[([ xX])\]\s+([A-Za-z][A-Za-z0-9_.-]*)\s*:\s*(.*)$")
        .expect("checkbox regex is valid")
});

impl Plan {
    /// Parses `bytes` as the plan at repository path `path`.
    #[must_use]
    pub fn parse(path: &str, bytes: &[u8], ctx: Ctx<'_>) -> Self {
        let mut plan = Self {
            path: path.to_owned(),
            ..Self::default()
        };
        let src = match markdown::decode(path, bytes) {
            Ok(s) => s,
            Err(d) => {
                plan.diagnostics.push(*d);
                return plan;
            }
        };
        let (body, body_line) = match markdown::split_front_matter(src) {
            Ok(fm) => {
                plan.meta = parse_meta(path, fm.yaml, fm.yaml_line, &mut plan.diagnostics);
                (fm.body, fm.body_line)
            }
            Err(_) => (src, 1),
        };
        let doc = markdown::scan(body, body_line);
        plan.sections = doc
            .headings
            .iter()
            .map(|h| Section {
                title: h.text.clone(),
                level: h.level,
                line: h.line,
            })
            .collect();
        for fence in doc
            .fences
            .iter()
            .filter(|f| f.lang.eq_ignore_ascii_case("criteria"))
        {
            let section = doc.heading_at(fence.open_line).map(|h| h.text.clone());
            let block = criterion::parse_block(path, fence, ctx);
            plan.diagnostics.extend(block.diagnostics);
            plan.ids.extend(block.ids);
            plan.criteria
                .extend(block.criteria.into_iter().map(|mut c| {
                    c.section.clone_from(&section);
                    c
                }));
        }
        for line in &doc.text {
            if let Some(caps) = CHECKBOX.captures(line.text) {
                let id = &caps[2];
                let column = caps
                    .get(2)
                    .map_or(1, |m| line.text[..m.start()].chars().count() + 1);
                plan.checkboxes.push(Checkbox {
                    id: id.to_owned(),
                    text: caps[3].trim().to_owned(),
                    checked: &caps[1] != " ",
                    pos: Pos::new(line.line, column),
                    section: doc.heading_at(line.line).map(|h| h.text.clone()),
                });
            }
        }
        plan
    }

    /// The validated criterion with this ID.
    #[must_use]
    pub fn criterion(&self, id: &str) -> Option<&Criterion> {
        self.criteria.iter().find(|c| c.id == id)
    }

    /// True when a block of this plan defines `id` (valid or not).
    #[must_use]
    pub fn defines(&self, id: &str) -> bool {
        self.ids.iter().any(|(i, _)| i == id)
    }

    /// The section whose title matches `title`, ignoring case and punctuation.
    #[must_use]
    pub fn section(&self, title: &str) -> Option<&Section> {
        let key = heading_key(title);
        self.sections.iter().find(|s| heading_key(&s.title) == key)
    }
}

fn parse_meta(
    file: &str,
    src: &str,
    first_line: usize,
    diagnostics: &mut Vec<Diagnostic>,
) -> PlanMeta {
    let mut meta = PlanMeta::default();
    let map = match yaml::front_matter(file, src, first_line, "") {
        Ok(Some(map)) => map,
        Ok(None) => return meta,
        Err(d) => {
            diagnostics.push(*d);
            return meta;
        }
    };
    let lines: Vec<&str> = src.split('\n').collect();
    let at = |key: &str| {
        yaml::find_key(&lines, first_line, 0, lines.len(), key).unwrap_or(Pos::line(first_line))
    };
    let (fields, _) = yaml::entries(&map);
    for (key, value) in fields {
        match key {
            "status" => match yaml::scalar_text(value).as_deref() {
                Some("draft") => meta.status = Some(PlanStatus::Draft),
                Some("approved") => meta.status = Some(PlanStatus::Approved),
                other => diagnostics.push(
                    Diagnostic::new(
                        file,
                        at(key),
                        FailureCode::F8,
                        Rule::InvalidValue,
                        format!(
                            "plan status must be draft or approved, found {}",
                            other.unwrap_or(yaml::kind(value))
                        ),
                    )
                    .field("status")
                    .suggest(other.and_then(|o| did_you_mean(o, ["draft", "approved"]))),
                ),
            },
            "approved_by" => meta.approved_by = yaml::scalar_text(value),
            "approved_at" => meta.approved_at = yaml::scalar_text(value),
            unknown => diagnostics.push(
                Diagnostic::new(
                    file,
                    at(unknown),
                    FailureCode::F8,
                    Rule::UnknownField,
                    format!("unknown plan field \"{unknown}\""),
                )
                .field(unknown)
                .suggest(did_you_mean(unknown, META_FIELDS)),
            ),
        }
    }
    meta
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN: &str = "# Auth plan\n\n## Auth middleware\n\nText.\n\n```criteria\n- id: AUTH-1\n  description: d\n  proof: file_exists\n  args: { path: src/auth.rs }\n```\n\n- [ ] AUTH-1: referenced\n- [x] AUTH-11: Rate limit returns 429\n\n```\n- [ ] CODE-1: inside a fence\n```\n";

    #[test]
    fn parses_sections_criteria_and_checkboxes() {
        let plan = Plan::parse("plans/auth.md", PLAN.as_bytes(), Ctx::default());
        assert!(plan.diagnostics.is_empty(), "{:?}", plan.diagnostics);
        assert_eq!(plan.sections.len(), 2);
        assert_eq!(plan.sections[1].line, 3);
        assert_eq!(plan.criteria.len(), 1);
        assert_eq!(plan.criteria[0].section.as_deref(), Some("Auth middleware"));
        assert_eq!(plan.criteria[0].pos.line, 8);
        let boxes: Vec<_> = plan
            .checkboxes
            .iter()
            .map(|c| (c.id.as_str(), c.checked, c.pos.line))
            .collect();
        assert_eq!(boxes, vec![("AUTH-1", false, 14), ("AUTH-11", true, 15)]);
        assert!(plan.section("auth MIDDLEWARE").is_some());
    }

    #[test]
    fn front_matter_is_read_and_checked() {
        let plan = Plan::parse(
            "p.md",
            b"---\nstatus: approvd\nowner: x\n---\n# T\n",
            Ctx::default(),
        );
        let m: Vec<String> = plan.diagnostics.iter().map(ToString::to_string).collect();
        assert_eq!(m.len(), 2, "{m:?}");
        assert!(
            m[0].starts_with("p.md:2:1: F8:") && m[0].contains("did you mean \"approved\""),
            "{m:?}"
        );
        assert!(
            m[1].starts_with("p.md:3:1: F8:") && m[1].contains("\"owner\""),
            "{m:?}"
        );
        let ok = Plan::parse("p.md", b"---\nstatus: draft\n---\n", Ctx::default());
        assert_eq!(ok.meta.status, Some(PlanStatus::Draft));
    }

    #[test]
    fn binary_junk_is_a_diagnostic() {
        let plan = Plan::parse("p.md", b"\x00\x01\xff", Ctx::default());
        assert_eq!(plan.diagnostics.len(), 1);
        assert_eq!(plan.diagnostics[0].rule, Rule::NotText);
    }
}
