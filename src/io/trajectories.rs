//! Trajectory files: `n x K x d` recorded paths.
//!
//! `.npy` holds the 3-D array itself (C order, shape `(n, K, d)`; read back from any
//! real element type, like point files); `.csv` the long format with header
//! `particle,s,x0,...,x{d-1}` and one row per particle and level, particle-major (NaN
//! after a failed trajectory).

use super::{clip, fetch, fmt_f64, io_err, npy, parse_err, Content, OutputSet, PointFormat};
use crate::error::{Error, Result};
use ndarray_npy::WriteNpyExt;
use std::io::Write;
use std::path::Path;

/// Writes recorded paths `paths` (`n x levels.len() x d`, as returned by
/// [`crate::sampling::trajectories`]) to `path`. `.npy`: the 3-D array itself (C
/// order, shape `(n, levels, d)`); `.csv`: the long format with header
/// `particle,s,x0,...,x{d-1}` and one row per particle and level (particle-major,
/// levels in the given order; NaN after a failed trajectory). Atomic like
/// [`write_points`](super::write_points).
pub fn write_trajectories(
    path: impl AsRef<Path>,
    levels: &[f64],
    paths: ndarray::ArrayView3<'_, f64>,
    overwrite: bool,
) -> Result<()> {
    let mut set = OutputSet::new(overwrite);
    set.trajectories(path, levels, paths)?;
    set.commit()
}

/// Writes recorded paths to `w` in `format` (see [`write_trajectories`]), e.g. to
/// standard output.
pub fn write_trajectories_to(
    w: &mut impl Write,
    format: PointFormat,
    levels: &[f64],
    paths: ndarray::ArrayView3<'_, f64>,
) -> Result<()> {
    check(levels, paths)?;
    encode(w, format, levels, paths).map_err(|e| Error::Invalid(format!("cannot write: {e}")))
}

impl OutputSet {
    /// Stages recorded paths for `path` (see [`write_trajectories`]).
    pub fn trajectories(
        &mut self,
        path: impl AsRef<Path>,
        levels: &[f64],
        paths: ndarray::ArrayView3<'_, f64>,
    ) -> Result<()> {
        let path = path.as_ref();
        let format = PointFormat::from_path(path)?;
        check(levels, paths)?;
        self.stage(path, |w| encode(w, format, levels, paths))
    }
}

fn check(levels: &[f64], paths: ndarray::ArrayView3<'_, f64>) -> Result<()> {
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
    Ok(())
}

fn encode(
    w: &mut impl Write,
    format: PointFormat,
    levels: &[f64],
    paths: ndarray::ArrayView3<'_, f64>,
) -> std::io::Result<()> {
    let (n, _, d) = paths.dim();
    match format {
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
    }
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
    match fetch(path)? {
        Content::Npy(bytes) => {
            let array = npy::parse_npy(path, &bytes)?.array;
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
        Content::Csv(text) => read_trajectories_csv(path, &text),
    }
}

fn read_trajectories_csv(path: &Path, text: &str) -> Result<RecordedPaths> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
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
