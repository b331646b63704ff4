//! The library's errors as Python exceptions.
//!
//! | library error | Python exception |
//! |---|---|
//! | bad argument (`InvalidParameter`, `DimensionMismatch`, `NonFinite`, `Empty`, `UnknownName`, `Invalid`, `NotApplicable`) | `ValueError` |
//! | a file that does not exist (`Io` on a missing path) | `FileNotFoundError` |
//! | any other unreadable or unwritable file (`Io`) | `OSError` |
//! | a malformed line of a text file (`Parse`) | `ValueError` |
//! | an output file that exists (`FileExists`) | `FileExistsError` |
//! | a run stopped by its cancel flag (`Cancelled`) | `KeyboardInterrupt` |
//! | anything else (`Plot`, later variants) | `RuntimeError` |
//!
//! The message is the library's one-line message, the text the command line prints
//! after `error: `.

use fieldflow::Error;
use pyo3::exceptions::{
    PyFileExistsError, PyFileNotFoundError, PyKeyboardInterrupt, PyOSError, PyRuntimeError,
    PyValueError,
};
use pyo3::PyErr;

/// The Python exception for a library error.
pub fn to_py(e: Error) -> PyErr {
    let msg = e.to_string();
    match e {
        Error::InvalidParameter { .. }
        | Error::DimensionMismatch { .. }
        | Error::NonFinite { .. }
        | Error::Empty { .. }
        | Error::UnknownName { .. }
        | Error::Invalid(_)
        | Error::NotApplicable(_)
        | Error::Parse { .. } => PyValueError::new_err(msg),
        Error::Io { path, .. } => {
            if std::path::Path::new(&path).exists() {
                PyOSError::new_err(msg)
            } else {
                PyFileNotFoundError::new_err(msg)
            }
        }
        Error::FileExists { .. } => PyFileExistsError::new_err(msg),
        Error::Cancelled => PyKeyboardInterrupt::new_err(msg),
        _ => PyRuntimeError::new_err(msg),
    }
}

/// A `ValueError` with the given message (arguments the bindings check themselves,
/// worded as the command line words them).
pub fn value_error(msg: impl Into<String>) -> PyErr {
    PyValueError::new_err(msg.into())
}
