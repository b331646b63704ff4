//! Learned fields: a small network trained to predict the posterior mean of a field.
//!
//! Every field of the project has the velocity `f = (x - m(x, s)) / s`, with `m` the
//! posterior mean of the data point given the position `x` at level `s` (for the ray
//! fields directly; for the linear path because `(x - (1 - s) m)/s - m = (x - m)/s`).
//! So one network `F(x, s)` serves every field: it predicts `m`, the denoiser, and the
//! velocity follows. The exact [`crate::fields::MarginalField`] of the training set is
//! the same construction with `m` replaced by its closed form, which makes it the
//! measuring stick of what the network learned.
//!
//! The network is a multilayer perceptron with SiLU activations ([`net`]), computed
//! in `f32` by candle and converted to `f64` at the boundary. It is conditioned on the
//! level through EDM's preconditioning (Karras et al. 2022), written for the general
//! affine path `x = alpha y + sigma U` ([`Precond`]):
//!
//! `m = mu + c_skip (x - alpha mu) + c_out F(c_in (x - alpha mu), emb(c_noise))`,
//!
//! with `v = alpha^2 sd^2 + sigma^2`, `c_in = 1/sqrt(v)`, `c_skip = alpha sd^2 / v`,
//! `c_out = sigma sd / sqrt(v)` and the loss weight `1/c_out^2`; `mu` and `sd` are the
//! mean and the (scalar) standard deviation of the training data, stored in the model
//! file. For the ray fields (`alpha = 1`) these are EDM's formulas exactly, with
//! `c_noise = ln(sigma)/4`; PFGM++ uses `sigma = r / sqrt(D)` as in Xu et al. (2023)
//! (`poisson` is `D = 1`). For the linear path (`alpha = 1 - t`, `sigma = t`, prior
//! `N(0, I)`) the same formulas give `c_skip -> 1` at `t -> 0` and a pure prediction
//! `m = mu + sd F` at `t = 1`; there `c_noise = t`. The embedding of `c_noise` is the
//! raw value with sine and cosine features at frequencies 1, 2, 4 and 8.
//!
//! Training ([`train()`]) draws levels as in the papers: EDM's log-normal
//! `ln(sigma / (2 sd)) ~ N(-1.2, 1.2^2)` (levels in units where the data standard
//! deviation is EDM's 0.5; `r = sigma sqrt(D)` for PFGM++, `D = 1` for PFGM) and
//! `t ~ U(0, 1]` for the linear path. Two regression targets: the conditional one (a
//! training point `y`, `x = alpha y + sigma U` with `U` drawn from the field's own
//! exact kernel law, target `y`), and the exact marginal one (target the closed-form
//! posterior mean `m(x) = x - s f(x)` of the training set; Bertrand et al. 2025). The
//! loss is the weighted squared error of `m`, which in terms of the network output is
//! the plain squared error of `F` against `(target - mu - c_skip (x - alpha mu)) / c_out`.
//!
//! Models are saved as safetensors files with their metadata ([`model`]) and loaded
//! as a [`LearnedField`] that evaluates blocks of rows like the exact field.
//!
//! candle takes its thread counts from the environment, not from the rayon pool it
//! runs in ([`threads`]).

pub mod field;
pub mod fused;
pub mod model;
pub mod net;
pub mod threads;
pub mod train;

pub use field::LearnedField;
pub use model::{ModelMeta, TrainedModel};
pub use net::Mlp;
pub use threads::{candle_threads, CandleThreads};
pub use train::{train, train_with_cancel, LossPoint, Target, TrainConfig, TrainReport};

use crate::fields::{FieldKind, LinearPrior, Schedule};
use crate::{Error, Result};

/// Width of the level embedding: `c_noise` and four sine/cosine pairs.
pub const EMBED_DIM: usize = 9;

/// The level embedding `[c, sin(c), cos(c), sin(2c), cos(2c), ..., cos(8c)]`.
pub fn embed(c_noise: f64, out: &mut [f64]) {
    out[0] = c_noise;
    for (k, w) in [1.0, 2.0, 4.0, 8.0].iter().enumerate() {
        let (sn, cs) = (w * c_noise).sin_cos();
        out[1 + 2 * k] = sn;
        out[2 + 2 * k] = cs;
    }
}

/// The preconditioning coefficients at one level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coeffs {
    /// `alpha(s)`.
    pub alpha: f64,
    /// The effective noise scale `sigma` (`r / sqrt(D)` for PFGM++).
    pub sigma: f64,
    /// Input scale `1/sqrt(alpha^2 sd^2 + sigma^2)`.
    pub c_in: f64,
    /// Skip weight `alpha sd^2 / (alpha^2 sd^2 + sigma^2)`.
    pub c_skip: f64,
    /// Output scale `sigma sd / sqrt(alpha^2 sd^2 + sigma^2)`.
    pub c_out: f64,
    /// The level fed to the network (`ln(sigma)/4` for ray fields, `t` for linear).
    pub c_noise: f64,
}

/// EDM-style preconditioning of a field (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Precond {
    /// The schedule of the field.
    pub schedule: Schedule,
    /// `sigma = sigma_scale * s` (`1/sqrt(D)` for PFGM++, 1 otherwise).
    pub sigma_scale: f64,
    /// The data standard deviation `sd` (scalar).
    pub sd: f64,
}

/// Checks that a field can be learned and returns its `sigma_scale`: `poisson`,
/// `pfgmpp`, `gaussian` and `linear` with the normal prior.
pub fn sigma_scale(kind: FieldKind) -> Result<f64> {
    match kind {
        FieldKind::Poisson => Ok(1.0),
        FieldKind::Pfgmpp { aug_dim } => Ok(1.0 / aug_dim.sqrt()),
        FieldKind::Gaussian => Ok(1.0),
        FieldKind::Linear {
            prior: LinearPrior::Normal,
        } => Ok(1.0),
        other => Err(Error::Invalid(format!(
            "field {other} cannot be learned (poisson, pfgmpp, gaussian and linear with the normal prior can)"
        ))),
    }
}

impl Precond {
    /// The coefficients at level `s`.
    pub fn at(&self, s: f64) -> Coeffs {
        let alpha = self.schedule.alpha(s);
        let sigma = self.sigma_scale * self.schedule.sigma(s);
        let sd2 = self.sd * self.sd;
        let v = alpha * alpha * sd2 + sigma * sigma;
        let root = v.sqrt();
        let c_noise = match self.schedule {
            Schedule::Ray => sigma.ln() / 4.0,
            Schedule::Linear => s,
        };
        Coeffs {
            alpha,
            sigma,
            c_in: 1.0 / root,
            c_skip: alpha * sd2 / v,
            c_out: sigma * self.sd / root,
            c_noise,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ray_coefficients_are_edm() {
        let p = Precond {
            schedule: Schedule::Ray,
            sigma_scale: 1.0,
            sd: 0.5,
        };
        let (s, sd) = (0.8f64, 0.5f64);
        let c = p.at(s);
        let v = s * s + sd * sd;
        assert!((c.c_skip - sd * sd / v).abs() < 1e-15);
        assert!((c.c_out - s * sd / v.sqrt()).abs() < 1e-15);
        assert!((c.c_in - 1.0 / v.sqrt()).abs() < 1e-15);
        assert!((c.c_noise - s.ln() / 4.0).abs() < 1e-15);
        // EDM's loss weight is 1/c_out^2
        assert!((1.0 / (c.c_out * c.c_out) - v / (s * sd).powi(2)).abs() < 1e-12);
    }

    #[test]
    fn skip_and_out_give_unit_variance_targets() {
        // for x = alpha y + sigma n with Var y = sd^2, Var n = 1 (independent), the
        // network target (y - c_skip x)/c_out has unit variance: EDM's design rule.
        for sch in [Schedule::Ray, Schedule::Linear] {
            let p = Precond {
                schedule: sch,
                sigma_scale: 1.0,
                sd: 1.7,
            };
            for s in [0.05, 0.3, 0.9] {
                let c = p.at(s);
                let a = 1.0 - c.c_skip * c.alpha;
                let var = (a * a * p.sd * p.sd + (c.c_skip * c.sigma).powi(2)) / c.c_out.powi(2);
                assert!((var - 1.0).abs() < 1e-12, "{sch:?} s={s}: {var}");
                // and the network input c_in x has unit variance
                let vin = c.c_in.powi(2) * (c.alpha.powi(2) * p.sd.powi(2) + c.sigma.powi(2));
                assert!((vin - 1.0).abs() < 1e-12);
            }
        }
    }
}
