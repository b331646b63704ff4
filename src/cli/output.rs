//! Output guards and progress bars shared by the subcommands.
//!
//! Every subcommand checks all of its output paths before it does any work: the
//! extension is one we can write, the parent directory exists, the file does not
//! exist (unless `--force`), no two outputs are the same file, and no output is one
//! of the command's input files (refused even with `--force`: an input is never
//! overwritten). The files of a run are written through an [`Outputs`] set: all of
//! them appear together at the end, or none (a file replaced with `--force` is
//! restored if a later one fails), and an interrupted run leaves nothing behind.
//! A points output `-` (or `csv:-`, `npy:-`) goes to standard output, after the
//! files; the summary lines then go to standard error. Inputs are read with
//! [`read_points`] and [`read_weights`], which print what was converted (a float32
//! `.npy`, a pandas index column) on standard error unless `--quiet`.

use anyhow::bail;
use fieldflow::io::{OutputSet, PointFormat};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

static QUIET: AtomicBool = AtomicBool::new(false);
static DATA_ON_STDOUT: AtomicBool = AtomicBool::new(false);

/// Records the global `--quiet` (no notes, no progress bars).
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Whether the summary lines must go to standard error (data on standard output).
pub fn data_on_stdout() -> bool {
    DATA_ON_STDOUT.load(Ordering::Relaxed)
}

/// A summary line: on standard error when data go to standard output, otherwise on
/// standard output through [`super::stdout::line`] (which stops quietly on a closed
/// pipe).
#[macro_export]
macro_rules! say {
    ($($t:tt)*) => {
        if $crate::cli::output::data_on_stdout() {
            eprintln!($($t)*);
        } else {
            $crate::cli::stdout::line(format_args!($($t)*));
        }
    };
}

/// The format of a points output that names standard output: `-` or `csv:-` (CSV),
/// `npy:-` (`.npy`); `None` for a file.
pub fn stdout_format(path: &Path) -> Option<PointFormat> {
    match path.to_str()? {
        "-" | "csv:-" => Some(PointFormat::Csv),
        "npy:-" => Some(PointFormat::Npy),
        _ => None,
    }
}

pub fn note(lines: &[String]) {
    if !QUIET.load(Ordering::Relaxed) {
        for l in lines {
            eprintln!("note: {l}");
        }
    }
}

/// Reads points (any format of `fieldflow::io::load_points`), printing its notes.
pub fn read_points(path: &Path) -> anyhow::Result<ndarray::Array2<f64>> {
    let loaded = fieldflow::io::load_points(path)?;
    note(&loaded.notes);
    Ok(loaded.points)
}

/// Reads weights (see `fieldflow::io::load_weights`), printing its notes.
pub fn read_weights(path: &Path) -> anyhow::Result<Vec<f64>> {
    let (w, notes) = fieldflow::io::load_weights(path)?;
    note(&notes);
    Ok(w)
}

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
    let mut on_stdout: Option<&str> = None;
    for (i, &(path, opt, kind)) in outputs.iter().enumerate() {
        if kind == Kind::Points && stdout_format(path).is_some() {
            if let Some(other) = on_stdout {
                bail!("{other} and {opt} both write to standard output");
            }
            on_stdout = Some(opt);
            DATA_ON_STDOUT.store(true, Ordering::Relaxed);
            continue;
        }
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

/// The outputs of a run: files staged in an [`OutputSet`] and at most one points
/// output on standard output, written after the files are in place.
pub struct Outputs {
    set: OutputSet,
    stdout: Option<Vec<u8>>,
}

impl Outputs {
    /// An empty set; `force` allows replacing existing files.
    pub fn new(force: bool) -> Self {
        Self {
            set: OutputSet::new(force),
            stdout: None,
        }
    }

    fn take_stdout(&mut self) -> anyhow::Result<&mut Vec<u8>> {
        if self.stdout.is_some() {
            bail!("only one output can go to standard output");
        }
        Ok(self.stdout.insert(Vec::new()))
    }

    /// Points for `path` (a file, or standard output).
    pub fn points(&mut self, path: &Path, x: ndarray::ArrayView2<f64>) -> anyhow::Result<()> {
        match stdout_format(path) {
            Some(f) => fieldflow::io::write_points_to(self.take_stdout()?, f, x)?,
            None => self.set.points(path, x).map_err(exists_hint)?,
        }
        Ok(())
    }

    /// A table with named columns for `path` (a file, or standard output).
    pub fn table(
        &mut self,
        path: &Path,
        columns: &[String],
        rows: ndarray::ArrayView2<f64>,
    ) -> anyhow::Result<()> {
        match stdout_format(path) {
            Some(f) => fieldflow::io::write_table_to(self.take_stdout()?, f, columns, rows)?,
            None => self.set.table(path, columns, rows).map_err(exists_hint)?,
        }
        Ok(())
    }

    /// Recorded paths for `path` (a file, or standard output).
    pub fn trajectories(
        &mut self,
        path: &Path,
        levels: &[f64],
        paths: ndarray::ArrayView3<f64>,
    ) -> anyhow::Result<()> {
        match stdout_format(path) {
            Some(f) => fieldflow::io::write_trajectories_to(self.take_stdout()?, f, levels, paths)?,
            None => self
                .set
                .trajectories(path, levels, paths)
                .map_err(exists_hint)?,
        }
        Ok(())
    }

    /// A file of raw bytes (a model file) for `path`.
    pub fn bytes(&mut self, path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
        self.set.bytes(path, bytes).map_err(exists_hint)
    }

    /// A text file (JSON report) for `path`.
    pub fn text(&mut self, path: &Path, text: &str) -> anyhow::Result<()> {
        self.set.text(path, text).map_err(exists_hint)
    }

    /// Puts every file in place (all or none), then writes the standard-output part.
    pub fn commit(self) -> anyhow::Result<()> {
        self.set.commit().map_err(exists_hint)?;
        if let Some(bytes) = self.stdout {
            super::stdout::bytes(&bytes);
        }
        Ok(())
    }
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
