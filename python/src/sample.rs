//! `fieldflow.sample`: generation by integrating an exact field from its prior, the
//! library's `run::sample` (the code path of `fieldflow sample`) on numpy arrays, or
//! a learned model file, `run::sample_model` (`fieldflow sample --model`).
//!
//! The native function returns a dict of arrays; the pure-Python `Samples` class wraps
//! it (and the Dask front end stacks the dicts of its chunks).

use crate::arrays::{matrix, to_numpy};
use crate::errors::{to_py, value_error};
use crate::run::watched_run;
use fieldflow::fields::MarginalField;
use fieldflow::learn::LearnedField;
use fieldflow::ode::Status;
use fieldflow::run::{self, FieldSpec, SampleRequest, SampleRun, Sampled};
use numpy::IntoPyArray;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;

/// The code of `Samples.status` (`fieldflow.STATUS_NAMES[code]`).
pub fn status_code(s: &Status) -> u8 {
    match s {
        Status::Success => 0,
        Status::MaxStepsReached { .. } => 1,
        Status::StepSizeTooSmall { .. } => 2,
        Status::NonFinite { .. } => 3,
    }
}

/// Samples an exact field of the data, or a learned model file (`model`); see
/// `fieldflow.sample` for the arguments. The one place where the keyword arguments
/// become the library's `SampleRequest`, for both.
#[pyfunction]
#[pyo3(signature = (
    field=None, data=None, n=None, seed=0, *, model=None, aug_dim=None, power=None,
    profile=None, r#box=None, method="dopri5", rtol=1e-5, atol=1e-5, steps=None, s_max=None,
    s_min=None, prior="far", force_prior=false, weights=None, start=None, start_level=None,
    rho=None, denoise=false, unconverged_factor=1000.0, ode_time=None, offset=0, progress=None
))]
#[allow(clippy::too_many_arguments)]
pub fn _sample<'py>(
    py: Python<'py>,
    field: Option<&str>,
    data: Option<&Bound<'py, PyAny>>,
    n: Option<usize>,
    seed: u64,
    model: Option<PathBuf>,
    aug_dim: Option<f64>,
    power: Option<f64>,
    profile: Option<String>,
    r#box: Option<(f64, f64)>,
    method: &str,
    rtol: f64,
    atol: f64,
    steps: Option<usize>,
    s_max: Option<f64>,
    s_min: Option<f64>,
    prior: &str,
    force_prior: bool,
    weights: Option<&Bound<'py, PyAny>>,
    start: Option<&Bound<'py, PyAny>>,
    start_level: Option<f64>,
    rho: Option<f64>,
    denoise: bool,
    unconverged_factor: f64,
    ode_time: Option<String>,
    offset: usize,
    progress: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let spec = crate::field::spec(field.unwrap_or_default(), aug_dim, power, profile, r#box);
    let source = Source::new(py, field, data, model, &spec, weights, force_prior)?;
    let req = SampleRequest {
        n,
        seed,
        offset,
        method: method.to_string(),
        rtol,
        atol,
        steps,
        s_max,
        s_min,
        prior: prior.to_string(),
        force_prior,
        start_level,
        rho,
        denoise,
        unconverged_factor,
        ode_time,
    };
    let start = start.map(|s| matrix(s, "start")).transpose()?;
    let sv = start.as_ref().map(|s| s.as_array());
    let total = sv.map_or(n.unwrap_or(0), |s| s.nrows());
    let result = watched_run(py, total, progress, |hooks| match &source {
        Source::Exact(mf) => run::sample(mf, &req, sv, hooks),
        Source::Model(lf) => run::sample_model(lf, &req, sv, hooks),
    })?;
    samples_dict(py, result.map_err(to_py)?)
}

/// What a run integrates: the exact field of data, or a learned model.
pub enum Source {
    /// `field` of `data`.
    Exact(MarginalField),
    /// A model file written by `train`.
    Model(LearnedField),
}

impl Source {
    /// The exact field `spec` of `data` (with `weights`), or the model file `model`;
    /// with a model, `field`, `data` and the exact field's options are refused, as the
    /// command line refuses them beside `--model`.
    pub fn new(
        py: Python<'_>,
        field: Option<&str>,
        data: Option<&Bound<'_, PyAny>>,
        model: Option<PathBuf>,
        spec: &FieldSpec,
        weights: Option<&Bound<'_, PyAny>>,
        force_prior: bool,
    ) -> PyResult<Self> {
        let Some(model) = model else {
            let Some(data) = data.filter(|_| field.is_some()) else {
                return Err(value_error("give field and data (or model)"));
            };
            return Ok(Self::Exact(crate::field::build(py, spec, data, weights)?));
        };
        let given: Vec<&str> = [
            ("field", field.is_some()),
            ("data", data.is_some()),
            ("aug_dim", spec.aug_dim.is_some()),
            ("power", spec.power.is_some()),
            ("profile", spec.profile.is_some()),
            ("box", spec.uniform_box.is_some()),
            ("weights", weights.is_some()),
            ("force_prior", force_prior),
        ]
        .iter()
        .filter(|(_, given)| *given)
        .map(|(name, _)| *name)
        .collect();
        if !given.is_empty() {
            return Err(value_error(format!(
                "{} not allowed with model (the model file holds the field)",
                given.join(", ")
            )));
        }
        Ok(Self::Model(LearnedField::load(&model).map_err(to_py)?))
    }
}

/// The dict of arrays that `Samples` wraps, from a library run.
pub fn samples_dict(py: Python<'_>, run: SampleRun) -> PyResult<Bound<'_, PyDict>> {
    let stats = run.stats();
    let status: Vec<u8> = stats.iter().map(|s| status_code(&s.status)).collect();
    let evals: Vec<u64> = stats.iter().map(|s| s.evals).collect();
    let unconverged = run.unconverged();
    let totals = run.totals();
    let out = PyDict::new(py);
    out.set_item("s_start", run.s_start)?;
    out.set_item("s_min", run.s_min)?;
    out.set_item("prior_bound", run.prior_bound)?;
    out.set_item("evaluations_total", totals.evals)?;
    out.set_item("steps_accepted", totals.accepted)?;
    out.set_item("steps_rejected", totals.rejected)?;
    out.set_item("status", status.into_pyarray(py))?;
    out.set_item("evaluations", evals.into_pyarray(py))?;
    out.set_item("unconverged", unconverged.into_pyarray(py))?;
    let x = match run.sampled {
        Sampled::Ode(s) => s.x,
        Sampled::FewStep(s) => s.x,
    };
    out.set_item("points", to_numpy(py, x))?;
    Ok(out)
}
