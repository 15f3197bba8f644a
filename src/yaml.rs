//! Helpers over `serde_yaml` values: parse errors with positions, type names, key lookup.

use serde_yaml::{Mapping, Value};

use crate::diagnostic::{Diagnostic, FailureCode, Pos, Rule};

/// A YAML parse error placed in the file: `first_line` is the file line of the YAML's first line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub pos: Pos,
    pub message: String,
}

/// Parses one YAML document.
///
/// # Errors
/// A [`YamlError`] with the position in the file and `serde_yaml`'s message.
pub fn parse(src: &str, first_line: usize) -> Result<Value, YamlError> {
    serde_yaml::from_str::<Value>(src).map_err(|e| {
        let pos = e.location().map_or(Pos::line(first_line), |l| {
            Pos::new(first_line + l.line().saturating_sub(1), l.column().max(1))
        });
        let message = strip_locations(&e.to_string());
        YamlError {
            pos,
            message: format!("invalid YAML: {message}"),
        }
    })
}

/// `serde_yaml`'s message without its ` at line N column M` parts: those count from the start of
/// the YAML, not of the file, and the diagnostic carries the file position already.
#[must_use]
pub fn strip_locations(message: &str) -> String {
    static LOCATION: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r" at line \d+ column \d+").expect("location regex is valid")
    });
    let text = LOCATION.replace_all(message, "").into_owned();
    if text.contains("u128") || text.contains("i128") {
        // serde_yaml cannot hold integers past 128 bits and says so in Rust terms.
        return "a number is too large".to_owned();
    }
    text
}

/// Parses front matter, which must be a mapping of fields; `Ok(None)` when it is empty.
/// `example` shows the expected shape in the message (`task_id: …`).
///
/// # Errors
/// A diagnostic (F8) placed in `file` when the YAML does not parse or is not a mapping.
pub fn front_matter(
    file: &str,
    src: &str,
    first_line: usize,
    example: &str,
) -> Result<Option<Mapping>, Box<Diagnostic>> {
    let value = parse(src, first_line).map_err(|e| {
        Box::new(Diagnostic::new(
            file,
            e.pos,
            FailureCode::F8,
            Rule::ParseError,
            e.message,
        ))
    })?;
    match value {
        Value::Mapping(map) => Ok(Some(map)),
        Value::Null => Ok(None),
        other => Err(Box::new(not_a_mapping(file, first_line, example, &other))),
    }
}

/// The diagnostic for front matter that is not a mapping of fields.
#[must_use]
pub fn not_a_mapping(file: &str, first_line: usize, example: &str, value: &Value) -> Diagnostic {
    Diagnostic::new(
        file,
        Pos::line(first_line),
        FailureCode::F8,
        Rule::ParseError,
        format!(
            "front matter must be a mapping of fields{example}, found {}",
            kind(value)
        ),
    )
}

/// A short name of the value's type for messages ("a list", "text").
#[must_use]
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing (null)",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// A scalar as text: strings as they are, numbers and booleans written out. None for the rest.
#[must_use]
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The keys of a mapping that are text, with the value; non-text keys are returned separately.
#[must_use]
pub fn entries(map: &Mapping) -> (Vec<(&str, &Value)>, Vec<&Value>) {
    let mut text = Vec::new();
    let mut other = Vec::new();
    for (k, v) in map {
        match k {
            Value::String(s) => text.push((s.as_str(), v)),
            other_key => other.push(other_key),
        }
    }
    (text, other)
}

/// Finds where `key:` is written in `lines` (the first line numbered `first_line`), searching from
/// line index `from` up to `to` (exclusive). Returns the 1-based position of the key.
#[must_use]
pub fn find_key(
    lines: &[&str],
    first_line: usize,
    from: usize,
    to: usize,
    key: &str,
) -> Option<Pos> {
    if key.is_empty() {
        return None;
    }
    let to = to.min(lines.len());
    for (offset, line) in lines.get(from..to)?.iter().enumerate() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let mut start = 0;
        while let Some(found) = line[start..].find(key) {
            let at = start + found;
            let before_ok = at == 0 || line[..at].ends_with([' ', '\t', '{', ',', '-', '"', '\'']);
            let rest = line[at + key.len()..]
                .trim_start_matches(['"', '\''])
                .trim_start();
            if before_ok && rest.starts_with(':') {
                let column = line[..at].chars().count() + 1;
                let column = if line[..at].ends_with(['"', '\'']) {
                    column - 1
                } else {
                    column
                };
                return Some(Pos::new(first_line + from + offset, column));
            }
            start = at + key.len();
        }
    }
    None
}

/// Converts a YAML value to JSON for canonical comparison and digests: mapping keys become text,
/// tags are dropped, non-finite floats become strings.
#[must_use]
pub fn to_json(value: &Value) -> serde_json::Value {
    match value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into()
            } else if let Some(u) = n.as_u64() {
                u.into()
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or_else(
                        || serde_json::Value::String(n.to_string()),
                        serde_json::Value::Number,
                    )
            }
        }
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Sequence(seq) => seq.iter().map(to_json).collect(),
        Value::Mapping(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                let key =
                    scalar_text(k).unwrap_or_else(|| serde_yaml::to_string(k).unwrap_or_default());
                out.insert(key, to_json(v));
            }
            serde_json::Value::Object(out)
        }
        Value::Tagged(t) => to_json(&t.value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_are_placed_in_the_file() {
        let err = parse("a: 1\nb: [1,\n", 10).unwrap_err();
        assert!(err.pos.line >= 11, "{err:?}");
        assert!(err.message.starts_with("invalid YAML"), "{}", err.message);
        assert!(!err.message.contains(" at line "), "{}", err.message);
        for huge in [
            "min: 99999999999999999999999999\n",
            "min: -99999999999999999999999999\n",
        ] {
            let err = parse(huge, 1).unwrap_err();
            assert_eq!(err.message, "invalid YAML: a number is too large", "{huge}");
        }
        let err = parse("a:\n  - [1,\n  b: 2\n", 1).unwrap_err();
        assert!(
            !err.message.contains(" at line "),
            "every location is dropped: {}",
            err.message
        );
    }

    #[test]
    fn keys_are_found_in_flow_and_block_style() {
        let lines = ["- id: A", "  args: { path: x, pattern: \"y\" }"];
        assert_eq!(find_key(&lines, 5, 0, 2, "pattern"), Some(Pos::new(6, 20)));
        assert_eq!(find_key(&lines, 5, 0, 2, "id"), Some(Pos::new(5, 3)));
        assert_eq!(find_key(&lines, 5, 0, 2, "nothing"), None);
        let commented = ["# timeout: 5", "timeout: 0"];
        assert_eq!(
            find_key(&commented, 1, 0, 2, "timeout"),
            Some(Pos::new(2, 1)),
            "comments are skipped"
        );
        assert_eq!(
            find_key(&lines, 5, 0, 2, ""),
            None,
            "an empty key is never found (and never loops)"
        );
    }
}
