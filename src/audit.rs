//! `specproof audit`: the gates replayed over a range of history, for CI (SPEC §9). Each commit
//! is judged against its first parent as the server judges a push: evidence by its recorded
//! facts (a signature made on another machine cannot be checked here) and by running the
//! proofs again per `--rerun`, a contradiction being forged evidence (F12). Done claims without
//! fresh evidence, reopened complete tasks, regressions and overrides are listed; any of them
//! fails the audit.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::{Context, Result, anyhow, bail};
use git2::{Oid, Repository};
use serde::Serialize;

use crate::config::Rerun;
use crate::gate::replay::{Judge, Judged};
use crate::gate::{self, ExportRunner, Problem, Stage};

/// What to audit and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// `A..B` (the commits of B not in A), or one revision (its whole history); None: from the
    /// merge base with the remote's default branch to HEAD.
    pub range: Option<String>,
    pub rerun: Rerun,
    /// Overrides are listed as warnings instead of failing the audit.
    pub allow_overrides: bool,
}

/// The commits an audit covers, and how they were chosen.
#[derive(Debug, Clone, Serialize)]
pub struct Range {
    /// As people read it: `A..B`, or a revision.
    pub spec: String,
    /// Where the range starts (excluded), when it has a start.
    pub base: Option<String>,
    pub head: String,
    /// Why this range, when it was not given.
    pub note: Option<String>,
    #[serde(skip)]
    pub commits: Vec<Oid>,
}

/// The verdict on one commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    /// Carries the override trailer: never a pass.
    Override,
}

/// One audited commit.
#[derive(Debug, Clone, Serialize)]
pub struct CommitReport {
    pub commit: String,
    pub subject: String,
    pub status: Status,
    pub override_reason: Option<String>,
    pub problems: Vec<Problem>,
    pub warnings: Vec<String>,
    /// Not one commit but the range's whole change from its start, judged because its commits'
    /// first-parent steps do not cover it (not counted in `summary.commits`).
    pub range_change: bool,
}

/// The whole audit, as `--format json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: u32,
    pub range: Range,
    pub rerun: Rerun,
    pub allow_overrides: bool,
    pub commits: Vec<CommitReport>,
    pub summary: Summary,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub commits: usize,
    pub passed: usize,
    pub failed: usize,
    pub overrides: usize,
    pub problems: usize,
    /// Problems by failure code (`none` for rules without one).
    pub by_code: BTreeMap<String, usize>,
    /// The range's whole change, judged apart (see `CommitReport::range_change`), fails.
    pub range_change_fails: bool,
    /// Whether the audit fails (exit 1).
    pub violations: bool,
}

/// Chooses the commits of `range` (see [`Options::range`]).
///
/// # Errors
/// A revision that names no commit, or a history that cannot be walked (a shallow clone).
pub fn range(git: &Repository, range: Option<&str>) -> Result<Range> {
    let head = || -> Result<Oid> {
        git.head()
            .and_then(|h| h.peel_to_commit())
            .map(|c| c.id())
            .map_err(|e| {
                anyhow!(
                    "cannot read HEAD ({}): audit a repository with commits, or give --range",
                    e.message()
                )
            })
    };
    let commit_of = |rev: &str| -> Result<Oid> {
        git.revparse_single(rev)
            .and_then(|o| o.peel_to_commit())
            .map(|c| c.id())
            .map_err(|e| {
                anyhow!(
                    "--range: {rev:?} names no commit of this repository ({}){}",
                    e.message(),
                    if git.is_shallow() { SHALLOW } else { "" }
                )
            })
    };
    let (base, tip, spec, note) = match range {
        Some(spec) if spec.contains("...") => bail!(
            "--range {spec:?}: use A..B (the commits of B that A does not have); A...B is not supported"
        ),
        Some(spec) if spec.contains("..") => {
            let (a, b) = spec.split_once("..").unwrap_or((spec, ""));
            let a = if a.is_empty() { "HEAD" } else { a };
            let b = if b.is_empty() { "HEAD" } else { b };
            let from = commit_of(a)?;
            let to = commit_of(b)?;
            (Some(from), to, format!("{a}..{b}"), None)
        }
        Some(rev) => (None, commit_of(rev)?, rev.to_owned(), None),
        None => {
            let tip = head()?;
            match default_branch(git) {
                Some((name, branch)) => {
                    let base = git.merge_base(tip, branch).with_context(|| {
                        format!("HEAD and {name} have no common ancestor: give --range A..B")
                    })?;
                    (
                        Some(base),
                        tip,
                        format!("{}..HEAD", &base.to_string()[..10]),
                        Some(format!("from the merge base of HEAD with {name}")),
                    )
                }
                None => (
                    None,
                    tip,
                    "HEAD".to_owned(),
                    Some(
                        "no remote default branch (origin/HEAD, origin/main, origin/master): the whole history of HEAD"
                            .to_owned(),
                    ),
                ),
            }
        }
    };
    let known: Vec<Oid> = base.into_iter().collect();
    let commits = gate::replay::new_commits(git, tip, &known).map_err(|e| {
        if git.is_shallow() {
            anyhow!("{e:#}{SHALLOW}")
        } else {
            e
        }
    })?;
    // A shallow clone's boundary commits look like first commits: judged against nothing, they
    // would be misjudged.
    if git.is_shallow() {
        let listed = std::fs::read_to_string(git.commondir().join("shallow")).unwrap_or_default();
        let boundary: Vec<&str> = listed.lines().map(str::trim).collect();
        if let Some(cut) = commits
            .iter()
            .find(|c| boundary.contains(&c.to_string().as_str()))
        {
            bail!(
                "commit {cut} is where this shallow clone's history is cut, so it cannot be judged against its parent{SHALLOW}"
            );
        }
    }
    Ok(Range {
        spec,
        base: base.map(|b| b.to_string()),
        head: tip.to_string(),
        note,
        commits,
    })
}

const SHALLOW: &str = ": this clone is shallow; fetch the whole history (`git fetch --unshallow`, or `fetch-depth: 0` in CI), or audit a range that starts after the cut";

/// The remote default branch: `<remote>/HEAD`, else `<remote>/main`, else `<remote>/master`, of
/// `origin` (or the only remote).
fn default_branch(git: &Repository) -> Option<(String, Oid)> {
    let remotes = git.remotes().ok()?;
    let names: Vec<&str> = remotes.iter().flatten().flatten().collect();
    let remote = if names.contains(&"origin") {
        "origin"
    } else if let [only] = names.as_slice() {
        only
    } else {
        return None;
    };
    ["HEAD", "main", "master"].iter().find_map(|b| {
        let name = format!("{remote}/{b}");
        git.revparse_single(&format!("refs/remotes/{name}"))
            .and_then(|o| o.peel_to_commit())
            .ok()
            .map(|c| (name, c.id()))
    })
}

/// Replays the gates on every commit of `range`.
///
/// # Errors
/// When a commit or a file the gates read cannot be read.
pub fn run(git: &Repository, range: Range, options: &Options) -> Result<Report> {
    let all = options.rerun == Rerun::All;
    let trusted = move |_: &gate::view::View<'_, '_>| all;
    let commands = || Box::new(ExportRunner::default()) as Box<dyn gate::CommandRunner>;
    let judge = Judge {
        git,
        stage: Stage::Replay {
            rerun: options.rerun,
        },
        key: None,
        trusted: &trusted,
        commands: &commands,
        fetched: &Vec::new,
        judging: &|_| false,
    };
    let mut commits = Vec::new();
    let mut summary = Summary::default();
    for &oid in &range.commits {
        if let Ok(commit) = git.find_commit(oid)
            && let Some(parent) = commit.parent_ids().next()
            && git.find_commit(parent).is_err()
        {
            bail!("the parent of commit {oid} is not in this clone{SHALLOW}");
        }
        let judged: Judged = judge.commit(oid)?;
        let status = match (&judged.override_reason, judged.outcome.ok()) {
            (Some(_), _) => Status::Override,
            (None, true) => Status::Pass,
            (None, false) => Status::Fail,
        };
        summary.commits += 1;
        match status {
            Status::Pass => summary.passed += 1,
            Status::Fail => summary.failed += 1,
            Status::Override => summary.overrides += 1,
        }
        for p in &judged.outcome.problems {
            summary.problems += 1;
            let code = p.code.map_or("none".to_owned(), |c| c.to_string());
            *summary.by_code.entry(code).or_default() += 1;
        }
        commits.push(CommitReport {
            commit: oid.to_string(),
            subject: judged.subject,
            status,
            override_reason: judged.override_reason,
            problems: judged.outcome.problems,
            warnings: judged.outcome.warnings,
            range_change: false,
        });
    }
    // The commits are judged against their first parents. When the range's start is not on
    // its tip's first-parent chain (a merge whose first parent is some older commit), those
    // steps are not the whole change from the start: it is judged too, for what it takes away.
    if let Some(base) = range.base.as_deref().and_then(|b| Oid::from_str(b).ok())
        && let Ok(tip) = Oid::from_str(&range.head)
    {
        let new: std::collections::HashSet<Oid> = range.commits.iter().copied().collect();
        // Only when the start is an ancestor: a branch behind its target (`origin/main..HEAD`
        // on an older branch) did not take anything from it.
        let ancestor = git.graph_descendant_of(tip, base).unwrap_or(false);
        if ancestor && !gate::replay::first_parents_reach(git, tip, base, &new) {
            let judged = judge.jump(base, tip)?;
            if !judged.outcome.ok() {
                summary.range_change_fails = true;
                for p in &judged.outcome.problems {
                    summary.problems += 1;
                    let code = p.code.map_or("none".to_owned(), |c| c.to_string());
                    *summary.by_code.entry(code).or_default() += 1;
                }
                commits.push(CommitReport {
                    commit: tip.to_string(),
                    subject: format!(
                        "{}, judged as one change from {} (not reached from it by first parents)",
                        judged.subject,
                        &base.to_string()[..10]
                    ),
                    status: Status::Fail,
                    override_reason: None,
                    problems: judged.outcome.problems,
                    warnings: Vec::new(),
                    range_change: true,
                });
            }
        }
    }
    summary.violations = summary.failed > 0
        || summary.range_change_fails
        || (summary.overrides > 0 && !options.allow_overrides);
    Ok(Report {
        schema: 1,
        range,
        rerun: options.rerun,
        allow_overrides: options.allow_overrides,
        commits,
        summary,
    })
}

/// The report for people.
#[must_use]
pub fn table(report: &Report, printer: &crate::printer::Printer) -> String {
    use crate::printer::styles;
    let mut out = String::new();
    let r = &report.range;
    let _ = writeln!(
        out,
        "specproof audit: {} ({} {}{}), re-running {}",
        r.spec,
        report.summary.commits,
        if report.summary.commits == 1 {
            "commit"
        } else {
            "commits"
        },
        r.note
            .as_ref()
            .map(|n| format!("; {n}"))
            .unwrap_or_default(),
        match report.rerun {
            Rerun::None => "no proof",
            Rerun::FileProofs => "file and git proofs",
            Rerun::All => "every proof",
        }
    );
    for c in &report.commits {
        let short = &c.commit[..10];
        match c.status {
            Status::Pass => {}
            Status::Fail => {
                let _ = writeln!(
                    out,
                    "{} {short} \"{}\"",
                    printer.paint_out(&styles::error(), "✗"),
                    c.subject
                );
            }
            Status::Override => {
                let reason = c.override_reason.as_deref().unwrap_or_default();
                let mark = if report.allow_overrides {
                    printer.paint_out(&styles::warning(), "!")
                } else {
                    printer.paint_out(&styles::error(), "✗")
                };
                let _ = writeln!(
                    out,
                    "{mark} {short} \"{}\": override on the record (`Specproof-Override: {reason}`){}",
                    c.subject,
                    if report.allow_overrides {
                        ""
                    } else {
                        "; overrides fail the audit unless --allow-overrides"
                    }
                );
            }
        }
        if !c.problems.is_empty() {
            out.push_str(&crate::hooks::render_out(&c.problems, printer));
        }
        for w in &c.warnings {
            let _ = writeln!(
                out,
                "  {} {short} {w}",
                printer.paint_out(&styles::warning(), "warning:")
            );
        }
    }
    let s = &report.summary;
    let codes: Vec<String> = s.by_code.iter().map(|(c, n)| format!("{c} ×{n}")).collect();
    let _ = writeln!(
        out,
        "{} {} passed, {} failed, {} {}{}{}",
        if s.violations {
            printer.paint_out(&styles::error(), "failed:")
        } else {
            printer.paint_out(&styles::ok(), "ok:")
        },
        s.passed,
        s.failed,
        s.overrides,
        if s.overrides == 1 {
            "override"
        } else {
            "overrides"
        },
        if s.range_change_fails {
            "; the range's whole change fails"
        } else {
            ""
        },
        if codes.is_empty() {
            String::new()
        } else {
            format!(" ({})", codes.join(", "))
        }
    );
    out
}

/// The report as `JUnit` XML: one test case per commit, a failure per problem (an override
/// without `--allow-overrides` is a failure too), so CI systems show the audit as test results.
#[must_use]
pub fn junit(report: &Report) -> String {
    let failing = report
        .commits
        .iter()
        .filter(|c| {
            c.status == Status::Fail || (c.status == Status::Override && !report.allow_overrides)
        })
        .count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"specproof audit\" tests=\"{}\" failures=\"{failing}\">",
        report.commits.len()
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"specproof audit {}\" tests=\"{}\" failures=\"{failing}\" errors=\"0\" skipped=\"0\">",
        xml(&report.range.spec),
        report.commits.len()
    );
    for c in &report.commits {
        let name = format!("{} {}", &c.commit[..10], c.subject);
        let _ = write!(
            out,
            "    <testcase classname=\"specproof.audit\" name=\"{}\"",
            xml(&name)
        );
        let overridden = c.status == Status::Override;
        let fails = c.status == Status::Fail || (overridden && !report.allow_overrides);
        if !fails && c.warnings.is_empty() && !overridden {
            out.push_str("/>\n");
            continue;
        }
        out.push_str(">\n");
        if overridden {
            let reason = c.override_reason.as_deref().unwrap_or_default();
            let text = format!("override on the record: Specproof-Override: {reason}");
            if fails {
                let _ = writeln!(
                    out,
                    "      <failure type=\"override\" message=\"{}\">{}</failure>",
                    xml(&text),
                    xml(&text)
                );
            }
        }
        for p in &c.problems {
            let code = p.code.map_or_else(|| "none".to_owned(), |c| c.to_string());
            let head = format!(
                "{}[{}]{} {code}: {}",
                p.task.as_ref().map(|t| format!("{t} ")).unwrap_or_default(),
                p.check.title(),
                p.criterion
                    .as_ref()
                    .map(|c| format!(" {c}"))
                    .unwrap_or_default(),
                p.reason
            );
            let place = match (&p.file, p.line) {
                (Some(f), Some(l)) => format!("{f}:{l}\n"),
                (Some(f), None) => format!("{f}\n"),
                _ => String::new(),
            };
            let body = format!("{place}{}\nfix: {}", p.reason, p.fix);
            if fails {
                let _ = writeln!(
                    out,
                    "      <failure type=\"{}\" message=\"{}\">{}</failure>",
                    xml(&code),
                    xml(&head),
                    xml(&body)
                );
            }
        }
        let mut system_out: Vec<String> = c.warnings.clone();
        if overridden && !fails {
            system_out.push(format!(
                "override on the record: Specproof-Override: {}",
                c.override_reason.as_deref().unwrap_or_default()
            ));
            for p in &c.problems {
                system_out.push(format!("overridden: {}", p.reason));
            }
        }
        if !system_out.is_empty() {
            let _ = writeln!(
                out,
                "      <system-out>{}</system-out>",
                xml(&system_out.join("\n"))
            );
        }
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// `text` escaped for XML attributes and text; characters XML 1.0 cannot hold become U+FFFD.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(ch),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_markup_and_drops_what_xml_cannot_hold() {
        assert_eq!(
            xml("a<b>&\"c\" 'd'\u{1}\te"),
            "a&lt;b&gt;&amp;&quot;c&quot; &apos;d&apos;\u{FFFD}\te"
        );
    }
}
