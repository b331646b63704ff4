//! Sampling by integrating a field: generate (backward), encode (forward), exact
//! likelihoods, and an honest count of particles that did not converge.
//!
//! Sampling knows only two traits: a [`Field`] (dimension, schedule, batch velocity,
//! optional divergence) and a [`Prior`] (the law at the top level). The ODE core
//! ([`crate::ode`]) knows only [`OdeSystem`](crate::ode::OdeSystem), which [`FieldOde`] builds from any
//! field; [`MarginalField`], the exact field of a data set, is one implementation,
//! a closure ([`crate::fields::FnField`]) or a learned network are others. [`Flow`]
//! bundles a field, a prior and optionally a reference field (the exact field of the
//! data, for the unconverged count) and runs [`Flow::generate`],
//! [`Flow::generate_from`] and [`Flow::encode`]; the free functions [`generate`],
//! [`generate_from`] and [`encode`] are the short forms for a `MarginalField` with
//! the prior named in [`SampleOptions::prior`], and [`transport`] and
//! [`trajectories`] take any field.
//!
//! A field becomes an ODE system ([`FieldOde`]) in the variables of an [`OdeTime`].
//! Ray fields (`alpha = 1`) are integrated towards the data in `u = 1/s` with the
//! state `z = x/s`, `dz/du = x - s f_s(x) = m(x)` (the posterior mean: bounded over
//! every decade of `s`, and straight stretches of the path are integrated exactly),
//! and away from the data (encoding) in `tau = ln s`, `dx/dtau = s f_s(x)`; the linear
//! path is integrated in `s` on `(0, 1]` (docs/MATHEMATICS.md, section 3.3). With the
//! likelihood switched on the state gets one more component `l`,
//! `dl/ds = -div f_s(x)` (times `s` in `tau`, `-s^2` in `u`), so that along each path
//! `l(s_b) - l(s_a) = ln p_{s_b}(x_{s_b}) - ln p_{s_a}(x_{s_a})`. With the closed-form
//! divergence of a `MarginalField` (docs/MATHEMATICS.md, section 2) these are exact
//! likelihoods without a trace estimator; a field without a divergence gets the
//! finite-difference trace (small `d`) or Hutchinson's estimator ([`TraceEstimator`],
//! errors and variance in [`estimate_divergence`]'s module).
//!
//! [`generate`] draws the prior at `s_max` (far field or exact mixture; exact for the
//! linear path), integrates down to `s_min`, and optionally takes the final denoising
//! step `x <- x - s_min f_{s_min}(x)` (Euler to `s = 0`, landing on the posterior
//! mean). [`generate_from`] starts from caller-given points at a stated level
//! `s_start`, and [`encode`] runs forward. Heavy-tailed priors are sampled exactly,
//! never clipped; a particle counts as *unconverged* when its trajectory failed
//! (non-finite start, solver failure) or when it ends farther than
//! `unconverged_factor * v_max(s_min)` from every component mean of the reference
//! field, `v_max` being the largest component scale at `s_min` (`sigma(s_min)` for
//! data points). Under the exact `p_{s_min}` the probability of that is at most
//! `P(|U| > factor)`, which is reported next to the count. Without a reference (a
//! [`Flow`] of an own field without [`Flow::reference`]) only failed trajectories
//! count.
//!
//! ```
//! use fieldflow::fields::{FieldKind, MarginalField, Source};
//! use fieldflow::sampling::{generate, SampleOptions};
//! use ndarray::array;
//! let data = array![[-1.0, 0.0], [1.0, 0.5]];
//! let mf = MarginalField::new(FieldKind::Poisson, Source::points(data.view(), None).unwrap())
//!     .unwrap();
//! let mut opts = SampleOptions::new(&mf); // dopri5, s 40 -> 1e-3, far-field prior
//! opts.denoise = true;
//! let out = generate(&mf, 200, 1, &opts).unwrap();
//! assert_eq!(out.x.nrows(), 200);
//! assert!(out.n_unconverged < 10);
//! ```
//!
//! An own field goes through [`Flow`] with a prior of its choice:
//!
//! ```
//! use fieldflow::fields::{FnField, Noise, Schedule};
//! use fieldflow::sampling::{FarFieldPrior, Flow, SampleOptions};
//! // the exact field of the source N(0, I) under the Gaussian path: f = s x / (1 + s^2)
//! let field = FnField::new(2, Schedule::Ray, |s: f64, x: &[f64], f: &mut [f64]| {
//!     for (fj, xj) in f.iter_mut().zip(x) {
//!         *fj = s * xj / (1.0 + s * s);
//!     }
//! })
//! .unwrap();
//! let opts = SampleOptions::for_schedule(Schedule::Ray);
//! let prior = FarFieldPrior::new(vec![0.0; 2], Noise::gaussian(2).unwrap(), opts.s_max).unwrap();
//! let out = Flow::new(&field, &prior).unwrap().generate(100, 1, &opts).unwrap();
//! assert_eq!(out.x.dim(), (100, 2));
//! ```

mod prior;
mod trace;
mod transport;

pub use prior::{ExactPrior, FarFieldPrior, MarginalPrior, Prior};
pub use trace::{
    estimate_divergence, DivergenceEstimate, TraceEstimator, AUTO_FD_MAX_DIM, AUTO_PROBES, FD_DELTA,
};
use transport::{check_points, transport_impl};
pub use transport::{
    ode_time, trajectories, trajectories_in, transport, transport_in, transport_with_progress,
    FieldOde, OdeTime, Progress, Transport, ODE_TIME_NAMES,
};

use crate::fields::{Field, MarginalField, PriorKind, Schedule, SourceKind, BATCH};
use crate::ode::{BatchStats, SolverOptions, TrajectoryStats};
use crate::{Error, Result};
use ndarray::{Array1, Array2, ArrayView2};
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};

/// Options of [`generate`], [`generate_from`] and [`encode`].
#[derive(Debug, Clone, PartialEq)]
pub struct SampleOptions {
    /// The integrator and its tolerances.
    pub solver: SolverOptions,
    /// Top level (prior).
    pub s_max: f64,
    /// Bottom level (data blurred at scale `s_min`).
    pub s_min: f64,
    /// Which prior [`generate`] draws (ignored by the linear path, whose prior is
    /// exact).
    pub prior: PriorKind,
    /// Take the final denoising step `x <- x - s_min f_{s_min}(x)`.
    pub denoise: bool,
    /// Integrate the log-density along each path.
    pub likelihood: bool,
    /// Unconverged radius in units of the largest component scale at `s_min`.
    pub unconverged_factor: f64,
    /// The likelihood's divergence for a field without one (ignored when the field
    /// has its own, as `MarginalField` does).
    pub trace: TraceEstimator,
    /// The variables the solver steps (the paths are the same in all); `None`: the
    /// default for the direction, [`OdeTime::default_for`] (`u = 1/s` for generation
    /// and `ln s` for encoding with ray fields, `s` for the linear path).
    pub time: Option<OdeTime>,
}

impl SampleOptions {
    /// Defaults for `mf`: dopri5 with `rtol = atol = 1e-5`; for ray fields
    /// `s_max = default_s_max(mf, DEFAULT_PRIOR_TV)` (the smallest level where the
    /// far-field prior is within TV distance 0.01 of the exact `p_{s_max}`, and at
    /// least PFGM's 40; see [`crate::fields::prior_bound`]) and `s_min = 1e-3`;
    /// `s_max = 1`, `s_min = 1e-3` for the linear path; far-field prior; no
    /// denoising, no likelihood; unconverged factor 1000; the default ODE variables
    /// for the direction ([`OdeTime::default_for`]).
    pub fn new(mf: &MarginalField) -> Self {
        // the bound reaches any tolerance at a finite level for a finite source
        let s_max = crate::fields::default_s_max(mf, crate::fields::DEFAULT_PRIOR_TV)
            .unwrap_or(crate::fields::PUBLISHED_S_MAX);
        Self {
            s_max,
            ..Self::for_schedule(mf.schedule())
        }
    }

    /// Defaults for any [`Field`] on `schedule` (`SampleOptions::for_schedule(
    /// field.schedule())`): those of [`SampleOptions::new`], except that `s_max` is
    /// PFGM's published 40 for ray fields (no data to bound the prior error with)
    /// and 1 for the linear path.
    pub fn for_schedule(schedule: Schedule) -> Self {
        let s_max = if schedule == Schedule::Linear {
            1.0
        } else {
            crate::fields::PUBLISHED_S_MAX
        };
        Self {
            solver: SolverOptions::new(crate::ode::Method::Dopri5).tol(1e-5),
            s_max,
            s_min: 1e-3,
            prior: PriorKind::FarField,
            denoise: false,
            likelihood: false,
            unconverged_factor: 1000.0,
            trace: TraceEstimator::Auto,
            time: None,
        }
    }

    /// The ODE variables of a run of a field on `schedule` from `s_from` to `s_to`:
    /// [`SampleOptions::time`], or the default for the direction.
    pub fn time_for(&self, schedule: Schedule, s_from: f64, s_to: f64) -> OdeTime {
        self.time
            .unwrap_or_else(|| OdeTime::default_for(schedule, s_from, s_to))
    }

    fn validate(&self, field: &dyn Field) -> Result<()> {
        field.check_level(self.s_max)?;
        field.check_level(self.s_min)?;
        if self.s_min >= self.s_max {
            return Err(Error::Invalid(format!(
                "need s_min < s_max, got s_min = {} and s_max = {}",
                self.s_min, self.s_max
            )));
        }
        if !(self.unconverged_factor.is_finite() && self.unconverged_factor > 0.0) {
            return Err(Error::InvalidParameter {
                name: "unconverged_factor",
                value: self.unconverged_factor,
                reason: "must be finite and > 0",
            });
        }
        self.trace.validate()?;
        self.solver.validate()
    }
}

/// Result of [`generate`] and [`generate_from`].
#[derive(Debug, Clone)]
pub struct Samples {
    /// The samples, `n x d` (at `s_min`, or at `s = 0` after denoising). The row of
    /// a particle whose trajectory failed is all NaN (row `i` is always particle
    /// `i`): a failed particle is never returned as a sample.
    pub x: Array2<f64>,
    /// With the likelihood: the model's `ln p_{s_min}` at each sample before
    /// denoising, `ln prior(x_{s_start}) + (change along the path)`.
    pub log_p: Option<Array1<f64>>,
    /// Which particles did not converge (see the module docs).
    pub unconverged: Vec<bool>,
    /// How many did not converge.
    pub n_unconverged: usize,
    /// The radius used by the criterion, `unconverged_factor * v_max(s_min)`.
    pub unconverged_radius: f64,
    /// Upper bound of the unconverged fraction under the exact `p_{s_min}`,
    /// `P(|U| > unconverged_factor)` (NaN where not available).
    pub expected_unconverged: f64,
    /// Per-particle solver statistics (times in the ODE time of the variables used,
    /// [`SampleOptions::time_for`]).
    pub stats: Vec<TrajectoryStats>,
    /// Totals; `evals` includes the denoising evaluations.
    pub totals: BatchStats,
}

impl Samples {
    /// Mean right-hand-side evaluations per particle.
    pub fn evals_per_particle(&self) -> f64 {
        self.totals.evals as f64 / self.x.nrows().max(1) as f64
    }

    /// The one-sided binomial p-value of the unconverged count: `P(X >= K)` for
    /// `X ~ Binomial(n, p)`, with `K` = [`Samples::n_unconverged`], `n` the number
    /// of particles and `p` = [`Samples::expected_unconverged`], the largest
    /// unconverged fraction the exact `p_{s_min}` allows. A small value says that more
    /// particles ended far from the data than the exact marginal explains. `None`
    /// when the rate is not available (NaN).
    pub fn unconverged_pvalue(&self) -> Option<f64> {
        binomial_upper_tail(
            self.n_unconverged,
            self.x.nrows(),
            self.expected_unconverged,
        )
    }
}

/// `P(X >= k)` for `X ~ Binomial(n, p)`; `None` when `p` is not in `[0, 1]`.
pub fn binomial_upper_tail(k: usize, n: usize, p: f64) -> Option<f64> {
    use statrs::distribution::{Binomial, DiscreteCDF};
    if !(0.0..=1.0).contains(&p) {
        return None;
    }
    if k == 0 {
        return Some(1.0);
    }
    if k > n {
        return Some(0.0);
    }
    if p == 0.0 {
        return Some(0.0);
    }
    let b = Binomial::new(p, n as u64).ok()?;
    Some(b.sf(k as u64 - 1).clamp(0.0, 1.0))
}

/// A field, the prior it starts from, and optionally a reference field for the
/// unconverged count: what [`Flow::generate`], [`Flow::generate_from`] and
/// [`Flow::encode`] integrate.
///
/// The prior's level must be the options' `s_max` (generation starts there, encoding
/// ends there). The reference is usually the exact field of the data
/// ([`MarginalField`]): a particle counts as unconverged when it ends farther than
/// `unconverged_factor` component scales from every component of the reference's
/// source (see the module docs); without one, only failed trajectories count.
#[derive(Clone, Copy)]
pub struct Flow<'a> {
    field: &'a dyn Field,
    prior: &'a dyn Prior,
    reference: Option<&'a MarginalField>,
    progress: Option<Progress<'a>>,
    cancel: Option<&'a AtomicBool>,
}

impl<'a> Flow<'a> {
    /// `field` started from `prior` (same dimension).
    pub fn new(field: &'a dyn Field, prior: &'a dyn Prior) -> Result<Self> {
        if prior.dim() != field.dim() {
            return Err(Error::DimensionMismatch {
                what: "prior (against the field)",
                expected: field.dim(),
                got: prior.dim(),
            });
        }
        Ok(Self {
            field,
            prior,
            reference: None,
            progress: None,
            cancel: None,
        })
    }

    /// Counts unconverged particles against `reference` (same dimension and
    /// schedule as the field).
    pub fn reference(mut self, reference: &'a MarginalField) -> Result<Self> {
        if reference.dim() != self.field.dim() {
            return Err(Error::DimensionMismatch {
                what: "reference field (against the field)",
                expected: self.field.dim(),
                got: reference.dim(),
            });
        }
        if reference.schedule() != self.field.schedule() {
            return Err(Error::Invalid(format!(
                "the reference field has the {:?} schedule, the field the {:?} schedule",
                reference.schedule(),
                self.field.schedule()
            )));
        }
        self.reference = Some(reference);
        Ok(self)
    }

    /// Calls `progress(k)` each time `k` more particles are done (see
    /// [`transport_with_progress`]).
    pub fn progress(mut self, progress: Progress<'a>) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Stops the run when `cancel` is set (from another thread, a signal handler, an
    /// interrupt check): every block of particles reads the flag once per solver step
    /// and the run returns [`Error::Cancelled`].
    pub fn cancel(mut self, cancel: &'a AtomicBool) -> Self {
        self.cancel = Some(cancel);
        self
    }

    fn tick(&self) -> Progress<'a> {
        self.progress.unwrap_or(&|_| {})
    }

    /// The progress callback and the cancel flag for [`transport_impl`].
    fn hooks(&self) -> (Progress<'a>, &'a AtomicBool) {
        static NEVER: AtomicBool = AtomicBool::new(false);
        (self.tick(), self.cancel.unwrap_or(&NEVER))
    }

    fn cancelled(&self) -> Result<()> {
        match self.cancel {
            Some(c) if c.load(Ordering::Relaxed) => Err(Error::Cancelled),
            _ => Ok(()),
        }
    }

    /// Checks that the prior sits at level `s`.
    fn check_prior_level(&self, s: f64, what: &str) -> Result<()> {
        let l = self.prior.level();
        if (l - s).abs() > 1e-12 * s.abs() {
            return Err(Error::Invalid(format!(
                "the prior is at level s = {l} but {what} = {s}"
            )));
        }
        Ok(())
    }

    /// Draws `n` prior points (stream `seed`) at `opts.s_max` and integrates them down
    /// to `opts.s_min`.
    pub fn generate(&self, n: usize, seed: u64, opts: &SampleOptions) -> Result<Samples> {
        self.generate_range(0, n, seed, opts)
    }

    /// Rows `offset..offset + n` of [`Flow::generate`]`(offset + n, seed, opts)`,
    /// bit for bit, without computing the others: the prior draws come from
    /// [`Prior::sample_range`] and every later stage treats each particle on its own.
    /// Chunks of one seeded run can so be computed apart (other processes, other
    /// machines) and stacked in order.
    pub fn generate_range(
        &self,
        offset: usize,
        n: usize,
        seed: u64,
        opts: &SampleOptions,
    ) -> Result<Samples> {
        opts.validate(self.field)?;
        self.check_prior_level(opts.s_max, "s_max")?;
        let x0 = self.prior.sample_range(offset, n, seed)?;
        self.cancelled()?;
        let lp0 = opts.likelihood.then(|| self.prior.log_density(x0.view()));
        self.finish(x0.view(), opts.s_max, lp0, opts)
    }

    /// Integrates caller-given points from level `s_start` down to `opts.s_min`; with
    /// the likelihood, the prior (then at level `s_start`) gives the start density.
    pub fn generate_from(
        &self,
        x_start: ArrayView2<f64>,
        s_start: f64,
        opts: &SampleOptions,
    ) -> Result<Samples> {
        let o = start_options(self.field, s_start, opts)?;
        check_points(self.field, x_start)?;
        let lp0 = if o.likelihood {
            self.check_prior_level(s_start, "s_start")?;
            Some(self.prior.log_density(x_start))
        } else {
            None
        };
        self.finish(x_start, s_start, lp0, &o)
    }

    /// Integrates points at level `opts.s_min` forward to `opts.s_max`; with the
    /// likelihood, `ln p_{s_min}(x) = ln prior(z) - (change along the path)`.
    pub fn encode(&self, x: ArrayView2<f64>, opts: &SampleOptions) -> Result<Encoded> {
        opts.validate(self.field)?;
        check_points(self.field, x)?;
        if opts.likelihood {
            self.check_prior_level(opts.s_max, "s_max")?;
        }
        let tr = transport_impl(
            self.field,
            x,
            (opts.s_min, opts.s_max),
            (&opts.solver, opts.time),
            opts.likelihood.then_some(opts.trace),
            self.hooks(),
        )?;
        let log_p = tr.delta_log_p.as_ref().map(|dl| {
            let lz = self.prior.log_density(tr.x.view());
            lz - dl
        });
        Ok(Encoded {
            z: tr.x,
            log_p,
            delta_log_p: tr.delta_log_p,
            stats: tr.stats,
            totals: tr.totals,
        })
    }

    fn finish(
        &self,
        x0: ArrayView2<f64>,
        s_start: f64,
        lp0: Option<Array1<f64>>,
        opts: &SampleOptions,
    ) -> Result<Samples> {
        let field = self.field;
        let tr = transport_impl(
            field,
            x0,
            (s_start, opts.s_min),
            (&opts.solver, opts.time),
            opts.likelihood.then_some(opts.trace),
            self.hooks(),
        )?;
        let mut x = tr.x;
        let log_p = match (lp0, tr.delta_log_p) {
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
        let (unconverged, radius, expected) = match self.reference {
            Some(mf) => {
                let (mask, radius) = unconverged_mask(mf, x.view(), opts.s_min, opts, &tr.stats);
                (mask, radius, mf.law().tail_prob(opts.unconverged_factor))
            }
            None => {
                let mask = (0..x.nrows())
                    .map(|i| {
                        !tr.stats[i].status.is_success() || !x.row(i).iter().all(|v| v.is_finite())
                    })
                    .collect();
                (mask, f64::NAN, f64::NAN)
            }
        };
        let mut totals = tr.totals;
        self.cancelled()?;
        if opts.denoise {
            totals.evals += denoise(field, &mut x, opts.s_min) as u64;
        }
        let n_unconverged = unconverged.iter().filter(|&&u| u).count();
        Ok(Samples {
            x,
            log_p,
            n_unconverged,
            unconverged,
            unconverged_radius: radius,
            expected_unconverged: expected,
            stats: tr.stats,
            totals,
        })
    }
}

/// The options of a generation that starts at `s_start` (checked above `s_min`).
fn start_options(field: &dyn Field, s_start: f64, opts: &SampleOptions) -> Result<SampleOptions> {
    let o = SampleOptions {
        s_max: s_start,
        ..opts.clone()
    };
    if s_start.is_finite() && s_start <= opts.s_min {
        return Err(Error::Invalid(format!(
            "the start level s_start = {s_start} must be above s_min = {}",
            opts.s_min
        )));
    }
    o.validate(field)?;
    Ok(o)
}

/// The final denoising step `x <- x - s f_s(x)` on the finite rows of `x`, in
/// parallel blocks of [`BATCH`] rows (rows are independent, so the result does not
/// depend on the blocks); returns the number of evaluations.
fn denoise(field: &dyn Field, x: &mut Array2<f64>, s: f64) -> usize {
    let d = field.dim();
    let rows: Vec<usize> = (0..x.nrows())
        .filter(|&i| x.row(i).iter().all(|v| v.is_finite()))
        .collect();
    let mut xs = Vec::with_capacity(rows.len() * d);
    for &i in &rows {
        xs.extend(x.row(i).iter());
    }
    let mut f = vec![0.0; xs.len()];
    f.par_chunks_mut(BATCH * d)
        .zip(xs.par_chunks(BATCH * d))
        .for_each(|(fb, xb)| field.eval_block(&vec![s; xb.len() / d], xb, fb, None));
    for (k, &i) in rows.iter().enumerate() {
        for j in 0..d {
            x[[i, j]] = xs[k * d + j] - s * f[k * d + j];
        }
    }
    rows.len()
}

/// Draws `n` prior points at `opts.s_max` (stream `seed`) and integrates them down to
/// `opts.s_min`: [`Flow::generate`] of `mf` with the prior `opts.prior` and `mf` as
/// its own reference.
pub fn generate(mf: &MarginalField, n: usize, seed: u64, opts: &SampleOptions) -> Result<Samples> {
    generate_with_progress(mf, n, seed, opts, &|_| {})
}

/// [`generate`] with a progress callback (see [`transport_with_progress`]).
pub fn generate_with_progress(
    mf: &MarginalField,
    n: usize,
    seed: u64,
    opts: &SampleOptions,
    progress: Progress,
) -> Result<Samples> {
    opts.validate(mf)?;
    let prior = mf.prior(opts.s_max, opts.prior)?;
    Flow::new(mf, &prior)?
        .reference(mf)?
        .progress(progress)
        .generate(n, seed, opts)
}

/// Integrates caller-given points from level `s_start` down to `opts.s_min` (the
/// likelihood, if asked, starts from the prior's density at `s_start`: the exact
/// `p_{s_start}` for `PriorKind::Exact`, the far field otherwise).
pub fn generate_from(
    mf: &MarginalField,
    x_start: ArrayView2<f64>,
    s_start: f64,
    opts: &SampleOptions,
) -> Result<Samples> {
    generate_from_with_progress(mf, x_start, s_start, opts, &|_| {})
}

/// [`generate_from`] with a progress callback (see [`transport_with_progress`]).
pub fn generate_from_with_progress(
    mf: &MarginalField,
    x_start: ArrayView2<f64>,
    s_start: f64,
    opts: &SampleOptions,
    progress: Progress,
) -> Result<Samples> {
    start_options(mf, s_start, opts)?;
    let prior = mf.prior(s_start, opts.prior)?;
    Flow::new(mf, &prior)?
        .reference(mf)?
        .progress(progress)
        .generate_from(x_start, s_start, opts)
}

/// `ln` of the prior density at level `s`: the exact `p_s` (also for the linear path,
/// whose prior is exact) or the far field ([`MarginalField::prior`]); NaN for an
/// invalid level.
pub fn prior_log_density(
    mf: &MarginalField,
    s: f64,
    x: ArrayView2<f64>,
    prior: PriorKind,
) -> Array1<f64> {
    match mf.prior(s, prior) {
        Ok(p) => p.log_density(x),
        Err(_) => Array1::from_elem(x.nrows(), f64::NAN),
    }
}

/// The largest component scale `v_k(s)`.
fn max_scale(mf: &MarginalField, s: f64) -> f64 {
    let sch = mf.schedule();
    let (a, sg) = (sch.alpha(s), sch.sigma(s));
    mf.source()
        .scales()
        .iter()
        .map(|&c| match mf.source().kind() {
            SourceKind::Points => sg,
            SourceKind::Gaussian => (a * a * c * c + sg * sg).sqrt(),
            SourceKind::Cauchy => c + sg,
        })
        .fold(0.0, f64::max)
}

fn unconverged_mask(
    mf: &MarginalField,
    x: ArrayView2<f64>,
    s: f64,
    opts: &SampleOptions,
    stats: &[TrajectoryStats],
) -> (Vec<bool>, f64) {
    let radius = opts.unconverged_factor * max_scale(mf, s);
    let r2 = radius * radius;
    let a = mf.schedule().alpha(s);
    let src = mf.source();
    let d = mf.dim();
    let mask = (0..x.nrows())
        .into_par_iter()
        .map(|i| {
            let row = x.row(i);
            if !stats[i].status.is_success() || !row.iter().all(|v| v.is_finite()) {
                return true;
            }
            // unconverged: no component mean within the radius. The partial sums
            // only grow, so a mean is passed over as soon as one exceeds r2.
            let within = |k: usize| {
                let m = src.mean_of(k);
                let mut d2 = 0.0;
                for j in 0..d {
                    let e = row[j] - a * m[j];
                    d2 += e * e;
                    if d2 > r2 {
                        return false;
                    }
                }
                true
            };
            !(0..src.len()).any(within)
        })
        .collect();
    (mask, radius)
}

/// Result of [`encode`].
#[derive(Debug, Clone)]
pub struct Encoded {
    /// The codes at `s_max`, `n x d` (all NaN for a point whose trajectory failed).
    pub z: Array2<f64>,
    /// With the likelihood: the model's `ln p_{s_min}(x)`,
    /// `ln prior(z) - (change of ln p_s along the path)`.
    pub log_p: Option<Array1<f64>>,
    /// `ln p_{s_max}(z) - ln p_{s_min}(x)` along each path.
    pub delta_log_p: Option<Array1<f64>>,
    /// Per-particle solver statistics (times in the ODE time of the variables used,
    /// [`SampleOptions::time_for`]).
    pub stats: Vec<TrajectoryStats>,
    /// Totals.
    pub totals: BatchStats,
}

/// Integrates points at level `opts.s_min` forward to `opts.s_max` ([`Flow::encode`]
/// of `mf` with the prior `opts.prior`).
pub fn encode(mf: &MarginalField, x: ArrayView2<f64>, opts: &SampleOptions) -> Result<Encoded> {
    encode_with_progress(mf, x, opts, &|_| {})
}

/// [`encode`] with a progress callback (see [`transport_with_progress`]).
pub fn encode_with_progress(
    mf: &MarginalField,
    x: ArrayView2<f64>,
    opts: &SampleOptions,
    progress: Progress,
) -> Result<Encoded> {
    opts.validate(mf)?;
    let prior = mf.prior(opts.s_max, opts.prior)?;
    Flow::new(mf, &prior)?.progress(progress).encode(x, opts)
}
