//! `fieldflow.encode`: points run forward from the data level to the prior level
//! (`s_max`), with exact log-likelihoods on request: the library's `run::encode`, the
//! code path of `fieldflow encode`.

use crate::arrays::{matrix, to_numpy};
use crate::errors::to_py;
use fieldflow::run::{self, FieldSpec, Hooks, SampleRequest};
use numpy::IntoPyArray;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Encodes `points` through the exact field of `data`; see `fieldflow.encode`.
#[pyfunction]
#[pyo3(signature = (
    field, data, points, *, aug_dim=None, power=None, profile=None, r#box=None,
    weights=None, method="dopri5", rtol=1e-5, atol=1e-5, steps=None, s_max=None,
    s_start=None, prior="far", log_likelihood=false, progress=None
))]
#[allow(clippy::too_many_arguments)]
pub fn _encode<'py>(
    py: Python<'py>,
    field: &str,
    data: &Bound<'py, PyAny>,
    points: &Bound<'py, PyAny>,
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
    let spec = FieldSpec {
        name: field.to_string(),
        aug_dim,
        power,
        profile,
        uniform_box: r#box,
    };
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
    let mf = crate::field::build(py, &spec, data, weights)?;
    let x = matrix(points, "points")?;
    let xv = x.as_array();
    let result = crate::run::watched(py, xv.nrows(), progress, |watch| {
        let tick = |k: usize| watch.tick(k);
        let hooks = Hooks {
            progress: Some(&tick),
            cancel: Some(&watch.cancel),
        };
        run::encode(&mf, xv, &req, log_likelihood, hooks)
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
