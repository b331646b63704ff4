//! Few-step samplers on a fixed level schedule: EDM's Euler and Heun samplers and
//! DPM-Solver++(2M) and (3M), ending at `s = 0`.
//!
//! Diffusion models are rarely integrated with an adaptive solver; they are sampled
//! with a handful of steps on a schedule of noise levels chosen in advance. This
//! module implements the common ones for every field of the project, using the field
//! only through its *denoiser* (posterior mean). Every field here has
//! `f_s(x) = (x - m_s(x)) / s`: for the ray fields (`alpha = 1`, `sigma = s`) and for
//! the linear path (`alpha = 1 - s`, `sigma = s`, where
//! `f = -m + (x - (1 - s) m)/s = (x - m)/s` as well), so the denoiser is
//! `m_s(x) = x - s f_s(x)`, obtained from one [`Field::eval_block`] call: any field (the exact
//! `MarginalField`, a closure, a learned network) can be sampled.
//!
//! * [`Method::EdmEuler`], [`Method::EdmHeun`]: Karras, Aittala, Aila and Laine,
//!   "Elucidating the Design Space of Diffusion-Based Generative Models" (NeurIPS
//!   2022), Algorithm 1 without stochastic churn, with `sigma(t) = t`, `s(t) = 1`:
//!   steps in `s` with slope `d_i = (x_i - m(x_i)) / s_i`; Heun's trapezoidal
//!   correction on every step except the last one, which is Euler to `s = 0`
//!   (`x <- m(x)`). Evaluations: `N` (Euler) and `2N - 1` (Heun).
//! * [`Method::DpmPp2m`]: Lu, Zhou, Bao, Chen, Li and Zhu, "DPM-Solver++: Fast Solver
//!   for Guided Sampling of Diffusion Probabilistic Models" (2022), Algorithm 2
//!   (multistep second order, data prediction) with `lambda = ln(alpha / sigma)`:
//!   `x_i = (sigma_i / sigma_{i-1}) x_{i-1} - alpha_i (e^{-h_i} - 1) D_i` with
//!   `D_i = (1 + 1/(2 r_i)) m_{i-1} - (1/(2 r_i)) m_{i-2}`, `r_i = h_{i-1} / h_i`;
//!   first order (`D_i = m_{i-1}`) on the first step and on the step to `s = 0`
//!   (where `sigma = 0` and the step is `x <- m`). `N` evaluations.
//! * [`Method::DpmPp3m`]: the third-order multistep variant of the same paper (as in
//!   its reference implementation, `multistep_dpm_solver_third_update`), with
//!   `phi_1 = e^{-h} - 1`, `phi_2 = phi_1 / h + 1`, `phi_3 = phi_2 / h - 1/2`:
//!   `x_i = (sigma_i/sigma_{i-1}) x_{i-1} - alpha_i phi_1 m_0 + alpha_i phi_2 D_1 -
//!   alpha_i phi_3 D_2` with the divided differences `D_1`, `D_2` of the last three
//!   denoiser outputs; first order on the first step, second order on the second,
//!   first order on the step to `s = 0`. `N` evaluations.
//!
//! The levels are EDM's: `s_i = (s_max^(1/rho) + i/(N-1) (s_min^(1/rho) -
//! s_max^(1/rho)))^rho` for `i = 0..N-1`, then `s_N = 0` ([`levels`]); `N = 1` is the
//! single level `s_max`. All particles advance together: the rows are cut into fixed
//! chunks of [`CHUNK`] rows that rayon runs in parallel, and each chunk evaluates
//! its rows as one block per stage. A row's result depends only on that row, so the
//! output is bit-identical for any thread count.
//!
//! ```
//! use fieldflow::fields::{FieldKind, MarginalField, Source};
//! use fieldflow::samplers::{sample, Method, SamplerOptions};
//! use ndarray::array;
//! let mf = MarginalField::new(
//!     FieldKind::Gaussian,
//!     Source::gaussian_mixture(array![[0.0, 0.0]].view(), &[1.0], None).unwrap(),
//! )
//! .unwrap();
//! let x0 = mf.sample_marginal(80.0, 100, 1).unwrap();
//! let opts = SamplerOptions::new(Method::EdmHeun, 18, 80.0, 0.002);
//! let out = sample(&mf, x0.view(), &opts).unwrap();
//! assert_eq!(out.evals_per_particle, 35);
//! ```

pub mod bench;
pub mod wasserstein;

use crate::error::ensure_cols;
use crate::fields::Field;
use crate::{Error, Result};
use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};

/// Rows per parallel chunk of [`sample`]. Results do not depend on it.
pub const CHUNK: usize = 64;

/// A few-step sampler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `edm-euler`: Karras et al. (2022), Algorithm 1 with Euler steps only.
    EdmEuler,
    /// `edm-heun`: Karras et al. (2022), Algorithm 1 without churn.
    EdmHeun,
    /// `dpmpp-2m`: DPM-Solver++(2M), Lu et al. (2022).
    DpmPp2m,
    /// `dpmpp-3m`: DPM-Solver++(3M), Lu et al. (2022).
    DpmPp3m,
}

impl Method {
    /// Every sampler.
    pub const ALL: [Method; 4] = [
        Method::EdmEuler,
        Method::EdmHeun,
        Method::DpmPp2m,
        Method::DpmPp3m,
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Method::EdmEuler => "edm-euler",
            Method::EdmHeun => "edm-heun",
            Method::DpmPp2m => "dpmpp-2m",
            Method::DpmPp3m => "dpmpp-3m",
        }
    }

    /// Denoiser evaluations per particle with `n` levels: `2n - 1` for `edm-heun`,
    /// `n` for the others.
    pub fn evals(self, n: usize) -> usize {
        match self {
            Method::EdmHeun => 2 * n - 1,
            _ => n,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Method {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let key = s.to_ascii_lowercase().replace('_', "-");
        Method::ALL
            .into_iter()
            .find(|m| m.name() == key)
            .ok_or_else(|| Error::UnknownName {
                kind: "sampler",
                name: s.to_string(),
                known: Method::ALL.map(|m| m.name()).join(", "),
            })
    }
}

/// Settings of [`sample`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplerOptions {
    /// The sampler.
    pub method: Method,
    /// Number of levels `N` above 0 (steps: `N`, the last one to `s = 0`).
    pub steps: usize,
    /// EDM's schedule exponent `rho` (7 in the paper).
    pub rho: f64,
    /// The top level, where the start points are.
    pub s_max: f64,
    /// The lowest level above 0.
    pub s_min: f64,
}

impl SamplerOptions {
    /// `method` with `steps` levels from `s_max` down to `s_min`, `rho = 7`.
    pub fn new(method: Method, steps: usize, s_max: f64, s_min: f64) -> Self {
        Self {
            method,
            steps,
            rho: 7.0,
            s_max,
            s_min,
        }
    }

    /// Sets `rho`.
    pub fn rho(mut self, rho: f64) -> Self {
        self.rho = rho;
        self
    }

    /// Checks the settings (for `mf`, whose schedule bounds the levels).
    pub fn validate(&self, mf: &dyn Field) -> Result<()> {
        levels(self.steps, self.s_max, self.s_min, self.rho)?;
        mf.check_level(self.s_max)?;
        mf.check_level(self.s_min)
    }
}

/// EDM's levels: `s_i = (s_max^(1/rho) + i/(N-1) (s_min^(1/rho) - s_max^(1/rho)))^rho`
/// for `i = 0..N-1` (both ends exact), then `s_N = 0`; `N + 1` values. `N = 1` gives
/// `[s_max, 0]`.
///
/// # Errors
/// `n = 0`, `rho` not finite and positive, `s_min`, `s_max` not finite and positive,
/// `s_min >= s_max` (unless `n = 1`, which uses `s_max` only).
pub fn levels(n: usize, s_max: f64, s_min: f64, rho: f64) -> Result<Vec<f64>> {
    if n == 0 {
        return Err(Error::InvalidParameter {
            name: "steps",
            value: 0.0,
            reason: "must be at least 1",
        });
    }
    if n > crate::limits::MAX_FIXED_STEPS {
        return Err(Error::Invalid(format!(
            "{n} levels is more than the limit {} of fixed-step runs",
            crate::limits::MAX_FIXED_STEPS
        )));
    }
    if !(rho.is_finite() && rho > 0.0) {
        return Err(Error::InvalidParameter {
            name: "rho",
            value: rho,
            reason: "must be finite and > 0",
        });
    }
    for (name, v) in [("s_max", s_max), ("s_min", s_min)] {
        if !(v.is_finite() && v > 0.0) {
            return Err(Error::InvalidParameter {
                name,
                value: v,
                reason: "must be finite and > 0",
            });
        }
    }
    if s_min >= s_max {
        return Err(Error::Invalid(format!(
            "need s_min < s_max, got s_min = {s_min} and s_max = {s_max}"
        )));
    }
    let (a, b) = (s_max.powf(1.0 / rho), s_min.powf(1.0 / rho));
    let mut out: Vec<f64> = (0..n)
        .map(|i| {
            if i == 0 {
                s_max
            } else if i + 1 == n {
                s_min
            } else {
                (a + i as f64 / (n - 1) as f64 * (b - a)).powf(rho)
            }
        })
        .collect();
    out.push(0.0);
    Ok(out)
}

/// Result of [`sample`].
#[derive(Debug, Clone)]
pub struct SamplerOutput {
    /// The samples at `s = 0`, `n x d`.
    pub x: Array2<f64>,
    /// The levels used, `s_0 = s_max > ... > s_{N-1} = s_min > s_N = 0`.
    pub levels: Vec<f64>,
    /// Denoiser evaluations per particle (every particle takes the same number).
    pub evals_per_particle: usize,
}

/// Runs a sampler from the rows of `x0` at level `opts.s_max` down to `s = 0`.
///
/// # Errors
/// Bad options ([`SamplerOptions::validate`]), points with the wrong number of
/// columns or non-finite entries.
pub fn sample(mf: &dyn Field, x0: ArrayView2<f64>, opts: &SamplerOptions) -> Result<SamplerOutput> {
    sample_with_hooks(mf, x0, opts, &|_| {}, &AtomicBool::new(false))
}

/// [`sample`] that calls `progress(k)` each time a chunk of `k` particles is done
/// (from worker threads) and stops when `cancel` is set: each chunk reads the flag
/// once per level and the call then returns [`Error::Cancelled`].
pub fn sample_with_hooks(
    mf: &dyn Field,
    x0: ArrayView2<f64>,
    opts: &SamplerOptions,
    progress: &(dyn Fn(usize) + Sync),
    cancel: &AtomicBool,
) -> Result<SamplerOutput> {
    opts.validate(mf)?;
    let d = mf.dim();
    ensure_cols("start points", x0, d)?;
    crate::error::ensure_finite("start points", x0)?;
    let lv = levels(opts.steps, opts.s_max, opts.s_min, opts.rho)?;
    let n = x0.nrows();
    let mut x: Vec<f64> = x0.iter().copied().collect();
    let counts: Vec<usize> = x
        .par_chunks_mut(CHUNK * d.max(1))
        .map(|chunk| {
            let e = run_chunk(mf, opts.method, &lv, chunk, cancel);
            // a chunk stopped by the flag is not done
            if !cancel.load(Ordering::Relaxed) {
                progress(chunk.len() / d.max(1));
            }
            e
        })
        .collect();
    if cancel.load(Ordering::Relaxed) {
        return Err(Error::Cancelled);
    }
    let evals = counts
        .first()
        .copied()
        .unwrap_or(opts.method.evals(opts.steps));
    debug_assert!(counts.iter().all(|&c| c == evals));
    Ok(SamplerOutput {
        x: Array2::from_shape_vec((n, d), x).expect("shape"),
        levels: lv,
        evals_per_particle: evals,
    })
}

/// The denoiser `m_s(x) = x - s f_s(x)` of a block of rows at one level; the only
/// access to the field. Writes `m`, returns nothing.
fn denoise(mf: &dyn Field, s: f64, x: &[f64], m: &mut [f64]) {
    let d = mf.dim();
    let rows = x.len() / d.max(1);
    let sv = vec![s; rows];
    mf.eval_block(&sv, x, m, None);
    for (mi, xi) in m.iter_mut().zip(x) {
        *mi = xi - s * *mi;
    }
}

/// `alpha(s)`, `sigma(s)` of the field's schedule.
fn alpha_sigma(mf: &dyn Field, s: f64) -> (f64, f64) {
    let sch = mf.schedule();
    (sch.alpha(s), sch.sigma(s))
}

/// Runs one chunk through every step; returns the evaluations per row.
fn run_chunk(mf: &dyn Field, method: Method, lv: &[f64], x: &mut [f64], c: &AtomicBool) -> usize {
    match method {
        Method::EdmEuler => edm(mf, lv, x, false, c),
        Method::EdmHeun => edm(mf, lv, x, true, c),
        Method::DpmPp2m => dpmpp(mf, lv, x, 2, c),
        Method::DpmPp3m => dpmpp(mf, lv, x, 3, c),
    }
}

/// Karras et al. (2022), Algorithm 1 without churn.
fn edm(mf: &dyn Field, lv: &[f64], x: &mut [f64], heun: bool, cancel: &AtomicBool) -> usize {
    let len = x.len();
    let (mut m, mut slope, mut xn) = (vec![0.0; len], vec![0.0; len], vec![0.0; len]);
    let mut evals = 0;
    for w in lv.windows(2) {
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        let (s, t) = (w[0], w[1]);
        denoise(mf, s, x, &mut m);
        evals += 1;
        for k in 0..len {
            slope[k] = (x[k] - m[k]) / s;
            xn[k] = x[k] + (t - s) * slope[k];
        }
        if heun && t > 0.0 {
            denoise(mf, t, &xn, &mut m);
            evals += 1;
            for k in 0..len {
                let d2 = (xn[k] - m[k]) / t;
                xn[k] = x[k] + (t - s) * (0.5 * slope[k] + 0.5 * d2);
            }
        }
        x.copy_from_slice(&xn);
    }
    evals
}

/// DPM-Solver++ multistep of order `order` (2 or 3), data prediction.
fn dpmpp(mf: &dyn Field, lv: &[f64], x: &mut [f64], order: usize, cancel: &AtomicBool) -> usize {
    let len = x.len();
    // the last three denoiser outputs (newest first) and their lambdas
    let mut hist: Vec<Vec<f64>> = Vec::with_capacity(3);
    let mut lam: Vec<f64> = Vec::with_capacity(3);
    let lambda = |s: f64| {
        let (a, sg) = alpha_sigma(mf, s);
        (a / sg).ln()
    };
    let mut evals = 0;
    for w in lv.windows(2) {
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        let (s, t) = (w[0], w[1]);
        let mut m = if hist.len() == 3 {
            hist.pop().expect("three")
        } else {
            vec![0.0; len]
        };
        denoise(mf, s, x, &mut m);
        evals += 1;
        hist.insert(0, m);
        lam.insert(0, lambda(s));
        lam.truncate(3);
        if t <= 0.0 {
            // sigma(0) = 0, alpha(0) = 1: the exact first-order step is x <- m
            x.copy_from_slice(&hist[0]);
            continue;
        }
        let (a_s, sg_s) = alpha_sigma(mf, s);
        let (a_t, sg_t) = alpha_sigma(mf, t);
        let h = lambda(t) - lam[0];
        // e^{-h} = alpha_s sigma_t / (sigma_s alpha_t), written without dividing by
        // alpha_t (0 at s = 1 on the linear path)
        let ratio = sg_t / sg_s;
        let phi1_a = a_t - a_s * ratio; // -alpha_t (e^{-h} - 1)
        let k = hist.len().min(order);
        let prev_ok = |i: usize| lam.len() > i && lam[i].is_finite() && lam[i - 1].is_finite();
        if k >= 3 && prev_ok(1) && prev_ok(2) {
            let (h0, h1) = (lam[0] - lam[1], lam[1] - lam[2]);
            let (r0, r1) = (h0 / h, h1 / h);
            let phi1 = (-h).exp_m1();
            let phi2 = phi1 / h + 1.0;
            let phi3 = phi2 / h - 0.5;
            let (m0, m1, m2) = (&hist[0], &hist[1], &hist[2]);
            for i in 0..len {
                let d1_0 = (m0[i] - m1[i]) / r0;
                let d1_1 = (m1[i] - m2[i]) / r1;
                let d1 = d1_0 + r0 / (r0 + r1) * (d1_0 - d1_1);
                let d2 = (d1_0 - d1_1) / (r0 + r1);
                x[i] = ratio * x[i] - a_t * phi1 * m0[i] + a_t * phi2 * d1 - a_t * phi3 * d2;
            }
        } else if k >= 2 && prev_ok(1) {
            let r = (lam[0] - lam[1]) / h;
            let (m0, m1) = (&hist[0], &hist[1]);
            let c = 0.5 / r;
            for i in 0..len {
                let dd = (1.0 + c) * m0[i] - c * m1[i];
                x[i] = ratio * x[i] + phi1_a * dd;
            }
        } else {
            let m0 = &hist[0];
            for i in 0..len {
                x[i] = ratio * x[i] + phi1_a * m0[i];
            }
        }
    }
    evals
}
