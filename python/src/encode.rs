//! `fieldflow.encode`: points run forward from the data level to the prior level
//! (`s_max`), with log-likelihoods on request: the library's `run::encode` (exact
//! field) or `run::encode_model` (learned model), the code paths of `fieldflow
//! encode` and `fieldflow encode --model`.

use crate::arrays::{matrix, to_numpy};
use crate::errors::{to_py, value_error};
use crate::run::watched_run;
use crate::sample::Source;
use fieldflow::run::{self, SampleRequest};
use numpy::IntoPyArray;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;

/// Encodes `points` through the exact field of `data`, or through a learned model
/// file (`model`); see `fieldflow.encode`.
#[pyfunction]
#[pyo3(signature = (
    field=None, data=None, points=None, *, model=None, aug_dim=None, power=None,
    profile=None, r#box=None, weights=None, method="dopri5", rtol=1e-5, atol=1e-5,
    steps=None, s_max=None, s_start=None, prior="far", log_likelihood=false, progress=None
))]
#[allow(clippy::too_many_arguments)]
pub fn _encode<'py>(
    py: Python<'py>,
    field: Option<&str>,
    data: Option<&Bound<'py, PyAny>>,
    points: Option<&Bound<'py, PyAny>>,
    model: Option<PathBuf>,
    aug_dim: Option<f64>,
    power: Option<f64>,
    profile: Option<String>,
    r#box: Option<(f64, f64)>,
    weights: Option<&Bound<'py, PyAny>>,
    method: &str,
    rtol: f64,
    atol: f64,
    steps: Option<usize>,
    s_max: Option<f64>,
    s_start: Option<f64>,
    prior: &str,
    log_likelihood: bool,
    progress: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let Some(points) = points else {
        return Err(value_error("give the points to encode"));
    };
    let spec = crate::field::spec(field.unwrap_or_default(), aug_dim, power, profile, r#box);
    let source = Source::new(py, field, data, model, &spec, weights, false)?;
    let req = SampleRequest {
        method: method.to_string(),
        rtol,
        atol,
        steps,
        s_max,
        s_min: s_start,
        prior: prior.to_string(),
        ..Default::default()
    };
    let x = matrix(points, "points")?;
    let xv = x.as_array();
    let result = watched_run(py, xv.nrows(), progress, |hooks| match &source {
        Source::Exact(mf) => run::encode(mf, xv, &req, log_likelihood, hooks),
        Source::Model(lf) => run::encode_model(lf, xv, &req, log_likelihood, hooks),
    })?;
    let enc = result.map_err(to_py)?;
    let status: Vec<u8> = enc
        .stats
        .iter()
        .map(|s| crate::sample::status_code(&s.status))
        .collect();
    let evals: Vec<u64> = enc.stats.iter().map(|s| s.evals).collect();
    let out = PyDict::new(py);
    out.set_item("codes", to_numpy(py, enc.z))?;
    out.set_item("log_p", enc.log_p.map(|a| a.into_pyarray(py)))?;
    out.set_item("delta_log_p", enc.delta_log_p.map(|a| a.into_pyarray(py)))?;
    out.set_item("status", status.into_pyarray(py))?;
    out.set_item("evaluations", evals.into_pyarray(py))?;
    out.set_item("evaluations_total", enc.totals.evals)?;
    Ok(out)
}
