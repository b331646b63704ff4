//! Point files: reading and writing `n x d` arrays of `f64`.
//!
//! The format is chosen by the file extension (case-insensitive): `.csv` is text with
//! one point per line and comma-separated coordinates, `.npy` is NumPy's binary array
//! format (`f64`, 2-D, or 1-D read as `n x 1`). Reading checks everything a user can
//! get wrong and names the file and, for text, the 1-based line and column: missing or
//! unreadable file, no points, rows of different lengths, numbers that do not parse,
//! NaN or infinity. Writing never leaves a partial file behind: the data go to a
//! temporary file in the target's directory, which is synced and then renamed (or,
//! when overwriting is not allowed, hard-linked, which fails atomically if the target
//! appeared in the meantime). No directory is created unless the caller asks with
//! [`ensure_parent_dir`].
//!
//! Trajectory files ([`write_trajectories`], [`read_trajectories`]) hold `n x K x d`
//! recorded paths: `.npy` the 3-D array, `.csv` a long format with the levels.
//!
//! CSV details: blank lines are skipped; fields are trimmed; a first non-blank line of
//! which no field parses as a number is a header and is ignored (it must have as many
//! fields as the data rows); a leading UTF-8 byte-order mark is ignored. Output has the
//! header `x0,x1,...` and writes every value with the shortest decimal representation
//! that reads back to the same `f64` (plain notation for magnitudes in
//! `[1e-5, 1e16)`, exponent notation otherwise), so a round trip is bit-exact.

use crate::error::{Error, Result};
use ndarray::{Array2, ArrayD, ArrayView2, Ix1, Ix2};
use ndarray_npy::{ReadNpyExt, WriteNpyExt};
use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A point-file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointFormat {
    /// Comma-separated text, `.csv`.
    Csv,
    /// NumPy binary array, `.npy`.
    Npy,
}

impl PointFormat {
    /// The format for `path`'s extension (`.csv` or `.npy`, any case); an error naming
    /// the file for anything else.
    pub fn from_path(path: &Path) -> Result<Self> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase());
        match ext.as_deref() {
            Some("csv") => Ok(PointFormat::Csv),
            Some("npy") => Ok(PointFormat::Npy),
            _ => Err(io_err(
                path,
                "unsupported file extension (expected .csv or .npy)",
            )),
        }
    }
}

fn show(path: &Path) -> String {
    path.display().to_string()
}

fn io_err(path: &Path, message: impl Into<String>) -> Error {
    Error::Io {
        path: show(path),
        message: message.into(),
    }
}

fn parse_err(path: &Path, line: usize, message: impl Into<String>) -> Error {
    Error::Parse {
        path: show(path),
        line,
        message: message.into(),
    }
}

/// Shortens a field for an error message.
fn clip(field: &str) -> String {
    const MAX: usize = 40;
    if field.chars().count() <= MAX {
        field.to_string()
    } else {
        format!("{}...", field.chars().take(MAX).collect::<String>())
    }
}

/// Reads the points in `path` (`.csv` or `.npy`) as an `n x d` array with `n, d >= 1`
/// and all values finite.
///
/// ```no_run
/// let points = fieldflow::io::read_points("data.csv")?;
/// # Ok::<(), fieldflow::Error>(())
/// ```
pub fn read_points(path: impl AsRef<Path>) -> Result<Array2<f64>> {
    Ok(read_with_lines(path.as_ref())?.0)
}

/// Points plus, for CSV, the line number of every row.
fn read_with_lines(path: &Path) -> Result<(Array2<f64>, Option<Vec<usize>>)> {
    match PointFormat::from_path(path)? {
        PointFormat::Csv => {
            let (points, lines) = read_csv(path)?;
            Ok((points, Some(lines)))
        }
        PointFormat::Npy => Ok((read_npy(path)?, None)),
    }
}

fn read_csv(path: &Path) -> Result<(Array2<f64>, Vec<usize>)> {
    let text = fs::read_to_string(path).map_err(|e| io_err(path, format!("cannot read: {e}")))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut ncols: Option<usize> = None;
    let mut from_header = false;
    let mut first = true;
    let mut values = Vec::new();
    let mut lines = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if first {
            first = false;
            if fields.iter().all(|f| f.parse::<f64>().is_err()) {
                ncols = Some(fields.len());
                from_header = true;
                continue;
            }
        }
        match ncols {
            Some(c) if c != fields.len() => {
                let origin = if from_header {
                    " (as in the header)"
                } else {
                    ""
                };
                return Err(parse_err(
                    path,
                    line_no,
                    format!("expected {c} columns{origin}, got {}", fields.len()),
                ));
            }
            Some(_) => {}
            None => ncols = Some(fields.len()),
        }
        for (j, field) in fields.iter().enumerate() {
            let v: f64 = field.parse().map_err(|_| {
                let what = if field.is_empty() {
                    "empty field".to_string()
                } else {
                    format!("cannot parse '{}' as a number", clip(field))
                };
                parse_err(path, line_no, format!("column {}: {what}", j + 1))
            })?;
            if !v.is_finite() {
                return Err(parse_err(
                    path,
                    line_no,
                    format!("column {}: non-finite value '{}'", j + 1, clip(field)),
                ));
            }
            values.push(v);
        }
        lines.push(line_no);
    }
    if lines.is_empty() {
        return Err(io_err(path, "no points in file"));
    }
    let d = ncols.unwrap_or(0);
    let points = Array2::from_shape_vec((lines.len(), d), values)
        .map_err(|e| io_err(path, format!("internal shape error: {e}")))?;
    Ok((points, lines))
}

fn read_npy(path: &Path) -> Result<Array2<f64>> {
    let file = File::open(path).map_err(|e| io_err(path, format!("cannot read: {e}")))?;
    let array = ArrayD::<f64>::read_npy(BufReader::new(file))
        .map_err(|e| io_err(path, format!("not a .npy array of f64: {e}")))?;
    let points = match array.ndim() {
        1 => {
            let v = array
                .into_dimensionality::<Ix1>()
                .map_err(|e| io_err(path, e.to_string()))?;
            let n = v.len();
            v.into_shape_with_order((n, 1))
                .map_err(|e| io_err(path, e.to_string()))?
        }
        2 => array
            .into_dimensionality::<Ix2>()
            .map_err(|e| io_err(path, e.to_string()))?,
        k => {
            return Err(io_err(
                path,
                format!("expected a 1-D or 2-D array, got {k}-D"),
            ))
        }
    };
    if points.is_empty() {
        return Err(io_err(
            path,
            format!("no points in file (shape {:?})", points.shape()),
        ));
    }
    if let Some(((r, c), _)) = points.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(io_err(
            path,
            format!("non-finite value at row {}, column {}", r + 1, c + 1),
        ));
    }
    Ok(points.as_standard_layout().into_owned())
}

/// Reads one non-negative weight per row (a `.csv` with one column, or a 1-D / `n x 1`
/// `.npy`). The weights are not normalised; at least one must be positive.
pub fn read_weights(path: impl AsRef<Path>) -> Result<Vec<f64>> {
    let path = path.as_ref();
    let (points, lines) = read_with_lines(path)?;
    if points.ncols() != 1 {
        return Err(io_err(
            path,
            format!(
                "expected one weight per row, got {} columns",
                points.ncols()
            ),
        ));
    }
    let weights: Vec<f64> = points.column(0).to_vec();
    if let Some(i) = weights.iter().position(|&w| w < 0.0) {
        let msg = format!("negative weight {}", weights[i]);
        return Err(match &lines {
            Some(l) => parse_err(path, l[i], msg),
            None => io_err(path, format!("{msg} at row {}", i + 1)),
        });
    }
    if weights.iter().all(|&w| w == 0.0) {
        return Err(io_err(path, "all weights are zero"));
    }
    Ok(weights)
}

/// Creates the parent directory of `path` (and its ancestors) if it does not exist.
pub fn ensure_parent_dir(path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => fs::create_dir_all(dir)
            .map_err(|e| io_err(dir, format!("cannot create directory: {e}"))),
        _ => Ok(()),
    }
}

/// Formats `v` with the shortest digits that parse back to the same bits.
fn fmt_f64(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 || (1e-5..1e16).contains(&a) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

/// Writes `points` (`n x d`, `n, d >= 1`, finite) to `path` as `.csv` or `.npy`
/// (`f64`, C order). Refuses with [`Error::FileExists`] if `path` exists and
/// `overwrite` is false. The parent directory must exist (see [`ensure_parent_dir`]).
/// On any error no file is left at `path` or beside it (an existing file is kept
/// unchanged).
pub fn write_points(
    path: impl AsRef<Path>,
    points: ArrayView2<'_, f64>,
    overwrite: bool,
) -> Result<()> {
    let path = path.as_ref();
    let format = PointFormat::from_path(path)?;
    if points.is_empty() {
        return Err(Error::Empty {
            what: "points to write",
        });
    }
    crate::error::ensure_finite("points to write", points)?;
    write_atomic(path, overwrite, |w| match format {
        PointFormat::Csv => {
            let header: Vec<String> = (0..points.ncols()).map(|j| format!("x{j}")).collect();
            writeln!(w, "{}", header.join(","))?;
            for row in points.rows() {
                let fields: Vec<String> = row.iter().map(|&v| fmt_f64(v)).collect();
                writeln!(w, "{}", fields.join(","))?;
            }
            Ok(())
        }
        PointFormat::Npy => points
            .as_standard_layout()
            .write_npy(w)
            .map_err(|e| std::io::Error::other(e.to_string())),
    })
}

/// Writes a table of numbers with named columns to `path`: `.csv` gets the header
/// `columns` and one row per line (NaN and infinities are written as `NaN`, `inf`,
/// `-inf`), `.npy` the bare `n x columns.len()` array. Same guarantees as
/// [`write_points`] (atomic, no partial file, [`Error::FileExists`] unless
/// `overwrite`), but non-finite values are allowed.
pub fn write_table(
    path: impl AsRef<Path>,
    columns: &[String],
    rows: ArrayView2<'_, f64>,
    overwrite: bool,
) -> Result<()> {
    let path = path.as_ref();
    let format = PointFormat::from_path(path)?;
    if rows.ncols() != columns.len() {
        return Err(Error::DimensionMismatch {
            what: "table columns",
            expected: columns.len(),
            got: rows.ncols(),
        });
    }
    if rows.is_empty() {
        return Err(Error::Empty {
            what: "table to write",
        });
    }
    write_atomic(path, overwrite, |w| match format {
        PointFormat::Csv => {
            writeln!(w, "{}", columns.join(","))?;
            for row in rows.rows() {
                let fields: Vec<String> = row.iter().map(|&v| fmt_f64(v)).collect();
                writeln!(w, "{}", fields.join(","))?;
            }
            Ok(())
        }
        PointFormat::Npy => rows
            .as_standard_layout()
            .write_npy(w)
            .map_err(|e| std::io::Error::other(e.to_string())),
    })
}

/// Writes recorded paths `paths` (`n x levels.len() x d`, as returned by
/// [`crate::sampling::trajectories`]) to `path`. `.npy`: the 3-D array itself (C
/// order, shape `(n, levels, d)`); `.csv`: the long format with header
/// `particle,s,x0,...,x{d-1}` and one row per particle and level (particle-major,
/// levels in the given order; NaN after a failed trajectory). Atomic like
/// [`write_points`].
pub fn write_trajectories(
    path: impl AsRef<Path>,
    levels: &[f64],
    paths: ndarray::ArrayView3<'_, f64>,
    overwrite: bool,
) -> Result<()> {
    let path = path.as_ref();
    let format = PointFormat::from_path(path)?;
    let (n, l, d) = paths.dim();
    if l != levels.len() {
        return Err(Error::DimensionMismatch {
            what: "trajectory levels",
            expected: levels.len(),
            got: l,
        });
    }
    if n == 0 || l == 0 || d == 0 {
        return Err(Error::Empty {
            what: "trajectories to write",
        });
    }
    write_atomic(path, overwrite, |w| match format {
        PointFormat::Csv => {
            let mut header = vec!["particle".to_string(), "s".to_string()];
            header.extend((0..d).map(|j| format!("x{j}")));
            writeln!(w, "{}", header.join(","))?;
            for i in 0..n {
                for (k, &s) in levels.iter().enumerate() {
                    write!(w, "{i},{}", fmt_f64(s))?;
                    for j in 0..d {
                        write!(w, ",{}", fmt_f64(paths[[i, k, j]]))?;
                    }
                    writeln!(w)?;
                }
            }
            Ok(())
        }
        PointFormat::Npy => paths
            .as_standard_layout()
            .write_npy(w)
            .map_err(|e| std::io::Error::other(e.to_string())),
    })
}

/// Recorded paths read back by [`read_trajectories`].
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedPaths {
    /// The levels `s` of the recorded points, in file order; `None` for `.npy`, which
    /// stores the array only.
    pub levels: Option<Vec<f64>>,
    /// The paths, `n x K x d` (NaN after a failed trajectory).
    pub paths: ndarray::Array3<f64>,
}

/// Reads a trajectories file as written by [`write_trajectories`]: `.npy` a 3-D `f64`
/// array `(n, K, d)` (no levels), `.csv` the long format with header
/// `particle,s,x0,...` (particles `0..n` in order, each with the same `K` levels in
/// the same order). Coordinates may be NaN (a failed path) but not infinite; levels
/// must be finite and positive. Errors name the file and, for CSV, the line.
pub fn read_trajectories(path: impl AsRef<Path>) -> Result<RecordedPaths> {
    let path = path.as_ref();
    match PointFormat::from_path(path)? {
        PointFormat::Npy => {
            let file = File::open(path).map_err(|e| io_err(path, format!("cannot read: {e}")))?;
            let array = ArrayD::<f64>::read_npy(BufReader::new(file))
                .map_err(|e| io_err(path, format!("not a .npy array of f64: {e}")))?;
            if array.ndim() != 3 {
                return Err(io_err(
                    path,
                    format!(
                        "expected a 3-D array (particles, levels, dimension), got {}-D",
                        array.ndim()
                    ),
                ));
            }
            let paths = array
                .into_dimensionality::<ndarray::Ix3>()
                .map_err(|e| io_err(path, e.to_string()))?;
            if paths.is_empty() {
                return Err(io_err(
                    path,
                    format!("no paths in file (shape {:?})", paths.shape()),
                ));
            }
            if let Some(((i, k, j), _)) = paths.indexed_iter().find(|(_, v)| v.is_infinite()) {
                return Err(io_err(
                    path,
                    format!("infinite value at particle {i}, level {k}, coordinate {j} (0-based)"),
                ));
            }
            Ok(RecordedPaths {
                levels: None,
                paths: paths.as_standard_layout().into_owned(),
            })
        }
        PointFormat::Csv => read_trajectories_csv(path),
    }
}

fn read_trajectories_csv(path: &Path) -> Result<RecordedPaths> {
    let text = fs::read_to_string(path).map_err(|e| io_err(path, format!("cannot read: {e}")))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut rows = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty());
    let (hline, header) = rows
        .next()
        .ok_or_else(|| io_err(path, "empty file (expected header particle,s,x0,...)"))?;
    let names: Vec<&str> = header.split(',').map(str::trim).collect();
    if names.len() < 3 || names[0] != "particle" || names[1] != "s" {
        return Err(parse_err(
            path,
            hline,
            "expected the header particle,s,x0,... of a trajectories file",
        ));
    }
    let d = names.len() - 2;
    let mut levels: Vec<f64> = Vec::new();
    let mut values: Vec<f64> = Vec::new();
    let (mut particle, mut k) = (0usize, 0usize);
    let mut n_rows = 0usize;
    for (line, row) in rows {
        let fields: Vec<&str> = row.split(',').map(str::trim).collect();
        if fields.len() != d + 2 {
            return Err(parse_err(
                path,
                line,
                format!(
                    "expected {} columns (as in the header), got {}",
                    d + 2,
                    fields.len()
                ),
            ));
        }
        let id: usize = fields[0].parse().map_err(|_| {
            parse_err(
                path,
                line,
                format!(
                    "particle '{}' is not a non-negative integer",
                    clip(fields[0])
                ),
            )
        })?;
        let s: f64 = fields[1].parse().map_err(|_| {
            parse_err(
                path,
                line,
                format!("cannot parse s = '{}'", clip(fields[1])),
            )
        })?;
        if !(s.is_finite() && s > 0.0) {
            return Err(parse_err(
                path,
                line,
                format!("level s = {s} is not finite and positive"),
            ));
        }
        // particle-major: the first particle defines the levels (the others repeat
        // them exactly: they are written with the same digits)
        if n_rows > 0 && id != particle {
            if id != particle + 1 || k != levels.len() {
                return Err(parse_err(
                    path,
                    line,
                    format!(
                        "particle {id} after particle {particle} with {k} of {} levels (expected particles 0, 1, ... in order, each with every level)",
                        levels.len()
                    ),
                ));
            }
            particle = id;
            k = 0;
        } else if n_rows == 0 && id != 0 {
            return Err(parse_err(
                path,
                line,
                format!("the first particle is {id}, not 0"),
            ));
        }
        if particle == 0 {
            levels.push(s);
        } else if k >= levels.len() || levels[k].to_bits() != s.to_bits() {
            return Err(parse_err(
                path,
                line,
                format!(
                    "particle {particle}: level {k} is s = {s}, not the first particle's levels"
                ),
            ));
        }
        for (j, f) in fields[2..].iter().enumerate() {
            let v: f64 = f.parse().map_err(|_| {
                parse_err(
                    path,
                    line,
                    format!("column {}: cannot parse '{}' as a number", j + 3, clip(f)),
                )
            })?;
            if v.is_infinite() {
                return Err(parse_err(
                    path,
                    line,
                    format!("column {}: infinite value", j + 3),
                ));
            }
            values.push(v);
        }
        k += 1;
        n_rows += 1;
    }
    if n_rows == 0 {
        return Err(io_err(path, "no paths in file"));
    }
    if k != levels.len() {
        return Err(io_err(
            path,
            format!(
                "the last particle {particle} has {k} of {} levels",
                levels.len()
            ),
        ));
    }
    let paths = ndarray::Array3::from_shape_vec((particle + 1, levels.len(), d), values)
        .map_err(|e| io_err(path, format!("internal shape error: {e}")))?;
    Ok(RecordedPaths {
        levels: Some(levels),
        paths,
    })
}

/// Writes `text` to `path` atomically (no partial file; [`Error::FileExists`] unless
/// `overwrite`). For reports such as JSON statistics.
pub fn write_text(path: impl AsRef<Path>, text: &str, overwrite: bool) -> Result<()> {
    write_atomic(path.as_ref(), overwrite, |w| w.write_all(text.as_bytes()))
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes through `fill` into a temporary file beside `path`, then moves it in place
/// (replacing an existing file only if `overwrite`); no partial file is ever left.
pub(crate) fn write_atomic(
    path: &Path,
    overwrite: bool,
    fill: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| io_err(path, "not a file name"))?;
    let dir: PathBuf = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        let why = if dir.exists() {
            "is not a directory"
        } else {
            "does not exist"
        };
        return Err(io_err(path, format!("directory {} {why}", dir.display())));
    }
    if path.is_dir() {
        return Err(io_err(path, "is a directory"));
    }
    if !overwrite && fs::symlink_metadata(path).is_ok() {
        return Err(Error::FileExists { path: show(path) });
    }
    let tmp = dir.join(format!(
        ".{}.{}-{}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(|e| io_err(path, format!("cannot write: {e}")))?;
    let result = (|| -> std::io::Result<()> {
        let mut w = BufWriter::new(file);
        fill(&mut w)?;
        w.flush()?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(io_err(path, format!("cannot write: {e}")));
    }
    let commit = if overwrite {
        fs::rename(&tmp, path).map_err(|e| io_err(path, format!("cannot write: {e}")))
    } else {
        // A hard link fails atomically if the target exists; fall back to a checked
        // rename on file systems without hard links.
        match fs::hard_link(&tmp, path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(Error::FileExists { path: show(path) })
            }
            Err(_) if fs::symlink_metadata(path).is_ok() => {
                Err(Error::FileExists { path: show(path) })
            }
            Err(_) => {
                fs::rename(&tmp, path).map_err(|e| io_err(path, format!("cannot write: {e}")))
            }
        }
    };
    let _ = fs::remove_file(&tmp);
    commit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_round_trip_formatting() {
        for v in [
            0.1,
            -0.0,
            1e-300,
            1.0 / 3.0,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            123456.789,
            1e16,
            9.999e-6,
        ] {
            let s = fmt_f64(v);
            assert_eq!(s.parse::<f64>().unwrap().to_bits(), v.to_bits(), "{s}");
        }
        assert_eq!(fmt_f64(0.1), "0.1");
        assert_eq!(fmt_f64(-0.0), "-0");
        assert_eq!(fmt_f64(1e-300), "1e-300");
        assert_eq!(fmt_f64(2.5), "2.5");
    }
}
