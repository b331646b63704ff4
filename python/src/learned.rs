//! `fieldflow.train`: a network trained through the library's `run::train` (the code
//! path of `fieldflow train`), so that the model file is the command line's, byte for
//! byte. (`sample(model=...)` and `encode(model=...)` are in their own modules.)

use crate::arrays::matrix;
use crate::errors::{to_py, value_error};
use fieldflow::fields::{FieldKind, FieldParams};
use fieldflow::learn::{Target, TrainConfig};
use fieldflow::run::{self, HeldOut};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;

/// Trains a network on `data` and writes the model file `out`; see `fieldflow.train`.
/// Returns the loss curve as a dict (`step`, `train`, `test`) and the point counts.
#[pyfunction]
#[pyo3(signature = (
    data, out, field, *, aug_dim=None, steps=20_000, batch=512, hidden=64, layers=3,
    lr=1e-3, seed=0, target="conditional", test_split=None, test=None, force=false,
    progress=None
))]
#[allow(clippy::too_many_arguments)]
pub fn _train<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    out: PathBuf,
    field: &str,
    aug_dim: Option<f64>,
    steps: usize,
    batch: usize,
    hidden: usize,
    layers: usize,
    lr: f64,
    seed: u64,
    target: &str,
    test_split: Option<f64>,
    test: Option<&Bound<'py, PyAny>>,
    force: bool,
    progress: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let kind = FieldKind::from_name(
        field,
        &FieldParams {
            aug_dim,
            ..FieldParams::default()
        },
    )
    .map_err(to_py)?;
    fieldflow::learn::sigma_scale(kind).map_err(to_py)?;
    let target: Target = target.parse().map_err(to_py)?;
    if test_split.is_some() && test.is_some() {
        return Err(value_error("give test_split or test, not both"));
    }
    // refuse before the work, as the command line does; the write below checks again
    if !force && out.exists() {
        return Err(to_py(fieldflow::Error::FileExists {
            path: out.display().to_string(),
        }));
    }
    let cfg = TrainConfig {
        kind,
        steps,
        batch,
        hidden,
        layers,
        lr,
        seed,
        target,
        test_every: run::test_every(steps),
        ..TrainConfig::default()
    };
    // the library's size and memory checks, before the data are read
    run::check_train_sizes(&cfg).map_err(to_py)?;
    let data = matrix(data, "data")?;
    let test = test.map(|t| matrix(t, "test")).transpose()?;
    let held_out = match (test_split, &test) {
        (Some(p), _) => HeldOut::Split(p),
        (None, Some(t)) => HeldOut::Points(t.as_array()),
        (None, None) => HeldOut::None,
    };
    let dv = data.as_array();
    let result = crate::run::watched(py, steps, progress, |watch| {
        run::train(
            dv,
            held_out,
            &cfg,
            |_, _| watch.tick(1),
            Some(&watch.cancel),
        )
    })?;
    let trained = result.map_err(to_py)?;
    trained.report.model.save(&out, force).map_err(to_py)?;
    let curve = &trained.report.curve;
    let dict = PyDict::new(py);
    dict.set_item("step", curve.iter().map(|p| p.step).collect::<Vec<_>>())?;
    dict.set_item("train", curve.iter().map(|p| p.train).collect::<Vec<_>>())?;
    dict.set_item("test", curve.iter().map(|p| p.test).collect::<Vec<_>>())?;
    dict.set_item("n_train", trained.n_train)?;
    dict.set_item("n_test", trained.n_test)?;
    Ok(dict)
}
