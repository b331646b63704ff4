//! Point files: reading and writing `n x d` arrays of `f64`.
//!
//! Formats (see the README's "Files" section):
//!
//! * `.csv`: text, one point per line, comma-separated coordinates, an optional
//!   header (details in [`csv`](self#csv-details)); a pandas `to_csv()` file, whose
//!   header starts with an empty name above an index column, is read without that
//!   column.
//! * `.npy`: a NumPy array, 2-D `n x d` or 1-D read as `n x 1`, of any real element
//!   type: `float64`, and `float32`, `float16` and (un)signed integers converted to
//!   `f64` exactly (an integer that `f64` cannot hold exactly is refused); either byte
//!   order, C or Fortran order.
//! * `.npz`: a NumPy archive; `FILE.npz` reads its only array, `FILE.npz:NAME` the
//!   array `NAME` (an archive with several arrays and no name is an error that lists
//!   them).
//! * a folder: one PNG image per file, in sorted file-name order, values scaled to
//!   `[0, 1]` (see [`read_png_folder`]).
//! * `-`: standard input, read once; `.npy` and `.npz` content is recognised by its
//!   first bytes, anything else is CSV.
//!
//! [`load_points`] returns, with the points, notes on what was converted or dropped
//! (for the caller to show); [`read_points`] only the points. Reading checks
//! everything a user can get wrong and names the file and, for text, the 1-based line
//! and column: missing or unreadable file, no points, rows of different lengths,
//! numbers that do not parse, NaN or infinity.
//!
//! Writing (`.csv` or `.npy` `float64`, C order) never leaves a partial file behind
//! and, through an [`OutputSet`], several files appear together or not at all (see
//! [`atomic`]). No directory is created unless the caller asks with
//! [`ensure_parent_dir`]. [`write_points_to`] and [`write_trajectories_to`] write to
//! any writer instead (standard output, say).
//!
//! Trajectory files ([`write_trajectories`], [`read_trajectories`]) hold `n x K x d`
//! recorded paths: `.npy` the 3-D array, `.csv` a long format with the levels.
//!
//! # CSV details
//!
//! Blank lines are skipped; fields are trimmed; a first non-blank line of which no
//! field parses as a number is a header and is ignored (it must have as many fields
//! as the data rows); a leading UTF-8 byte-order mark is ignored. Output has the
//! header `x0,x1,...` and writes every value with the shortest decimal representation
//! that reads back to the same `f64` (plain notation for magnitudes in
//! `[1e-5, 1e16)`, exponent notation otherwise), so a round trip is bit-exact.

pub mod atomic;
mod csv;
mod images;
mod npy;
mod trajectories;

pub use atomic::{abandon_pending, pending_count, OutputSet};
pub use images::{encode_png, read_png_folder, write_png_images, ImageFolder};
pub use trajectories::{
    read_trajectories, write_trajectories, write_trajectories_to, RecordedPaths,
};

use crate::error::{Error, Result};
use ndarray::{Array2, ArrayD, ArrayView2, Ix1, Ix2};
use ndarray_npy::WriteNpyExt;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// A point-file format for writing.
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
        match extension(path).as_deref() {
            Some("csv") => Ok(PointFormat::Csv),
            Some("npy") => Ok(PointFormat::Npy),
            _ => Err(io_err(
                path,
                "unsupported file extension (expected .csv or .npy)",
            )),
        }
    }
}

fn extension(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
}

/// Whether `path` is `-`, standard input (or output).
pub fn is_stdio(path: &Path) -> bool {
    path.as_os_str() == "-"
}

fn show(path: &Path) -> String {
    if is_stdio(path) {
        "standard input".to_string()
    } else {
        path.display().to_string()
    }
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

/// The content of an input: CSV text or the bytes of one `.npy` array.
enum Content {
    Csv(String),
    Npy(Vec<u8>),
}

static STDIN_TAKEN: AtomicBool = AtomicBool::new(false);

/// `FILE.npz:NAME` split into the archive and the array name (only when no file of
/// the full name exists).
fn npz_member_path(path: &Path) -> Option<(PathBuf, String)> {
    let s = path.to_str()?;
    let i = s.to_ascii_lowercase().rfind(".npz:")?;
    if path.exists() {
        return None;
    }
    Some((PathBuf::from(&s[..i + 4]), s[i + 5..].to_string()))
}

/// Reads the input named by `path` (a file, `FILE.npz[:NAME]`, or `-`).
fn fetch(path: &Path) -> Result<Content> {
    let read = |p: &Path| fs::read(p).map_err(|e| io_err(p, format!("cannot read: {e}")));
    if is_stdio(path) {
        if STDIN_TAKEN.swap(true, Ordering::SeqCst) {
            return Err(io_err(path, "already read (only one input can be '-')"));
        }
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .map_err(|e| io_err(path, format!("cannot read: {e}")))?;
        return if bytes.starts_with(npy::NPY_MAGIC) {
            Ok(Content::Npy(bytes))
        } else if bytes.starts_with(npy::ZIP_MAGIC) {
            Ok(Content::Npy(npy::npz_member(path, &bytes, None)?.1))
        } else {
            String::from_utf8(bytes)
                .map(Content::Csv)
                .map_err(|_| io_err(path, "neither UTF-8 text (CSV) nor a .npy or .npz array"))
        };
    }
    if let Some((file, name)) = npz_member_path(path) {
        let bytes = read(&file)?;
        return Ok(Content::Npy(npy::npz_member(path, &bytes, Some(&name))?.1));
    }
    match extension(path).as_deref() {
        Some("csv") => {
            let bytes = read(path)?;
            String::from_utf8(bytes)
                .map(Content::Csv)
                .map_err(|_| io_err(path, "cannot read: not UTF-8 text"))
        }
        Some("npy") => Ok(Content::Npy(read(path)?)),
        Some("npz") => {
            let bytes = read(path)?;
            Ok(Content::Npy(npy::npz_member(path, &bytes, None)?.1))
        }
        _ => Err(io_err(
            path,
            "unsupported file extension (expected .csv, .npy, .npz or FILE.npz:NAME, or - for standard input)",
        )),
    }
}

/// Points read by [`load_points`], with what was converted on the way.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Loaded {
    /// The `n x d` points (`n, d >= 1`, finite).
    pub points: Array2<f64>,
    /// NumPy's name of the element type of a binary file (`float64`, `float32`,
    /// `int64`, ...); `None` for CSV.
    pub dtype: Option<&'static str>,
    /// Whether the first column of a CSV file was dropped as a pandas index.
    pub dropped_index: bool,
    /// One line for each conversion or dropped column (empty when the file was read
    /// as it is), e.g. `read float32 data.npy as float64`.
    pub notes: Vec<String>,
    /// For CSV, the 1-based line of every row.
    lines: Option<Vec<usize>>,
}

/// Reads the points in `path` (`.csv`, `.npy`, `.npz`, `FILE.npz:NAME`, or `-` for
/// standard input) as an `n x d` array with `n, d >= 1` and all values finite.
///
/// ```no_run
/// let points = fieldflow::io::read_points("data.csv")?;
/// # Ok::<(), fieldflow::Error>(())
/// ```
pub fn read_points(path: impl AsRef<Path>) -> Result<Array2<f64>> {
    Ok(load_points(path)?.points)
}

/// Like [`read_points`], and says what was converted: the element type of a binary
/// file, a dropped pandas index column (see [`Loaded::notes`]).
pub fn load_points(path: impl AsRef<Path>) -> Result<Loaded> {
    let path = path.as_ref();
    if path.is_dir() {
        let f = read_png_folder(path)?;
        return Ok(Loaded {
            points: f.points,
            dtype: None,
            dropped_index: false,
            notes: f.notes,
            lines: None,
        });
    }
    match fetch(path)? {
        Content::Csv(text) => {
            let c = csv::parse_points(path, &text)?;
            let mut notes = Vec::new();
            if c.dropped_index {
                notes.push(format!(
                    "dropped the first column of {}: its header name is empty (an index column, as pandas to_csv() writes)",
                    show(path)
                ));
            }
            Ok(Loaded {
                points: c.points,
                dtype: None,
                dropped_index: c.dropped_index,
                notes,
                lines: Some(c.lines),
            })
        }
        Content::Npy(bytes) => {
            let a = npy::parse_npy(path, &bytes)?;
            let points = points_2d(path, a.array)?;
            let mut notes = Vec::new();
            if a.dtype != "float64" {
                notes.push(format!("read {} {} as float64", a.dtype, show(path)));
            }
            Ok(Loaded {
                points,
                dtype: Some(a.dtype),
                dropped_index: false,
                notes,
                lines: None,
            })
        }
    }
}

/// A 1-D (as `n x 1`) or 2-D array as non-empty, finite points.
fn points_2d(path: &Path, array: ArrayD<f64>) -> Result<Array2<f64>> {
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
/// array in any format [`read_points`] reads). The weights are not normalised; at
/// least one must be positive.
pub fn read_weights(path: impl AsRef<Path>) -> Result<Vec<f64>> {
    Ok(load_weights(path)?.0)
}

/// Like [`read_weights`], with the notes of [`load_points`].
pub fn load_weights(path: impl AsRef<Path>) -> Result<(Vec<f64>, Vec<String>)> {
    let path = path.as_ref();
    let loaded = load_points(path)?;
    let points = &loaded.points;
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
        return Err(match &loaded.lines {
            Some(l) => parse_err(path, l[i], msg),
            None => io_err(path, format!("{msg} at row {}", i + 1)),
        });
    }
    if weights.iter().all(|&w| w == 0.0) {
        return Err(io_err(path, "all weights are zero"));
    }
    Ok((weights, loaded.notes))
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
    let mut set = OutputSet::new(overwrite);
    set.points(path, points)?;
    set.commit()
}

fn check_points(points: ArrayView2<'_, f64>) -> Result<()> {
    if points.is_empty() {
        return Err(Error::Empty {
            what: "points to write",
        });
    }
    crate::error::ensure_finite("points to write", points)
}

/// Writes `points` to `w` in `format`, as [`write_points`] writes a file (e.g. to
/// standard output).
pub fn write_points_to(
    w: &mut impl Write,
    format: PointFormat,
    points: ArrayView2<'_, f64>,
) -> Result<()> {
    check_points(points)?;
    let header: Vec<String> = (0..points.ncols()).map(|j| format!("x{j}")).collect();
    encode_table(w, format, &header, points)
        .map_err(|e| Error::Invalid(format!("cannot write: {e}")))
}

/// A table as CSV (header `columns`) or as a bare `.npy` array.
fn encode_table(
    w: &mut impl Write,
    format: PointFormat,
    columns: &[String],
    rows: ArrayView2<'_, f64>,
) -> std::io::Result<()> {
    match format {
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
    }
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
    let mut set = OutputSet::new(overwrite);
    set.table(path, columns, rows)?;
    set.commit()
}

/// Writes a table to `w` in `format`, as [`write_table`] writes a file.
pub fn write_table_to(
    w: &mut impl Write,
    format: PointFormat,
    columns: &[String],
    rows: ArrayView2<'_, f64>,
) -> Result<()> {
    check_table(columns, rows)?;
    encode_table(w, format, columns, rows).map_err(|e| Error::Invalid(format!("cannot write: {e}")))
}

fn check_table(columns: &[String], rows: ArrayView2<'_, f64>) -> Result<()> {
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
    Ok(())
}

/// Writes `text` to `path` atomically (no partial file; [`Error::FileExists`] unless
/// `overwrite`). For reports such as JSON statistics.
pub fn write_text(path: impl AsRef<Path>, text: &str, overwrite: bool) -> Result<()> {
    let mut set = OutputSet::new(overwrite);
    set.text(path, text)?;
    set.commit()
}

impl OutputSet {
    /// Stages points for `path` (see [`write_points`]).
    pub fn points(&mut self, path: impl AsRef<Path>, points: ArrayView2<'_, f64>) -> Result<()> {
        let path = path.as_ref();
        let format = PointFormat::from_path(path)?;
        check_points(points)?;
        let header: Vec<String> = (0..points.ncols()).map(|j| format!("x{j}")).collect();
        self.stage(path, |w| encode_table(w, format, &header, points))
    }

    /// Stages a table for `path` (see [`write_table`]).
    pub fn table(
        &mut self,
        path: impl AsRef<Path>,
        columns: &[String],
        rows: ArrayView2<'_, f64>,
    ) -> Result<()> {
        let path = path.as_ref();
        let format = PointFormat::from_path(path)?;
        check_table(columns, rows)?;
        self.stage(path, |w| encode_table(w, format, columns, rows))
    }

    /// Stages a file of raw bytes for `path` (a model file, say).
    pub fn bytes(&mut self, path: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
        self.stage(path.as_ref(), |w| w.write_all(bytes))
    }

    /// Stages a text file for `path` (see [`write_text`]).
    pub fn text(&mut self, path: impl AsRef<Path>, text: &str) -> Result<()> {
        self.stage(path.as_ref(), |w| w.write_all(text.as_bytes()))
    }
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
