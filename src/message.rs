//! Commit messages as git keeps them (SPEC §7 commit-msg). The commit-msg hook gets the file the
//! editor saved, with git's comment lines and, after `git commit -v`, the diff below the scissors
//! line; [`clean`] removes them as `git commit --cleanup=strip` does, and [`clean_as`] cleans as
//! each of git's cleanup modes does, so that only the words that will be in history are judged.

/// The scissors line of `git commit -v`, after the comment prefix and a space.
pub const SCISSORS: &str = "------------------------ >8 ------------------------";

/// The characters `core.commentChar=auto` picks from, in git's order.
pub const AUTO_CANDIDATES: [char; 10] = ['#', ';', '@', '!', '$', '%', '^', '&', '|', ':'];

/// `raw` cleaned as `git commit --cleanup=strip` cleans it, with `comment_char` as git's
/// `core.commentChar` (see [`comment_char`] to resolve it).
///
/// Everything from the scissors line (`<comment_char> ------------------------ >8
/// ------------------------`, exactly; a trailing carriage return is allowed) down is removed,
/// then lines that start with the comment character (at the first column) are removed, trailing
/// whitespace is stripped from each line, blank lines at the start and end are removed and runs of
/// blank lines become one. Lines end with `\n` (also when `raw` has CRLF line ends), the last one
/// too, as in git; a message with nothing left is empty.
pub fn clean(raw: &str, comment_char: char) -> String {
    let mut buf = [0; 4];
    clean_with_prefix(raw, comment_char.encode_utf8(&mut buf))
}

/// [`clean`] with a comment prefix of any length: git's `core.commentString` (git 2.45 and
/// later) may be several characters. An empty prefix removes no lines as comments.
pub fn clean_with_prefix(raw: &str, prefix: &str) -> String {
    clean_as(raw, prefix, Cleanup::Strip, true)
}

/// How git cleans a commit message: `git commit --cleanup=<mode>` or `commit.cleanup`
/// (git's `COMMIT_MSG_CLEANUP_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cleanup {
    /// Comment lines go, and whitespace is tidied: git's default for a message from the editor.
    Strip,
    /// Only whitespace is tidied: git's default for a message given with `-m`, `-F` or `-C`.
    Whitespace,
    /// Nothing changes.
    Verbatim,
    /// Everything from the scissors line down goes, then whitespace is tidied (comment lines
    /// above it stay).
    Scissors,
}

impl Cleanup {
    /// The mode git uses for `mode` as given (`--cleanup` or `commit.cleanup`; `None` when
    /// neither is), when the message is written in the editor or not (sequencer.c
    /// `get_cleanup_mode`): `default` is strip from the editor and whitespace otherwise;
    /// `scissors` without the editor is whitespace. `None` for a mode git refuses.
    pub fn resolve(mode: Option<&str>, editor: bool) -> Option<Self> {
        Some(match mode {
            None | Some("default") if editor => Self::Strip,
            Some("scissors") if editor => Self::Scissors,
            None | Some("default" | "whitespace" | "scissors") => Self::Whitespace,
            Some("strip") => Self::Strip,
            Some("verbatim") => Self::Verbatim,
            Some(_) => return None,
        })
    }
}

/// `raw` cleaned as git cleans a commit message in `mode`, with `prefix` as its comment prefix:
/// first, when `verbose` (`git commit -v`, or `commit.verbose`) or in scissors mode, everything
/// from the scissors line (see [`clean`]) down is removed; then, in strip mode, the lines that
/// start with `prefix`; then, in every mode but verbatim, whitespace is tidied as [`clean`]
/// tidies it. An empty prefix removes nothing as a comment and cuts nothing.
pub fn clean_as(raw: &str, prefix: &str, mode: Cleanup, verbose: bool) -> String {
    let cut = if !prefix.is_empty() && (verbose || mode == Cleanup::Scissors) {
        let scissors = format!("{prefix} {SCISSORS}");
        let mut end = raw.len();
        let mut at = 0;
        for line in raw.split_inclusive('\n') {
            let bare = line.strip_suffix('\n').unwrap_or(line);
            if bare.strip_suffix('\r').unwrap_or(bare) == scissors {
                end = at;
                break;
            }
            at += line.len();
        }
        &raw[..end]
    } else {
        raw
    };
    match mode {
        Cleanup::Verbatim => cut.to_owned(),
        Cleanup::Strip => stripspace(cut, prefix),
        Cleanup::Whitespace | Cleanup::Scissors => stripspace(cut, ""),
    }
}

/// git's stripspace: lines starting with `comment` removed (none when it is empty), trailing
/// whitespace stripped from each line, blank lines at the start and end removed and runs of
/// blank lines made one; every line ends with `\n`.
fn stripspace(raw: &str, comment: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut blank_before = false;
    for line in raw.split('\n') {
        if !comment.is_empty() && line.starts_with(comment) {
            continue;
        }
        // git's isspace: space, tab, CR (and LF, which split already took).
        let line = line.trim_end_matches([' ', '\t', '\r']);
        if line.is_empty() {
            blank_before = true;
            continue;
        }
        if blank_before && !out.is_empty() {
            out.push('\n');
        }
        blank_before = false;
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The comment character git uses for the message `raw` in `repo`: the first character of
/// [`comment_prefix`] (a multi-character `core.commentString` is best passed whole to
/// [`clean_with_prefix`]).
pub fn comment_char(repo: &git2::Repository, raw: &str) -> char {
    comment_prefix(repo, raw).chars().next().unwrap_or('#')
}

/// The comment prefix git uses for the message `raw` in `repo`, from `core.commentChar` and
/// `core.commentString` (the one set last wins, as in git); `#` when neither is set or the
/// config cannot be read. For `auto` see [`auto_comment_char`].
///
/// libgit2 reads the repository, global and system config files, not `git -c` settings passed
/// down to hooks in `GIT_CONFIG_PARAMETERS`.
pub fn comment_prefix(repo: &git2::Repository, raw: &str) -> String {
    repo.config().map_or_else(
        |_| "#".to_owned(),
        |config| prefix_from_config(&config, raw),
    )
}

/// [`comment_prefix`] from an opened config.
pub fn prefix_from_config(config: &git2::Config, raw: &str) -> String {
    let mut value = None;
    if let Ok(mut entries) = config.entries(Some(r"^core\.comment(char|string)$")) {
        // Entries come lowest priority first (system, global, local), each file in order: the
        // last one is the one git uses.
        while let Some(Ok(entry)) = entries.next() {
            if let Ok(v) = entry.value() {
                value = Some(v.to_owned());
            }
        }
    }
    value.map_or_else(|| "#".to_owned(), |v| prefix_from_value(&v, raw))
}

/// The comment prefix `core.commentChar` or `core.commentString` set to `value` stands for in
/// the message `raw`.
pub fn prefix_from_value(value: &str, raw: &str) -> String {
    if value.eq_ignore_ascii_case("auto") {
        auto_comment_char(raw).to_string()
    } else if !value.is_empty() && !value.contains('\n') {
        value.to_owned()
    } else {
        // git refuses an empty value or one with a newline; it then has no comment prefix to
        // use, so fall back to its default.
        "#".to_owned()
    }
}

/// The character `core.commentChar=auto` stands for in the message file `raw`.
///
/// git picks the first of `#;@!$%^&|:` that starts no line of the message it started from, then
/// writes its own comment lines with it; the hook sees the result, where the picked character
/// does start lines. So the picked character is recognised in this order:
/// 1. the character of a scissors line (`git commit -v`);
/// 2. the character starting the last non-blank line (git appends its comments), when each
///    candidate before it in git's order starts some line, as it must have for git to skip it;
/// 3. otherwise the first candidate that starts no line: git's own choice for a message without
///    comments (`git commit -m`). `#` when every candidate starts a line (git gives up then).
pub fn auto_comment_char(raw: &str) -> char {
    let mut starts: Vec<char> = Vec::new();
    let mut at_start = true;
    for c in raw.chars() {
        if at_start && AUTO_CANDIDATES.contains(&c) && !starts.contains(&c) {
            starts.push(c);
        }
        // git counts a line start after a CR too.
        at_start = c == '\n' || c == '\r';
    }
    let lines = || raw.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    for line in lines() {
        if let Some(c) = line.chars().next()
            && AUTO_CANDIDATES.contains(&c)
            && line[c.len_utf8()..] == format!(" {SCISSORS}")
        {
            return c;
        }
    }
    let last = lines()
        .map(|l| l.trim_end_matches([' ', '\t', '\r']))
        .rfind(|l| !l.is_empty())
        .and_then(|l| l.chars().next());
    if let Some(c) = last
        && let Some(rank) = AUTO_CANDIDATES.iter().position(|x| *x == c)
        && AUTO_CANDIDATES[..rank].iter().all(|x| starts.contains(x))
    {
        return c;
    }
    AUTO_CANDIDATES
        .into_iter()
        .find(|c| !starts.contains(c))
        .unwrap_or('#')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::sh;

    const VERBOSE: &str = "Add the login endpoint\n\nThe handler checks the password hash.\n\n\
# Please enter the commit message for your changes. Lines starting\n\
# with '#' will be ignored, and an empty message aborts the commit.\n\
#\n# On branch main\n# Changes to be committed:\n#\tmodified:   src/todo.rs\n#\n\
# ------------------------ >8 ------------------------\n\
# Do not modify or remove the line above.\n\
# Everything below it will be ignored.\n\
diff --git a/src/todo.rs b/src/todo.rs\n\
index 1234567..89abcde 100644\n\
--- a/src/todo.rs\n\
+++ b/src/todo.rs\n\
@@ -1,2 +1,3 @@\n\
+// TODO: this should work for now, fix later\n\
 fn main() {}\n";

    #[test]
    fn a_verbose_message_loses_the_diff_and_the_comments() {
        assert_eq!(
            clean(VERBOSE, '#'),
            "Add the login endpoint\n\nThe handler checks the password hash.\n"
        );
    }

    #[test]
    fn the_scissors_line_must_match_exactly() {
        // With another comment character, `# ----- >8 -----` is an ordinary comment line and the
        // diff below it stays, as in git.
        let cleaned = clean(VERBOSE, ';');
        assert!(cleaned.contains("+// TODO: this should work"), "{cleaned}");
        assert!(cleaned.contains("# with '#'"), "{cleaned}");
        // A scissors line with more or fewer dashes, or text after it, does not cut.
        for almost in [
            "# ----------------------- >8 ------------------------",
            "# ------------------------ >8 ------------------------ x",
            "#------------------------ >8 ------------------------",
        ] {
            let raw = format!("subject\n{almost}\nbelow\n");
            assert_eq!(clean(&raw, '#'), "subject\nbelow\n", "{almost}");
        }
        // Not at the first column: neither scissors nor a comment.
        let raw = format!("subject\n # {SCISSORS}\nbelow\n");
        assert_eq!(clean(&raw, '#'), raw);
        // At the very first line it cuts everything.
        assert_eq!(clean(&format!("# {SCISSORS}\nbelow\n"), '#'), "");
    }

    #[test]
    fn comment_lines_go_even_when_they_hold_phrases() {
        let raw =
            "Fix the parser\n# TODO: should work for now\n#probably\n  # kept: not at the start\n";
        assert_eq!(
            clean(raw, '#'),
            "Fix the parser\n  # kept: not at the start\n"
        );
    }

    #[test]
    fn a_message_without_comments_keeps_its_text() {
        assert_eq!(
            clean(
                "\n\n  Subject  \n\n\n\nBody line 1\t\nBody line 2\n\n\n",
                '#'
            ),
            "  Subject\n\nBody line 1\nBody line 2\n"
        );
        assert_eq!(
            clean("no newline at the end", '#'),
            "no newline at the end\n"
        );
        assert_eq!(clean("", '#'), "");
        assert_eq!(clean("# only\n#comments\n\n", '#'), "");
    }

    #[test]
    fn a_semicolon_comment_char() {
        let raw = "Subject\n; a comment\n# not a comment now\n\n; ------------------------ >8 ------------------------\ndiff\n";
        assert_eq!(clean(raw, ';'), "Subject\n# not a comment now\n");
    }

    #[test]
    fn crlf_line_ends() {
        let raw = "Subject\r\n\r\n\r\nBody\r\n# comment\r\n# ------------------------ >8 ------------------------\r\ndiff TODO\r\n";
        assert_eq!(clean(raw, '#'), "Subject\n\nBody\n");
    }

    #[test]
    fn a_multi_character_comment_string() {
        assert_eq!(
            clean_with_prefix(
                "a\n// gone\n/ kept\n// ------------------------ >8 ------------------------\nb\n",
                "//"
            ),
            "a\n/ kept\n"
        );
        assert_eq!(clean_with_prefix("# a\n", ""), "# a\n");
    }

    #[test]
    fn the_same_as_git_stripspace() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (raw, c) in [
            ("\n\n a \t\n\n\n#x\nb  \n\n\n", '#'),
            ("x\r\n\r\n;y\r\nz\r\n", ';'),
            ("#\n#\n", '#'),
            ("t\n\n\n\n@\n@ c\n  u\n", '@'),
            ("é\u{a0}\n\n\x0b\nend", '#'),
        ] {
            std::fs::write(dir.path().join("msg"), raw).expect("write");
            let git = std::process::Command::new("git")
                .args(["-c", &format!("core.commentChar={c}"), "stripspace", "-s"])
                .stdin(std::fs::File::open(dir.path().join("msg")).expect("open"))
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("HOME", dir.path())
                .output()
                .expect("git stripspace");
            assert_eq!(
                clean(raw, c),
                String::from_utf8_lossy(&git.stdout),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn auto_picks_what_git_picked() {
        // `git commit -m`: no comments; git picks the first candidate that starts no line.
        assert_eq!(auto_comment_char("Fix\n\nsee #12\n"), '#');
        assert_eq!(auto_comment_char("Fix\n#12 closed\n\nBody\n"), ';');
        assert_eq!(auto_comment_char("Fix\n#12\n;x\nend\n"), '@');
        // A `-m` message whose last line starts with a candidate git cannot have picked.
        assert_eq!(auto_comment_char("Fix\n\n; note\n"), '#');
        // One whose last line could be git's comment is read as such (as with the default `#`).
        assert_eq!(auto_comment_char("Fix\n#12 closed\n"), '#');
        // The editor: git's comments, written with the picked character, come last.
        assert_eq!(
            auto_comment_char("Fix\n\n#12 closed\n\n; Please enter the commit message\n;\n"),
            ';'
        );
        assert_eq!(
            auto_comment_char("Fix\n\n# Please enter the commit message\n#\n"),
            '#'
        );
        // `git commit -v`: the scissors line names it.
        assert_eq!(
            auto_comment_char(&format!("Fix\n#1\n; x\n\n; {SCISSORS}\ndiff\n+#x\n")),
            ';'
        );
        let all: String = AUTO_CANDIDATES.iter().flat_map(|c| [*c, '\n']).collect();
        assert_eq!(auto_comment_char(&format!("{all}end\n")), '#');
    }

    #[test]
    fn the_comment_char_comes_from_the_repository_config() {
        let dir = tempfile::tempdir().expect("tempdir");
        sh(dir.path(), "git init -q repo", &[]);
        let repo = git2::Repository::open(dir.path().join("repo")).expect("open");
        let set = |key: &str, value: &str| {
            sh(
                &dir.path().join("repo"),
                &format!("git config {key} '{value}'"),
                &[],
            );
        };
        set("core.commentChar", ";");
        assert_eq!(comment_char(&repo, "x\n"), ';');
        set("core.commentChar", "auto");
        assert_eq!(comment_char(&repo, "x\n#1\nbody\n"), ';');
        assert_eq!(comment_char(&repo, "x\n"), '#');
        set("core.commentString", "//");
        assert_eq!(comment_prefix(&repo, "x\n"), "//");
        assert_eq!(comment_char(&repo, "x\n"), '/');
        // The key written last wins, whichever of the two it is, as in git.
        sh(
            &dir.path().join("repo"),
            "git config --unset core.commentChar && git config core.commentChar %",
            &[],
        );
        assert_eq!(comment_prefix(&repo, "x\n"), "%");
        let git = sh(
            &dir.path().join("repo"),
            "printf '%% a\\n// b\\n' | git stripspace -s",
            &[],
        );
        assert_eq!(git, "// b");
    }

    #[test]
    fn a_local_setting_beats_a_global_one_and_unset_is_hash() {
        let dir = tempfile::tempdir().expect("tempdir");
        let global = dir.path().join("global");
        let local = dir.path().join("local");
        std::fs::write(&global, "[core]\n\tcommentString = //\n").expect("write");
        std::fs::write(&local, "[core]\n\tcommentChar = \";\"\n").expect("write");
        let mut config = git2::Config::new().expect("config");
        config
            .add_file(&local, git2::ConfigLevel::Local, false)
            .expect("local");
        config
            .add_file(&global, git2::ConfigLevel::Global, false)
            .expect("global");
        assert_eq!(prefix_from_config(&config, "x"), ";");
        let empty = git2::Config::new().expect("config");
        assert_eq!(prefix_from_config(&empty, "x"), "#");
    }

    #[test]
    fn the_cleanup_mode_is_resolved_as_git_resolves_it() {
        use Cleanup::{Scissors, Strip, Verbatim, Whitespace};
        for (mode, editor, expected) in [
            (None, true, Some(Strip)),
            (None, false, Some(Whitespace)),
            (Some("default"), true, Some(Strip)),
            (Some("default"), false, Some(Whitespace)),
            (Some("strip"), false, Some(Strip)),
            (Some("whitespace"), true, Some(Whitespace)),
            (Some("verbatim"), true, Some(Verbatim)),
            (Some("scissors"), true, Some(Scissors)),
            (Some("scissors"), false, Some(Whitespace)),
            (Some("Strip"), true, None),
            (Some("verb"), true, None),
            (Some(""), true, None),
        ] {
            assert_eq!(
                Cleanup::resolve(mode, editor),
                expected,
                "{mode:?} {editor}"
            );
        }
    }

    #[test]
    fn each_cleanup_mode() {
        let raw = "\n Subject \n# kept unless strip\n\n\nbody\n# ------------------------ >8 ------------------------\nbelow TODO\n\n";
        assert_eq!(
            clean_as(raw, "#", Cleanup::Whitespace, false),
            " Subject\n# kept unless strip\n\nbody\n# ------------------------ >8 ------------------------\nbelow TODO\n"
        );
        assert_eq!(
            clean_as(raw, "#", Cleanup::Whitespace, true),
            " Subject\n# kept unless strip\n\nbody\n"
        );
        assert_eq!(
            clean_as(raw, "#", Cleanup::Scissors, false),
            " Subject\n# kept unless strip\n\nbody\n"
        );
        // Without -v, git's strip mode removes the scissors line as a comment, not what is below.
        assert_eq!(
            clean_as(raw, "#", Cleanup::Strip, false),
            " Subject\n\nbody\nbelow TODO\n"
        );
        assert_eq!(
            clean_as(raw, "#", Cleanup::Strip, true),
            " Subject\n\nbody\n"
        );
        assert_eq!(clean_as(raw, "#", Cleanup::Verbatim, false), raw);
        assert_eq!(
            clean_as(raw, "#", Cleanup::Verbatim, true),
            "\n Subject \n# kept unless strip\n\n\nbody\n"
        );
        assert_eq!(
            clean_with_prefix(raw, "#"),
            clean_as(raw, "#", Cleanup::Strip, true)
        );
    }

    #[test]
    fn each_cleanup_mode_as_git_commits_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        sh(dir.path(), "git init -q r", &[]);
        let repo = dir.path().join("r");
        let raw = "\n Subject \t\n# comment\n\n\nbody\n;x\n# ------------------------ >8 ------------------------\nbelow\n\n";
        std::fs::write(dir.path().join("msg"), raw).expect("write");
        for (mode, cleanup) in [
            ("strip", Cleanup::Strip),
            ("whitespace", Cleanup::Whitespace),
            ("verbatim", Cleanup::Verbatim),
        ] {
            for verbose in [false, true] {
                std::fs::write(
                    dir.path().join("ours"),
                    clean_as(raw, "#", cleanup, verbose),
                )
                .expect("write");
                let v = if verbose { "-v" } else { "" };
                // The message git committed, byte for byte, against ours (cmp fails the script).
                sh(
                    &repo,
                    &format!(
                        "git -c user.name=a -c user.email=a@b -c commit.gpgsign=false commit -q \
                         --allow-empty --cleanup={mode} {v} -F ../msg && git cat-file commit HEAD \
                         | sed '1,/^$/d' | cmp - ../ours >&2"
                    ),
                    &[],
                );
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn clean_is_idempotent(
            raw in "(#|;| |\t|\r|\n|a|b|TODO|# ------------------------ >8 ------------------------\n)*",
            c in proptest::sample::select(vec!['#', ';', ' ', 'a']),
        ) {
            let once = clean(&raw, c);
            proptest::prop_assert_eq!(clean(&once, c), once.clone());
            proptest::prop_assert!(once.is_empty() || once.ends_with('\n'));
        }

        #[test]
        fn clean_is_idempotent_on_any_text(raw in proptest::prelude::any::<String>(), c in proptest::char::any()) {
            let once = clean(&raw, c);
            proptest::prop_assert_eq!(clean(&once, c), once.clone());
        }
    }
}
