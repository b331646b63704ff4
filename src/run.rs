//! Runs described by plain data: the library side of the command line.
//!
//! The command line and other front ends (the Python package) describe a run with
//! names and defaults: a field by name with its parameters ([`FieldSpec`]), a data set
//! by name ([`datasets`]), and a sampling run ([`SampleRequest`]: count, seed,
//! integrator or few-step sampler, tolerances, levels, prior, start points). This
//! module turns such a description into the library calls, with the command line's
//! defaults (`dopri5`, `rtol = atol = 1e-5`, the default `s_max` of
//! [`crate::fields::default_s_max`], the far-field prior, `rho = 7` for the few-step
//! samplers), so that every front end that goes through it gives the same bits for
//! the same arguments. Nothing here parses flags or prints; bad values are
//! [`Error`]s worded without command-line flags (`"rtol must be positive"`).
//!
//! [`encode`] runs points forward to the prior (with exact log-likelihoods), and
//! [`check`] runs the statistical test battery as `fieldflow check` does. With the
//! feature `learn`, `train` and `sample_model` (module `learned`) do what `fieldflow
//! train` and `fieldflow sample --model` do for learned models.
//!
//! A run can report progress ([`Hooks::progress`], the number of particles just
//! finished, called from worker threads) and be cancelled ([`Hooks::cancel`], an
//! atomic flag read once per solver step of every block of particles; the run then
//! returns [`Error::Cancelled`]). [`SampleRequest::offset`] selects rows
//! `offset..offset + n` of the run with `offset + n` particles, bit for bit: the prior
//! draws come in fixed batches of [`crate::fields::BATCH`] rows from seeded streams
//! and every later stage treats each particle on its own, so chunks of one seeded run
//! can be computed apart and stacked.

use crate::checks::battery::{BatteryReport, OneSampleTarget, TwoSampleTest};
use crate::checks::Battery;
use crate::data::{Dataset, Digits, GaussianMixture};
use crate::fields::{
    prior_error_bound, FieldKind, FieldName, FieldParams, LinearPrior, MarginalField, PriorKind,
    Schedule, Source,
};
use crate::ode::{BatchStats, Method as OdeMethod, Status, TrajectoryStats};
use crate::samplers::{self, SamplerOptions, SamplerOutput};
use crate::sampling::{Encoded, Flow, Progress, SampleOptions, Samples};
use crate::{Error, Result};
use ndarray::{Array2, ArrayView2};
use std::sync::atomic::AtomicBool;

#[cfg(feature = "learn")]
mod learned;
#[cfg(feature = "learn")]
pub use learned::{
    check_train_sizes, encode_model, sample_model, test_every, train, HeldOut, TrainRun,
};

/// A far-field prior farther than this (total variation) from the exact `p_s_max`
/// is refused for a user-given `s_max` unless [`SampleRequest::force_prior`].
pub const HOPELESS_PRIOR_TV: f64 = 0.5;

/// The default `rho` of the few-step samplers' level schedule (Karras et al. 2022).
pub const DEFAULT_RHO: f64 = 7.0;

/// A field by name with its parameters (those of the other fields must be `None`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSpec {
    /// `poisson`, `pfgmpp`, `gaussian`, `linear`, `radial` or `power`.
    pub name: String,
    /// Extra dimensions `D > 0` of `pfgmpp`.
    pub aug_dim: Option<f64>,
    /// Exponent `K` of `power`.
    pub power: Option<f64>,
    /// Radial CDF of `radial`: `tanh` (default) or `exp`.
    pub profile: Option<String>,
    /// Uniform prior box `(lo, hi)` of `linear` (default: the normal prior).
    pub uniform_box: Option<(f64, f64)>,
}

impl FieldSpec {
    /// The field `name` with no parameters.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            ..Self::default()
        }
    }

    /// The field kind; a parameter of another field is refused ("aug_dim is used by
    /// field pfgmpp only, not by poisson").
    pub fn kind(&self) -> Result<FieldKind> {
        let field: FieldName = self.name.parse()?;
        for (given, param, owner) in [
            (self.aug_dim.is_some(), "aug_dim", FieldName::Pfgmpp),
            (self.power.is_some(), "power", FieldName::Power),
            (self.profile.is_some(), "profile", FieldName::Radial),
            (self.uniform_box.is_some(), "box", FieldName::Linear),
        ] {
            if given && field != owner {
                return Err(Error::Invalid(format!(
                    "{param} is used by field {} only, not by {}",
                    format!("{owner:?}").to_ascii_lowercase(),
                    self.name
                )));
            }
        }
        let params = FieldParams {
            aug_dim: self.aug_dim,
            power: self.power,
            profile: self.profile.as_deref().unwrap_or("tanh").parse()?,
            linear_prior: match self.uniform_box {
                Some((lo, hi)) => LinearPrior::UniformBox { lo, hi },
                None => LinearPrior::Normal,
            },
        };
        FieldKind::from_name(&self.name, &params)
    }

    /// The exact field of the data `points` (`n x d`) with optional non-negative
    /// `weights` (one per row; zero-weight rows are dropped).
    pub fn build(&self, points: ArrayView2<f64>, weights: Option<&[f64]>) -> Result<MarginalField> {
        let kind = self.kind()?;
        let src = match weights {
            None => Source::points(points, None)?,
            Some(w) => {
                if w.len() != points.nrows() {
                    return Err(Error::DimensionMismatch {
                        what: "weights (one per data point)",
                        expected: points.nrows(),
                        got: w.len(),
                    });
                }
                let (p, w) = crate::fields::drop_zero_weights(points, w)?;
                Source::points(p.view(), Some(&w))?
            }
        };
        MarginalField::new(kind, src)
    }
}

/// The dimension of the points of the data set `name` (see [`datasets`]) without
/// drawing any: 64 for `digits`, the mixture's for `mixture:SPEC`.
pub fn dataset_dim(name: &str) -> Result<usize> {
    if name == "digits" {
        return Ok(64);
    }
    match name.strip_prefix("mixture:") {
        Some(spec) => Ok(spec.parse::<GaussianMixture>()?.dim()),
        None => Ok(name.parse::<Dataset>()?.dim()),
    }
}

/// `n` points of the data set `name` drawn with `seed`, as `fieldflow datasets`
/// writes them: one of the toy sets of [`Dataset`], `mixture:SPEC` (a
/// [`GaussianMixture`]), or `digits` (the bundled 8 x 8 digits: all 1797 in file
/// order for `n = None`, else `n` of them drawn without replacement). `n` is
/// required except for `digits`.
pub fn datasets(name: &str, n: Option<usize>, seed: u64) -> Result<Array2<f64>> {
    if name == "digits" {
        return Ok(Digits::draw(n, seed)?.images);
    }
    let Some(n) = n else {
        return Err(Error::Invalid(format!(
            "give the number of points n for data set {name}"
        )));
    };
    if n == 0 {
        return Err(Error::Invalid("n must be at least 1".into()));
    }
    match name.strip_prefix("mixture:") {
        Some(spec) => {
            let mix: GaussianMixture = spec.parse()?;
            mix.try_sample(n, &mut crate::rng::seeded(seed))
        }
        None => name.parse::<Dataset>()?.try_sample_seeded(n, seed),
    }
}

/// Exact draws of the marginal `p_s` as `fieldflow marginal` writes them.
#[derive(Debug, Clone)]
pub struct MarginalDraws {
    /// The finite draws, in draw order (`(n - dropped) x d`).
    pub x: Array2<f64>,
    /// How many draws were left out for a non-finite coordinate (an infinite radius
    /// of a heavy-tailed law).
    pub dropped: usize,
}

/// `n` exact draws of `p_s` of `mf` with `seed` ([`MarginalField::sample_marginal`]),
/// without the non-finite rows, as `fieldflow marginal` does.
pub fn marginal(mf: &MarginalField, s: f64, n: usize, seed: u64) -> Result<MarginalDraws> {
    if n == 0 {
        return Err(Error::Invalid("n must be at least 1".into()));
    }
    let x = mf.sample_marginal(s, n, seed)?;
    let keep: Vec<usize> = (0..x.nrows())
        .filter(|&i| x.row(i).iter().all(|v| v.is_finite()))
        .collect();
    Ok(MarginalDraws {
        dropped: n - keep.len(),
        x: x.select(ndarray::Axis(0), &keep),
    })
}

/// A sampling run: what `fieldflow sample` takes besides the field and the data.
/// [`SampleRequest::default`] holds the command line's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleRequest {
    /// Number of particles (with start points: must equal their row count, or be
    /// `None`).
    pub n: Option<usize>,
    /// Seed of the prior draw.
    pub seed: u64,
    /// First row of the seeded run to compute: the result is rows
    /// `offset..offset + n` of the run with `offset + n` particles (0: the run
    /// itself; not used with start points).
    pub offset: usize,
    /// `euler`, `heun`, `rk4`, `bs3`, `dopri5`, `tsit5`, or a few-step sampler
    /// `edm-euler`, `edm-heun`, `dpmpp-2m`, `dpmpp-3m`.
    pub method: String,
    /// Relative tolerance of the adaptive integrators.
    pub rtol: f64,
    /// Absolute tolerance of the adaptive integrators.
    pub atol: f64,
    /// Fixed number of steps (no error control), or the number of levels of a
    /// few-step sampler (required there).
    pub steps: Option<usize>,
    /// Top level (`None`: the default of [`SampleOptions::new`]).
    pub s_max: Option<f64>,
    /// Bottom level (`None`: `1e-3`).
    pub s_min: Option<f64>,
    /// `far` (the far-field prior) or `exact` (the mixture `p_s_max`).
    pub prior: String,
    /// Run anyway when a user-given `s_max` leaves the far-field prior more than
    /// [`HOPELESS_PRIOR_TV`] from the exact `p_s_max`.
    pub force_prior: bool,
    /// The level of caller-given start points (required with them).
    pub start_level: Option<f64>,
    /// `rho` of a few-step sampler's level schedule (`None`: [`DEFAULT_RHO`]).
    pub rho: Option<f64>,
    /// Take the final denoising step to `s = 0` (integrators only).
    pub denoise: bool,
    /// Unconverged radius in component scales at `s_min` (integrators only).
    pub unconverged_factor: f64,
    /// The ODE variables of the integrators (`level`, `log`, `inverse`; `None`: the
    /// default for the direction, see [`crate::sampling::OdeTime::default_for`]).
    pub ode_time: Option<String>,
}

impl Default for SampleRequest {
    fn default() -> Self {
        Self {
            n: None,
            seed: 0,
            offset: 0,
            method: "dopri5".into(),
            rtol: 1e-5,
            atol: 1e-5,
            steps: None,
            s_max: None,
            s_min: None,
            prior: "far".into(),
            force_prior: false,
            start_level: None,
            rho: None,
            denoise: false,
            unconverged_factor: 1000.0,
            ode_time: None,
        }
    }
}

/// Observers of a run: neither changes its result.
#[derive(Clone, Copy, Default)]
pub struct Hooks<'a> {
    /// Called with the number of particles just finished, from worker threads.
    pub progress: Option<Progress<'a>>,
    /// When set (from any thread), the run stops within one solver step of every
    /// running block of particles and returns [`Error::Cancelled`].
    pub cancel: Option<&'a AtomicBool>,
}

/// What a run computed.
#[derive(Debug, Clone)]
pub enum Sampled {
    /// An ODE integrator's result (per-particle statistics, unconverged count).
    Ode(Samples),
    /// A few-step sampler's result.
    FewStep(SamplerOutput),
}

/// The result of [`sample`]: the samples and what the command line reports of them.
#[derive(Debug, Clone)]
pub struct SampleRun {
    /// The result.
    pub sampled: Sampled,
    /// The level the particles started from (`s_max`, or the start points' level).
    pub s_start: f64,
    /// The bottom level (a few-step sampler then steps to `s = 0`).
    pub s_min: f64,
    /// The far-field prior's error bound at `s_start` (total variation) when the run
    /// drew the far-field prior; `None` for an exact prior or start points.
    pub prior_bound: Option<f64>,
    /// The options the integrator ran with (`None` for a few-step sampler).
    pub options: Option<SampleOptions>,
    /// The few-step sampler's options (`None` for an integrator).
    pub sampler: Option<SamplerOptions>,
}

impl SampleRun {
    /// The samples, `n x d` (row `i` is particle `i`; a failed particle's row is NaN).
    pub fn x(&self) -> &Array2<f64> {
        match &self.sampled {
            Sampled::Ode(s) => &s.x,
            Sampled::FewStep(s) => &s.x,
        }
    }

    /// Per-particle solver statistics (status, evaluations, steps); a few-step
    /// sampler's particle has its fixed count and `NonFinite` when its row is not
    /// finite.
    pub fn stats(&self) -> Vec<TrajectoryStats> {
        match &self.sampled {
            Sampled::Ode(s) => s.stats.clone(),
            Sampled::FewStep(s) => {
                let steps = s.levels.len().saturating_sub(1) as u64;
                (0..s.x.nrows())
                    .map(|i| TrajectoryStats {
                        status: if s.x.row(i).iter().all(|v| v.is_finite()) {
                            Status::Success
                        } else {
                            Status::NonFinite { t: f64::NAN }
                        },
                        t_final: 0.0,
                        evals: s.evals_per_particle as u64,
                        steps,
                        accepted: steps,
                        rejected: 0,
                    })
                    .collect()
            }
        }
    }

    /// Which particles did not converge: the ODE criterion (see
    /// [`crate::sampling`]), for a few-step sampler the non-finite rows.
    pub fn unconverged(&self) -> Vec<bool> {
        match &self.sampled {
            Sampled::Ode(s) => s.unconverged.clone(),
            Sampled::FewStep(s) => (0..s.x.nrows())
                .map(|i| !s.x.row(i).iter().all(|v| v.is_finite()))
                .collect(),
        }
    }

    /// Total right-hand-side (denoiser) evaluations.
    pub fn evaluations(&self) -> u64 {
        match &self.sampled {
            Sampled::Ode(s) => s.totals.evals,
            Sampled::FewStep(s) => (s.evals_per_particle * s.x.nrows()) as u64,
        }
    }

    /// Solver totals (for a few-step sampler: its fixed steps, none rejected).
    pub fn totals(&self) -> BatchStats {
        match &self.sampled {
            Sampled::Ode(s) => s.totals,
            Sampled::FewStep(_) => {
                let st = self.stats();
                let mut t = BatchStats::default();
                for s in &st {
                    t.evals += s.evals;
                    t.steps += s.steps;
                    t.accepted += s.accepted;
                    if s.status.is_success() {
                        t.succeeded += 1;
                    } else {
                        t.failed += 1;
                    }
                }
                t
            }
        }
    }
}

/// Checks the options that need no field.
fn check_request(req: &SampleRequest) -> Result<()> {
    match req.steps {
        Some(0) => return Err(Error::Invalid("steps must be at least 1".into())),
        Some(n) if n > crate::limits::MAX_FIXED_STEPS => {
            return Err(Error::Invalid(format!(
                "steps = {n} is more than the limit {} fixed steps per trajectory",
                crate::limits::MAX_FIXED_STEPS
            )))
        }
        _ => {}
    }
    if req.n == Some(0) {
        return Err(Error::Invalid("n must be at least 1".into()));
    }
    Ok(())
}

/// Checks the start points of `req` against its `n`, `offset` and `start_level`.
fn check_start(req: &SampleRequest, start: Option<ArrayView2<f64>>) -> Result<()> {
    if let Some(x) = start {
        if req.offset != 0 {
            return Err(Error::Invalid(
                "offset applies to prior draws, not to start points".into(),
            ));
        }
        if let Some(n) = req.n {
            if n != x.nrows() {
                return Err(Error::Invalid(format!(
                    "n = {n} but the start points are {} rows",
                    x.nrows()
                )));
            }
        }
        if req.start_level.is_none() {
            return Err(Error::Invalid(
                "start points need their level start_level".into(),
            ));
        }
    } else if req.start_level.is_some() {
        return Err(Error::Invalid(
            "start_level applies to start points only".into(),
        ));
    }
    Ok(())
}

/// The integrator options of `req` for `mf` (the command line's defaults for what
/// `req` leaves out); tolerances are validated when the solver starts.
pub fn sample_options(mf: &MarginalField, req: &SampleRequest) -> Result<SampleOptions> {
    check_request(req)?;
    let mut opts = SampleOptions::new(mf);
    opts.solver = opts.solver.rtol(req.rtol).atol(req.atol);
    opts.solver.method = req.method.parse::<OdeMethod>()?;
    if let Some(n) = req.steps {
        opts.solver = opts.solver.fixed_steps(n);
    }
    if let Some(s) = req.s_max {
        opts.s_max = s;
    }
    if let Some(s) = req.s_min {
        opts.s_min = s;
    }
    opts.prior = req.prior.parse::<PriorKind>()?;
    opts.denoise = req.denoise;
    opts.unconverged_factor = req.unconverged_factor;
    if let Some(t) = &req.ode_time {
        opts.time = Some(t.parse()?);
    }
    Ok(opts)
}

/// The far-field prior's error bound at `s_max` for a run that draws it (`None` for
/// the linear path and the exact prior); a bound above [`HOPELESS_PRIOR_TV`] at a
/// user-given `s_max` is refused unless `force`.
pub fn prior_bound(
    mf: &MarginalField,
    s_max: f64,
    prior: PriorKind,
    user_s_max: bool,
    force: bool,
) -> Result<Option<f64>> {
    if mf.schedule() == Schedule::Linear || prior == PriorKind::Exact {
        return Ok(None);
    }
    let bound = prior_error_bound(mf, s_max)?;
    if user_s_max && bound > HOPELESS_PRIOR_TV && !force {
        let default = SampleOptions::new(mf).s_max;
        return Err(Error::Invalid(format!(
            "s_max = {s_max} leaves the far-field prior up to {bound:.3} in total variation \
             from the exact p_s_max (the default for this field and data is {default:.6}); use \
             a larger s_max, the exact prior, or force the prior to run anyway"
        )));
    }
    Ok(Some(bound))
}

/// Samples the exact field `mf` as `fieldflow sample` does: `req.n` prior draws
/// (seed `req.seed`, rows from `req.offset` on) or the caller's `start` points at
/// `req.start_level`, integrated down to `s_min` by an ODE integrator, or by a
/// few-step sampler down to `s = 0`.
///
/// # Errors
/// Unknown names, bad values (worded without command-line flags), and
/// [`Error::Cancelled`] when `hooks.cancel` is set during the run.
pub fn sample(
    mf: &MarginalField,
    req: &SampleRequest,
    start: Option<ArrayView2<f64>>,
    hooks: Hooks,
) -> Result<SampleRun> {
    check_request(req)?;
    check_start(req, start)?;
    static NEVER: AtomicBool = AtomicBool::new(false);
    let cancel = hooks.cancel.unwrap_or(&NEVER);
    let progress: Progress = hooks.progress.unwrap_or(&|_| {});
    if let Ok(method) = req.method.parse::<samplers::Method>() {
        return sample_few_step(mf, req, method, start, progress, cancel);
    }
    if req.rho.is_some() {
        return Err(Error::Invalid(
            "rho applies to the few-step samplers (edm-euler, edm-heun, dpmpp-2m, dpmpp-3m) only"
                .into(),
        ));
    }
    let opts = sample_options(mf, req)?;
    let (samples, s_start, bound) = match start {
        Some(x) => {
            let s = req.start_level.expect("checked above");
            let prior = mf.prior(s, opts.prior)?;
            let flow = Flow::new(mf, &prior)?
                .reference(mf)?
                .progress(progress)
                .cancel(cancel);
            (flow.generate_from(x, s, &opts)?, s, None)
        }
        None => {
            let Some(n) = req.n else {
                return Err(Error::Invalid(
                    "give the number of particles n (or start points)".into(),
                ));
            };
            let prior = mf.prior(opts.s_max, opts.prior)?;
            let bound = prior_bound(
                mf,
                opts.s_max,
                opts.prior,
                req.s_max.is_some(),
                req.force_prior,
            )?;
            let flow = Flow::new(mf, &prior)?
                .reference(mf)?
                .progress(progress)
                .cancel(cancel);
            (
                flow.generate_range(req.offset, n, req.seed, &opts)?,
                opts.s_max,
                bound,
            )
        }
    };
    Ok(SampleRun {
        sampled: Sampled::Ode(samples),
        s_start,
        s_min: opts.s_min,
        prior_bound: bound,
        options: Some(opts),
        sampler: None,
    })
}

/// The few-step branch of [`sample`].
fn sample_few_step(
    mf: &MarginalField,
    req: &SampleRequest,
    method: samplers::Method,
    start: Option<ArrayView2<f64>>,
    progress: Progress,
    cancel: &AtomicBool,
) -> Result<SampleRun> {
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
    let defaults = SampleOptions::new(mf);
    let s_min = req.s_min.unwrap_or(defaults.s_min);
    let prior: PriorKind = req.prior.parse()?;
    let rho = req.rho.unwrap_or(DEFAULT_RHO);
    let drawn;
    let (x0, s_top, bound) = match start {
        Some(x) => {
            let s = req.start_level.expect("checked by sample");
            if s.is_finite() && s <= s_min {
                return Err(Error::Invalid(format!(
                    "the start level {s} must be above s_min = {s_min}"
                )));
            }
            (x, s, None)
        }
        None => {
            let Some(n) = req.n else {
                return Err(Error::Invalid(
                    "give the number of particles n (or start points)".into(),
                ));
            };
            let s = req.s_max.unwrap_or(defaults.s_max);
            SamplerOptions::new(method, steps, s, s_min)
                .rho(rho)
                .validate(mf)?;
            let bound = prior_bound(mf, s, prior, req.s_max.is_some(), req.force_prior)?;
            use crate::sampling::Prior as _;
            drawn = mf.prior(s, prior)?.sample_range(req.offset, n, req.seed)?;
            (drawn.view(), s, bound)
        }
    };
    let opts = SamplerOptions::new(method, steps, s_top, s_min).rho(rho);
    let out = samplers::sample_with_hooks(mf, x0, &opts, progress, cancel)?;
    Ok(SampleRun {
        sampled: Sampled::FewStep(out),
        s_start: s_top,
        s_min,
        prior_bound: bound,
        options: None,
        sampler: Some(opts),
    })
}

/// What `fieldflow check` takes besides the samples and what they are checked
/// against; [`CheckRequest::default`] holds the command line's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRequest {
    /// Family-wise level (Bonferroni over the applicable tests).
    pub alpha: f64,
    /// Seed of the permutations, projections and Monte Carlo draws.
    pub seed: u64,
    /// Permutations (and Monte Carlo draws) per test.
    pub permutations: usize,
    /// MMD bandwidths as multiples of the median pooled distance (`None`: the
    /// battery's default).
    pub bandwidths: Option<Vec<f64>>,
    /// Two-sample tests to run by name (`None`: all that apply; not with a target).
    pub tests: Option<Vec<String>>,
}

impl Default for CheckRequest {
    fn default() -> Self {
        Self {
            alpha: 0.01,
            seed: 0,
            permutations: 999,
            bandwidths: None,
            tests: None,
        }
    }
}

/// Runs the test battery as `fieldflow check` does: the two-sample tests against
/// `reference`, or the one-sample tests against the target `target` (a spec of
/// [`OneSampleTarget::parse`], e.g. `mixture:8gaussians`); exactly one of them.
///
/// `cancel` (when set, from any thread) stops the run within one chunk of
/// permutations of the running test, or before the next test; it then returns
/// [`Error::Cancelled`].
pub fn check(
    samples: ArrayView2<f64>,
    reference: Option<ArrayView2<f64>>,
    target: Option<&str>,
    req: &CheckRequest,
    cancel: Option<&AtomicBool>,
) -> Result<BatteryReport> {
    if req.permutations == 0 {
        return Err(Error::Invalid("permutations must be at least 1".into()));
    }
    if req.permutations > crate::limits::MAX_PERMUTATIONS {
        return Err(Error::Invalid(format!(
            "permutations = {} is more than the limit {} (p-values then resolve 1e-6 already)",
            req.permutations,
            crate::limits::MAX_PERMUTATIONS
        )));
    }
    let mut battery = Battery::new(req.alpha)?;
    battery.config.seed = req.seed;
    battery.config.permutations = req.permutations;
    battery.config.cancel = cancel;
    if let Some(b) = &req.bandwidths {
        battery.config.bandwidth_factors = b.clone();
    }
    match (reference, target) {
        (Some(y), None) => {
            if let Some(names) = &req.tests {
                battery.tests = Some(
                    names
                        .iter()
                        .map(|n| TwoSampleTest::from_name(n.trim()))
                        .collect::<Result<Vec<_>>>()?,
                );
            }
            battery.two_sample(samples, y)
        }
        (None, Some(spec)) => {
            if req.tests.is_some() {
                return Err(Error::Invalid(
                    "tests selects two-sample tests; it cannot be used with a target".into(),
                ));
            }
            let target = OneSampleTarget::parse(spec, samples.ncols())?;
            battery.one_sample(samples, &target)
        }
        _ => Err(Error::Invalid(
            "give exactly one of a reference sample and a target".into(),
        )),
    }
}

/// An error when `req.method` is a few-step sampler: encoding integrates the ODE.
fn check_encode_method(req: &SampleRequest) -> Result<()> {
    if req.method.parse::<samplers::Method>().is_ok() {
        return Err(Error::Invalid(format!(
            "encode integrates the ODE: use an integrator (dopri5, tsit5, ...), not the \
             few-step sampler {}",
            req.method
        )));
    }
    Ok(())
}

/// Encodes `x` (points at level `req.s_min`, default `1e-3`) as `fieldflow encode`
/// does: integrates them forward to `s_max` with `req`'s integrator, tolerances,
/// levels and prior, with the exact log-likelihood of each point when
/// `likelihood`. Only the integrators apply (not the few-step samplers); `n`,
/// `seed`, `offset` and the start-point settings are not used.
pub fn encode(
    mf: &MarginalField,
    x: ArrayView2<f64>,
    req: &SampleRequest,
    likelihood: bool,
    hooks: Hooks,
) -> Result<Encoded> {
    check_encode_method(req)?;
    let mut opts = sample_options(mf, req)?;
    opts.likelihood = likelihood;
    crate::error::ensure_cols("points to encode", x, mf.dim())?;
    let prior = mf.prior(opts.s_max, opts.prior)?;
    let mut flow = Flow::new(mf, &prior)?;
    if let Some(p) = hooks.progress {
        flow = flow.progress(p);
    }
    if let Some(c) = hooks.cancel {
        flow = flow.cancel(c);
    }
    flow.encode(x, &opts)
}
