//! `fieldflow.datasets`: the data sets of `fieldflow datasets`, drawn with the same
//! seeds (the same bits as the command line's `.npy` output).

use crate::errors::{to_py, value_error};
use fieldflow::data::{Dataset, Digits, GaussianMixture};
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
    let points = if name == "digits" {
        py.detach(|| Digits::draw(n, seed)).map_err(to_py)?.images
    } else {
        enum Source {
            Toy(Dataset),
            Mixture(GaussianMixture),
        }
        let source = match name.strip_prefix("mixture:") {
            Some(spec) => Source::Mixture(spec.parse().map_err(to_py)?),
            None => Source::Toy(name.parse().map_err(to_py)?),
        };
        let Some(n) = n else {
            return Err(value_error(format!("n is required for {name}")));
        };
        if n == 0 {
            return Err(value_error("n must be at least 1"));
        }
        py.detach(|| match &source {
            Source::Toy(d) => d.try_sample_seeded(n, seed),
            Source::Mixture(gm) => gm.try_sample(n, &mut fieldflow::rng::seeded(seed)),
        })
        .map_err(to_py)?
    };
    Ok(crate::arrays::to_numpy(py, points))
}
