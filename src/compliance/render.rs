//! What `specproof matrix` prints: a table for people, the stable JSON document, and markdown
//! for a pull-request comment.

use std::fmt::Write as _;

use console::Style;

use crate::printer::{Printer, styles};

use super::{Colour, Level, Matrix, PlanSummary, Row, Summary};

/// The version of the JSON document; raised only by an incompatible change.
pub const JSON_VERSION: u32 = 1;

/// The terminal style of a colour.
#[must_use]
pub fn style(colour: Colour) -> Style {
    match colour {
        Colour::Green => styles::ok(),
        Colour::Yellow => styles::warning(),
        Colour::Red => styles::error(),
        Colour::Orange => styles::orange(),
        Colour::Grey => styles::grey(),
    }
}

/// `66.7%`, or `-` without criteria.
#[must_use]
pub fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "-".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

/// `2.00`, or `-` without sections.
#[must_use]
pub fn density(density: Option<f64>) -> String {
    density.map_or_else(|| "-".to_owned(), |d| format!("{d:.2}"))
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// `50.0% compliant (2 of 4 criteria GREEN; 1 yellow, 1 red, 0 orange, 0 grey)`.
#[must_use]
pub fn rate_line(s: &Summary) -> String {
    let others = Colour::ALL[1..]
        .iter()
        .map(|c| format!("{} {}", s.counts.get(*c), c.name()))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "{} compliant ({} of {} {} GREEN; {others})",
        percent(s.rate),
        s.counts.green,
        s.criteria,
        plural(s.criteria, "criterion", "criteria")
    )
}

/// The reason cut for a terminal table.
fn short(text: &str) -> String {
    const MAX: usize = 160;
    let mut out: String = text.chars().take(MAX).collect();
    if text.chars().count() > MAX {
        out.push('…');
    }
    out
}

/// The task column: the task judged through, the plan level's owner, or `-`.
fn task_cell(row: &Row) -> String {
    match (&row.task, row.level) {
        (Some(t), _) if row.also.is_empty() => t.clone(),
        (Some(t), _) => format!("{t} (+{})", row.also.join(", ")),
        (None, Level::Plan) => "plan level".to_owned(),
        (None, Level::Task) => "-".to_owned(),
    }
}

fn table_of(rows: &[&Row], printer: &Printer) -> String {
    const HEADER: [&str; 6] = ["CRITERION", "PLAN", "SECTION", "TASK", "COLOUR", "REASON"];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.criterion.clone(),
                r.plan.clone(),
                r.section.clone().unwrap_or_else(|| "-".to_owned()),
                task_cell(r),
                r.colour.word().to_owned(),
                short(&r.reason),
            ]
        })
        .collect();
    let mut widths = HEADER.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: [&str; 6], colour: Option<Colour>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = widths[i].saturating_sub(cell.chars().count());
            match (colour, i) {
                (Some(c), 4) => out.push_str(&printer.paint_out(&style(c), cell)),
                _ => out.push_str(cell),
            }
            if i + 1 < cells.len() {
                out.push_str(&" ".repeat(pad + 2));
            }
        }
        out.trim_end().to_owned()
    };
    let mut out = printer.paint_out(&styles::location(), &line(HEADER, None));
    for (cells, row) in cells.iter().zip(rows) {
        out.push('\n');
        out.push_str(&line(
            [
                &cells[0], &cells[1], &cells[2], &cells[3], &cells[4], &cells[5],
            ],
            Some(row.colour),
        ));
    }
    out
}

/// `Work 3, Other 1`.
fn sections_line(p: &PlanSummary) -> String {
    p.section_density
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                s.section.as_deref().unwrap_or("(before any heading)"),
                s.criteria
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn drift_note(p: &PlanSummary) -> Option<String> {
    if p.drift != crate::snapshot::DriftState::Drifted {
        return None;
    }
    Some(if p.drift_changed.is_empty() {
        "the plan differs from its snapshot outside its criteria (F14)".to_owned()
    } else {
        format!(
            "the plan differs from its snapshot in {} (F14)",
            p.drift_changed.join(", ")
        )
    })
}

/// The matrix as text: the task-scope table, the plan-level table, one line per plan, the
/// overall line and the verdict.
#[must_use]
pub fn table(m: &Matrix, printer: &Printer) -> String {
    let mut out = Vec::new();
    let (task, plan) = m.by_level();
    if !task.is_empty() {
        out.push(table_of(&task, printer));
    }
    if !plan.is_empty() {
        if !out.is_empty() {
            out.push(String::new());
        }
        out.push("Cross-cutting and system criteria (verified at plan level):".to_owned());
        out.push(table_of(&plan, printer));
    }
    if !out.is_empty() {
        out.push(String::new());
    }
    for p in &m.plans {
        let s = &p.summary;
        let mut line = format!(
            "{}: {}; density {} criteria per section ({})",
            p.plan,
            rate_line(s),
            density(s.density),
            sections_line(p),
        );
        if let Some(drift) = drift_note(p) {
            line.push_str("; ");
            line.push_str(&printer.paint_out(&styles::orange(), &drift));
        }
        if p.problems > 0 {
            let _ = write!(
                line,
                "; {} {} (`specproof lint {}`)",
                p.problems,
                plural(p.problems, "problem", "problems"),
                p.plan
            );
        }
        out.push(line);
    }
    let s = &m.overall;
    if m.plans.is_empty() {
        out.push("no plan files: nothing to judge".to_owned());
    } else {
        out.push(format!(
            "overall: {}; density {} criteria per section ({} {} in {} {})",
            rate_line(s),
            density(s.density),
            s.criteria,
            plural(s.criteria, "criterion", "criteria"),
            s.sections,
            plural(s.sections, "section", "sections"),
        ));
    }
    if !m.signatures_checked {
        out.push(
            "note: this machine has no signing key (.git/specproof/key): evidence signatures were not checked, only their facts"
                .to_owned(),
        );
    }
    out.push(verdict(m, printer));
    out.join("\n")
}

/// `ok: no critical criterion is RED or ORANGE` or `failed: 2 critical criteria are RED or
/// ORANGE: A-1, A-2`.
#[must_use]
pub fn verdict(m: &Matrix, printer: &Printer) -> String {
    let broken: Vec<&str> = m.broken_plans().map(|p| p.plan.as_str()).collect();
    if !broken.is_empty() {
        return format!(
            "{}: {} {} problems, so not every criterion can be judged: `specproof lint {}`",
            printer.paint_out(&styles::error(), "failed"),
            broken.join(", "),
            if broken.len() == 1 { "has" } else { "have" },
            broken.join(" ")
        );
    }
    let red: Vec<&str> = m.critical_red().map(|r| r.criterion.as_str()).collect();
    if red.is_empty() {
        format!(
            "{}: no critical criterion is RED or ORANGE",
            printer.paint_out(&styles::ok(), "ok")
        )
    } else {
        format!(
            "{}: {} critical {} RED or ORANGE: {}",
            printer.paint_out(&styles::error(), "failed"),
            red.len(),
            plural(red.len(), "criterion is", "criteria are"),
            red.join(", ")
        )
    }
}

/// The JSON document (see the README).
#[must_use]
pub fn json(m: &Matrix) -> serde_json::Value {
    serde_json::json!({
        "version": JSON_VERSION,
        "ok": m.ok(),
        "signatures_checked": m.signatures_checked,
        "summary": m.overall,
        "plans": m.plans,
        "criteria": m.rows,
        "warnings": m.warnings,
    })
}

/// The emoji of a colour, for markdown.
#[must_use]
pub fn emoji(colour: Colour) -> &'static str {
    match colour {
        Colour::Green => "🟢",
        Colour::Yellow => "🟡",
        Colour::Red => "🔴",
        Colour::Orange => "🟠",
        Colour::Grey => "⚪",
    }
}

/// A markdown table cell: one line, pipes escaped.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn markdown_rows(rows: &[&Row], out: &mut Vec<String>) {
    out.push("| criterion | plan | section | task | colour | reason |".to_owned());
    out.push("|---|---|---|---|---|---|".to_owned());
    for r in rows {
        out.push(format!(
            "| {} | {} | {} | {} | {} {} | {} |",
            cell(&r.criterion),
            cell(&r.plan),
            cell(r.section.as_deref().unwrap_or("-")),
            cell(&task_cell(r)),
            emoji(r.colour),
            r.colour.name(),
            cell(&r.reason),
        ));
    }
}

/// The matrix as markdown for a pull-request comment: a summary line with the rate, a table of
/// plans, the criteria, and the plan-level criteria apart.
#[must_use]
pub fn markdown(m: &Matrix) -> String {
    let s = &m.overall;
    let mut out = Vec::new();
    let colours = Colour::ALL
        .iter()
        .map(|c| format!("{} {} {}", emoji(*c), s.counts.get(*c), c.name()))
        .collect::<Vec<_>>()
        .join(" · ");
    let red: Vec<&str> = m.critical_red().map(|r| r.criterion.as_str()).collect();
    let verdict = if red.is_empty() {
        "✅ no critical criterion is red or orange".to_owned()
    } else {
        format!(
            "❌ {} critical {} red or orange: {}",
            red.len(),
            plural(red.len(), "criterion is", "criteria are"),
            red.join(", ")
        )
    };
    out.push(format!(
        "**Spec compliance: {}** ({} of {} {} green) · {colours} · density {} criteria per section · {verdict}",
        percent(s.rate),
        s.counts.green,
        s.criteria,
        plural(s.criteria, "criterion", "criteria"),
        density(s.density),
    ));
    if !m.plans.is_empty() {
        out.push(String::new());
        out.push("| plan | compliance | 🟢 | 🟡 | 🔴 | 🟠 | ⚪ | density (criteria per section) | drift |".to_owned());
        out.push("|---|---|---|---|---|---|---|---|---|".to_owned());
        for p in &m.plans {
            let ps = &p.summary;
            out.push(format!(
                "| {} | {} ({}/{}) | {} | {} | {} | {} | {} | {} ({}) | {} |",
                cell(&p.plan),
                percent(ps.rate),
                ps.counts.green,
                ps.criteria,
                ps.counts.green,
                ps.counts.yellow,
                ps.counts.red,
                ps.counts.orange,
                ps.counts.grey,
                density(ps.density),
                cell(&sections_line(p)),
                drift_note(p).map_or_else(|| "none".to_owned(), |d| cell(&d)),
            ));
        }
    }
    let (task, plan) = m.by_level();
    if !task.is_empty() {
        out.push(String::new());
        markdown_rows(&task, &mut out);
    }
    if !plan.is_empty() {
        out.push(String::new());
        out.push("**Cross-cutting and system criteria** (verified at plan level)".to_owned());
        out.push(String::new());
        markdown_rows(&plan, &mut out);
    }
    if !m.signatures_checked {
        out.push(String::new());
        out.push(
            "_Evidence signatures were not checked (no signing key on this machine): evidence was judged by its facts._"
                .to_owned(),
        );
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_cells_stay_in_their_column() {
        assert_eq!(cell("a | b\nc"), "a \\| b c");
    }

    #[test]
    fn numbers_are_shown_as_people_read_them() {
        assert_eq!(percent(Some(2.0 / 3.0)), "66.7%");
        assert_eq!(percent(Some(1.0)), "100.0%");
        assert_eq!(percent(None), "-");
        assert_eq!(density(Some(1.5)), "1.50");
        assert_eq!(density(None), "-");
    }
}
