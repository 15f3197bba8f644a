//! How `git commit` was invoked. git tells a hook neither that it amends nor where the message
//! came from; the command line of the git process that runs the hook does (Linux: /proc). It is
//! read by git's own rules: git's global options come before the subcommand (`-C <path>` and
//! `-c <name>=<value>` take the next argument); commit's options may come in any order and
//! among the paths; an option that takes a value takes the rest of its argument or else the
//! next one, whatever it reads (`-m --amend` is a message); short options bundle (`-qam msg`);
//! a long option may be shortened to a prefix only it has (`--am` is `--amend`; git refuses an
//! ambiguous one such as `--a`); `--no-<name>` undoes `--<name>`, the last one wins; `--` and
//! `--end-of-options` end the options.

use std::path::Path;

/// What a `git commit` command line asks for, as far as the hooks need to know.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Commit {
    /// `--amend` (the last of `--amend` and `--no-amend`).
    pub amend: bool,
    /// `-e`/`--edit` (true) or `--no-edit` (false), the last one given.
    pub edit: Option<bool>,
    /// The message is given: `-m`/`--message`, `-F`/`--file` or `-C`/`--reuse-message` (each
    /// until its `--no-` form), or a plain `--fixup=<commit>`, whose message git writes.
    pub message_given: bool,
    /// `--cleanup=<mode>`, the last one given (`--no-cleanup` takes it back).
    pub cleanup: Option<String>,
    /// `-v`/`--verbose`, counted; `--no-verbose` makes it 0; `None` when neither is given.
    pub verbose: Option<u32>,
    /// `git -c <name>[=<value>]` before the subcommand, in order.
    pub config: Vec<(String, Setting)>,
}

/// A setting given with `git -c`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setting {
    /// `-c <name>=<value>`.
    Value(String),
    /// `-c <name>` without `=`: true for a boolean; git refuses it where it needs a string.
    Bare,
}

impl Commit {
    /// Whether git has the message written in the editor: not when it is given (`-m`, `-F`,
    /// `-C`, a plain `--fixup`), unless `-e`; never with `--no-edit` (git's builtin/commit.c).
    pub fn uses_editor(&self) -> bool {
        self.edit.unwrap_or(!self.message_given)
    }

    /// The setting `git -c` gives configuration `key` (a key without a subsection, such as
    /// `commit.cleanup`; the last one given), if it gives one.
    pub fn config_value(&self, key: &str) -> Option<&Setting> {
        self.config
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    }
}

/// The `git commit` command line of the git process this hook runs under, if it is one and can
/// be read: the nearest of four ancestors (git runs a hook directly; under a hook framework it
/// is a few processes further up) that is git, known by the file name of its executable
/// (`/proc/PID/exe`, which sees through a symlink with another name) or of its `argv[0]`.
/// `None` without /proc, when no ancestor is git, or when that git is not `git commit` (git
/// rebase, git merge, an alias) or its command line is one git would refuse.
pub fn commit_command(git: &git2::Repository) -> Option<Commit> {
    // git's aliases (`alias.<name>` of the repository's, global and system config; `git -c`
    // settings are looked at first): `git amend` with `alias.amend = commit --amend` is an
    // amend. A snapshot of the config, read only when an alias is met.
    let config = std::cell::OnceCell::new();
    let alias = |name: &str| -> Option<String> {
        config
            .get_or_init(|| git.config().and_then(|mut c| c.snapshot()).ok())
            .as_ref()?
            .get_string(&format!("alias.{name}"))
            .ok()
    };
    let mut pid = std::os::unix::process::parent_id();
    for _ in 0..4 {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let argv: Vec<&[u8]> = cmdline
            .strip_suffix(b"\0")
            .unwrap_or(&cmdline)
            .split(|b| *b == 0)
            .collect();
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
        let exe_name = exe.as_deref().and_then(Path::file_name).map(|n| {
            let n = n.as_encoded_bytes();
            // A binary replaced since it started (an upgrade) reads `git (deleted)`.
            n.strip_suffix(b" (deleted)").unwrap_or(n).to_vec()
        });
        if let Process::Git(found) = process(exe_name.as_deref(), &argv, &alias) {
            return found;
        }
        pid = parent_of(pid)?;
    }
    None
}

/// A process among the hook's ancestors.
#[derive(Debug, PartialEq, Eq)]
enum Process {
    /// git, with what its command line asks when it is a `git commit` git would run.
    Git(Option<Commit>),
    Other,
}

/// The process with executable file name `exe_name` and arguments `argv` (`argv[0]` first);
/// `alias` gives the value of `alias.<name>` in git's config.
fn process(
    exe_name: Option<&[u8]>,
    argv: &[&[u8]],
    alias: &dyn Fn(&str) -> Option<String>,
) -> Process {
    let program = argv
        .first()
        .map(|a| a.rsplit(|b| *b == b'/').next().unwrap_or(a));
    // `git-commit` (from git's exec path) is `git commit` without global options.
    if program == Some(b"git-commit") {
        return Process::Git(parse_commit(&argv[1..], Vec::new()));
    }
    if exe_name == Some(b"git") || program == Some(b"git") {
        return Process::Git(parse_git_with(argv.get(1..).unwrap_or_default(), alias));
    }
    Process::Other
}

/// The parent of process `pid`, from /proc/PID/stat (the field after the parenthesised name).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(1)?.parse().ok()
}

/// `git`'s arguments (after `argv[0]`): `Some` when they run `git commit` and git would accept
/// them.
#[cfg(test)]
pub fn parse_git(args: &[&[u8]]) -> Option<Commit> {
    parse_git_with(args, &|_| None)
}

/// [`parse_git`], where a subcommand that is not `commit` may be an alias: `alias(name)` gives
/// `alias.<name>` from git's config (a `git -c alias.<name>=…` on the command line wins). An
/// alias that runs a shell command (`!…`) is not followed; aliases of aliases are, a few deep.
pub fn parse_git_with(args: &[&[u8]], alias: &dyn Fn(&str) -> Option<String>) -> Option<Commit> {
    let mut config = Vec::new();
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        if !arg.starts_with(b"-") {
            if *arg == b"commit" {
                return parse_commit(&args[i + 1..], config);
            }
            return expand_alias(arg, &args[i + 1..], &config, alias).and_then(|expanded| {
                let words: Vec<&[u8]> = expanded.iter().map(Vec::as_slice).collect();
                parse_alias_words(&words, config, alias, 4)
            });
        }
        match *arg {
            b"-p"
            | b"--paginate"
            | b"-P"
            | b"--no-pager"
            | b"--no-lazy-fetch"
            | b"--no-replace-objects"
            | b"--bare"
            | b"--literal-pathspecs"
            | b"--no-literal-pathspecs"
            | b"--glob-pathspecs"
            | b"--noglob-pathspecs"
            | b"--icase-pathspecs"
            | b"--no-optional-locks"
            | b"--no-advice" => i += 1,
            b"-C" | b"--git-dir" | b"--work-tree" | b"--namespace" | b"--config-env"
            | b"--shallow-file" | b"--attr-source" | b"--super-prefix" => {
                args.get(i + 1)?;
                i += 2;
            }
            b"-c" => {
                let setting = args.get(i + 1)?;
                let text = String::from_utf8_lossy(setting);
                config.push(match text.split_once('=') {
                    Some((k, v)) => (k.to_owned(), Setting::Value(v.to_owned())),
                    None => (text.into_owned(), Setting::Bare),
                });
                i += 2;
            }
            _ if [
                "--exec-path=",
                "--git-dir=",
                "--work-tree=",
                "--namespace=",
                "--config-env=",
                "--attr-source=",
                "--super-prefix=",
            ]
            .iter()
            .any(|p| arg.starts_with(p.as_bytes())) =>
            {
                i += 1;
            }
            // `--help`, `--version`, `--exec-path`, `--list-cmds=…` and the like run no
            // commit; git refuses an unknown option.
            _ => return None,
        }
    }
    None
}

/// The words an alias named `name` expands to, followed by `rest`; None when `name` is no alias
/// or runs a shell command.
fn expand_alias(
    name: &[u8],
    rest: &[&[u8]],
    settings: &[(String, Setting)],
    alias: &dyn Fn(&str) -> Option<String>,
) -> Option<Vec<Vec<u8>>> {
    let name = std::str::from_utf8(name).ok()?;
    let key = format!("alias.{name}");
    let value = settings
        .iter()
        .rev()
        .find(|(k, _)| k.eq_ignore_ascii_case(&key))
        .and_then(|(_, v)| match v {
            Setting::Value(v) => Some(v.clone()),
            Setting::Bare => None,
        })
        .or_else(|| alias(name))?;
    if value.trim_start().starts_with('!') {
        return None;
    }
    let mut words = split_alias(&value)?;
    words.extend(rest.iter().map(|a| a.to_vec()));
    Some(words)
}

/// Follows the expansion of an alias: its first word is `commit` or another alias.
fn parse_alias_words(
    words: &[&[u8]],
    config: Vec<(String, Setting)>,
    alias: &dyn Fn(&str) -> Option<String>,
    depth: u8,
) -> Option<Commit> {
    let (first, rest) = words.split_first()?;
    if *first == b"commit" {
        return parse_commit(rest, config);
    }
    if depth == 0 || first.starts_with(b"-") {
        return None;
    }
    let expanded = expand_alias(first, rest, &config, alias)?;
    let words: Vec<&[u8]> = expanded.iter().map(Vec::as_slice).collect();
    parse_alias_words(&words, config, alias, depth - 1)
}

/// An alias's value split into words as git splits it: at whitespace, with single and double
/// quotes and backslashes (None on an unclosed quote, which git refuses too).
fn split_alias(value: &str) -> Option<Vec<Vec<u8>>> {
    let mut words = Vec::new();
    let mut word = Vec::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => word.extend_from_slice(c.to_string().as_bytes()),
            (_, '\\') => {
                let next = chars.next()?;
                word.extend_from_slice(next.to_string().as_bytes());
                in_word = true;
            }
            (_, c) => {
                word.extend_from_slice(c.to_string().as_bytes());
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return None;
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

/// What an option of `git commit` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Takes {
    Nothing,
    /// A value: the rest of the argument (`-mMSG`, `--message=MSG`) or else the next argument.
    Value,
    /// A value only in the same argument (`-Skey`, `--gpg-sign=key`).
    OptionalValue,
}

/// An option of `git commit` (builtin/commit.c, git 2.47 to 2.51).
#[derive(Clone, Copy)]
struct Opt {
    short: Option<u8>,
    long: &'static str,
    takes: Takes,
    /// git refuses `--no-<long>` (`PARSE_OPT_NONEG`).
    no_negation: bool,
}

const fn opt(short: u8, long: &'static str, takes: Takes) -> Opt {
    Opt {
        short: Some(short),
        long,
        takes,
        no_negation: false,
    }
}

const fn long(long: &'static str, takes: Takes) -> Opt {
    Opt {
        short: None,
        long,
        takes,
        no_negation: false,
    }
}

const fn no_negation(o: Opt) -> Opt {
    Opt {
        no_negation: true,
        ..o
    }
}

const OPTIONS: &[Opt] = &[
    opt(b'q', "quiet", Takes::Nothing),
    opt(b'v', "verbose", Takes::Nothing),
    opt(b'F', "file", Takes::Value),
    long("author", Takes::Value),
    long("date", Takes::Value),
    opt(b'm', "message", Takes::Value),
    opt(b'c', "reedit-message", Takes::Value),
    opt(b'C', "reuse-message", Takes::Value),
    long("fixup", Takes::Value),
    long("squash", Takes::Value),
    long("reset-author", Takes::Nothing),
    long("trailer", Takes::Value),
    opt(b's', "signoff", Takes::Nothing),
    opt(b't', "template", Takes::Value),
    opt(b'e', "edit", Takes::Nothing),
    long("cleanup", Takes::Value),
    long("status", Takes::Nothing),
    opt(b'S', "gpg-sign", Takes::OptionalValue),
    opt(b'a', "all", Takes::Nothing),
    opt(b'i', "include", Takes::Nothing),
    long("interactive", Takes::Nothing),
    opt(b'p', "patch", Takes::Nothing),
    // git 2.51 and later.
    no_negation(opt(b'U', "unified", Takes::Value)),
    no_negation(long("inter-hunk-context", Takes::Value)),
    opt(b'o', "only", Takes::Nothing),
    opt(b'n', "no-verify", Takes::Nothing),
    long("dry-run", Takes::Nothing),
    long("short", Takes::Nothing),
    long("branch", Takes::Nothing),
    long("ahead-behind", Takes::Nothing),
    long("porcelain", Takes::Nothing),
    long("long", Takes::Nothing),
    opt(b'z', "null", Takes::Nothing),
    long("amend", Takes::Nothing),
    long("no-post-rewrite", Takes::Nothing),
    opt(b'u', "untracked-files", Takes::OptionalValue),
    long("pathspec-from-file", Takes::Value),
    long("pathspec-file-nul", Takes::Nothing),
    long("allow-empty", Takes::Nothing),
    long("allow-empty-message", Takes::Nothing),
];

/// The arguments after `commit`, with the `git -c` settings before it: `Some` when git would
/// accept them.
pub fn parse_commit(args: &[&[u8]], config: Vec<(String, Setting)>) -> Option<Commit> {
    let mut state = State::default();
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        i += 1;
        if arg == b"--" || arg == b"--end-of-options" {
            break;
        }
        if let Some(name) = arg.strip_prefix(b"--") {
            let (index, unset, attached) = long_option(name)?;
            let o = &OPTIONS[index];
            let value = match (o.takes, unset, attached) {
                // git: "takes no value".
                (_, true, Some(_)) | (Takes::Nothing, false, Some(_)) => return None,
                (Takes::Value, false, None) => {
                    i += 1;
                    Some(*args.get(i - 1)?)
                }
                (_, _, attached) => attached,
            };
            state.apply(o.long, unset, value);
        } else if let Some(bundle) = arg.strip_prefix(b"-").filter(|b| !b.is_empty()) {
            // Short options, bundled: one that takes a value takes the rest.
            let mut rest = bundle;
            while let Some((&c, after)) = rest.split_first() {
                let o = OPTIONS.iter().find(|o| o.short == Some(c))?;
                rest = after;
                let value = match o.takes {
                    Takes::Nothing => None,
                    Takes::OptionalValue => Some(std::mem::take(&mut rest)),
                    Takes::Value if !rest.is_empty() => Some(std::mem::take(&mut rest)),
                    Takes::Value => {
                        i += 1;
                        Some(*args.get(i - 1)?)
                    }
                };
                state.apply(o.long, false, value);
            }
        }
        // Anything else (`-` too) is a path.
    }
    Some(state.finish(config))
}

/// The option a long argument (without its `--`) names, as git's `parse_long_opt` finds it: an
/// exact name, else the only option the argument is a prefix of; with whether it is the
/// `--no-` form, and the value after `=`. `None` for an unknown or ambiguous option.
fn long_option(arg: &[u8]) -> Option<(usize, bool, Option<&[u8]>)> {
    let end = arg.iter().position(|b| *b == b'=').unwrap_or(arg.len());
    let attached = (end < arg.len()).then(|| &arg[end + 1..]);
    let mut abbreviated: Option<(usize, bool)> = None;
    let mut ambiguous = false;
    let mut note = |found: (usize, bool)| {
        ambiguous |= abbreviated.is_some();
        abbreviated = Some(found);
    };
    for (index, o) in OPTIONS.iter().enumerate() {
        let mut name = o.long.as_bytes();
        // `--verify` is the negation of `--no-verify`.
        let mut negated_name = false;
        if !arg.starts_with(b"no-")
            && !o.no_negation
            && let Some(positive) = name.strip_prefix(b"no-")
        {
            name = positive;
            negated_name = true;
        }
        let Some(rest) = arg.strip_prefix(name) else {
            if name.starts_with(&arg[..end]) {
                note((index, negated_name));
                continue;
            }
            if o.no_negation {
                continue;
            }
            if b"no-".starts_with(arg) {
                note((index, !negated_name));
                continue;
            }
            let Some(after) = arg.strip_prefix(b"no-") else {
                continue;
            };
            if let Some(rest) = after.strip_prefix(name) {
                if !rest.is_empty() && rest[0] != b'=' {
                    continue;
                }
                return Some((index, !negated_name, attached));
            }
            if name.starts_with(after) {
                note((index, !negated_name));
            }
            continue;
        };
        if !rest.is_empty() && rest[0] != b'=' {
            continue;
        }
        return Some((index, negated_name, attached));
    }
    if ambiguous {
        return None;
    }
    abbreviated.map(|(index, unset)| (index, unset, attached))
}

/// The options read so far, as git keeps them.
#[derive(Default)]
struct State {
    amend: bool,
    edit: Option<bool>,
    /// Which of `message`, `file` and `reuse-message` are set.
    given: Vec<&'static str>,
    fixup: Option<Vec<u8>>,
    cleanup: Option<String>,
    verbose: Option<u32>,
}

impl State {
    fn apply(&mut self, long: &'static str, unset: bool, value: Option<&[u8]>) {
        match long {
            "amend" => self.amend = !unset,
            "edit" => self.edit = Some(!unset),
            "message" | "file" | "reuse-message" => {
                self.given.retain(|g| *g != long);
                if !unset {
                    self.given.push(long);
                }
            }
            "fixup" => self.fixup = value.filter(|_| !unset).map(<[u8]>::to_vec),
            "cleanup" => {
                self.cleanup = value
                    .filter(|_| !unset)
                    .map(|v| String::from_utf8_lossy(v).into_owned());
            }
            "verbose" => {
                self.verbose = Some(if unset {
                    0
                } else {
                    self.verbose.unwrap_or(0).saturating_add(1)
                });
            }
            _ => {}
        }
    }

    fn finish(self, config: Vec<(String, Setting)>) -> Commit {
        // `--fixup=amend:<commit>` and `--fixup=reword:<commit>` open the editor; a plain
        // `--fixup=<commit>` writes `fixup! <subject>` itself.
        let plain_fixup = self.fixup.is_some_and(|f| {
            let alpha = f.iter().take_while(|b| b.is_ascii_alphabetic()).count();
            !(alpha > 0 && f.get(alpha) == Some(&b':'))
        });
        Commit {
            amend: self.amend,
            edit: self.edit,
            message_given: !self.given.is_empty() || plain_fixup,
            cleanup: self.cleanup,
            verbose: self.verbose,
            config,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(line: &[&str]) -> Option<Commit> {
        let args: Vec<&[u8]> = line.iter().map(|a| a.as_bytes()).collect();
        parse_git(&args)
    }

    fn commit(line: &[&str]) -> Commit {
        let mut args = vec!["commit"];
        args.extend_from_slice(line);
        git(&args).unwrap_or_else(|| panic!("git would accept {line:?}"))
    }

    #[test]
    fn amend_is_an_option_not_a_value() {
        assert!(commit(&["--amend"]).amend);
        assert!(commit(&["-q", "--amend", "-m", "x"]).amend);
        assert!(commit(&["path", "--amend"]).amend, "options follow paths");
        assert!(!commit(&["-m", "--amend"]).amend);
        assert!(!commit(&["--message", "--amend"]).amend);
        assert!(!commit(&["--message=--amend"]).amend);
        assert!(!commit(&["-m--amend"]).amend);
        assert!(!commit(&["-qm", "--amend"]).amend);
        assert!(!commit(&["-F", "--amend"]).amend);
        assert!(!commit(&["--author", "--amend <a@b>", "-m", "x"]).amend);
        assert!(!commit(&["-C", "--amend"]).amend);
        assert!(!commit(&["-m", "x", "--", "--amend"]).amend, "a path");
        assert!(!commit(&["-m", "x", "--end-of-options", "--amend"]).amend);
        assert!(!commit(&["-m", "x", "-", "--no-amend"]).amend);
    }

    #[test]
    fn the_last_of_amend_and_no_amend_wins() {
        assert!(!commit(&["--amend", "--no-amend"]).amend);
        assert!(commit(&["--no-amend", "--amend"]).amend);
        assert!(!commit(&["--no-amend"]).amend);
        assert!(!commit(&["--amend", "--no-am"]).amend);
    }

    #[test]
    fn a_long_option_may_be_any_prefix_only_it_has() {
        for prefix in ["--am", "--ame", "--amen"] {
            assert!(commit(&[prefix]).amend, "{prefix}");
        }
        // --a and --al could be --all, --author, --allow-empty…: git refuses them.
        assert_eq!(git(&["commit", "--a"]), None);
        assert_eq!(git(&["commit", "--al"]), None);
        assert_eq!(git(&["commit", "--amend=yes"]), None, "takes no value");
        assert_eq!(git(&["commit", "--amendx"]), None, "unknown");
        assert!(!commit(&["--mess", "--amend"]).amend);
        assert!(!commit(&["--mess=--amend"]).amend);
        // An exact name wins over the longer names it is a prefix of.
        assert_eq!(commit(&["--allow-empty"]), commit(&[]));
        // `--verify` undoes `--no-verify`; `--no-v` is ambiguous (no-verify, no-verbose).
        assert!(git(&["commit", "--verify", "--amend"]).is_some_and(|c| c.amend));
        assert_eq!(git(&["commit", "--no-v"]), None);
    }

    #[test]
    fn attached_and_separate_values() {
        assert!(commit(&["-mfoo"]).message_given);
        assert!(commit(&["-F-"]).message_given);
        assert!(commit(&["-F", "-"]).message_given);
        assert!(commit(&["--file=msg.txt"]).message_given);
        assert!(commit(&["-C", "HEAD"]).message_given);
        assert!(commit(&["-CHEAD", "--amend"]).amend);
        assert!(!commit(&["-c", "HEAD"]).message_given, "-c edits it");
        assert!(!commit(&["--reedit-message=HEAD"]).message_given);
        // -S takes only an attached key: what follows is an option again.
        assert!(commit(&["-S", "--amend"]).amend);
        assert!(commit(&["-Skey", "--amend"]).amend);
        assert!(commit(&["--gpg-sign", "--amend"]).amend);
        assert!(!commit(&["-uno", "-m", "--amend"]).amend);
        // A value-taking option at the end has no value: git refuses.
        assert_eq!(git(&["commit", "-m"]), None);
        assert_eq!(git(&["commit", "--amend", "-qm"]), None);
        assert_eq!(git(&["commit", "-x"]), None, "unknown");
        assert_eq!(git(&["commit", "--no-message=x"]), None);
    }

    #[test]
    fn git_s_global_options_come_before_commit() {
        assert!(git(&["-c", "key=val", "commit", "--amend"]).is_some_and(|c| c.amend));
        assert!(
            git(&[
                "-C",
                "/repo",
                "--no-pager",
                "-p",
                "--git-dir",
                "commit",
                "--work-tree=/w",
                "--exec-path=/x",
                "--namespace",
                "n",
                "--bare",
                "--config-env",
                "a.b=ENV",
                "commit",
                "--am",
            ])
            .is_some_and(|c| c.amend),
            "a value of a global option is not the subcommand"
        );
        let c = git(&[
            "-c",
            "commit.cleanup=strip",
            "-c",
            "commit.verbose",
            "commit",
        ])
        .expect("commit");
        assert_eq!(
            c.config_value("Commit.Cleanup"),
            Some(&Setting::Value("strip".into()))
        );
        assert_eq!(c.config_value("commit.verbose"), Some(&Setting::Bare));
        assert_eq!(c.config_value("core.editor"), None);
        assert_eq!(git(&["-c", "commit"]), None, "-c took `commit`");
        assert_eq!(git(&["status", "--amend"]), None);
        assert_eq!(git(&["--amend", "commit"]), None, "unknown global option");
        assert_eq!(git(&["--exec-path", "commit"]), None, "prints and exits");
        assert_eq!(git(&["--version", "commit"]), None);
        assert_eq!(git(&["ci", "--amend"]), None, "an alias is not read");
        assert_eq!(git(&[]), None);
    }

    #[test]
    fn a_process_is_git_by_its_executable_or_its_name() {
        let amends = |p: Process| matches!(p, Process::Git(Some(c)) if c.amend);
        let argv: [&[u8]; 3] = [b"/tmp/vcs", b"commit", b"--amend"];
        assert!(amends(process(Some(&b"git"[..]), &argv, &|_| None)));
        assert_eq!(process(Some(&b"sh"[..]), &argv, &|_| None), Process::Other);
        let argv: [&[u8]; 2] = [b"/usr/lib/git-core/git-commit", b"--amend"];
        assert!(amends(process(None, &argv, &|_| None)));
        let argv: [&[u8]; 3] = [b"git", b"rebase", b"--continue"];
        assert_eq!(process(None, &argv, &|_| None), Process::Git(None));
    }

    #[test]
    fn the_editor_is_used_unless_the_message_is_given() {
        assert!(commit(&[]).uses_editor());
        assert!(commit(&["--amend"]).uses_editor());
        assert!(commit(&["-c", "HEAD"]).uses_editor());
        assert!(commit(&["--squash", "HEAD"]).uses_editor());
        assert!(commit(&["--fixup=amend:HEAD"]).uses_editor());
        assert!(commit(&["--fixup", "reword:HEAD"]).uses_editor());
        for given in [
            &["-m", "x"][..],
            &["--message=x"],
            &["-F", "msg"],
            &["--file", "-"],
            &["-C", "HEAD"],
            &["--reuse-message=HEAD"],
            &["--fixup", "HEAD"],
            &["--fixup=:HEAD"],
            &["--amend", "--no-edit"],
            &["-m", "x", "-e", "--no-edit"],
        ] {
            assert!(!commit(given).uses_editor(), "{given:?}");
        }
        for edited in [
            &["-m", "x", "-e"][..],
            &["-e", "-m", "x"],
            &["-F", "msg", "--edit"],
            &["-m", "x", "--no-message"],
            &["--no-edit", "-C", "HEAD", "--ed"],
        ] {
            assert!(commit(edited).uses_editor(), "{edited:?}");
        }
    }

    #[test]
    fn cleanup_and_verbose_as_given() {
        assert_eq!(commit(&[]).cleanup, None);
        assert_eq!(
            commit(&["--cleanup=verbatim"]).cleanup.as_deref(),
            Some("verbatim")
        );
        assert_eq!(
            commit(&["--clean", "strip", "--cleanup", "scissors"])
                .cleanup
                .as_deref(),
            Some("scissors")
        );
        assert_eq!(commit(&["--cleanup=strip", "--no-cleanup"]).cleanup, None);
        assert_eq!(commit(&[]).verbose, None);
        assert_eq!(commit(&["-vv", "-v"]).verbose, Some(3));
        assert_eq!(commit(&["-v", "--no-verbose"]).verbose, Some(0));
        assert_eq!(commit(&["-qvm", "-v"]).verbose, Some(1));
    }

    /// One piece of a generated `git commit` command line.
    #[derive(Debug, Clone)]
    enum Piece {
        Amend(&'static str),
        NoAmend(&'static str),
        Valued(&'static str, String),
        Flag(&'static str),
        Path(String),
    }

    fn piece() -> impl proptest::strategy::Strategy<Value = Piece> {
        use proptest::prelude::*;
        let text = "(--amend|--no-amend|-[a-z-]*|--|[^\0]{0,12})";
        prop_oneof![
            proptest::sample::select(vec!["--amend", "--am", "--ame"]).prop_map(Piece::Amend),
            proptest::sample::select(vec!["--no-amend", "--no-am"]).prop_map(Piece::NoAmend),
            (
                proptest::sample::select(vec![
                    "-m",
                    "-F",
                    "-C",
                    "-c",
                    "-t",
                    "--author",
                    "--date",
                    "--message",
                    "--file",
                    "--trailer",
                    "--squash",
                    "--fixup",
                    "--cleanup",
                    "--template",
                ]),
                text
            )
                .prop_map(|(o, v)| Piece::Valued(o, v)),
            proptest::sample::select(vec!["-q", "-v", "-a", "-s", "-n", "--no-edit", "-e", "-S"])
                .prop_map(Piece::Flag),
            "[a-z][a-z./]{0,8}".prop_map(Piece::Path),
        ]
    }

    proptest::proptest! {
        /// Whatever the values read, `--amend` counts only as an option, and the last of
        /// `--amend` and `--no-amend` wins; after `--`, nothing counts.
        #[test]
        fn only_the_last_amend_option_counts(
            pieces in proptest::collection::vec(piece(), 0..12),
            after in proptest::collection::vec("(--amend|--no-amend|-m|[a-z]+)", 0..4),
        ) {
            let mut line: Vec<String> = vec!["commit".into()];
            let mut expected = false;
            for p in &pieces {
                match p {
                    Piece::Amend(a) => { expected = true; line.push((*a).into()); }
                    Piece::NoAmend(a) => { expected = false; line.push((*a).into()); }
                    Piece::Valued(o, v) => { line.push((*o).into()); line.push(v.clone()); }
                    Piece::Flag(f) => line.push((*f).into()),
                    Piece::Path(p) => line.push(p.clone()),
                }
            }
            line.push("--".into());
            line.extend(after);
            let args: Vec<&[u8]> = line.iter().map(String::as_bytes).collect();
            let parsed = parse_git(&args);
            proptest::prop_assert!(parsed.is_some(), "{:?}", line);
            proptest::prop_assert_eq!(parsed.map(|c| c.amend), Some(expected), "{:?}", line);
        }

        /// A message given attached or separate reads the same, whatever it says.
        #[test]
        fn a_message_is_never_an_option(message in "[^\0]{1,20}") {
            let separate = commit(&["-m", &message]);
            let attached = commit(&[&format!("-m{message}")]);
            let long = commit(&[&format!("--message={message}")]);
            proptest::prop_assert!(!separate.amend && separate.message_given);
            proptest::prop_assert_eq!(&separate, &attached);
            proptest::prop_assert_eq!(&separate, &long);
        }
    }

    /// The parse agrees with git itself: each command line is run by the real git (an empty
    /// commit in a temporary repository, with an editor that leaves a mark), and whether it
    /// amended (its reflog entry) and opened the editor are compared.
    #[test]
    fn the_same_as_git() {
        use crate::testutil::sh;
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        sh(
            root,
            "git init -q r && cd r && git -c user.name=a -c user.email=a@b commit -q --allow-empty -m base \
             && printf '#!/bin/sh\\necho edited > \"$(dirname \"$0\")/edited\"; echo message >> \"$1\"\\n' > ../editor \
             && chmod +x ../editor",
            &[],
        );
        let repo = root.join("r");
        for line in [
            &["-m", "--amend"][..],
            &["--amend", "-m", "x"],
            &["--am", "-m", "x"],
            &["--amend", "--no-am", "-m", "x"],
            &["-qm", "--amend"],
            &["--message=--amend"],
            &["-C", "HEAD"],
            &["-CHEAD", "--amend"],
            &["-c", "HEAD"],
            &["--amend", "--no-edit"],
            &["-m", "x", "-e"],
            &["-F", "-", "--amend"],
            &["--fixup", "HEAD"],
            &["--fixup=amend:HEAD"],
            &["-S", "--amend", "--no-gpg-sign", "-m", "x"],
            &["--trailer", "--amend", "-m", "x"],
        ] {
            let _ = std::fs::remove_file(root.join("edited"));
            let quoted: Vec<String> = line.iter().map(|a| format!("'{a}'")).collect();
            sh(
                &repo,
                &format!(
                    "git -c user.name=a -c user.email=a@b -c commit.gpgsign=false commit -q --allow-empty --allow-empty-message {} </dev/null",
                    quoted.join(" ")
                ),
                &[("GIT_EDITOR", &root.join("editor"))],
            );
            let amended =
                sh(&repo, "git reflog -1 --format=%gs", &[]).starts_with("commit (amend)");
            let edited = root.join("edited").exists();
            let mut args = vec!["commit", "--allow-empty", "--allow-empty-message"];
            args.extend_from_slice(line);
            let parsed = git(&args).expect("git accepted it");
            assert_eq!(parsed.amend, amended, "{line:?}: amend");
            assert_eq!(parsed.uses_editor(), edited, "{line:?}: editor");
        }
    }

    #[test]
    fn an_alias_of_commit_is_followed_as_git_follows_it() {
        let aliases = |name: &str| match name {
            "amend" => Some("commit --amend --no-edit".to_owned()),
            "ci" => Some("commit".to_owned()),
            "fix" => Some("amend -q".to_owned()),
            "msg" => Some("commit -m '--amend, quoted'".to_owned()),
            "sh" => Some("!git commit --amend".to_owned()),
            "loop" => Some("loop".to_owned()),
            _ => None,
        };
        let amends = |args: &[&str]| {
            let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            parse_git_with(&args, &aliases).map(|c| c.amend)
        };
        assert_eq!(amends(&["amend"]), Some(true));
        assert_eq!(amends(&["ci", "--amend"]), Some(true));
        assert_eq!(amends(&["ci", "-m", "--amend"]), Some(false));
        assert_eq!(amends(&["fix"]), Some(true), "an alias of an alias");
        assert_eq!(amends(&["msg"]), Some(false), "a quoted word is one value");
        assert_eq!(
            amends(&["-c", "alias.ci=commit --amend", "ci"]),
            Some(true),
            "git -c wins"
        );
        assert_eq!(amends(&["sh"]), None, "a shell alias is not followed");
        assert_eq!(amends(&["loop"]), None, "a loop ends");
        assert_eq!(amends(&["status"]), None);
        assert_eq!(
            split_alias("a 'b c' \"d\\\"e\" f\\ g"),
            Some(vec![
                b"a".to_vec(),
                b"b c".to_vec(),
                b"d\"e".to_vec(),
                b"f g".to_vec()
            ])
        );
        assert_eq!(split_alias("unclosed 'quote"), None);
    }
}
