//! Sampling a learned field with the crate's ODE solvers (until the common field
//! interface lands, a minimal bridge: the ODE core itself is untouched).
//!
//! As for the exact fields, ray fields are integrated in `tau = ln s`
//! (`dx/dtau = s f = x - m`) and the linear path in `s`. The prior is the far field
//! `mu + s_max U` around the training mean with `U` from the field's law (exact for
//! the linear path at `s_max = 1`, where it is `N(0, I)`); the optional final step
//! lands on the predicted posterior mean `m(x, s_min)`.

use super::field::LearnedField;
use crate::fields::{par_rows, Noise, Schedule};
use crate::ode::{solve_batch, BatchStats, OdeSystem, SolverOptions};
use crate::{Error, Result};
use ndarray::Array2;

/// A learned field as an ODE in `tau = ln s` (ray fields) or `s` (linear path).
pub struct LearnedOde<'a> {
    field: &'a LearnedField,
    log_time: bool,
}

impl<'a> LearnedOde<'a> {
    /// The ODE of `field` (log time for ray fields).
    pub fn new(field: &'a LearnedField) -> Self {
        Self {
            field,
            log_time: field.schedule() == Schedule::Ray,
        }
    }

    /// The ODE time of level `s`.
    pub fn time_of(&self, s: f64) -> f64 {
        if self.log_time {
            s.ln()
        } else {
            s
        }
    }
}

impl OdeSystem for LearnedOde<'_> {
    fn dim(&self) -> usize {
        self.field.dim()
    }

    fn eval(&self, t: f64, y: &[f64], dy: &mut [f64]) {
        self.eval_block(&[t], y, dy);
    }

    fn eval_block(&self, t: &[f64], y: &[f64], dy: &mut [f64]) {
        let d = self.field.dim();
        let s: Vec<f64> = if self.log_time {
            t.iter().map(|v| v.exp()).collect()
        } else {
            t.to_vec()
        };
        self.field.eval_block(&s, y, dy, None);
        if self.log_time {
            for (row, &si) in dy.chunks_exact_mut(d).zip(&s) {
                for v in row {
                    *v *= si;
                }
            }
        }
    }
}

/// Generated samples of a learned field.
#[derive(Debug, Clone)]
pub struct LearnedSamples {
    /// The samples, `n x d`.
    pub x: Array2<f64>,
    /// Solver totals.
    pub totals: BatchStats,
}

/// `n` samples: prior draws at `s_max` (batch `b` of the prior from stream `b` of
/// `seed`), integrated down to `s_min`, then `x <- m(x, s_min)` if `denoise`.
pub fn generate(
    field: &LearnedField,
    n: usize,
    seed: u64,
    solver: &SolverOptions,
    s_max: f64,
    s_min: f64,
    denoise: bool,
) -> Result<LearnedSamples> {
    field.check_level(s_max)?;
    field.check_level(s_min)?;
    if s_min >= s_max {
        return Err(Error::Invalid(format!(
            "s_min {s_min} must be below s_max {s_max}"
        )));
    }
    if n == 0 {
        return Err(Error::Empty { what: "sample" });
    }
    let d = field.dim();
    let meta = field.model().meta();
    let law = match meta.kind {
        crate::fields::FieldKind::Pfgmpp { aug_dim } => Noise::pfgmpp(d, aug_dim)?,
        crate::fields::FieldKind::Poisson => Noise::pfgmpp(d, 1.0)?,
        _ => Noise::gaussian(d)?,
    };
    let linear = field.schedule() == Schedule::Linear;
    if linear && s_max < 1.0 {
        return Err(Error::Invalid(
            "the learned linear path starts from its exact prior at s_max = 1".into(),
        ));
    }
    let mean = meta.mean.clone();
    let x0 = par_rows(n, d, seed, |rng, row| {
        law.sample(rng, row);
        if !linear {
            for (v, m) in row.iter_mut().zip(&mean) {
                *v = m + s_max * *v;
            }
        }
    });
    let ode = LearnedOde::new(field);
    let sol = solve_batch(
        &ode,
        ode.time_of(s_max),
        ode.time_of(s_min),
        x0.view(),
        solver,
        &[],
    )?;
    let mut x = sol.y;
    if denoise {
        let flat: Vec<f64> = x.iter().copied().collect();
        let mut m = vec![0.0; flat.len()];
        field.model().predict_mean(&vec![s_min; n], &flat, &mut m)?;
        x = Array2::from_shape_vec((n, d), m).map_err(|e| Error::Invalid(e.to_string()))?;
    }
    Ok(LearnedSamples {
        x,
        totals: sol.totals,
    })
}
