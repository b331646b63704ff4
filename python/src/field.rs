//! The exact field of numpy data, as `FieldSpec::build` makes it for the command
//! line (shared by `sample` and `marginal`).

use crate::arrays::matrix;
use crate::errors::{to_py, value_error};
use fieldflow::fields::MarginalField;
use fieldflow::run::FieldSpec;
use pyo3::prelude::*;

/// The field named by the keyword arguments that `sample`, `encode` and `marginal`
/// share (`field`, `aug_dim`, `power`, `profile`, `box`).
pub fn spec(
    name: &str,
    aug_dim: Option<f64>,
    power: Option<f64>,
    profile: Option<String>,
    uniform_box: Option<(f64, f64)>,
) -> FieldSpec {
    FieldSpec {
        name: name.to_string(),
        aug_dim,
        power,
        profile,
        uniform_box,
    }
}

/// Builds the field `spec` of `data` (`n x d`) with optional `weights` (one per row,
/// a vector or a column), with the GIL released.
pub fn build(
    py: Python<'_>,
    spec: &FieldSpec,
    data: &Bound<'_, PyAny>,
    weights: Option<&Bound<'_, PyAny>>,
) -> PyResult<MarginalField> {
    let data = matrix(data, "data")?;
    let weights = match weights {
        Some(w) => {
            let w = matrix(w, "weights")?;
            let wv = w.as_array();
            if wv.ncols() != 1 {
                return Err(value_error(format!(
                    "weights: expected one weight per data point, got {} columns",
                    wv.ncols()
                )));
            }
            Some(wv.column(0).to_vec())
        }
        None => None,
    };
    let dv = data.as_array();
    py.detach(|| spec.build(dv, weights.as_deref()))
        .map_err(to_py)
}
