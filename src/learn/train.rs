//! Training a network on a field: level distributions, the two targets, AdamW.
//!
//! Each step draws a batch of `(x, s, target)` rows in `f64` from the crate's seeded
//! generator (stream 1 of the seed; stream 0 initialises the weights), converts the
//! network's inputs and its preconditioned targets to `f32`, and takes one AdamW step
//! on the mean squared error (see the module docs of [`crate::learn`] for the
//! formulas). A fixed held-out batch, drawn once from stream 3, gives the test loss.

use super::model::{data_hash, ModelMeta, TrainedModel};
use super::net::{nn_err, Mlp};
use super::{embed, sigma_scale, Precond, EMBED_DIM};
use crate::error::{ensure_cols, ensure_finite};
use crate::fields::{FieldKind, MarginalField, Noise, Source};
use crate::rng::{stream, Rng};
use crate::{Error, Result};
use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use ndarray::{Array2, ArrayView2, Axis};
use rand::seq::SliceRandom;
use rand::Rng as _;
use rand_distr::{Distribution, StandardNormal};
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};

/// What the network regresses onto.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A training point `y` perturbed by the field's own kernel; target `y`.
    Conditional,
    /// The closed-form posterior mean `m(x) = x - s f(x)` of the training set.
    Exact,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Target::Conditional => "conditional",
            Target::Exact => "exact",
        })
    }
}

impl FromStr for Target {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "conditional" => Ok(Target::Conditional),
            "exact" => Ok(Target::Exact),
            _ => Err(Error::UnknownName {
                kind: "target",
                name: s.into(),
                known: "conditional, exact".into(),
            }),
        }
    }
}

/// Training settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    /// The field to learn.
    pub kind: FieldKind,
    /// Optimiser steps.
    pub steps: usize,
    /// Rows per step.
    pub batch: usize,
    /// Hidden width `W`.
    pub hidden: usize,
    /// Hidden layers `L`.
    pub layers: usize,
    /// AdamW learning rate.
    pub lr: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Seed of the initial weights and of every draw.
    pub seed: u64,
    /// The regression target.
    pub target: Target,
    /// Steps between two evaluations of the held-out loss (0: never).
    pub test_every: usize,
}

impl Default for TrainConfig {
    /// torchcfm's 2-D protocol: 3 x 64, batch 512, AdamW lr 1e-3, weight decay 1e-5.
    fn default() -> Self {
        Self {
            kind: FieldKind::Gaussian,
            steps: 20_000,
            batch: 512,
            hidden: 64,
            layers: 3,
            lr: 1e-3,
            weight_decay: 1e-5,
            seed: 0,
            target: Target::Conditional,
            test_every: 200,
        }
    }
}

/// One point of the loss curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossPoint {
    /// Step (1-based).
    pub step: usize,
    /// Training loss of this step's batch.
    pub train: f64,
    /// Loss on the fixed held-out batch (NaN when not evaluated at this step).
    pub test: f64,
}

/// The trained model and its loss curve.
#[derive(Debug, Clone)]
pub struct TrainReport {
    /// The model.
    pub model: TrainedModel,
    /// One point per step.
    pub curve: Vec<LossPoint>,
}

/// Splits the rows of `data` into `(train, test)` with a fraction `p` of test rows
/// (at least one of each), by a permutation drawn from `seed` (stream 2).
pub fn split(data: ArrayView2<f64>, p: f64, seed: u64) -> Result<(Array2<f64>, Array2<f64>)> {
    if !(p > 0.0 && p < 1.0) {
        return Err(Error::InvalidParameter {
            name: "test split",
            value: p,
            reason: "must be in (0, 1)",
        });
    }
    let n = data.nrows();
    let n_test = ((p * n as f64).round() as usize).clamp(1, n.saturating_sub(1));
    if n < 2 {
        return Err(Error::Invalid(
            "a held-out split needs at least two data points".into(),
        ));
    }
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut stream(seed, 2));
    let test = data.select(Axis(0), &idx[..n_test]);
    let train = data.select(Axis(0), &idx[n_test..]);
    Ok((train, test))
}

/// Draws batches of `(inputs, targets)` for one data set.
struct Sampler<'a> {
    data: ArrayView2<'a, f64>,
    mf: Option<MarginalField>,
    law: Noise,
    pre: Precond,
    mean: Vec<f64>,
    kind: FieldKind,
    target: Target,
}

impl<'a> Sampler<'a> {
    fn new(
        cfg: &TrainConfig,
        pts: ArrayView2<'a, f64>,
        pre: Precond,
        mean: &[f64],
    ) -> Result<Self> {
        let mf = MarginalField::new(cfg.kind, Source::points(pts, None)?)?;
        let law = mf.law().clone();
        Ok(Sampler {
            data: pts,
            mf: (cfg.target == Target::Exact).then_some(mf),
            law,
            pre,
            mean: mean.to_vec(),
            kind: cfg.kind,
            target: cfg.target,
        })
    }

    /// A level from the training distribution.
    fn level(&self, rng: &mut Rng) -> f64 {
        if self.kind.is_ray() {
            let z: f64 = StandardNormal.sample(rng);
            let sigma = 2.0 * self.pre.sd * (-1.2 + 1.2 * z).exp();
            sigma / self.pre.sigma_scale
        } else {
            1.0 - rng.random::<f64>()
        }
    }

    /// `n` rows: network inputs (`n x (d + 9)`) and preconditioned targets (`n x d`).
    fn batch(&self, n: usize, rng: &mut Rng) -> (Vec<f32>, Vec<f32>) {
        let d = self.data.ncols();
        let m = self.data.nrows();
        let sch = self.kind.schedule();
        let mut s = vec![0.0; n];
        let mut x = vec![0.0; n * d];
        let mut y = vec![0.0; n * d];
        let mut u = vec![0.0; d];
        for i in 0..n {
            let row = self.data.row(rng.random_range(0..m));
            s[i] = self.level(rng);
            self.law.sample(rng, &mut u);
            let (a, sg) = (sch.alpha(s[i]), sch.sigma(s[i]));
            for j in 0..d {
                y[i * d + j] = row[j];
                x[i * d + j] = a * row[j] + sg * u[j];
            }
        }
        if let (Target::Exact, Some(mf)) = (self.target, &self.mf) {
            let mut f = vec![0.0; n * d];
            mf.eval_block(&s, &x, &mut f, None, None);
            for i in 0..n {
                for j in 0..d {
                    y[i * d + j] = x[i * d + j] - s[i] * f[i * d + j];
                }
            }
        }
        let w = d + EMBED_DIM;
        let mut inp = vec![0.0f32; n * w];
        let mut tgt = vec![0.0f32; n * d];
        let mut e = [0.0; EMBED_DIM];
        for i in 0..n {
            let c = self.pre.at(s[i]);
            for j in 0..d {
                let centred = x[i * d + j] - c.alpha * self.mean[j];
                inp[i * w + j] = (c.c_in * centred) as f32;
                tgt[i * d + j] =
                    ((y[i * d + j] - self.mean[j] - c.c_skip * centred) / c.c_out) as f32;
            }
            embed(c.c_noise, &mut e);
            for (k, v) in e.iter().enumerate() {
                inp[i * w + d + k] = *v as f32;
            }
        }
        (inp, tgt)
    }
}

fn tensors(inp: Vec<f32>, tgt: Vec<f32>, n: usize, d: usize) -> Result<(Tensor, Tensor)> {
    let a = Tensor::from_vec(inp, (n, d + EMBED_DIM), &Device::Cpu).map_err(nn_err)?;
    let b = Tensor::from_vec(tgt, (n, d), &Device::Cpu).map_err(nn_err)?;
    Ok((a, b))
}

/// The data mean (per coordinate) and scalar standard deviation (root of the mean
/// per-coordinate variance).
pub fn normalisation(data: ArrayView2<f64>) -> (Vec<f64>, f64) {
    let n = data.nrows() as f64;
    let mean: Vec<f64> = data
        .mean_axis(Axis(0))
        .map(|m| m.to_vec())
        .unwrap_or_default();
    let mut var = 0.0;
    for row in data.rows() {
        for (v, m) in row.iter().zip(&mean) {
            var += (v - m) * (v - m);
        }
    }
    let sd = (var / (n * mean.len().max(1) as f64)).sqrt();
    (mean, sd)
}

/// Trains a network on `data` (rows are points). `test`, if given, provides the
/// held-out loss; `progress(step, loss)` is called after every step.
pub fn train(
    cfg: &TrainConfig,
    data: ArrayView2<f64>,
    test: Option<ArrayView2<f64>>,
    progress: impl FnMut(usize, f64),
) -> Result<TrainReport> {
    train_with_cancel(cfg, data, test, progress, None)
}

/// [`train`] that reads `cancel` before every step and returns [`Error::Cancelled`]
/// once it is set (from any thread); the result is otherwise the same, bit for bit.
pub fn train_with_cancel(
    cfg: &TrainConfig,
    data: ArrayView2<f64>,
    test: Option<ArrayView2<f64>>,
    mut progress: impl FnMut(usize, f64),
    cancel: Option<&AtomicBool>,
) -> Result<TrainReport> {
    let scale = sigma_scale(cfg.kind)?;
    ensure_finite("training data", data)?;
    let d = data.ncols();
    if data.nrows() == 0 || d == 0 {
        return Err(Error::Empty {
            what: "training data",
        });
    }
    if let Some(t) = test {
        ensure_cols("held-out data", t, d)?;
        ensure_finite("held-out data", t)?;
    }
    if cfg.steps == 0 || cfg.batch == 0 {
        return Err(Error::Invalid("steps and batch must be positive".into()));
    }
    if !(cfg.lr > 0.0 && cfg.lr.is_finite()) {
        return Err(Error::InvalidParameter {
            name: "learning rate",
            value: cfg.lr,
            reason: "must be positive and finite",
        });
    }
    let (mean, sd) = normalisation(data);
    if sd <= 0.0 || sd.is_nan() {
        return Err(Error::Invalid(
            "the training data have no spread (all points equal)".into(),
        ));
    }
    let pre = Precond {
        schedule: cfg.kind.schedule(),
        sigma_scale: scale,
        sd,
    };
    let sampler = Sampler::new(cfg, data, pre, &mean)?;
    let mut init = stream(cfg.seed, 0);
    let mlp = Mlp::new(d + EMBED_DIM, cfg.hidden, cfg.layers, d, &mut init)?;
    let mut opt = AdamW::new(
        mlp.vars(),
        ParamsAdamW {
            lr: cfg.lr,
            weight_decay: cfg.weight_decay,
            ..Default::default()
        },
    )
    .map_err(nn_err)?;
    let held = match test {
        Some(t) if cfg.test_every > 0 => {
            let ts = Sampler::new(cfg, t, pre, &mean)?;
            let n = t.nrows().clamp(1, 1024);
            let (i, o) = ts.batch(n, &mut stream(cfg.seed, 3));
            Some(tensors(i, o, n, d)?)
        }
        _ => None,
    };
    let mut rng = stream(cfg.seed, 1);
    let mut curve = Vec::with_capacity(cfg.steps);
    for step in 1..=cfg.steps {
        if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(Error::Cancelled);
        }
        let (i, o) = sampler.batch(cfg.batch, &mut rng);
        let (xin, tgt) = tensors(i, o, cfg.batch, d)?;
        let loss = mlp
            .forward(&xin)?
            .sub(&tgt)
            .and_then(|r| r.sqr())
            .and_then(|r| r.mean_all())
            .map_err(nn_err)?;
        opt.backward_step(&loss).map_err(nn_err)?;
        let l = f64::from(loss.to_scalar::<f32>().map_err(nn_err)?);
        if !l.is_finite() {
            return Err(Error::Invalid(format!(
                "training diverged at step {step} (loss {l}); try a smaller --lr"
            )));
        }
        let test_loss = match &held {
            Some((hi, ho)) if step % cfg.test_every == 0 || step == cfg.steps => {
                let r = mlp
                    .forward(hi)?
                    .sub(ho)
                    .and_then(|r| r.sqr())
                    .and_then(|r| r.mean_all())
                    .and_then(|r| r.to_scalar::<f32>())
                    .map_err(nn_err)?;
                f64::from(r)
            }
            _ => f64::NAN,
        };
        curve.push(LossPoint {
            step,
            train: l,
            test: test_loss,
        });
        progress(step, l);
    }
    let meta = ModelMeta {
        kind: cfg.kind,
        dim: d,
        hidden: cfg.hidden,
        layers: cfg.layers,
        mean,
        sd,
        seed: cfg.seed,
        steps: cfg.steps,
        batch: cfg.batch,
        lr: cfg.lr,
        target: cfg.target,
        n_train: data.nrows(),
        data_sha256: data_hash(data),
        s_max: default_s_max(cfg.kind, data)?,
        version: env!("CARGO_PKG_VERSION").to_string(),
    };
    Ok(TrainReport {
        model: TrainedModel::new(meta, mlp)?,
        curve,
    })
}

/// The default top level stored with a model: the exact field's
/// ([`SampleOptions::new`](crate::sampling::SampleOptions::new)) for the training set.
fn default_s_max(kind: FieldKind, data: ArrayView2<f64>) -> Result<f64> {
    let mf = MarginalField::new(kind, Source::points(data, None)?)?;
    Ok(crate::sampling::SampleOptions::new(&mf).s_max)
}
