//! A small, line-based markdown scanner: ATX headings, fenced code blocks and front matter.
//! It knows just enough `CommonMark` to find what plans and tasks hold, and keeps every line number.

/// An ATX heading (`## Title`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heading {
    pub level: usize,
    pub text: String,
    /// 1-based line.
    pub line: usize,
}

/// A fenced code block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    /// The first word of the info string (`criteria` for criteria blocks).
    pub lang: String,
    /// Line of the opening fence.
    pub open_line: usize,
    /// The lines between the fences, joined with `\n`.
    pub body: String,
    /// Line of the first body line.
    pub body_line: usize,
    /// False when the document ends before the closing fence.
    pub closed: bool,
}

/// A line outside every fence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextLine<'a> {
    pub line: usize,
    pub text: &'a str,
}

/// What the scanner found.
#[derive(Debug, Default)]
pub struct Document<'a> {
    pub headings: Vec<Heading>,
    pub fences: Vec<Fence>,
    /// Lines outside fences (headings included), in order.
    pub text: Vec<TextLine<'a>>,
}

impl Document<'_> {
    /// The heading in force at `line`: the nearest one above it.
    #[must_use]
    pub fn heading_at(&self, line: usize) -> Option<&Heading> {
        self.headings.iter().take_while(|h| h.line <= line).last()
    }

    /// The line range `(first, last)` of the section under `heading`: up to the next heading of
    /// the same or a higher level, or the end of the document.
    #[must_use]
    pub fn section_range(&self, index: usize, last_line: usize) -> (usize, usize) {
        let heading = &self.headings[index];
        let end = self.headings[index + 1..]
            .iter()
            .find(|h| h.level <= heading.level)
            .map_or(last_line, |h| h.line - 1);
        (heading.line, end)
    }
}

struct OpenFence {
    marker: u8,
    len: usize,
    lang: String,
    open_line: usize,
    body: Vec<String>,
}

/// Scans `src`, numbering its first line `first_line`.
#[must_use]
pub fn scan(src: &str, first_line: usize) -> Document<'_> {
    let mut doc = Document::default();
    let mut open: Option<OpenFence> = None;
    for (i, raw) in src.split('\n').enumerate() {
        let line_no = first_line + i;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(fence) = open.as_mut() {
            if !is_closing_fence(line, fence.marker, fence.len) {
                fence.body.push(line.to_owned());
                continue;
            }
            if let Some(fence) = open.take() {
                doc.fences.push(finish(fence, true));
            }
            continue;
        }
        if let Some((marker, len, info)) = opening_fence(line) {
            let lang = info.split_whitespace().next().unwrap_or("").to_owned();
            open = Some(OpenFence {
                marker,
                len,
                lang,
                open_line: line_no,
                body: Vec::new(),
            });
            continue;
        }
        if let Some((level, text)) = atx_heading(line) {
            doc.headings.push(Heading {
                level,
                text,
                line: line_no,
            });
        }
        doc.text.push(TextLine {
            line: line_no,
            text: line,
        });
    }
    if let Some(fence) = open {
        doc.fences.push(finish(fence, false));
    }
    doc
}

fn finish(fence: OpenFence, closed: bool) -> Fence {
    Fence {
        lang: fence.lang,
        open_line: fence.open_line,
        body: fence.body.join("\n"),
        body_line: fence.open_line + 1,
        closed,
    }
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn opening_fence(line: &str) -> Option<(u8, usize, &str)> {
    if indent_of(line) > 3 {
        return None;
    }
    let rest = line.trim_start_matches(' ');
    let marker = *rest.as_bytes().first()?;
    if marker != b'`' && marker != b'~' {
        return None;
    }
    let len = rest.bytes().take_while(|&b| b == marker).count();
    if len < 3 {
        return None;
    }
    let info = rest[len..].trim();
    if marker == b'`' && info.contains('`') {
        return None;
    }
    Some((marker, len, info))
}

fn is_closing_fence(line: &str, marker: u8, len: usize) -> bool {
    if indent_of(line) > 3 {
        return false;
    }
    let rest = line.trim_start_matches(' ');
    let count = rest.bytes().take_while(|&b| b == marker).count();
    count >= len && rest[count..].trim().is_empty()
}

fn atx_heading(line: &str) -> Option<(usize, String)> {
    if indent_of(line) > 3 {
        return None;
    }
    let rest = line.trim_start_matches(' ');
    let level = rest.bytes().take_while(|&b| b == b'#').count();
    if !(1..=6).contains(&level) {
        return None;
    }
    let after = &rest[level..];
    if !after.is_empty() && !after.starts_with([' ', '\t']) {
        return None;
    }
    let mut text = after.trim();
    // A closing sequence of #s preceded by a space is not part of the text.
    let stripped = text.trim_end_matches('#');
    if stripped.is_empty() || stripped.ends_with([' ', '\t']) {
        text = stripped.trim_end();
    }
    Some((level, text.to_owned()))
}

/// Normalises a heading for case-insensitive matching: lower case, letters and digits only, so
/// that `Echo-Back`, `echo back` and `ECHO BACK` are the same section.
#[must_use]
pub fn heading_key(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// YAML front matter: the text between a first line `---` and the next `---` (or `...`) line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontMatter<'a> {
    pub yaml: &'a str,
    /// Line of the first YAML line (2).
    pub yaml_line: usize,
    pub body: &'a str,
    /// Line of the first body line.
    pub body_line: usize,
}

/// Front matter could not be split off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrontMatterError {
    /// The file does not start with a `---` line.
    Missing,
    /// The opening `---` has no closing line.
    Unclosed,
}

/// Splits the front matter off `src`.
///
/// # Errors
/// When the first line is not `---`, or no closing `---` / `...` line follows.
pub fn split_front_matter(src: &str) -> Result<FrontMatter<'_>, FrontMatterError> {
    let src_nobom = src.strip_prefix('\u{feff}').unwrap_or(src);
    let Some(first_end) = src_nobom.find('\n') else {
        return Err(FrontMatterError::Missing);
    };
    if src_nobom[..first_end].trim_end() != "---" {
        return Err(FrontMatterError::Missing);
    }
    let after = &src_nobom[first_end + 1..];
    let mut offset = 0;
    for (i, raw) in after.split('\n').enumerate() {
        let line = raw.trim_end();
        if line == "---" || line == "..." {
            let yaml = &after[..offset];
            let body_start = (offset + raw.len() + 1).min(after.len());
            return Ok(FrontMatter {
                yaml,
                yaml_line: 2,
                body: &after[body_start..],
                body_line: i + 3,
            });
        }
        offset += raw.len() + 1;
    }
    Err(FrontMatterError::Unclosed)
}

/// The text of a file, or a diagnostic saying why it is not text (NUL bytes, invalid UTF-8).
///
/// # Errors
/// A [`Diagnostic`] (F8) naming the file and the line of the first bad byte.
pub fn decode<'a>(
    file: &str,
    bytes: &'a [u8],
) -> Result<&'a str, Box<crate::diagnostic::Diagnostic>> {
    use crate::diagnostic::{Diagnostic, FailureCode, Pos, Rule};
    // Only on the error path: a plain count is fast enough.
    #[allow(clippy::naive_bytecount)]
    let line_of = |at: usize| bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return Err(Box::new(Diagnostic::new(
            file,
            Pos::line(line_of(at)),
            FailureCode::F8,
            Rule::NotText,
            "is a binary file (it holds NUL bytes), not markdown text: restore it from git or remove it",
        )));
    }
    std::str::from_utf8(bytes).map_err(|e| {
        Box::new(Diagnostic::new(
            file,
            Pos::line(line_of(e.valid_up_to())),
            FailureCode::F8,
            Rule::NotText,
            format!(
                "is not UTF-8 text (invalid byte at offset {}): save it as UTF-8",
                e.valid_up_to()
            ),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_headings_and_fences_with_lines() {
        let src =
            "# Plan\n\n## Auth ##\n```criteria\n- id: A\n```\n```\n# not a heading\n```\n### Next";
        let doc = scan(src, 1);
        let titles: Vec<_> = doc
            .headings
            .iter()
            .map(|h| (h.level, h.text.as_str(), h.line))
            .collect();
        assert_eq!(
            titles,
            vec![(1, "Plan", 1), (2, "Auth", 3), (3, "Next", 10)]
        );
        assert_eq!(doc.fences.len(), 2);
        assert_eq!(doc.fences[0].lang, "criteria");
        assert_eq!(doc.fences[0].body, "- id: A");
        assert_eq!(doc.fences[0].body_line, 5);
        assert!(doc.fences[0].closed);
        assert_eq!(doc.heading_at(5).map(|h| h.text.as_str()), Some("Auth"));
    }

    #[test]
    fn an_unclosed_fence_runs_to_the_end() {
        let doc = scan("````criteria\n- id: A\n```\n", 1);
        assert_eq!(doc.fences.len(), 1);
        assert!(!doc.fences[0].closed);
    }

    #[test]
    fn hashes_without_space_are_not_headings() {
        assert!(scan("#hashtag\n    # indented code", 1).headings.is_empty());
    }

    #[test]
    fn front_matter_is_split_with_line_numbers() {
        let fm = split_front_matter("---\na: 1\n---\nbody\n").expect("front matter");
        assert_eq!(fm.yaml, "a: 1\n");
        assert_eq!(fm.body, "body\n");
        assert_eq!(fm.body_line, 4);
        assert_eq!(split_front_matter("no\n"), Err(FrontMatterError::Missing));
        assert_eq!(
            split_front_matter("---\na: 1\n"),
            Err(FrontMatterError::Unclosed)
        );
    }

    #[test]
    fn heading_keys_ignore_case_and_punctuation() {
        assert_eq!(heading_key("Echo-Back"), heading_key("ECHO BACK"));
    }
}
