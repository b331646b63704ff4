//! `fieldflow.marginal`: exact draws of the marginal `p_s` of a field, as
//! `fieldflow marginal` writes them (the same seed gives the same bits; rows that are
//! not finite, which the command line leaves out of its file, are left out here too).

use crate::errors::to_py;
use numpy::PyArray2;
use pyo3::prelude::*;

/// `n` exact draws of `p_s` of the field of `data`.
#[pyfunction]
#[pyo3(signature = (field, data, s, n, seed=0, *, aug_dim=None, power=None, profile=None, r#box=None, weights=None))]
#[allow(clippy::too_many_arguments)]
pub fn marginal<'py>(
    py: Python<'py>,
    field: &str,
    data: &Bound<'py, PyAny>,
    s: f64,
    n: usize,
    seed: u64,
    aug_dim: Option<f64>,
    power: Option<f64>,
    profile: Option<String>,
    r#box: Option<(f64, f64)>,
    weights: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    if n == 0 {
        return Err(crate::errors::value_error("n must be at least 1"));
    }
    let spec = crate::field::spec(field, aug_dim, power, profile, r#box);
    let mf = crate::field::build(py, &spec, data, weights)?;
    let x = py
        .detach(|| {
            mf.sample_marginal(s, n, seed).map(|x| {
                if x.iter().all(|v| v.is_finite()) {
                    return x;
                }
                let keep: Vec<usize> = (0..x.nrows())
                    .filter(|&i| x.row(i).iter().all(|v| v.is_finite()))
                    .collect();
                x.select(ndarray::Axis(0), &keep)
            })
        })
        .map_err(to_py)?;
    Ok(crate::arrays::to_numpy(py, x))
}
