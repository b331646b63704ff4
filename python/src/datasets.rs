//! `fieldflow.datasets`: the data sets of `fieldflow datasets` (the library's
//! `run::datasets`), drawn with the same seeds: the same bits as the command line's
//! `.npy` output.

use crate::errors::{to_py, value_error};
use numpy::PyArray2;
use pyo3::prelude::*;

/// Draws `n` points of a data set with `seed`: a toy set (`swissroll`, `circles`,
/// `rings`, `moons`, `8gaussians`, `pinwheel`, `2spirals`, `checkerboard`),
/// `mixture:SPEC`, or `digits` (all 1,797 in file order without `n`).
#[pyfunction]
#[pyo3(signature = (name, n=None, seed=0))]
pub fn datasets<'py>(
    py: Python<'py>,
    name: &str,
    n: Option<usize>,
    seed: u64,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    if name == "images" {
        return Err(value_error(
            "datasets images reads a folder of PNG files: use the command line \
             (fieldflow datasets images DIR --out FILE) or read the images with numpy",
        ));
    }
    let points = py
        .detach(|| fieldflow::run::datasets(name, n, seed))
        .map_err(to_py)?;
    Ok(crate::arrays::to_numpy(py, points))
}
