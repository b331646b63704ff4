//! Output guards and progress bars shared by the subcommands.
//!
//! Every subcommand checks all of its output paths before it does any work: the
//! extension is one we can write, the parent directory exists, the file does not
//! exist (unless `--force`), no two outputs are the same file, and no output is one
//! of the command's input files (refused even with `--force`: an input is never
//! overwritten). The files themselves are written atomically by `fieldflow::io`, so
//! a failing run leaves nothing behind.

use anyhow::bail;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// What an output path will hold (decides which extensions are allowed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Points or a table: `.csv` or `.npy`.
    Points,
    /// A JSON report: `.json`.
    Json,
    /// A folder (created if missing).
    Dir,
    /// A model file: `.safetensors`.
    #[cfg_attr(not(feature = "learn"), allow(dead_code))]
    Model,
}

/// Whether `a` and `b` name the same existing file.
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// The absolute form of a path whose file may not exist yet (its parent must).
fn normalised(p: &Path) -> PathBuf {
    if let Ok(c) = std::fs::canonicalize(p) {
        return c;
    }
    let parent = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    match (std::fs::canonicalize(parent), p.file_name()) {
        (Ok(d), Some(name)) => d.join(name),
        _ => p.to_path_buf(),
    }
}

/// Checks the outputs (path, option name, kind) against each other, the inputs and
/// the file system, before any work is done.
pub fn check_outputs(
    outputs: &[(&Path, &str, Kind)],
    inputs: &[&Path],
    force: bool,
) -> anyhow::Result<()> {
    for (i, &(path, opt, kind)) in outputs.iter().enumerate() {
        match kind {
            Kind::Points => {
                fieldflow::io::PointFormat::from_path(path)?;
            }
            Kind::Json => {
                let ok = path
                    .extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| e.eq_ignore_ascii_case("json"));
                if !ok {
                    bail!("{opt} {}: expected a .json file", path.display());
                }
            }
            Kind::Model => {
                let ok = path
                    .extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| e.eq_ignore_ascii_case("safetensors"));
                if !ok {
                    bail!("{opt} {}: expected a .safetensors file", path.display());
                }
            }
            Kind::Dir => {
                if path.exists() && !path.is_dir() {
                    bail!("{opt} {}: exists and is not a directory", path.display());
                }
            }
        }
        for input in inputs {
            if same_file(path, input) {
                bail!(
                    "{opt} {} is also an input file; refusing to overwrite an input",
                    path.display()
                );
            }
        }
        for &(other, other_opt, _) in &outputs[..i] {
            if normalised(path) == normalised(other) {
                bail!(
                    "{opt} and {other_opt} name the same file {}",
                    path.display()
                );
            }
        }
        if kind == Kind::Dir {
            continue;
        }
        if path.is_dir() {
            bail!("{opt} {}: is a directory", path.display());
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        if !dir.is_dir() {
            let why = if dir.exists() {
                "is not a directory"
            } else {
                "does not exist"
            };
            bail!(
                "{opt} {}: directory {} {why}",
                path.display(),
                dir.display()
            );
        }
        if !force && std::fs::symlink_metadata(path).is_ok() {
            bail!(
                "{} already exists (not overwritten); use --force to replace it",
                path.display()
            );
        }
    }
    Ok(())
}

/// A write of one output file.
pub type WriteStep<'a> = (&'a Path, Box<dyn FnOnce() -> anyhow::Result<()> + 'a>);

/// Runs the writes in order; if one fails, removes the files written before it that
/// did not exist before the run, so that a failed run leaves no new file behind.
pub fn write_all(steps: Vec<WriteStep<'_>>) -> anyhow::Result<()> {
    let mut created: Vec<&Path> = Vec::new();
    for (path, step) in steps {
        let existed = std::fs::symlink_metadata(path).is_ok();
        if let Err(e) = step() {
            for p in created {
                let _ = std::fs::remove_file(p);
            }
            return Err(e);
        }
        if !existed {
            created.push(path);
        }
    }
    Ok(())
}

/// Maps a "file exists" error of `fieldflow::io` to the CLI's message.
pub fn exists_hint(e: fieldflow::Error) -> anyhow::Error {
    match e {
        e @ fieldflow::Error::FileExists { .. } => {
            anyhow::anyhow!("{e}; use --force to replace it")
        }
        other => other.into(),
    }
}

/// A progress bar over `n` particles on stderr; hidden with `--quiet` or when stderr
/// is not a terminal. Only observes: results never depend on it.
pub fn progress_bar(n: usize, quiet: bool, what: &str) -> ProgressBar {
    let target = if quiet || !std::io::stderr().is_terminal() {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    };
    let bar =
        ProgressBar::with_draw_target(Some(n as u64), target).with_finish(ProgressFinish::AndClear);
    let style =
        ProgressStyle::with_template("{msg} [{wide_bar}] {pos}/{len} ({elapsed}, eta {eta})")
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(what.to_string());
    bar
}

/// A spinner on stderr for a phase without a particle count (checks, recording);
/// hidden like [`progress_bar`].
pub fn spinner(quiet: bool, what: &str) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner().with_finish(ProgressFinish::AndClear);
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        bar.set_style(style);
    }
    bar.set_message(what.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_removes_the_new_files_of_the_run() {
        let dir = std::env::temp_dir().join(format!("fieldflow-write-all-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (old, new, bad) = (
            dir.join("old.txt"),
            dir.join("new.txt"),
            dir.join("bad.txt"),
        );
        std::fs::write(&old, "before").unwrap();
        let steps: Vec<WriteStep> = vec![
            (&old, Box::new(|| Ok(std::fs::write(&old, "after")?))),
            (&new, Box::new(|| Ok(std::fs::write(&new, "x")?))),
            (&bad, Box::new(|| anyhow::bail!("disk full"))),
        ];
        let err = write_all(steps).unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        assert!(!new.exists(), "the new file of the failed run is removed");
        // a file that existed before (replaced with --force) is not deleted
        assert_eq!(std::fs::read_to_string(&old).unwrap(), "after");
        assert!(!bad.exists());
        // and a run whose writes all succeed keeps them
        let steps: Vec<WriteStep> = vec![(&new, Box::new(|| Ok(std::fs::write(&new, "y")?)))];
        write_all(steps).unwrap();
        assert_eq!(std::fs::read_to_string(&new).unwrap(), "y");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn outputs_are_checked_against_inputs_and_each_other() {
        let dir = std::env::temp_dir().join(format!("fieldflow-check-out-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let input = dir.join("in.csv");
        std::fs::write(&input, "1,2\n").unwrap();
        // the same file under another spelling is still the input
        let other = dir.join(".").join("in.csv");
        let e = check_outputs(&[(&other, "--out", Kind::Points)], &[&input], true).unwrap_err();
        assert!(e.to_string().contains("input"), "{e}");
        let a = dir.join("a.csv");
        let a2 = dir.join(".").join("a.csv");
        let e = check_outputs(
            &[
                (&a, "--out", Kind::Points),
                (&a2, "--trajectories", Kind::Points),
            ],
            &[],
            false,
        )
        .unwrap_err();
        assert!(e.to_string().contains("same file"), "{e}");
        let e = check_outputs(&[(&input, "--out", Kind::Points)], &[], false).unwrap_err();
        assert!(e.to_string().contains("--force"), "{e}");
        check_outputs(&[(&input, "--out", Kind::Points)], &[], true).unwrap();
        let e = check_outputs(&[(&a, "--stats", Kind::Json)], &[], false).unwrap_err();
        assert!(e.to_string().contains(".json"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
