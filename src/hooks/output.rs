//! How a hook shows what it found: for each problem the task, the gate or check, the criterion,
//! the failure code, the reason and the command that fixes it.

use std::fmt::Write as _;

use crate::gate::Problem;
use crate::printer::{Printer, styles};

/// The problems as lines for stderr, sorted by task, check and criterion.
#[must_use]
pub fn render(problems: &[Problem], printer: &Printer) -> String {
    render_with(problems, &|style, text| printer.paint_err(style, text))
}

/// [`render`] for stdout (coloured when stdout is a terminal).
#[must_use]
pub fn render_out(problems: &[Problem], printer: &Printer) -> String {
    render_with(problems, &|style, text| printer.paint_out(style, text))
}

fn render_with(problems: &[Problem], paint: &dyn Fn(&console::Style, &str) -> String) -> String {
    let mut sorted: Vec<&Problem> = problems.iter().collect();
    sorted.sort_by(|a, b| {
        (&a.task, a.check, &a.criterion, &a.file).cmp(&(&b.task, b.check, &b.criterion, &b.file))
    });
    let mut out = String::new();
    for p in sorted {
        let mut head = Vec::new();
        head.push(paint(&styles::error(), "✗"));
        if let Some(task) = &p.task {
            head.push(task.clone());
        }
        head.push(format!("[{}]", p.check.title()));
        if let Some(c) = &p.criterion {
            head.push(c.clone());
        }
        if let Some(code) = p.code {
            head.push(paint(&styles::error(), &format!("{code} {}", code.name())));
        }
        let _ = writeln!(out, "  {}", head.join(" "));
        let place = match (&p.file, p.line) {
            (Some(f), Some(l)) => format!("{f}:{l}: "),
            (Some(f), None) => format!("{f}: "),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "      {}{}",
            paint(&styles::location(), &place),
            p.reason
        );
        let _ = writeln!(out, "      {} {}", paint(&styles::hint(), "fix:"), p.fix);
    }
    out
}

/// The problems as ledger JSON.
#[must_use]
pub fn to_json(problems: &[Problem]) -> serde_json::Value {
    serde_json::to_value(problems).unwrap_or(serde_json::Value::Null)
}
