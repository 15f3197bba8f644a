//! The one owner of stdout and stderr. Colour is decided once, at start-up.

use std::fmt::Display;
use std::io::{self, IsTerminal, Write};

use console::Style;

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal and `NO_COLOR` is not set.
    #[default]
    Auto,
    Always,
    Never,
}

/// Writes lines to stdout and stderr, styled when colour is on.
#[derive(Debug, Clone)]
pub struct Printer {
    color_out: bool,
    color_err: bool,
    /// stderr is a terminal: progress bars may draw there.
    progress: bool,
}

impl Printer {
    /// Decides colour for both streams. `no_color` is true when `NO_COLOR` is set to a non-empty value.
    #[must_use]
    pub fn new(choice: ColorChoice, no_color: bool) -> Self {
        let decide = |terminal: bool| match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && !no_color,
        };
        let printer = Self {
            color_out: decide(io::stdout().is_terminal()),
            color_err: decide(io::stderr().is_terminal()),
            progress: io::stderr().is_terminal(),
        };
        console::set_colors_enabled(printer.color_out);
        console::set_colors_enabled_stderr(printer.color_err);
        printer
    }

    /// A printer without colour (tests, library use).
    #[must_use]
    pub fn plain() -> Self {
        Self {
            color_out: false,
            color_err: false,
            progress: false,
        }
    }

    /// True when a progress bar may draw (stderr is a terminal).
    #[must_use]
    pub fn progress(&self) -> bool {
        self.progress
    }

    /// Writes a line to stdout.
    ///
    /// # Errors
    /// The write error (a closed pipe among them: the caller treats that as the end).
    pub fn out(&self, line: impl Display) -> io::Result<()> {
        let mut out = io::stdout().lock();
        writeln!(out, "{line}")
    }

    /// Writes a line to stderr.
    ///
    /// # Errors
    /// The write error.
    pub fn err(&self, line: impl Display) -> io::Result<()> {
        let mut err = io::stderr().lock();
        writeln!(err, "{line}")
    }

    /// Styles `text` for stdout.
    #[must_use]
    pub fn paint_out(&self, style: &Style, text: &str) -> String {
        paint(self.color_out, style, text)
    }

    /// Styles `text` for stderr.
    #[must_use]
    pub fn paint_err(&self, style: &Style, text: &str) -> String {
        paint(self.color_err, style, text)
    }
}

fn paint(enabled: bool, style: &Style, text: &str) -> String {
    if enabled {
        style.clone().force_styling(true).apply_to(text).to_string()
    } else {
        text.to_owned()
    }
}

/// Styles used across commands.
pub mod styles {
    use console::Style;

    #[must_use]
    pub fn location() -> Style {
        Style::new().bold()
    }
    #[must_use]
    pub fn error() -> Style {
        Style::new().red().bold()
    }
    #[must_use]
    pub fn warning() -> Style {
        Style::new().yellow().bold()
    }
    #[must_use]
    pub fn ok() -> Style {
        Style::new().green().bold()
    }
    #[must_use]
    pub fn hint() -> Style {
        Style::new().cyan()
    }
    /// Drift in the compliance matrix: orange where the terminal has 256 colours.
    #[must_use]
    pub fn orange() -> Style {
        Style::new().color256(208).bold()
    }
    /// Inconclusive in the compliance matrix.
    #[must_use]
    pub fn grey() -> Style {
        Style::new().color256(245)
    }
}
