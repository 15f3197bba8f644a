//! The rationalization corpus (SPEC §1 `rationalization`, §6.1 G3, §7 commit-msg): phrases that
//! offer assurance instead of evidence ("should work", "for now", "TODO"), found in commit
//! messages and in a task's Self-Review and Status Update.

use std::sync::LazyLock;

use regex::{Regex, RegexBuilder};

/// The default phrases. Each one says that something was assumed, deferred, cut short or not
/// checked, where a finished and proven task would say what was run and what it showed.
pub const DEFAULT_PHRASES: &[&str] = &[
    // Assurance in place of a result.
    "should work",
    "should be fine",
    "should be ok",
    "should pass",
    "might work",
    "seems to work",
    "appears to work",
    "mostly works",
    "works for me",
    "works on my machine",
    "probably",
    "hopefully",
    "presumably",
    "I think",
    "I believe",
    "I assume",
    "I guess",
    "I hope",
    "not sure",
    "in theory",
    "looks good",
    // Work put off.
    "for now",
    "for the time being",
    "temporarily",
    "later",
    "follow-up",
    "follow up",
    "will fix",
    "TODO",
    "FIXME",
    "TBD",
    "WIP",
    // Less than what was asked.
    "quick fix",
    "quick and dirty",
    "basic implementation",
    "good enough",
    "hack",
    "hacky",
    "workaround",
    "placeholder",
    "stub",
    "stubbed",
    "not implemented",
    "partially implemented",
    // Checks left out.
    "skip",
    "skipped",
    "not tested",
    "untested",
    "tested manually",
    "manually tested",
];

/// A compiled corpus: the default phrases and those of `rationalization.phrases`.
#[derive(Debug, Clone)]
pub struct Corpus {
    phrases: Vec<String>,
    regex: Regex,
}

/// One phrase found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The corpus phrase, as the corpus writes it.
    pub phrase: String,
    /// The text as written (its case, its whitespace; it may span lines).
    pub matched: String,
    /// 1-based line within the text where the match starts.
    pub line: usize,
    /// 1-based column of the match's first character, counted in characters (not bytes).
    pub column: usize,
}

/// Why `phrase` cannot be part of a corpus, if it cannot.
pub fn phrase_problem(phrase: &str) -> Option<String> {
    if phrase.trim().is_empty() {
        Some("is empty".to_owned())
    } else {
        None
    }
}

impl Corpus {
    /// The default phrases plus `extra` (from `rationalization.phrases`). Phrases match
    /// case-insensitively and as whole words: "skip" does not match "skipper", "TODO" does not
    /// match "TODOS", "follow-up" matches "Follow-up". Phrases are literal text; whitespace inside
    /// a phrase matches any run of whitespace, line breaks included; whitespace around a phrase is
    /// ignored. A phrase given twice (in any case) counts once.
    ///
    /// # Errors
    /// An empty phrase, or phrases too many or too long to compile.
    pub fn new(extra: &[String]) -> Result<Self, String> {
        let mut phrases: Vec<String> = Vec::new();
        for phrase in DEFAULT_PHRASES
            .iter()
            .copied()
            .chain(extra.iter().map(String::as_str))
        {
            if let Some(problem) = phrase_problem(phrase) {
                return Err(format!(
                    "phrase {phrase:?} {problem}: remove it or write the phrase"
                ));
            }
            let phrase = phrase.split_whitespace().collect::<Vec<_>>().join(" ");
            if !phrases
                .iter()
                .any(|p| p.to_lowercase() == phrase.to_lowercase())
            {
                phrases.push(phrase);
            }
        }
        // One alternation, one group per phrase. At a place where several phrases match, the
        // regex takes the first alternative: the longest phrases come first so that it is the
        // longest match ("should work" and an extra "should" both match "should work").
        let mut order: Vec<usize> = (0..phrases.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(phrases[i].len()));
        let alternatives: Vec<String> = order
            .iter()
            .map(|&i| format!("({})", pattern(&phrases[i])))
            .collect();
        let phrases: Vec<String> = order.into_iter().map(|i| phrases[i].clone()).collect();
        let regex = RegexBuilder::new(&alternatives.join("|"))
            .case_insensitive(true)
            .build()
            .map_err(|e| match e {
                regex::Error::CompiledTooBig(_) => {
                    "the phrases are too many or too long to search for: remove some".to_owned()
                }
                other => format!("the phrases do not compile: {other}"),
            })?;
        Ok(Self { phrases, regex })
    }

    /// The phrases of the corpus, each once, longest first.
    pub fn phrases(&self) -> &[String] {
        &self.phrases
    }

    /// Every phrase in `text`, in text order. Matches do not overlap: where phrases overlap, the
    /// one starting first wins, and of those starting at the same place the longest.
    pub fn find(&self, text: &str) -> Vec<Hit> {
        let mut hits = Vec::new();
        // Line and column are counted forwards from the previous hit, not from the start.
        let (mut line, mut line_start, mut counted) = (1, 0, 0);
        for caps in self.regex.captures_iter(text) {
            let Some(whole) = caps.get(0) else { continue };
            let Some(index) = caps.iter().skip(1).position(|g| g.is_some()) else {
                continue;
            };
            let start = whole.start();
            for (at, _) in text[counted..start].match_indices('\n') {
                line += 1;
                line_start = counted + at + 1;
            }
            counted = start;
            hits.push(Hit {
                phrase: self.phrases[index].clone(),
                matched: whole.as_str().to_owned(),
                line,
                column: text[line_start..start].chars().count() + 1,
            });
        }
        hits
    }
}

/// A word character as `\b` counts them: the regex's `\w` (compiled only for a phrase that
/// starts or ends with a character that is not ASCII).
static WORD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\w$").expect("word regex is valid"));

fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || c == '_'
    } else {
        WORD.is_match(c.encode_utf8(&mut [0; 4]))
    }
}

/// Finds the phrases of the default corpus and `extra` in texts, compiling the corpus only for
/// a text that may hold one: most commit messages hold none, and compiling the corpus takes
/// longer than the rest of the commit-msg hook. A text may hold a phrase when the phrase's
/// longest word occurs in it, in any case; for a text or phrase that is not all ASCII (where
/// case folding reaches beyond ASCII) the answer is always yes. So [`Scanner::find`] finds
/// exactly what [`Corpus::find`] finds.
#[derive(Debug)]
pub struct Scanner<'a> {
    extra: &'a [String],
    /// Each phrase's longest word, lowercased; None when a phrase is not all ASCII.
    words: Option<Vec<String>>,
    corpus: std::cell::OnceCell<Result<Corpus, String>>,
}

impl<'a> Scanner<'a> {
    #[must_use]
    pub fn new(extra: &'a [String]) -> Self {
        let words = DEFAULT_PHRASES
            .iter()
            .copied()
            .chain(extra.iter().map(String::as_str))
            .map(|p| {
                p.is_ascii().then(|| {
                    p.split_whitespace()
                        .max_by_key(|w| w.len())
                        .unwrap_or("")
                        .to_ascii_lowercase()
                })
            })
            .collect();
        Self {
            extra,
            words,
            corpus: std::cell::OnceCell::new(),
        }
    }

    /// Whether `text` may hold a phrase (see [`Scanner`]).
    fn may_hold(&self, text: &str) -> bool {
        let Some(words) = &self.words else {
            return true;
        };
        if !text.is_ascii() {
            return true;
        }
        let lower = text.to_ascii_lowercase();
        words.iter().any(|w| lower.contains(w.as_str()))
    }

    /// What [`Corpus::find`] finds in `text`.
    ///
    /// # Errors
    /// The corpus does not compile (see [`Corpus::new`]).
    pub fn find(&self, text: &str) -> Result<Vec<Hit>, String> {
        if !self.may_hold(text) {
            return Ok(Vec::new());
        }
        match self.corpus.get_or_init(|| Corpus::new(self.extra)) {
            Ok(corpus) => Ok(corpus.find(text)),
            Err(e) => Err(e.clone()),
        }
    }
}

/// The regex for one phrase: its words literal, whitespace between them any run of whitespace,
/// word boundaries where the phrase starts or ends with a word character.
fn pattern(phrase: &str) -> String {
    let words: Vec<String> = phrase.split_whitespace().map(regex::escape).collect();
    let is_word = |c: Option<char>| c.is_some_and(is_word_char);
    let mut out = String::new();
    if is_word(phrase.chars().next()) {
        out.push_str(r"\b");
    }
    out.push_str(&words.join(r"\s+"));
    if is_word(phrase.chars().next_back()) {
        out.push_str(r"\b");
    }
    out
}

/// What to write instead of `phrase` (a corpus phrase, any case): evidence, not assurance.
pub fn advice(phrase: &str) -> String {
    let key = phrase
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    let shown = phrase.trim();
    match key.as_str() {
        "should work"
        | "should be fine"
        | "should be ok"
        | "should pass"
        | "might work"
        | "seems to work"
        | "appears to work"
        | "mostly works"
        | "works for me"
        | "works on my machine"
        | "looks good"
        | "in theory" => format!(
            "say what was run and what it showed (the proof's evidence), not that it {}",
            that_it(&key)
        ),
        "probably" | "hopefully" | "presumably" | "i think" | "i believe" | "i assume"
        | "i guess" | "i hope" | "not sure" => format!(
            "replace the belief (\"{shown}\") with what was checked: the command or proof that ran and what it showed"
        ),
        "for now" | "for the time being" | "temporarily" | "later" | "follow-up" | "follow up"
        | "will fix" | "todo" | "fixme" | "tbd" | "wip" => format!(
            "finish the work in this task, or write what is left as a criterion of a new task; \"{shown}\" leaves it unplanned and unproven"
        ),
        "quick fix"
        | "quick and dirty"
        | "basic implementation"
        | "good enough"
        | "hack"
        | "hacky"
        | "workaround"
        | "placeholder"
        | "stub"
        | "stubbed"
        | "not implemented"
        | "partially implemented" => format!(
            "build what the criterion asks and let its proof show it; \"{shown}\" says the work falls short of it"
        ),
        "skip" | "skipped" | "not tested" | "untested" | "tested manually" | "manually tested" => {
            format!(
                "run the checks (`specproof verify`) and cite what they showed; \"{shown}\" means there is no evidence"
            )
        }
        _ => format!("replace \"{shown}\" with evidence: what was run and what it showed"),
    }
}

/// The phrase as the end of "not that it …"
fn that_it(key: &str) -> String {
    match key {
        "in theory" => "works in theory".to_owned(),
        "works for me" | "works on my machine" => "works on your machine".to_owned(),
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> &'static Corpus {
        static CORPUS: std::sync::LazyLock<Corpus> =
            std::sync::LazyLock::new(|| Corpus::new(&[]).expect("the default corpus compiles"));
        &CORPUS
    }

    fn phrases(text: &str) -> Vec<String> {
        corpus().find(text).into_iter().map(|h| h.phrase).collect()
    }

    #[test]
    fn phrases_match_whole_words_only() {
        assert_eq!(phrases("skip the tests"), ["skip"]);
        assert!(phrases("the skipper hacked the stubborn TODOS").is_empty());
        assert!(phrases("collateral, translater, hackathon").is_empty());
        assert_eq!(phrases("TODO: x; (todo) todo."), ["TODO", "TODO", "TODO"]);
        assert_eq!(phrases("a_TODO b"), Vec::<String>::new());
    }

    #[test]
    fn case_does_not_matter() {
        let hits = corpus().find("It SHOULD Work. Probably.");
        assert_eq!(hits.len(), 2);
        assert_eq!(hits[0].phrase, "should work");
        assert_eq!(hits[0].matched, "SHOULD Work");
        assert_eq!(hits[1].phrase, "probably");
        assert_eq!(hits[1].matched, "Probably");
    }

    #[test]
    fn multi_word_phrases_match_across_a_line_break() {
        let hits = corpus().find("This should\n   work.\r\nAnd I\tthink so");
        assert_eq!(hits.len(), 2);
        assert_eq!(hits[0].matched, "should\n   work");
        assert_eq!((hits[0].line, hits[0].column), (1, 6));
        assert_eq!(hits[1].phrase, "I think");
        assert_eq!((hits[1].line, hits[1].column), (3, 5));
    }

    #[test]
    fn hyphenated_phrases() {
        assert_eq!(phrases("Follow-up: the errors"), ["follow-up"]);
        assert_eq!(phrases("a FOLLOW UP"), ["follow up"]);
        assert!(phrases("follow-ups, followup").is_empty());
    }

    #[test]
    fn lines_and_columns_count_characters() {
        let hits = corpus().find("é first\n\nünï: for now — later\n");
        let at: Vec<(&str, usize, usize)> = hits
            .iter()
            .map(|h| (h.phrase.as_str(), h.line, h.column))
            .collect();
        assert_eq!(at, [("for now", 3, 6), ("later", 3, 16)]);
    }

    #[test]
    fn extra_phrases_extend_the_defaults() {
        let corpus = Corpus::new(&[
            "LGTM".to_owned(),
            "  ship   it ".to_owned(),
            "should".to_owned(),
            "c++ only".to_owned(),
            "todo".to_owned(),
        ])
        .expect("compiles");
        let hits = corpus.find("lgtm, Ship\nit. It should work, should it? C++ Only; TODO");
        let found: Vec<&str> = hits.iter().map(|h| h.phrase.as_str()).collect();
        assert_eq!(
            found,
            [
                "LGTM",
                "ship it",
                "should work",
                "should",
                "c++ only",
                "TODO"
            ]
        );
        assert_eq!(corpus.phrases().len(), DEFAULT_PHRASES.len() + 4);
        // Phrases are literal text, not regexes.
        let corpus = Corpus::new(&["a.c".to_owned(), "(x".to_owned()]).expect("compiles");
        assert_eq!(corpus.find("abc a.c (x").len(), 2);
    }

    #[test]
    fn an_empty_phrase_is_refused() {
        let err = Corpus::new(&["ok".to_owned(), "  ".to_owned()]).unwrap_err();
        assert_eq!(err, "phrase \"  \" is empty: remove it or write the phrase");
    }

    #[test]
    fn every_default_phrase_is_found_in_itself_and_has_its_own_advice() {
        let corpus = corpus();
        for phrase in DEFAULT_PHRASES {
            let hits = corpus.find(&format!("x {phrase} y"));
            assert_eq!(hits.len(), 1, "{phrase}");
            assert_eq!(hits[0].phrase, *phrase);
            let generic =
                format!("replace \"{phrase}\" with evidence: what was run and what it showed");
            assert_ne!(advice(phrase), generic, "{phrase}");
            assert_ne!(
                advice(&phrase.to_uppercase()),
                generic.replace(phrase, &phrase.to_uppercase()),
                "{phrase}"
            );
        }
    }

    #[test]
    fn advice_asks_for_evidence() {
        assert_eq!(
            advice("should work"),
            "say what was run and what it showed (the proof's evidence), not that it should work"
        );
        assert!(advice("TODO").contains("new task"));
        assert!(advice("skipped").contains("specproof verify"));
        assert_eq!(
            advice("ship it"),
            "replace \"ship it\" with evidence: what was run and what it showed"
        );
    }

    /// Where `line` and `column` point in `text`, as a byte offset.
    fn offset(text: &str, line: usize, column: usize) -> Option<usize> {
        let mut start = 0;
        for _ in 1..line {
            start += text[start..].find('\n')? + 1;
        }
        let skip = text[start..]
            .char_indices()
            .nth(column - 1)
            .map(|(i, _)| i)?;
        Some(start + skip)
    }

    #[test]
    fn the_scanner_compiles_the_corpus_only_for_a_text_that_may_hold_a_phrase() {
        let extra = ["ship it".to_owned()];
        let scanner = Scanner::new(&extra);
        assert_eq!(scanner.find("add a line to the parser"), Ok(Vec::new()));
        assert!(scanner.corpus.get().is_none(), "compiled for nothing");
        // "Shipping" holds "ship" but not the phrase: compiled, and nothing found.
        assert_eq!(scanner.find("Shipping it"), Ok(Vec::new()));
        assert!(scanner.corpus.get().is_some());
        let hits = scanner.find("SHIP  IT, fix later").expect("compiles");
        let found: Vec<&str> = hits.iter().map(|h| h.phrase.as_str()).collect();
        assert_eq!(found, ["ship it", "later"]);
        // Not all ASCII: always compiled.
        let unicode = Scanner::new(&[]);
        assert_eq!(unicode.find("café"), Ok(Vec::new()));
        assert!(unicode.corpus.get().is_some());
        let bad = ["  ".to_owned()];
        assert!(Scanner::new(&bad).find("TODO").is_err());
    }

    proptest::proptest! {
        #[test]
        fn hits_are_where_they_say(text in "((should|work|TODO|later|skip|I|think|follow|-|up|é|x)( |\n|\r\n|\t|,|-|_)?)*") {
            let corpus = corpus();
            for hit in corpus.find(&text) {
                let at = offset(&text, hit.line, hit.column);
                proptest::prop_assert!(at.is_some_and(|at| text[at..].starts_with(&hit.matched)), "{hit:?} in {text:?}");
            }
        }

        #[test]
        fn the_scanner_finds_what_the_corpus_finds(
            text in "((should|work|WORKS|for|me|now|TODO|later|skip|I|think|follow|-|up|é|ſkip|K|hack|x)( |\n|\t|,|-|_)?)*",
            extra in proptest::collection::vec("(ship it|later on|fast|é|Über)", 0..3),
        ) {
            let scanner = Scanner::new(&extra);
            let corpus = Corpus::new(&extra).expect("compiles");
            proptest::prop_assert_eq!(scanner.find(&text).expect("compiles"), corpus.find(&text));
        }

        #[test]
        fn find_never_panics(text in proptest::prelude::any::<String>()) {
            let corpus = corpus();
            for hit in corpus.find(&text) {
                let at = offset(&text, hit.line, hit.column);
                proptest::prop_assert!(at.is_some_and(|at| text[at..].starts_with(&hit.matched)), "{hit:?} in {text:?}");
            }
        }
    }
}
