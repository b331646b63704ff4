//! The library's error type.
//!
//! Every fallible constructor and entry point returns [`Result`]. Errors carry
//! structured fields so that callers (and the command line) can report exactly what
//! was wrong; they are never used for control flow inside the numerical loops, where
//! a failing particle gets a [`crate::ode::Status`] instead.

use ndarray::ArrayView2;
use thiserror::Error;

/// Everything that can go wrong in fieldflow.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A numeric parameter is outside its allowed range.
    #[error("invalid {name}: {value} ({reason})")]
    InvalidParameter {
        /// Parameter name as the user knows it.
        name: &'static str,
        /// The offending value.
        value: f64,
        /// What the parameter must satisfy.
        reason: &'static str,
    },
    /// Array shapes do not fit together.
    #[error("dimension mismatch in {what}: expected {expected}, got {got}")]
    DimensionMismatch {
        /// What was being matched.
        what: &'static str,
        /// The expected size.
        expected: usize,
        /// The size that was given.
        got: usize,
    },
    /// Input data contain a NaN or an infinity.
    #[error("non-finite value in {what} at row {row}, column {col}")]
    NonFinite {
        /// Which input.
        what: &'static str,
        /// Row of the first non-finite value.
        row: usize,
        /// Column of the first non-finite value.
        col: usize,
    },
    /// An input set is empty where at least one element is needed.
    #[error("{what} is empty")]
    Empty {
        /// Which input.
        what: &'static str,
    },
    /// A name (method, field, data set, ...) is not known.
    #[error("unknown {kind} '{name}' (known: {known})")]
    UnknownName {
        /// What kind of name.
        kind: &'static str,
        /// The name given.
        name: String,
        /// The accepted names, comma separated.
        known: String,
    },
    /// A file could not be read or written, or its content is unusable as a whole
    /// (unsupported format, no points, wrong array shape in a binary file).
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong, one line.
        message: String,
    },
    /// A line of a text file is malformed.
    #[error("{path}, line {line}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong with the line, one line.
        message: String,
    },
    /// The output file exists and overwriting was not requested.
    #[error("{path} already exists (not overwritten)")]
    FileExists {
        /// The file.
        path: String,
    },
    /// Drawing a figure failed (the plotting backend's message).
    #[error("plotting failed: {0}")]
    Plot(String),
    /// A statistical test cannot run on the given data (e.g. the median-heuristic
    /// bandwidth of MMD is 0 on tied data, or a sample is too small); a battery reports
    /// such a test as not applicable and runs the others.
    #[error("{0}")]
    NotApplicable(String),
    /// The run was stopped by its cancel flag (e.g. on Ctrl-C) before it finished;
    /// nothing of it is returned.
    #[error("cancelled")]
    Cancelled,
    /// Any other invalid argument, described in words.
    #[error("{0}")]
    Invalid(String),
}

/// `Result` with the library's [`Error`](enum@Error).
pub type Result<T> = std::result::Result<T, Error>;

/// `Err(NonFinite)` naming the first NaN or infinity of `a` (in row-major order).
pub fn ensure_finite(what: &'static str, a: ArrayView2<f64>) -> Result<()> {
    match a.indexed_iter().find(|(_, v)| !v.is_finite()) {
        Some(((row, col), _)) => Err(Error::NonFinite { what, row, col }),
        None => Ok(()),
    }
}

/// `Err(DimensionMismatch)` unless `a` has `cols` columns.
pub fn ensure_cols(what: &'static str, a: ArrayView2<f64>, cols: usize) -> Result<()> {
    if a.ncols() == cols {
        Ok(())
    } else {
        Err(Error::DimensionMismatch {
            what,
            expected: cols,
            got: a.ncols(),
        })
    }
}
