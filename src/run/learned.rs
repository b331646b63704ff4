//! Runs of learned models: training a network on a field ([`train`]) and sampling a
//! trained model ([`sample_model`]), as `fieldflow train` and `fieldflow sample
//! --model` do.
//!
//! A learned field has no data at sampling time, so its only prior is the far field
//! around the training mean at the model's stored default level (or a given
//! `s_max`), nothing is counted as unconverged, and no prior error bound is known.
//! Training holds out part of the data for the test loss either by a seeded split
//! ([`HeldOut::Split`], the rows drawn with the training seed) or by given points;
//! the held-out loss is evaluated every [`test_every`] steps. Both runs take
//! [`Hooks`]: progress (particles for sampling, steps for training) and a cancel flag
//! read once per solver step or optimiser step.

use super::{check_request, check_start, Hooks, SampleRequest, SampleRun, Sampled, DEFAULT_RHO};
use crate::fields::{Field, PriorKind};
use crate::learn::train::split;
use crate::learn::{train_with_cancel, LearnedField, TrainConfig, TrainReport};
use crate::ode::Method as OdeMethod;
use crate::samplers::{self, SamplerOptions};
use crate::sampling::{Encoded, Flow, Prior, Progress, SampleOptions};
use crate::{Error, Result};
use ndarray::{Array2, ArrayView2};
use std::sync::atomic::AtomicBool;

/// Samples the learned field `model` as `fieldflow sample --model` does: `req.n`
/// draws of the far-field prior around the training mean (seed `req.seed`) or the
/// caller's `start` points at `req.start_level`, integrated down to `s_min` by an ODE
/// integrator or by a few-step sampler down to `s = 0`. `req.s_max` defaults to the
/// model's stored level; `req.offset` must be 0 and `req.prior` `far`.
///
/// # Errors
/// Unknown names, bad values, and [`Error::Cancelled`] when `hooks.cancel` is set.
pub fn sample_model(
    model: &LearnedField,
    req: &SampleRequest,
    start: Option<ArrayView2<f64>>,
    hooks: Hooks,
) -> Result<SampleRun> {
    check_request(req)?;
    if req.offset != 0 {
        return Err(Error::Invalid(
            "offset does not apply to a learned model (sample it in one run)".into(),
        ));
    }
    check_start(req, start)?;
    let mut opts = model_levels(model, req)?;
    static NEVER: AtomicBool = AtomicBool::new(false);
    let cancel = hooks.cancel.unwrap_or(&NEVER);
    let progress: Progress = hooks.progress.unwrap_or(&|_| {});
    let s_top = req.start_level.unwrap_or(opts.s_max);
    let n = match (start, req.n) {
        (Some(x), _) => x.nrows(),
        (None, Some(n)) => n,
        (None, None) => {
            return Err(Error::Invalid(
                "give the number of particles n (or start points)".into(),
            ))
        }
    };
    let prior = model.prior(opts.s_max)?;
    if let Ok(method) = req.method.parse::<samplers::Method>() {
        if req.denoise {
            return Err(Error::Invalid(format!(
                "denoise does not apply to the method {method}: its output is already at s = 0"
            )));
        }
        let Some(steps) = req.steps else {
            return Err(Error::Invalid(format!(
                "the method {method} needs the number of levels steps"
            )));
        };
        let so = SamplerOptions::new(method, steps, s_top, opts.s_min)
            .rho(req.rho.unwrap_or(DEFAULT_RHO));
        so.validate(model)?;
        let drawn;
        let x0 = match start {
            Some(x) => x,
            None => {
                drawn = prior.sample_range(0, n, req.seed)?;
                drawn.view()
            }
        };
        let out = samplers::sample_with_hooks(model, x0, &so, progress, cancel)?;
        return Ok(SampleRun {
            sampled: Sampled::FewStep(out),
            s_start: s_top,
            s_min: opts.s_min,
            prior_bound: None,
            options: None,
            sampler: Some(so),
        });
    }
    if req.rho.is_some() {
        return Err(Error::Invalid(
            "rho applies to the few-step samplers (edm-euler, edm-heun, dpmpp-2m, dpmpp-3m) only"
                .into(),
        ));
    }
    set_solver(&mut opts, req)?;
    opts.denoise = req.denoise;
    let flow = Flow::new(model, &prior)?.progress(progress).cancel(cancel);
    let samples = match start {
        Some(x) => flow.generate_from(x, s_top, &opts)?,
        None => flow.generate(n, req.seed, &opts)?,
    };
    Ok(SampleRun {
        sampled: Sampled::Ode(samples),
        s_start: s_top,
        s_min: opts.s_min,
        prior_bound: None,
        options: Some(opts),
        sampler: None,
    })
}

/// The levels of a run of `model`: `req.s_max` or the model's stored level,
/// `req.s_min` or the schedule's default; `req.prior` must be the far field.
fn model_levels(model: &LearnedField, req: &SampleRequest) -> Result<SampleOptions> {
    if req.prior.parse::<PriorKind>()? != PriorKind::FarField {
        return Err(Error::Invalid(format!(
            "prior {} does not apply to a learned model (the far field around the training mean)",
            req.prior
        )));
    }
    let mut opts = SampleOptions::for_schedule(model.schedule());
    opts.s_max = req.s_max.unwrap_or(model.default_s_max());
    if let Some(s) = req.s_min {
        opts.s_min = s;
    }
    Ok(opts)
}

/// Sets the ODE integrator of `req` (method, tolerances, fixed steps, ODE variables)
/// in `opts`.
fn set_solver(opts: &mut SampleOptions, req: &SampleRequest) -> Result<()> {
    let mut solver = opts.solver.clone().rtol(req.rtol).atol(req.atol);
    solver.method = req.method.parse::<OdeMethod>()?;
    if let Some(k) = req.steps {
        solver = solver.fixed_steps(k);
    }
    opts.solver = solver;
    if let Some(t) = &req.ode_time {
        opts.time = Some(t.parse()?);
    }
    Ok(())
}

/// Encodes `x` (points at level `req.s_min`, default `1e-3`) through the learned
/// field `model` as `fieldflow encode --model` does: integrates them forward to
/// `req.s_max` (default: the model's stored level) with `req`'s integrator and,
/// when `likelihood`, the log-likelihood of each point under the model: the
/// far-field prior around the training mean at `s_max` minus the integral of the
/// network's divergence along the path. The divergence is the flow's trace rule
/// ([`crate::sampling::TraceEstimator`]'s default: a finite-difference trace for
/// small `d`, Hutchinson's estimator with fixed probes above). Only the integrators
/// apply; `n`, `seed`, `offset`, `rho`, `denoise` and the start settings are not
/// used.
///
/// # Errors
/// A few-step sampler or another prior than `far`, bad values, points of another
/// dimension than the model's, and [`Error::Cancelled`] when `hooks.cancel` is set.
pub fn encode_model(
    model: &LearnedField,
    x: ArrayView2<f64>,
    req: &SampleRequest,
    likelihood: bool,
    hooks: Hooks,
) -> Result<Encoded> {
    super::check_encode_method(req)?;
    check_request(req)?;
    let mut opts = model_levels(model, req)?;
    set_solver(&mut opts, req)?;
    opts.likelihood = likelihood;
    crate::error::ensure_cols("points to encode", x, model.dim())?;
    let prior = model.prior(opts.s_max)?;
    let mut flow = Flow::new(model, &prior)?;
    if let Some(p) = hooks.progress {
        flow = flow.progress(p);
    }
    if let Some(c) = hooks.cancel {
        flow = flow.cancel(c);
    }
    flow.encode(x, &opts)
}

/// Where the held-out points of [`train`] come from.
#[derive(Debug, Clone, Copy, Default)]
pub enum HeldOut<'a> {
    /// No held-out loss.
    #[default]
    None,
    /// This fraction (in `(0, 1)`) of the data, drawn with the training seed
    /// ([`crate::learn::train::split`]); the rest is trained on.
    Split(f64),
    /// These points (same dimension as the data).
    Points(ArrayView2<'a, f64>),
}

/// Steps between two evaluations of the held-out loss for a run of `steps` steps:
/// a hundred points on the loss curve (every step for fewer than 200 steps).
pub fn test_every(steps: usize) -> usize {
    (steps / 100).max(1)
}

/// Checks the sizes of a training run before any work: `steps`, `batch`, `hidden`
/// and `layers` at least 1, and an estimate of the memory of the network and of one
/// batch within the machine's available memory ([`crate::limits::ensure_fits`]):
/// `f32` weights with their gradients and AdamW's two moments (16 bytes per weight,
/// `hidden^2 layers` weights), and per batch row the activations of every layer,
/// kept for the backward pass (`4 x 8` bytes per unit, a generous factor). [`train`]
/// calls it first; a caller can call it before reading its data.
///
/// # Errors
/// A zero count, or a run that cannot fit in memory (the message names the counts).
pub fn check_train_sizes(cfg: &TrainConfig) -> Result<()> {
    if cfg.steps == 0 || cfg.batch == 0 || cfg.hidden == 0 || cfg.layers == 0 {
        return Err(Error::Invalid(
            "steps, batch, hidden and layers must be at least 1".into(),
        ));
    }
    let weights = (cfg.hidden as u128)
        .saturating_mul(cfg.hidden as u128)
        .saturating_mul(cfg.layers as u128)
        .saturating_mul(16);
    crate::limits::ensure_fits(
        &format!(
            "a network of hidden {} and layers {}",
            cfg.hidden, cfg.layers
        ),
        weights,
    )?;
    crate::limits::ensure_fits(
        &format!("batch {} at hidden {}", cfg.batch, cfg.hidden),
        (cfg.batch as u128)
            .saturating_mul(8 * 4)
            .saturating_mul(cfg.hidden as u128)
            .saturating_mul(cfg.layers as u128 + 2)
            .saturating_add(weights),
    )
}

/// The result of [`train`].
#[derive(Debug, Clone)]
pub struct TrainRun {
    /// The model and its loss curve.
    pub report: TrainReport,
    /// Points trained on.
    pub n_train: usize,
    /// Held-out points (0 without).
    pub n_test: usize,
}

/// Trains a network on `data` as `fieldflow train` does: the held-out points are
/// split off or given by `held_out`, then [`crate::learn::train()`] runs with `cfg`
/// (whose `test_every` the command line sets to [`test_every`]). `progress(step,
/// loss)` is called after every step; `cancel` is read before every step.
///
/// # Errors
/// Bad data or settings, sizes refused by [`check_train_sizes`], and
/// [`Error::Cancelled`] when `cancel` is set.
pub fn train(
    data: ArrayView2<f64>,
    held_out: HeldOut,
    cfg: &TrainConfig,
    progress: impl FnMut(usize, f64),
    cancel: Option<&AtomicBool>,
) -> Result<TrainRun> {
    check_train_sizes(cfg)?;
    let split_off: Option<(Array2<f64>, Array2<f64>)> = match held_out {
        HeldOut::Split(p) => Some(split(data, p, cfg.seed)?),
        _ => None,
    };
    let (train_set, test) = match (&split_off, held_out) {
        (Some((a, b)), _) => (a.view(), Some(b.view())),
        (None, HeldOut::Points(t)) => {
            crate::error::ensure_cols("held-out data", t, data.ncols())?;
            (data, Some(t))
        }
        (None, _) => (data, None),
    };
    let report = train_with_cancel(cfg, train_set, test, progress, cancel)?;
    Ok(TrainRun {
        report,
        n_train: train_set.nrows(),
        n_test: test.map_or(0, |t| t.nrows()),
    })
}
