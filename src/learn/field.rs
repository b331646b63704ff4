//! A learned field: the velocity `f = (x - m)/s` of a trained network's posterior mean.
//!
//! [`LearnedField`] has the same block interface as the exact field: `eval_block`
//! evaluates rows at their own levels, writing NaN rows if the network fails (never
//! panicking), so the ODE solvers treat a failure like any non-finite velocity. The
//! divergence is not available yet ([`crate::learn::field::Divergence::None`]); the
//! exact Jacobian trace by forward-mode tangents is planned.

use super::model::TrainedModel;
use crate::fields::{FieldKind, Schedule};
use crate::{Error, Result};
use std::path::Path;

/// How a field provides `div f`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Divergence {
    /// Not available.
    None,
    /// Exact (closed form or exact Jacobian trace).
    Exact,
    /// A stochastic estimate.
    Estimated,
}

/// A field given by a trained network.
#[derive(Debug, Clone)]
pub struct LearnedField {
    model: TrainedModel,
}

impl LearnedField {
    /// Wraps a trained model.
    pub fn new(model: TrainedModel) -> Self {
        Self { model }
    }

    /// Loads a model file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        TrainedModel::load(path).map(Self::new)
    }

    /// The model.
    pub fn model(&self) -> &TrainedModel {
        &self.model
    }

    /// The field the network was trained on.
    pub fn kind(&self) -> FieldKind {
        self.model.meta().kind
    }

    /// The dimension `d`.
    pub fn dim(&self) -> usize {
        self.model.meta().dim
    }

    /// The schedule.
    pub fn schedule(&self) -> Schedule {
        self.kind().schedule()
    }

    /// Velocities of a block of rows (`s[i]` the level of row `i`, `x` and `f` row by
    /// row, `n x d`). NaN rows if the network fails; `div` is filled with NaN (the
    /// divergence is not available, see [`LearnedField::divergence`]).
    pub fn eval_block(&self, s: &[f64], x: &[f64], f: &mut [f64], div: Option<&mut [f64]>) {
        let d = self.dim();
        if let Some(dv) = div {
            dv.fill(f64::NAN);
        }
        if self.model.predict_mean(s, x, f).is_err() {
            f.fill(f64::NAN);
            return;
        }
        for (i, &si) in s.iter().enumerate() {
            for j in 0..d {
                let k = i * d + j;
                f[k] = (x[k] - f[k]) / si;
            }
        }
    }

    /// How the divergence is provided: not yet.
    pub fn divergence(&self) -> Divergence {
        Divergence::None
    }

    /// A one-line description.
    pub fn describe(&self) -> String {
        let m = self.model.meta();
        format!(
            "learned {} (MLP {}x{} SiLU, {} target, {} steps, seed {}, d = {})",
            m.kind, m.layers, m.hidden, m.target, m.steps, m.seed, m.dim
        )
    }

    /// Checks that `s` is an allowed level (`s > 0`, and `s <= 1` for `linear`).
    pub fn check_level(&self, s: f64) -> Result<()> {
        let ok = s > 0.0 && s <= self.schedule().s_upper();
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidParameter {
                name: "level s",
                value: s,
                reason: if self.schedule() == Schedule::Linear {
                    "must be in (0, 1] for the linear path"
                } else {
                    "must be positive"
                },
            })
        }
    }
}
