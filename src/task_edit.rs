//! Editing the fields specproof owns in a task's front matter (`attempts`, `escalation`, `status`
//! when it blocks a task, `acks`), changing no other byte of the file: the value after `key:` on
//! that key's line is replaced (a trailing comment and the line ending are kept), a missing key is
//! added as the last line of the front matter. The result is parsed again and must say exactly
//! what was meant, else nothing is written.

use std::io::Write;
use std::path::Path;

use crate::criterion::Ctx;
use crate::task::{Ack, Task, TaskMeta};

/// The lines of `src` with their endings, and the index of the front matter's closing line.
fn front_matter(src: &str) -> Result<(Vec<&str>, usize), String> {
    let lines: Vec<&str> = src.split_inclusive('\n').collect();
    if lines.first().map(|l| l.trim_end()) != Some("---") {
        return Err("the file does not start with a front matter line ---".into());
    }
    let close = lines
        .iter()
        .enumerate()
        .skip(1)
        .find(|(_, l)| matches!(l.trim_end(), "---" | "..."))
        .map(|(i, _)| i)
        .ok_or("the front matter is never closed")?;
    Ok((lines, close))
}

fn ending(line: &str) -> &str {
    if line.ends_with("\r\n") {
        "\r\n"
    } else if line.ends_with('\n') {
        "\n"
    } else {
        ""
    }
}

/// The index of the line `key:` at the start of the front matter's top level.
fn key_line(lines: &[&str], close: usize, key: &str) -> Option<usize> {
    (1..close).find(|&i| {
        lines[i]
            .strip_prefix(key)
            .is_some_and(|rest| rest.starts_with(':'))
    })
}

/// Lines after `at` that continue its value (indented, or block-sequence items).
fn continuation(lines: &[&str], close: usize, at: usize) -> usize {
    (at + 1..close)
        .take_while(|&i| {
            let l = lines[i];
            l.starts_with([' ', '\t']) || l.starts_with("- ") || l.trim_end() == "-"
        })
        .count()
}

/// Sets scalar `key` to `value` (YAML text) in the front matter of `src`.
///
/// # Errors
/// When the front matter cannot be edited line by line (no front matter, or the key's value spans
/// several lines).
pub fn set_field(src: &str, key: &str, value: &str) -> Result<String, String> {
    // A byte-order mark stays where it is.
    if let Some(rest) = src.strip_prefix('\u{feff}') {
        return set_field(rest, key, value).map(|t| format!("\u{feff}{t}"));
    }
    let (mut lines, close) = front_matter(src)?;
    let line;
    if let Some(i) = key_line(&lines, close, key) {
        if continuation(&lines, close, i) > 0 {
            return Err(format!("`{key}` spans several lines"));
        }
        let rest = &lines[i][key.len() + 1..];
        let body = rest.trim_end_matches(['\r', '\n']);
        // The comment keeps the spaces that separate it from the value.
        let comment = body
            .find(" #")
            .map(|at| body[body[..at].trim_end().len()..].trim_end())
            .unwrap_or_default();
        line = format!("{key}: {value}{comment}{}", ending(lines[i]));
        lines[i] = &line;
    } else {
        let eol = match ending(lines[close - 1]) {
            "" => "\n",
            e => e,
        };
        line = format!("{key}: {value}{eol}");
        lines.insert(close, &line);
    }
    Ok(lines.concat())
}

/// A YAML double-quoted scalar (JSON strings are valid ones).
fn quoted(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

/// Appends `ack` to the `acks` list of the front matter of `src`.
///
/// # Errors
/// When the front matter cannot be edited line by line.
pub fn append_ack(src: &str, ack: &Ack) -> Result<String, String> {
    if let Some(rest) = src.strip_prefix('\u{feff}') {
        return append_ack(rest, ack).map(|t| format!("\u{feff}{t}"));
    }
    let (mut lines, close) = front_matter(src)?;
    let item = |indent: &str, eol: &str| {
        format!(
            "{indent}- {{ by: {}, at: {}, note: {}, attempts: {}{} }}{eol}",
            quoted(&ack.by),
            quoted(&ack.at),
            quoted(&ack.note),
            ack.attempts,
            ack.signature
                .as_ref()
                .map(|s| format!(", signature: {}", quoted(s)))
                .unwrap_or_default()
        )
    };
    let text;
    if let Some(i) = key_line(&lines, close, "acks") {
        let eol = match ending(lines[i]) {
            "" => "\n",
            e => e,
        };
        let inline = lines[i]["acks:".len()..].trim();
        let inline = inline.split(" #").next().unwrap_or_default().trim();
        if inline == "[]" || inline == "null" || inline == "~" {
            text = format!("acks:{eol}{}", item("  ", eol));
            lines[i] = &text;
        } else if inline.is_empty() {
            let n = continuation(&lines, close, i);
            let indent: String = lines.get(i + 1).filter(|_| n > 0).map_or_else(
                || "  ".to_owned(),
                |l| l.chars().take_while(|c| *c == ' ').collect(),
            );
            text = item(&indent, eol);
            lines.insert(i + 1 + n, &text);
        } else {
            return Err("`acks` is not a block list".into());
        }
    } else {
        let eol = match ending(lines[close - 1]) {
            "" => "\n",
            e => e,
        };
        text = format!("acks:{eol}{}", item("  ", eol));
        lines.insert(close, &text);
    }
    Ok(lines.concat())
}

/// Parsing only to read the front matter back: patterns are not compiled.
pub const QUICK: Ctx<'static> = Ctx {
    root: None,
    quick_regex: true,
};

/// Parses an edited task and checks that its front matter is `want`.
///
/// # Errors
/// When the edit did not produce `want` (nothing must then be written).
pub fn check(rel: &str, edited: &str, want: &TaskMeta) -> Result<(), String> {
    match &Task::meta_only(rel, edited.as_bytes()) {
        Some(meta) if meta == want => Ok(()),
        _ => Err("the edited front matter would not read back as intended".into()),
    }
}

/// What to tell a person whose front matter specproof cannot edit line by line.
pub const BLOCK_STYLE: &str = "write the front matter in block style, one `key: value` per line (`attempts: 0`), not as a `{ … }` mapping";

/// Checks, before any proof runs, that a failed attempt could be recorded in `src`: the same
/// edits as a real one, read back.
///
/// # Errors
/// Why the file cannot be edited.
pub fn check_editable(rel: &str, src: &str, meta: &TaskMeta) -> Result<(), String> {
    // The most a failed attempt writes: attempts, escalation, and status at human.
    let mut want = meta.clone();
    want.attempts += 1;
    want.escalation = Some(crate::task::Escalation::Human);
    want.status = crate::task::Status::Blocked;
    let unedited =
        |e: String| format!("the front matter cannot be edited line by line ({e}): {BLOCK_STYLE}");
    let mut text = set_field(src, "attempts", &want.attempts.to_string()).map_err(unedited)?;
    text = set_field(&text, "escalation", "human").map_err(unedited)?;
    text = set_field(&text, "status", "blocked").map_err(unedited)?;
    check(rel, &text, &want).map_err(unedited)
}

/// Replaces the file `root/rel` with `text` atomically, keeping its permissions. A symlinked
/// file stays a link: its target is replaced.
///
/// # Errors
/// When the file cannot be written; the old file is then intact.
pub fn write(root: &Path, rel: &str, text: &str) -> std::io::Result<()> {
    let target = std::fs::canonicalize(root.join(rel)).unwrap_or_else(|_| root.join(rel));
    let dir = target.parent().unwrap_or(root);
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    if let Ok(meta) = std::fs::metadata(&target) {
        tmp.as_file().set_permissions(meta.permissions())?;
    }
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(&target).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = "---\r\ntask_id: T-1   # the id\r\nplan_file: p.md\r\nstatus: in_progress\r\nattempts: 0 # written by specproof\r\n---\r\n## Source\r\nattempts: 0\r\n";

    #[test]
    fn a_field_is_replaced_keeping_comment_and_line_ending() {
        let out = set_field(SRC, "attempts", "1").unwrap();
        assert_eq!(out, SRC.replacen("attempts: 0 #", "attempts: 1 #", 1));
        // The body's look-alike line is untouched.
        assert!(out.ends_with("## Source\r\nattempts: 0\r\n"));
    }

    #[test]
    fn a_missing_field_is_added_before_the_closing_line() {
        let out = set_field(SRC, "escalation", "retry").unwrap();
        assert_eq!(
            out,
            SRC.replacen(
                "specproof\r\n---",
                "specproof\r\nescalation: retry\r\n---",
                1
            )
        );
    }

    #[test]
    fn acks_are_appended_as_a_block_list() {
        let ack = Ack {
            by: "Ana".into(),
            at: "2026-11-22T00:00:00Z".into(),
            note: "split it: \"T-2\" takes the parser".into(),
            attempts: 4,
            signature: None,
        };
        let once = append_ack(SRC, &ack).unwrap();
        let twice = append_ack(
            &once,
            &Ack {
                attempts: 8,
                signature: Some("hmac-sha256:00ff".into()),
                ..ack.clone()
            },
        )
        .unwrap();
        let task = Task::parse("t/T-1.md", twice.as_bytes(), Ctx::default());
        let meta = task.meta.expect("parses");
        assert_eq!(meta.acks.len(), 2);
        assert_eq!(meta.acks[0], ack);
        assert_eq!(meta.acks[1].attempts, 8);
        assert!(twice.ends_with("---\r\n## Source\r\nattempts: 0\r\n"));
    }

    #[test]
    fn a_byte_order_mark_is_kept_and_flow_style_is_refused_before_any_proof_runs() {
        let with_bom = format!("\u{feff}{SRC}");
        let out = set_field(&with_bom, "attempts", "1").unwrap();
        assert_eq!(out, with_bom.replacen("attempts: 0 #", "attempts: 1 #", 1));
        let task = Task::parse("t/T-1.md", with_bom.as_bytes(), Ctx::default());
        check_editable("t/T-1.md", &with_bom, task.meta.as_ref().unwrap()).unwrap();

        let flow = "---\n{task_id: T-1, plan_file: p.md, status: in_progress, attempts: 0}\n---\n";
        let task = Task::parse("t/T-1.md", flow.as_bytes(), Ctx::default());
        let err = check_editable("t/T-1.md", flow, task.meta.as_ref().unwrap()).unwrap_err();
        assert!(err.contains("block style"), "{err}");
    }

    #[test]
    fn a_multi_line_value_is_refused() {
        let src = "---\ntask_id: T-1\nescalation:\n  retry\n---\n";
        assert!(set_field(src, "escalation", "null").is_err());
        assert!(set_field("no front matter\n", "attempts", "1").is_err());
    }
}
