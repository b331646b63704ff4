//! Samplers measured against the exact solution.
//!
//! For a field and start points at `s_max`, the *exact end points* are the exact ODE
//! solution from the same start points down to the schedule's `s_min`, followed by
//! the same final step as every sampler takes, `x <- m_{s_min}(x)` (Euler to
//! `s = 0`). The ODE part is DOPRI5 at `rtol = atol = 1e-12` in `u = 1/s` with the
//! state `x/s` (in `s` for the linear path), which is accurate to about `1e-10` on the
//! project's closed forms. The common last step is part of the reference on purpose: for an empirical
//! source the field is singular at `s = 0` (every path ends on a data point), so the
//! ODE cannot be integrated to 0, and for all sources the samplers' output is then
//! compared with the point their own schedule aims at. (For a Gaussian-mixture
//! source under the Gaussian field the field is smooth at 0 and the exact flow to
//! `s = 0` differs from this reference by the last step's own error, `O(s_min^2)`;
//! the bench reports against the common-last-step reference.)
//!
//! For every sampler and number of levels `N` (and, for comparison, the adaptive
//! solvers at several tolerances, plus the same last step) [`run`] reports the
//! evaluations per particle, the global error (RMS and largest over particles of
//! `|x - x_exact|`), optionally the exact `W2` distance to as many exact draws of
//! the target (the source at `s = 0`) and the verdict of a check battery (two-sample
//! against those draws, or the landing test for an empirical source).

use super::wasserstein::w2;
use super::{sample, Method, SamplerOptions};
use crate::checks::battery::{Battery, OneSampleTarget};
use crate::fields::{MarginalField, SourceKind};
use crate::ode::{Method as OdeMethod, SolverOptions};
use crate::sampling::transport;
use crate::{Error, Result};
use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;
use serde::Serialize;

/// The tolerance of the reference solve.
pub const REFERENCE_TOL: f64 = 1e-12;

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// Top level (start points live there).
    pub s_max: f64,
    /// Lowest level above 0.
    pub s_min: f64,
    /// EDM's `rho`.
    pub rho: f64,
    /// The samplers.
    pub samplers: Vec<Method>,
    /// Numbers of levels `N`.
    pub steps: Vec<usize>,
    /// Adaptive solvers and tolerances (`rtol = atol`), run to `s_min` plus the
    /// last step.
    pub adaptive: Vec<(OdeMethod, f64)>,
    /// Seed of the exact draws of the target (as many as start points) that `W2`
    /// and the two-sample battery compare with.
    pub target_seed: u64,
    /// Compute the exact `W2` to the target draws.
    pub w2: bool,
    /// The battery for the verdict (`None`: no verdict); its cancel flag, if any,
    /// is a static one (the command line's).
    pub battery: Option<Battery<'static>>,
}

/// One row of the table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The sampler or solver.
    pub method: String,
    /// `N = ...` or `tol = ...`.
    pub setting: String,
    /// Evaluations per particle (mean for the adaptive solvers).
    pub evals: f64,
    /// RMS over particles of `|x - x_exact|`.
    pub rms_error: f64,
    /// Largest `|x - x_exact|`.
    pub max_error: f64,
    /// Exact `W2` to exact draws of the target.
    pub w2: Option<f64>,
    /// Whether the battery rejects the samples.
    pub rejected: Option<bool>,
    /// The battery's smallest p-value.
    pub min_pvalue: Option<f64>,
}

/// The result of [`run`].
#[derive(Debug, Clone, Serialize)]
pub struct Bench {
    /// Particles.
    pub n: usize,
    /// Top level.
    pub s_max: f64,
    /// Lowest level above 0.
    pub s_min: f64,
    /// `rho`.
    pub rho: f64,
    /// Mean evaluations per particle of the reference (DOPRI5 at 1e-12 plus 1).
    pub reference_evals: f64,
    /// `W2` of the exact end points to the target draws (the floor set by `n`).
    pub reference_w2: Option<f64>,
    /// The reference's battery verdict.
    pub reference_rejected: Option<bool>,
    /// One row per sampler and setting.
    pub rows: Vec<Row>,
}

/// The last step `x <- m_s(x) = x - s f_s(x)` on every row (parallel over fixed
/// chunks; `s` must be a valid level of `mf`).
fn final_step(mf: &MarginalField, s: f64, x: &mut Array2<f64>) {
    if x.as_slice().is_none() {
        *x = x.as_standard_layout().to_owned();
    }
    let d = mf.dim();
    let buf = x.as_slice_mut().expect("standard layout");
    buf.par_chunks_mut(super::CHUNK * d.max(1))
        .for_each(|chunk| {
            let mut m = vec![0.0; chunk.len()];
            super::denoise(mf, s, chunk, &mut m);
            chunk.copy_from_slice(&m);
        });
}

/// The exact end points of `x0` (level `s_max`): DOPRI5 at `rtol = atol = 1e-12`
/// down to `s_min`, then `x <- m_{s_min}(x)`. Also returns the mean evaluations.
///
/// # Errors
/// Bad levels or points, or a failed trajectory.
pub fn exact_end(
    mf: &MarginalField,
    x0: ArrayView2<f64>,
    s_max: f64,
    s_min: f64,
) -> Result<(Array2<f64>, f64)> {
    adaptive_end(
        mf,
        x0,
        s_max,
        s_min,
        &SolverOptions::new(OdeMethod::Dopri5)
            .tol(REFERENCE_TOL)
            .max_steps(1_000_000),
    )
}

/// An adaptive solve to `s_min` followed by the last step; mean evaluations.
fn adaptive_end(
    mf: &MarginalField,
    x0: ArrayView2<f64>,
    s_max: f64,
    s_min: f64,
    solver: &SolverOptions,
) -> Result<(Array2<f64>, f64)> {
    mf.check_points(x0)?;
    let tr = transport(mf, x0, s_max, s_min, solver, false)?;
    if tr.totals.failed > 0 {
        return Err(Error::Invalid(format!(
            "{} of {} trajectories failed in the {} solve (tol {})",
            tr.totals.failed,
            x0.nrows(),
            solver.method,
            solver.rtol
        )));
    }
    let mut x = tr.x;
    final_step(mf, s_min, &mut x);
    let evals = tr.totals.evals as f64 / x0.nrows().max(1) as f64 + 1.0;
    Ok((x, evals))
}

/// RMS and largest row distance between `x` and `y`.
pub fn errors(x: ArrayView2<f64>, y: ArrayView2<f64>) -> (f64, f64) {
    let mut sum = 0.0;
    let mut worst: f64 = 0.0;
    for (a, b) in x.rows().into_iter().zip(y.rows()) {
        let e2: f64 = a.iter().zip(b.iter()).map(|(p, q)| (p - q) * (p - q)).sum();
        sum += e2;
        worst = worst.max(e2.sqrt());
    }
    ((sum / x.nrows().max(1) as f64).sqrt(), worst)
}

/// The battery's verdict on `x` for the target of `mf` (two-sample against `draws`,
/// or the landing test for an empirical source); `(rejected, smallest p-value)`.
fn verdict(
    mf: &MarginalField,
    battery: &Battery,
    x: ArrayView2<f64>,
    draws: ArrayView2<f64>,
) -> Result<(bool, f64)> {
    let report = match mf.source().kind() {
        SourceKind::Points => {
            let d = mf.dim();
            let data = Array2::from_shape_vec((mf.source().len(), d), mf.source().means().to_vec())
                .map_err(|e| Error::Invalid(e.to_string()))?;
            let target = OneSampleTarget::Landing {
                data,
                weights: Some(mf.source().weights().to_vec()),
            };
            battery.one_sample(x, &target)?
        }
        _ => battery.two_sample(x, draws)?,
    };
    let pmin = report
        .tests
        .iter()
        .map(|t| t.pvalue)
        .fold(f64::INFINITY, f64::min);
    Ok((report.reject, pmin))
}

/// Runs every sampler and setting of `cfg` from `x0` (at `cfg.s_max`).
///
/// # Errors
/// Bad settings (see [`SamplerOptions::validate`]), empty lists, bad points, or a
/// failed reference solve.
pub fn run(mf: &MarginalField, x0: ArrayView2<f64>, cfg: &BenchConfig) -> Result<Bench> {
    if cfg.samplers.is_empty() && cfg.adaptive.is_empty() {
        return Err(Error::Empty {
            what: "list of samplers",
        });
    }
    for &n in &cfg.steps {
        SamplerOptions::new(Method::EdmEuler, n, cfg.s_max, cfg.s_min)
            .rho(cfg.rho)
            .validate(mf)?;
    }
    if !cfg.samplers.is_empty() && cfg.steps.is_empty() {
        return Err(Error::Empty {
            what: "list of step counts",
        });
    }
    for &(m, tol) in &cfg.adaptive {
        SolverOptions::new(m).tol(tol).validate()?;
    }
    mf.check_level(cfg.s_max)?;
    mf.check_level(cfg.s_min)?;
    if cfg.s_min >= cfg.s_max {
        return Err(Error::Invalid(format!(
            "need s_min < s_max, got s_min = {} and s_max = {}",
            cfg.s_min, cfg.s_max
        )));
    }
    mf.check_points(x0)?;
    let n = x0.nrows();
    let (exact, ref_evals) = exact_end(mf, x0, cfg.s_max, cfg.s_min)?;
    let draws = (cfg.w2 || cfg.battery.is_some()).then(|| mf.sample_source(n, cfg.target_seed));
    let measure = |x: &Array2<f64>| -> Result<(Option<f64>, Option<bool>, Option<f64>)> {
        let w = match &draws {
            Some(dr) if cfg.w2 => Some(w2(x.view(), dr.view())?),
            _ => None,
        };
        let (rej, pmin) = match (&cfg.battery, &draws) {
            (Some(b), Some(dr)) => {
                let (r, p) = verdict(mf, b, x.view(), dr.view())?;
                (Some(r), Some(p))
            }
            _ => (None, None),
        };
        Ok((w, rej, pmin))
    };
    let (reference_w2, reference_rejected, _) = measure(&exact)?;
    let mut rows = Vec::new();
    for &m in &cfg.samplers {
        for &steps in &cfg.steps {
            let o = SamplerOptions::new(m, steps, cfg.s_max, cfg.s_min).rho(cfg.rho);
            let out = sample(mf, x0, &o)?;
            let (rms, max) = errors(out.x.view(), exact.view());
            let (w, rej, pmin) = measure(&out.x)?;
            rows.push(Row {
                method: m.name().to_string(),
                setting: format!("N = {steps}"),
                evals: out.evals_per_particle as f64,
                rms_error: rms,
                max_error: max,
                w2: w,
                rejected: rej,
                min_pvalue: pmin,
            });
        }
    }
    for &(m, tol) in &cfg.adaptive {
        let opts = SolverOptions::new(m).tol(tol);
        let (x, evals) = adaptive_end(mf, x0, cfg.s_max, cfg.s_min, &opts)?;
        let (rms, max) = errors(x.view(), exact.view());
        let (w, rej, pmin) = measure(&x)?;
        rows.push(Row {
            method: m.name().to_string(),
            setting: format!("tol = {tol:.0e}"),
            evals,
            rms_error: rms,
            max_error: max,
            w2: w,
            rejected: rej,
            min_pvalue: pmin,
        });
    }
    Ok(Bench {
        n,
        s_max: cfg.s_max,
        s_min: cfg.s_min,
        rho: cfg.rho,
        reference_evals: ref_evals,
        reference_w2,
        reference_rejected,
        rows,
    })
}

/// The fewest evaluations with which each method reaches RMS error `target` in
/// `rows` (`None` if no row of that method does).
pub fn evals_to_reach(rows: &[Row], target: f64) -> Vec<(String, Option<f64>)> {
    let mut names: Vec<String> = Vec::new();
    for r in rows {
        if !names.contains(&r.method) {
            names.push(r.method.clone());
        }
    }
    names
        .into_iter()
        .map(|name| {
            let best = rows
                .iter()
                .filter(|r| r.method == name && r.rms_error <= target)
                .map(|r| r.evals)
                .fold(None, |acc: Option<f64>, e| {
                    Some(acc.map_or(e, |a| a.min(e)))
                });
            (name, best)
        })
        .collect()
}
