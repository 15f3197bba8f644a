//! `specproof init`: the starter files, written from the templates embedded in the binary.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::config::Config;

/// A file `init` writes: repository path and content.
pub struct Template {
    pub path: &'static str,
    pub content: &'static str,
}

/// The files `init` writes, in order.
pub const TEMPLATES: [Template; 3] = [
    Template {
        path: "specproof.yml",
        content: include_str!("../templates/specproof.yml"),
    },
    Template {
        path: "plans/example.md",
        content: include_str!("../templates/plan.md"),
    },
    Template {
        path: ".specproof/tasks/T-001.md",
        content: include_str!("../templates/task.md"),
    },
];

/// The folders `init` creates.
pub const FOLDERS: [&str; 3] = [
    ".specproof/tasks",
    ".specproof/evidence",
    ".specproof/snapshots",
];

/// What `init` did or would not do.
#[derive(Debug)]
pub enum Outcome {
    /// Every file written; the folders created (the new ones listed).
    Written {
        files: Vec<&'static str>,
        folders: Vec<&'static str>,
    },
    /// These paths exist already; nothing was changed.
    Refused { existing: Vec<&'static str> },
}

/// Writes the starter files into `root`, refusing when any of them exists.
///
/// # Errors
/// An I/O error; the files written before it are removed again.
pub fn init(root: &Path) -> Result<Outcome> {
    debug_assert_eq!(Config::default().tasks_dir, ".specproof/tasks");
    let existing: Vec<&'static str> = TEMPLATES
        .iter()
        .map(|t| t.path)
        .filter(|p| root.join(p).symlink_metadata().is_ok())
        .collect();
    if !existing.is_empty() {
        return Ok(Outcome::Refused { existing });
    }
    let folders: Vec<&'static str> = FOLDERS
        .iter()
        .copied()
        .filter(|f| !root.join(f).is_dir())
        .collect();
    let mut written: Vec<PathBuf> = Vec::new();
    let result = write_all(root, &mut written);
    if let Err(e) = result {
        for path in written.iter().rev() {
            // Best effort: the error below is what the user needs to see.
            let _ = std::fs::remove_file(path);
        }
        return Err(e);
    }
    for folder in FOLDERS {
        std::fs::create_dir_all(root.join(folder))
            .with_context(|| format!("cannot create {folder}"))?;
    }
    Ok(Outcome::Written {
        files: TEMPLATES.iter().map(|t| t.path).collect(),
        folders,
    })
}

fn write_all(root: &Path, written: &mut Vec<PathBuf>) -> Result<()> {
    for template in &TEMPLATES {
        let target = root.join(template.path);
        let dir = target.parent().unwrap_or(root);
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the folder of {}", template.path))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .with_context(|| format!("cannot write {}", template.path))?;
        tmp.write_all(template.content.as_bytes())
            .with_context(|| format!("cannot write {}", template.path))?;
        tmp.as_file()
            .sync_all()
            .with_context(|| format!("cannot write {}", template.path))?;
        tmp.persist_noclobber(&target)
            .map_err(|e| e.error)
            .with_context(|| {
                format!("cannot write {} (was it created meanwhile?)", template.path)
            })?;
        written.push(target);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_template_holds_exactly_the_defaults() {
        let parsed = Config::parse(TEMPLATES[0].content.as_bytes(), None).expect("template parses");
        assert_eq!(parsed, Config::default());
    }
}
