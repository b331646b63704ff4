//! A learned field: the velocity `f = (x - m)/s` of a trained network's posterior mean.
//!
//! [`LearnedField`] has the same block interface as the exact field: `eval_block`
//! evaluates rows at their own levels, writing NaN rows if the network fails (never
//! panicking), so the ODE solvers treat a failure like any non-finite velocity.
//!
//! The divergence is exact: `div f = (d - tr(dm/dx)) / s` with
//! `dm/dx = c_skip I + c_out c_in J`, and the network's Jacobian `J` with respect to
//! its position inputs is carried through the layers by forward-mode tangents,
//! `J = W_L diag(silu'(z_{L-1})) W_{L-1} ... diag(silu'(z_1)) W_1 [I; 0]`, which costs
//! `d` extra passes of the network's width per row (meant for small `d`). This pass
//! runs in `f64` on the `f32` weights, so it is the exact trace of the same network
//! evaluated in double precision.

use super::model::TrainedModel;
use crate::fields::{Divergence, Field, FieldKind, Noise, Schedule};
use crate::sampling::FarFieldPrior;
use crate::{Error, Result};
use std::path::Path;

/// A field given by a trained network.
#[derive(Debug, Clone)]
pub struct LearnedField {
    model: TrainedModel,
    /// The weights in `f64`: `(W [out x in] row-major, b, out)` per layer.
    weights: Vec<(Vec<f64>, Vec<f64>, usize)>,
}

impl LearnedField {
    /// Wraps a trained model.
    pub fn new(model: TrainedModel) -> Self {
        let named = model.mlp().named_tensors();
        let weights = named
            .chunks_exact(2)
            .map(|pair| {
                let flat = |t: &candle_core::Tensor| -> Vec<f64> {
                    t.flatten_all()
                        .and_then(|v| v.to_vec1::<f32>())
                        .map(|v| v.into_iter().map(f64::from).collect())
                        .unwrap_or_default()
                };
                let out = pair[0].1.dims()[0];
                (flat(&pair[0].1), flat(&pair[1].1), out)
            })
            .collect();
        Self { model, weights }
    }

    /// `tr(dF/dx_in)` pieces: the network's Jacobian with respect to its first `d`
    /// inputs at input `z` (length `d + 9`), as a row-major `d x d` matrix.
    fn input_jacobian(&self, z: &[f64], d: usize) -> Vec<f64> {
        let mut h = z.to_vec();
        let mut width = z.len();
        // tangents: width x d, row-major; initially [I; 0]
        let mut t = vec![0.0; width * d];
        for j in 0..d {
            t[j * d + j] = 1.0;
        }
        let last = self.weights.len() - 1;
        for (l, (w, b, out)) in self.weights.iter().enumerate() {
            let mut hn = b.clone();
            let mut tn = vec![0.0; out * d];
            for o in 0..*out {
                let row = &w[o * width..(o + 1) * width];
                let mut acc = 0.0;
                for (k, wk) in row.iter().enumerate() {
                    acc += wk * h[k];
                    let tk = &t[k * d..(k + 1) * d];
                    for (tj, v) in tn[o * d..(o + 1) * d].iter_mut().zip(tk) {
                        *tj += wk * v;
                    }
                }
                hn[o] += acc;
            }
            if l < last {
                for o in 0..*out {
                    let x = hn[o];
                    let sg = 1.0 / (1.0 + (-x).exp());
                    let dsilu = sg * (1.0 + x * (1.0 - sg));
                    hn[o] = x * sg;
                    for v in &mut tn[o * d..(o + 1) * d] {
                        *v *= dsilu;
                    }
                }
            }
            h = hn;
            t = tn;
            width = *out;
        }
        t
    }

    /// `div f` at rows `x` with levels `s` (exact trace of the network's Jacobian).
    fn divergence_block(&self, s: &[f64], x: &[f64], div: &mut [f64]) {
        let d = self.dim();
        let meta = self.model.meta();
        let pre = self.model.precond();
        let mut z = vec![0.0; d + super::EMBED_DIM];
        for (i, &si) in s.iter().enumerate() {
            let c = pre.at(si);
            for j in 0..d {
                z[j] = c.c_in * (x[i * d + j] - c.alpha * meta.mean[j]);
            }
            super::embed(c.c_noise, &mut z[d..]);
            let jac = self.input_jacobian(&z, d);
            let tr: f64 = (0..d).map(|j| jac[j * d + j]).sum();
            let tr_m = d as f64 * c.c_skip + c.c_out * c.c_in * tr;
            div[i] = (d as f64 - tr_m) / si;
        }
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

    /// The prior of sampling at level `s_max`: the far field `mu + s_max U` around
    /// the training mean `mu` with `U` from the field's law (PFGM++ with its `D`,
    /// Poisson for `D = 1`, normal for the Gaussian field); for the linear path the
    /// exact prior `N(0, I)`, at `s_max = 1` only.
    pub fn prior(&self, s_max: f64) -> Result<FarFieldPrior> {
        let meta = self.model.meta();
        let d = meta.dim;
        let law = match meta.kind {
            FieldKind::Pfgmpp { aug_dim } => Noise::pfgmpp(d, aug_dim)?,
            FieldKind::Poisson => Noise::pfgmpp(d, 1.0)?,
            _ => Noise::gaussian(d)?,
        };
        if self.schedule() == Schedule::Linear {
            #[allow(clippy::float_cmp)] // the exact prior lives at s = 1 exactly
            if s_max != 1.0 {
                return Err(Error::Invalid(format!(
                    "a learned linear path starts from its exact prior at s_max = 1, not {s_max}"
                )));
            }
            return FarFieldPrior::new(vec![0.0; d], law, 1.0);
        }
        FarFieldPrior::new(meta.mean.clone(), law, s_max)
    }

    /// The default top level stored with the model (see
    /// [`ModelMeta::s_max`](super::model::ModelMeta::s_max)).
    pub fn default_s_max(&self) -> f64 {
        self.model.meta().s_max
    }
}

impl Field for LearnedField {
    /// The dimension `d`.
    fn dim(&self) -> usize {
        self.model.meta().dim
    }

    /// The schedule.
    fn schedule(&self) -> Schedule {
        self.kind().schedule()
    }

    /// Velocities of a block of rows (`s[i]` the level of row `i`, `x` and `f` row by
    /// row, `n x d`) and, when asked, their divergences. NaN rows (and NaN
    /// divergences) if the network fails or the sizes do not fit; never a panic.
    fn eval_block(&self, s: &[f64], x: &[f64], f: &mut [f64], div: Option<&mut [f64]>) {
        let d = self.dim();
        if self.model.predict_mean(s, x, f).is_err() {
            f.fill(f64::NAN);
            if let Some(dv) = div {
                dv.fill(f64::NAN);
            }
            return;
        }
        if let Some(dv) = div {
            if dv.len() == s.len() {
                self.divergence_block(s, x, dv);
            } else {
                dv.fill(f64::NAN);
            }
        }
        for (i, &si) in s.iter().enumerate() {
            for j in 0..d {
                let k = i * d + j;
                f[k] = (x[k] - f[k]) / si;
            }
        }
    }

    /// How the divergence is provided: exactly (forward-mode Jacobian trace).
    fn divergence(&self) -> Divergence {
        Divergence::Exact
    }

    /// A one-line description.
    fn describe(&self) -> String {
        let m = self.model.meta();
        format!(
            "learned {} (MLP {}x{} SiLU, {} target, {} steps, seed {}, d = {})",
            m.kind, m.layers, m.hidden, m.target, m.steps, m.seed, m.dim
        )
    }
}
