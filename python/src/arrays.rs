//! numpy arrays in and out without copies.
//!
//! Input: a float64 array of two dimensions is read in place, in any memory order (C,
//! Fortran or strided: the library takes `ndarray` views with arbitrary strides). Any
//! other input (another numeric dtype, a list of lists, a one-dimensional array, which
//! is read as one column) is converted once with `numpy.asarray(x, dtype=float64)`.
//! Output: arrays computed in Rust are handed to numpy as they are; the numpy array's
//! `base` is the Rust allocation.

use numpy::{PyArray2, PyArrayMethods, PyReadonlyArray2};
use pyo3::prelude::*;

/// A read-only float64 matrix borrowed from Python for the duration of a call.
pub type Matrix<'py> = PyReadonlyArray2<'py, f64>;

/// `obj` as a float64 matrix: in place when it is one, otherwise converted once.
/// `what` names the argument in error messages.
pub fn matrix<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Matrix<'py>> {
    if let Ok(m) = obj.extract::<PyReadonlyArray2<'py, f64>>() {
        return Ok(m);
    }
    let py = obj.py();
    let np = py.import("numpy")?;
    let a = np
        .call_method1("asarray", (obj, "float64"))
        .map_err(|e| crate::errors::value_error(format!("{what}: not a numeric array ({e})")))?;
    let ndim: usize = a.getattr("ndim")?.extract()?;
    let a = match ndim {
        2 => a,
        1 => a.call_method1("reshape", (-1, 1))?,
        k => {
            return Err(crate::errors::value_error(format!(
                "{what}: expected an n x d array (one point per row), got {k} dimensions"
            )))
        }
    };
    let a = a.cast_into::<PyArray2<f64>>()?;
    Ok(a.readonly())
}

/// An owned Rust matrix handed to numpy without a copy.
pub fn to_numpy<'py>(py: Python<'py>, a: ndarray::Array2<f64>) -> Bound<'py, PyArray2<f64>> {
    PyArray2::from_owned_array(py, a)
}

/// The address of the first element of the matrix that Rust reads for `obj`: equal
/// to numpy's `x.__array_interface__["data"][0]` when the input is read in place.
/// (For the zero-copy test.)
#[pyfunction]
pub fn _input_address(obj: &Bound<'_, PyAny>) -> PyResult<usize> {
    let m = matrix(obj, "x")?;
    Ok(m.as_array().as_ptr() as usize)
}
