//! Python bindings of fieldflow: the module `fieldflow._native`, wrapped by the
//! pure-Python package `fieldflow` (python/fieldflow).
//!
//! Each function mirrors a command of the `fieldflow` binary with the same names,
//! defaults and seeds, so that a Python call and the command line give the same bits.
//! Arrays come in from numpy without a copy when they are float64 (any memory order)
//! and go out to numpy without a copy ([`arrays`]); the GIL is released while Rust
//! works; library errors become Python exceptions ([`errors`]).

use pyo3::prelude::*;

pub mod arrays;
pub mod check;
pub mod datasets;
pub mod encode;
pub mod errors;
pub mod field;
pub mod learned;
pub mod marginal;
pub mod run;
pub mod sample;

/// The native module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(datasets::datasets, m)?)?;
    m.add_function(wrap_pyfunction!(check::check, m)?)?;
    m.add_function(wrap_pyfunction!(sample::_sample, m)?)?;
    m.add_function(wrap_pyfunction!(marginal::marginal, m)?)?;
    m.add_function(wrap_pyfunction!(encode::_encode, m)?)?;
    m.add_function(wrap_pyfunction!(learned::_train, m)?)?;
    m.add_function(wrap_pyfunction!(arrays::_input_address, m)?)?;
    m.add("BATCH", fieldflow::fields::BATCH)?;
    m.add_class::<check::Report>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
