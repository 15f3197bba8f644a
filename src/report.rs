//! What `verify` prints: the progress bar on a terminal, the table, the JSON document.

use std::io;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::printer::{Printer, styles};
use crate::task::Escalation;
use crate::verify::{Progress, Report, Row, RowResult, ShardReport};

/// A progress bar on stderr, drawn only when stderr is a terminal.
#[derive(Debug)]
pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    #[must_use]
    pub fn new(printer: &Printer) -> Self {
        let bar = if printer.progress() {
            ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("{spinner} verifying [{bar:30}] {pos}/{len} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        Self { bar }
    }

    /// Removes the bar before the report is printed.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for Bar {
    fn start(&self, to_run: u64) {
        self.bar.set_length(to_run);
        self.bar.enable_steady_tick(Duration::from_millis(120));
    }

    fn finished(&self, row: &Row) {
        self.bar.inc(1);
        self.bar.set_message(format!(
            "{} {}",
            row.task.as_deref().unwrap_or("plan"),
            row.criterion
        ));
    }

    fn waiting(&self, holder: &str) {
        // Not a bar line: it must reach people and logs alike.
        self.bar.suspend(|| {
            eprintln!("specproof: waiting for the lock held by {holder}");
        });
    }
}

fn duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else {
        // Tenths of a second; precision loss is irrelevant at display size.
        #[allow(clippy::cast_precision_loss)]
        let secs = ms as f64 / 1000.0;
        format!("{secs:.1}s")
    }
}

fn result_text(row: &Row) -> String {
    if row.cached {
        return "cached".into();
    }
    match row.failure_code {
        Some(code) => format!("{} {code}", row.result.name()),
        None => row.result.name().to_owned(),
    }
}

/// The detail, on one line and cut for a terminal table.
fn short(detail: &str) -> String {
    const MAX: usize = 160;
    let line = detail.lines().next().unwrap_or_default();
    let mut out: String = line.chars().take(MAX).collect();
    if line.chars().count() > MAX || detail.lines().nth(1).is_some() {
        out.push('…');
    }
    out
}

/// Counts of a report.
#[derive(Debug, Default, serde::Serialize)]
pub struct Summary {
    pub criteria: usize,
    pub passed: usize,
    pub cached: usize,
    pub failed: usize,
    pub inconclusive: usize,
    pub errors: usize,
}

#[must_use]
pub fn summary(report: &Report) -> Summary {
    let mut s = Summary {
        criteria: report.rows.len(),
        ..Summary::default()
    };
    for r in &report.rows {
        match r.result {
            RowResult::Pass => s.passed += 1,
            RowResult::Fail => s.failed += 1,
            RowResult::Inconclusive => s.inconclusive += 1,
            RowResult::Error => s.errors += 1,
        }
        s.cached += usize::from(r.cached);
    }
    s
}

/// Prints the report as JSON (the documented, stable document).
///
/// # Errors
/// When stdout cannot be written.
pub fn verify_json(report: &Report, printer: &Printer) -> io::Result<()> {
    let doc = serde_json::json!({
        "version": 1,
        "ok": report.ok() && report.errors.is_empty(),
        "summary": summary(report),
        "shard": report.shard,
        "results": report.rows,
        "tasks": report.tasks,
        "warnings": report.warnings,
        "errors": report.errors,
        "interrupted": report.interrupted,
    });
    printer.out(serde_json::to_string_pretty(&doc).map_err(io::Error::other)?)
}

/// Prints the report as a table, then warnings, task escalations and a summary.
///
/// # Errors
/// When stdout or stderr cannot be written.
pub fn verify_table(report: &Report, printer: &Printer, elapsed: Duration) -> io::Result<()> {
    for w in &report.warnings {
        printer.err(format!(
            "{}: {w}",
            printer.paint_err(&styles::warning(), "warning")
        ))?;
    }
    let header = ["TASK", "CRITERION", "PROOF", "RESULT", "TIME", "DETAIL"];
    let cells: Vec<[String; 6]> = report
        .rows
        .iter()
        .map(|r| {
            [
                r.task
                    .clone()
                    .unwrap_or_else(|| format!("plan:{}", r.plan.as_deref().unwrap_or_default())),
                r.criterion.clone(),
                r.proof.clone(),
                result_text(r),
                if r.cached || r.result == RowResult::Error {
                    "-".into()
                } else {
                    duration(r.duration_ms)
                },
                short(&r.detail),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |row: [&str; 6], result_style: Option<console::Style>| {
        let mut out = String::new();
        for (i, cell) in row.iter().enumerate() {
            let pad = widths[i].saturating_sub(cell.chars().count());
            let text = match (&result_style, i) {
                (Some(style), 3) => printer.paint_out(style, cell),
                _ => (*cell).to_owned(),
            };
            out.push_str(&text);
            if i + 1 < row.len() {
                out.push_str(&" ".repeat(pad + 2));
            }
        }
        out.trim_end().to_owned()
    };
    if !cells.is_empty() {
        // One write for the whole table: thousands of rows are not thousands of syscalls.
        let mut table = printer.paint_out(&styles::location(), &line(header, None));
        for (row, r) in cells.iter().zip(&report.rows) {
            let style = match r.result {
                RowResult::Pass => styles::ok(),
                RowResult::Inconclusive => styles::warning(),
                _ => styles::error(),
            };
            let cells: [&str; 6] = [&row[0], &row[1], &row[2], &row[3], &row[4], &row[5]];
            table.push('\n');
            table.push_str(&line(cells, Some(style)));
        }
        printer.out(table)?;
    }
    for t in &report.tasks {
        let what = match t.escalation {
            None => String::new(),
            Some(Escalation::Retry) => format!(
                "escalation retry: fix the failures and run `specproof verify --task {}` again",
                t.task
            ),
            Some(Escalation::Decompose) => {
                "escalation decompose: the task may be too big; split it into smaller tasks".into()
            }
            Some(Escalation::Reassign) => {
                "escalation reassign: hand the task to someone else".into()
            }
            Some(Escalation::Human) => format!(
                "escalation human: {} is now blocked (F6); a person decides with `specproof escalate --ack {} --by NAME --note TEXT`",
                t.task, t.task
            ),
        };
        printer.err(format!(
            "{}: attempt {} failed; {what} ({} updated)",
            t.task, t.attempts, t.file
        ))?;
    }
    for e in &report.errors {
        printer.err(format!(
            "{}: {e}",
            printer.paint_err(&styles::error(), "error")
        ))?;
    }
    for (plan, n) in &report.plan_level_not_selected {
        printer.err(format!(
            "note: {plan} has {n} cross-cutting or system {}: verify {} with `specproof verify --plan {plan}`",
            if *n == 1 { "criterion" } else { "criteria" },
            if *n == 1 { "it" } else { "them" },
        ))?;
    }
    let s = summary(report);
    let mut parts = vec![format!("{} passed", s.passed)];
    if s.cached > 0 {
        parts[0] = format!("{} passed ({} cached)", s.passed, s.cached);
    }
    for (n, what) in [
        (s.failed, "failed"),
        (s.inconclusive, "inconclusive"),
        (s.errors, "not verifiable"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    let verdict = if report.interrupted {
        printer.paint_out(&styles::error(), "interrupted")
    } else if report.ok() {
        printer.paint_out(&styles::ok(), "ok")
    } else {
        printer.paint_out(&styles::error(), "failed")
    };
    let n = s.criteria;
    if let Some(shard) = &report.shard {
        printer.out(shard_line(shard))?;
    }
    printer.out(format!(
        "{verdict}: {n} {}: {} in {}",
        if n == 1 { "criterion" } else { "criteria" },
        parts.join(", "),
        duration(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)),
    ))?;
    if n == 0 && !report.interrupted {
        let line = match &report.shard {
            Some(shard) if shard.unsharded_criteria > 0 => format!(
                "nothing to verify in shard {}/{}: the other shards hold the run's {}",
                shard.index,
                shard.count,
                counted(shard.unsharded_criteria)
            ),
            _ => "nothing to verify: no task that is not complete holds a criterion".to_owned(),
        };
        printer.out(line)?;
    }
    Ok(())
}

/// `shard 2/3: 5 of 14 criteria`.
fn shard_line(shard: &ShardReport) -> String {
    format!(
        "shard {}/{}: {} of {}",
        shard.index,
        shard.count,
        shard.criteria,
        counted(shard.unsharded_criteria)
    )
}

fn counted(n: usize) -> String {
    format!("{n} {}", if n == 1 { "criterion" } else { "criteria" })
}
