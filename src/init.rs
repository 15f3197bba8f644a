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
        folders: Vec<String>,
    },
    /// These files exist already, or these folders cannot be made (a file or a broken link is in
    /// the way); nothing was changed.
    Refused {
        existing: Vec<&'static str>,
        blocked: Vec<String>,
    },
}

/// Every folder `init` needs, parents first.
fn needed_folders() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let parents = TEMPLATES
        .iter()
        .filter_map(|t| t.path.rsplit_once('/').map(|(dir, _)| dir));
    for dir in parents.chain(FOLDERS) {
        let mut prefix = String::new();
        for part in dir.split('/') {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            if !out.contains(&prefix) {
                out.push(prefix.clone());
            }
        }
    }
    out
}

/// Writes the starter files into `root`, refusing when any of them exists or a folder cannot be
/// made. Either everything is written or nothing is left behind.
///
/// # Errors
/// An I/O error; what was written before it is removed again.
pub fn init(root: &Path) -> Result<Outcome> {
    debug_assert_eq!(Config::default().tasks_dir, ".specproof/tasks");
    let existing: Vec<&'static str> = TEMPLATES
        .iter()
        .map(|t| t.path)
        .filter(|p| root.join(p).symlink_metadata().is_ok())
        .collect();
    let folders = needed_folders();
    let blocked: Vec<String> = folders
        .iter()
        .filter(|f| {
            let exists = root.join(f).symlink_metadata().is_ok();
            // A folder that is a link leading out of the repository would put the files there.
            exists && (!root.join(f).is_dir() || crate::paths::check(Some(root), f).is_err())
        })
        .cloned()
        .collect();
    if !existing.is_empty() || !blocked.is_empty() {
        return Ok(Outcome::Refused { existing, blocked });
    }
    let mut created: Vec<PathBuf> = Vec::new();
    let mut written: Vec<PathBuf> = Vec::new();
    let result =
        create_folders(root, &folders, &mut created).and_then(|()| write_all(root, &mut written));
    if let Err(e) = result {
        // Best effort: the error is what the user needs to see; the removals only undo our writes.
        for path in written.iter().rev() {
            let _ = std::fs::remove_file(path);
        }
        for dir in created.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
        return Err(e);
    }
    let new_folders = folders
        .into_iter()
        .filter(|f| created.contains(&root.join(f)) && FOLDERS.contains(&f.as_str()))
        .collect();
    Ok(Outcome::Written {
        files: TEMPLATES.iter().map(|t| t.path).collect(),
        folders: new_folders,
    })
}

fn create_folders(root: &Path, folders: &[String], created: &mut Vec<PathBuf>) -> Result<()> {
    for folder in folders {
        let path = root.join(folder);
        if path.is_dir() {
            continue;
        }
        std::fs::create_dir(&path).with_context(|| format!("cannot create the folder {folder}"))?;
        created.push(path);
    }
    Ok(())
}

fn write_all(root: &Path, written: &mut Vec<PathBuf>) -> Result<()> {
    for template in &TEMPLATES {
        let target = root.join(template.path);
        let dir = target.parent().unwrap_or(root);
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
