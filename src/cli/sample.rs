//! `fieldflow sample`: generate by integrating a field from the prior down to the data.
//!
//! ```text
//! fieldflow sample --field F [--aug-dim D] [--power K] (--data FILE | --dataset NAME)
//!                  --n N --seed SEED [--method dopri5] [--rtol R] [--atol A] [--steps N]
//!                  [--s-max S] [--s-min S] [--prior far|exact] [--denoise]
//!                  [--from FILE --s-start S] [--force-prior] --out FILE [--force]
//!                  [--trajectories FILE [--levels K]] [--stats FILE.json]
//! ```
//!
//! Without `--from` the prior is drawn at `s_max` (the far field around the data mean
//! for the ray fields, or the exact mixture with `--prior exact`; the linear path's
//! prior is exact); with `--from` the file's points start at `--s-start` and `--n`
//! may be omitted. Ray fields are integrated in `u = 1/s` with the state `x/s`
//! (`--ode-time` chooses other variables). The summary reports the
//! function evaluations and the unconverged particles (trajectories that failed, or
//! that end farther than `--unconverged-factor` kernel widths from every data point).
//! `--trajectories` records every path at `K` log-spaced levels from the start level
//! down to `s_min` (a second integration of the same paths, read from the solver's
//! dense output); `--stats` writes the run's numbers as JSON. `--method edm-euler |
//! edm-heun | dpmpp-2m | dpmpp-3m --steps N [--rho 7]` runs a few-step sampler
//! (`fieldflow::samplers`) on EDM's levels from `--s-max` (or `--s-start`) down to
//! `--s-min` and a last step to `s = 0`, so its output is at `s = 0`. A progress bar on
//! stderr follows the particles (hidden with `--quiet` or when stderr is not a
//! terminal); it only observes, so the output is the same with or without it.

use super::field_args::{build_standardized, prior_check, DataOpts, FieldOpts, SolverArgs};
use super::output::{check_outputs, progress_bar, spinner, Kind, Outputs};
use anyhow::{bail, Context};
use clap::Parser;
use fieldflow::data::Standardize;
use fieldflow::fields::{PriorKind, Schedule};
use fieldflow::ode::Status;
use fieldflow::sampling::{trajectories_in, SampleOptions, Samples};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

const EXAMPLES: &str = "\
Examples:
  fieldflow sample --field poisson --dataset 8gaussians --data-n 1000 --n 2000 --seed 1 --out gen.csv
  fieldflow sample --field pfgmpp --aug-dim 8 --data data.npy --n 500 --out gen.npy --stats run.json
  fieldflow sample --field poisson --dataset moons --n 200 --out gen.csv --trajectories paths.csv --levels 30

Files: --out has one sample per row (header x0,x1,... in CSV); row i is particle i, and
  the row of a particle whose trajectory failed is NaN (never a sample: drop those rows
  before using the file as points). - writes CSV to standard output (npy:- a .npy), and
  the summary goes to standard error. The outputs (--out, --trajectories, --stats) appear
  together at the end or not at all; an interrupted run leaves nothing behind. Inputs
  (--data, --weights, --from) may be .csv, .npy of any real type, .npz (FILE.npz:NAME
  picks an array) or - (standard input). --trajectories FILE:
  .csv  long format, header particle,s,x0,...,x{d-1}: one row per particle and level,
        particle-major, levels from the start level down to s_min (NaN after a failed path;
        the paths stop at s_min, before a --denoise step)
  .npy  a 3-D float64 array of shape (n, K, d); the K levels are
        s_k = s_start * (s_min / s_start)^(k / (K - 1)), k = 0..K-1 (also listed in --stats)
--stats FILE.json: evaluations (total, per particle), steps accepted/rejected, failed,
  non-finite and unconverged particles, seconds, threads, and the settings of the run
  (with prior_error_bound, the bound of the far-field prior's total variation error).
--s-max: the default is the smallest level (at least 40) where the far-field prior is
  within total variation 0.01 of the exact p_s_max; a smaller --s-max gets a warning,
  and one that leaves it more than 0.5 away is refused without --force-prior.
Few-step samplers: --method edm-euler|edm-heun|dpmpp-2m|dpmpp-3m --steps N [--rho 7]
  runs N levels s_i = (s_max^(1/rho) + i/(N-1) (s_min^(1/rho) - s_max^(1/rho)))^rho
  from --s-max (or --s-start with --from) down to --s-min, then a last step to s = 0:
  the output is at s = 0 (no --denoise needed; --trajectories does not apply).
  Evaluations per particle: 2N - 1 for edm-heun, N for the others.
  fieldflow sample --field gaussian --dataset 8gaussians --mixture --n 1000 --method edm-heun --steps 18 --s-max 80 --s-min 0.002 --out gen.csv
Exit code: 0 success, 2 bad input (nothing written), 3 some trajectories failed, or
  more particles were unconverged than the exact p_s_min allows (one-sided binomial test
  of the count against the printed rate, level 1e-6); the files are written all the
  same. --allow-failures makes such a run exit 0.";

/// Arguments of `fieldflow sample`.
#[derive(Debug, Parser)]
#[command(allow_negative_numbers = true)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// A learned field: a model file written by `fieldflow train` (instead of
    /// --field and the data).
    #[cfg(feature = "learn")]
    #[arg(long, conflicts_with_all = ["field", "data", "dataset"])]
    model: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) field: FieldOpts,
    #[command(flatten)]
    pub(crate) data: DataOpts,
    /// Number of samples (optional with --from: the file says how many).
    #[arg(long, value_parser = super::memory::count)]
    n: Option<usize>,
    /// Seed of the prior draw.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// First particle of the seeded run: writes rows K..K+N of the run with K+N
    /// particles, bit for bit (chunks of one run computed apart; not with --from).
    #[arg(long, default_value_t = 0, conflicts_with = "from")]
    offset: usize,
    #[command(flatten)]
    pub(crate) solver: SolverArgs,
    /// EDM's schedule exponent rho of the few-step samplers (default 7).
    #[arg(allow_hyphen_values = true, long)]
    rho: Option<f64>,
    /// Bottom level (default 1e-3; the lowest level above 0 of the few-step samplers).
    #[arg(allow_hyphen_values = true, long = "s-min")]
    s_min: Option<f64>,
    /// Final denoising step x <- x - s_min f(x) (Euler to s = 0).
    #[arg(long)]
    denoise: bool,
    /// Start points (`.csv`, `.npy`, `.npz[:NAME]`, `-` for standard input) instead of
    /// prior draws.
    #[arg(long, requires = "s_start")]
    from: Option<PathBuf>,
    /// Level of the --from points.
    #[arg(allow_hyphen_values = true, long = "s-start", requires = "from")]
    s_start: Option<f64>,
    /// Run even when --s-max leaves the far-field prior more than 0.5 (total
    /// variation) from the exact p_s_max.
    #[arg(long = "force-prior")]
    force_prior: bool,
    /// Unconverged radius in kernel widths at s_min.
    #[arg(
        allow_hyphen_values = true,
        long = "unconverged-factor",
        default_value_t = 1000.0
    )]
    unconverged_factor: f64,
    /// Output file (`.csv` or `.npy`; `-` or `npy:-` for standard output).
    #[arg(long)]
    out: PathBuf,
    /// Replace the output files if they exist (input files are never replaced).
    #[arg(long)]
    force: bool,
    /// Also write every path at --levels log-spaced levels (.csv long format or a 3-D
    /// .npy; `-` or `npy:-` for standard output; see below).
    #[arg(long)]
    trajectories: Option<PathBuf>,
    /// Number of recorded levels for --trajectories (at least 2, both ends included).
    #[arg(long, default_value_t = 20, requires = "trajectories", value_parser = super::memory::count)]
    levels: usize,
    /// Write the run's statistics (evaluations, steps, failures, seconds, settings) as
    /// JSON.
    #[arg(long)]
    stats: Option<PathBuf>,
    /// Exit 0 even when trajectories failed or too many particles were unconverged
    /// (otherwise exit code 3).
    #[arg(long = "allow-failures")]
    allow_failures: bool,
}

/// The settings block of `--stats`.
#[derive(Debug, Serialize)]
pub struct Settings {
    /// Field name and parameters.
    pub field: String,
    /// Number of source components (data points or mixture components).
    pub source_components: usize,
    /// Dimension.
    pub dim: usize,
    /// Integrator.
    pub method: String,
    /// Relative tolerance (adaptive runs).
    pub rtol: f64,
    /// Absolute tolerance (adaptive runs).
    pub atol: f64,
    /// Fixed number of steps, if any.
    pub fixed_steps: Option<usize>,
    /// The ODE variables of the integrator (None for a few-step sampler).
    pub ode_time: Option<String>,
    /// The level where the paths start (s_max or --s-start for sample, the data
    /// level for encode).
    pub s_from: f64,
    /// The level where they end.
    pub s_to: f64,
    /// The prior (or "file" for --from).
    pub prior: String,
    /// Whether the denoising step was taken.
    pub denoise: bool,
    /// Seed of the prior draw (None with --from).
    pub seed: Option<u64>,
    /// Unconverged radius in kernel widths.
    pub unconverged_factor: f64,
    /// Bound of the total variation between the far-field prior and the exact
    /// p_s_max (docs/MATHEMATICS.md, section 5.3); None when the prior is exact or
    /// the start points come from a file (encode: the bound at the level the codes
    /// reach).
    pub prior_error_bound: Option<f64>,
}

/// The counts every `--stats` report starts with (`sample`, `encode`,
/// `sample --model`), written inline in its JSON.
#[derive(Debug, Serialize)]
pub struct RunCounts {
    /// Particles integrated.
    pub n: usize,
    /// Rows written to the output file (one per particle).
    pub rows_written: usize,
    /// Of those, rows with a non-finite value (failed trajectories).
    pub nan_rows: usize,
    /// Right-hand-side evaluations in total.
    pub evaluations: u64,
    /// Mean evaluations per particle.
    pub evaluations_per_particle: f64,
    /// Accepted steps in total.
    pub steps_accepted: u64,
    /// Rejected steps in total.
    pub steps_rejected: u64,
    /// Particles whose integration failed (step limit, step size underflow, non-finite).
    pub failed: usize,
    /// Of those, non-finite ones.
    pub non_finite: usize,
}

impl RunCounts {
    /// The counts of a run that wrote the rows `x`, with its evaluation and step
    /// totals and its failures.
    pub fn new(
        x: ndarray::ArrayView2<f64>,
        evaluations: u64,
        (steps_accepted, steps_rejected): (u64, u64),
        (failed, non_finite): (usize, usize),
    ) -> Self {
        let n = x.nrows();
        RunCounts {
            n,
            rows_written: n,
            nan_rows: x
                .rows()
                .into_iter()
                .filter(|row| !row.iter().all(|v| v.is_finite()))
                .count(),
            evaluations,
            evaluations_per_particle: evaluations as f64 / n.max(1) as f64,
            steps_accepted,
            steps_rejected,
            failed,
            non_finite,
        }
    }
}

/// The `--stats` report of `sample` (and, with `log_likelihood`, of `encode`).
#[derive(Debug, Serialize)]
pub struct Stats {
    /// `sample` or `encode`.
    pub command: &'static str,
    /// Particles, rows, evaluations, steps and failures.
    #[serde(flatten)]
    pub counts: RunCounts,
    /// Unconverged particles (failed, or farther than the unconverged radius from
    /// every source component at s_min); None for encode.
    pub unconverged: Option<usize>,
    /// The unconverged radius.
    pub unconverged_radius: Option<f64>,
    /// Upper bound of the unconverged fraction under the exact p_{s_min}.
    pub expected_unconverged_fraction: Option<f64>,
    /// One-sided binomial p-value of the unconverged count against that fraction.
    pub unconverged_pvalue: Option<f64>,
    /// Wall-clock seconds of the integration (excluding file reading and writing and
    /// the recording of --trajectories).
    pub seconds: f64,
    /// Worker threads.
    pub threads: usize,
    /// The recorded levels of --trajectories, if written.
    pub trajectory_levels: Option<Vec<f64>>,
    /// Mean log-likelihood (encode --log-likelihood).
    pub mean_log_likelihood: Option<f64>,
    /// Settings of the run.
    pub settings: Settings,
}

/// `k` levels from `a` to `b`, equally spaced in `ln s`, with both ends exact.
pub fn log_levels(a: f64, b: f64, k: usize) -> Vec<f64> {
    let (la, lb) = (a.ln(), b.ln());
    (0..k)
        .map(|i| {
            if i == 0 {
                a
            } else if i + 1 == k {
                b
            } else {
                (la + (lb - la) * i as f64 / (k - 1) as f64).exp()
            }
        })
        .collect()
}

/// Failed and non-finite particle counts.
pub fn failures(stats: &[fieldflow::ode::TrajectoryStats]) -> (usize, usize) {
    let failed = stats.iter().filter(|s| !s.status.is_success()).count();
    let nonfinite = stats
        .iter()
        .filter(|s| matches!(s.status, Status::NonFinite { .. }))
        .count();
    (failed, nonfinite)
}

/// The recorded paths of `x0` under `field` (exact or learned; non-finite rows stay
/// NaN).
pub(crate) fn record(
    field: &dyn fieldflow::fields::Field,
    x0: ndarray::ArrayView2<f64>,
    levels: &[f64],
    opts: &SampleOptions,
) -> anyhow::Result<ndarray::Array3<f64>> {
    let (n, d) = x0.dim();
    let keep: Vec<usize> = (0..n)
        .filter(|&i| x0.row(i).iter().all(|v| v.is_finite()))
        .collect();
    let mut out = ndarray::Array3::from_elem((n, levels.len(), d), f64::NAN);
    if keep.is_empty() {
        return Ok(out);
    }
    let xs = x0.select(ndarray::Axis(0), &keep);
    let (a, b) = (levels[0], levels[levels.len() - 1]);
    let time = opts.time_for(field.schedule(), a, b);
    let tr = trajectories_in(field, xs.view(), (a, b), levels, &opts.solver, time)?;
    for (k, &i) in keep.iter().enumerate() {
        out.slice_mut(ndarray::s![i, .., ..])
            .assign(&tr.slice(ndarray::s![k, .., ..]));
    }
    Ok(out)
}

/// Refuses a run whose arrays cannot fit: per particle the start point, the solver's
/// state and result, the samples and the rows written (about eight rows of `d + 1`
/// numbers) and two sets of solver statistics; with `--trajectories` three copies of
/// the recorded paths (solver output, the particle-major table, the file's buffer).
fn ensure_memory(args: &Args, n: usize, d: usize) -> anyhow::Result<()> {
    let d = d as u128;
    let stats = std::mem::size_of::<fieldflow::ode::TrajectoryStats>() as u128;
    let per_particle = 8 * 8 * (d + 1) + 2 * stats;
    let what = format!("--n {n} (the particles)");
    super::memory::ensure_fits(&what, super::memory::bytes(n, per_particle))?;
    if args.trajectories.is_some() {
        let paths = super::memory::bytes(n, 3 * 8 * d).saturating_mul(args.levels as u128);
        super::memory::ensure_fits(
            &format!(
                "--levels {} for {n} particles (the recorded paths)",
                args.levels
            ),
            paths + super::memory::bytes(n, per_particle),
        )?;
    }
    Ok(())
}

/// Checks the outputs (`--out`, `--trajectories`, `--stats`: new, or `--force`, and
/// never an input file) and `--n`, before any work.
fn check_files(args: &Args) -> anyhow::Result<()> {
    let mut outputs: Vec<(&Path, &str, Kind)> = vec![(&args.out, "--out", Kind::Points)];
    if let Some(p) = &args.trajectories {
        outputs.push((p, "--trajectories", Kind::Points));
    }
    if let Some(p) = &args.stats {
        outputs.push((p, "--stats", Kind::Json));
    }
    let mut inputs: Vec<&Path> = Vec::new();
    inputs.extend(args.data.data.as_deref());
    inputs.extend(args.data.weights.as_deref());
    inputs.extend(args.from.as_deref());
    check_outputs(&outputs, &inputs, args.force)?;
    if args.n == Some(0) {
        bail!("--n must be at least 1");
    }
    Ok(())
}

/// The `--from` start points and their level `--s-start` (`--n`, if given, must
/// match the file's row count).
fn read_start(args: &Args, path: &Path) -> anyhow::Result<(ndarray::Array2<f64>, f64)> {
    let x0 = read_start_points(path, args.n)?;
    let s_start = args.s_start.expect("clap requires --s-start with --from");
    Ok((x0, s_start))
}

/// The start points of `--from` (as many as `--n` when given).
pub(crate) fn read_start_points(
    path: &Path,
    n: Option<usize>,
) -> anyhow::Result<ndarray::Array2<f64>> {
    let x0 = super::output::read_points(path)
        .with_context(|| format!("cannot read start points {}", path.display()))?;
    if let Some(n) = n {
        if n != x0.nrows() {
            bail!(
                "--n {n} but {} holds {} points (omit --n to use them all)",
                path.display(),
                x0.nrows()
            );
        }
    }
    Ok(x0)
}

/// The library's description of this run (the same defaults, so that the command
/// line and the library give the same bits).
fn request(args: &Args) -> fieldflow::run::SampleRequest {
    fieldflow::run::SampleRequest {
        n: args.n,
        seed: args.seed,
        offset: args.offset,
        method: args.solver.method.clone(),
        rtol: args.solver.rtol,
        atol: args.solver.atol,
        steps: args.solver.steps,
        s_max: args.solver.s_max,
        s_min: args.s_min,
        prior: args.solver.prior.clone(),
        force_prior: args.force_prior,
        start_level: args.s_start,
        rho: args.rho,
        denoise: args.denoise,
        unconverged_factor: args.unconverged_factor,
        ode_time: args.solver.ode_time.clone(),
    }
}

/// The cancel flag and progress of a run with a progress bar.
fn hooks<'a>(tick: fieldflow::sampling::Progress<'a>) -> fieldflow::run::Hooks<'a> {
    fieldflow::run::Hooks {
        progress: Some(tick),
        cancel: Some(super::cancel_flag()),
    }
}

/// Runs `fieldflow sample`.
pub fn run(args: Args, quiet: bool) -> anyhow::Result<ExitCode> {
    #[cfg(feature = "learn")]
    if let Some(model) = &args.model {
        if args.data.standardize != "none" {
            bail!("--standardize does not apply with --model (the model stores its own normalisation)");
        }
        if args.offset != 0 {
            bail!(
                "--offset does not apply with --model yet: the network's f32 matrix products \
                 round differently for blocks of other sizes, so a chunk would not equal the \
                 rows of the single run bit for bit"
            );
        }
        let run = super::sample_model::ModelRun {
            model,
            n: args.n,
            seed: args.seed,
            solver: &args.solver,
            s_min: args.s_min,
            rho: args.rho,
            denoise: args.denoise,
            allow_failures: args.allow_failures,
            out: &args.out,
            force: args.force,
            from: args.from.as_deref().zip(args.s_start),
            trajectories: args.trajectories.as_deref(),
            levels: args.levels,
            stats: args.stats.as_deref(),
        };
        return super::sample_model::run(run, quiet);
    }
    if let Ok(m) = args.solver.method.parse::<fieldflow::samplers::Method>() {
        return run_few_step(args, m, quiet);
    }
    if args.rho.is_some() {
        bail!(
            "--rho applies to the few-step samplers (edm-euler, edm-heun, dpmpp-2m, dpmpp-3m) only"
        );
    }
    if args.trajectories.is_some() && args.levels < 2 {
        bail!("--levels must be at least 2, got {}", args.levels);
    }
    check_files(&args)?;
    args.solver.check()?;
    if args.from.is_some() && args.data.standardization()? != Standardize::None {
        bail!("--from cannot be combined with --standardize (give start points in data units by sampling from the prior instead)");
    }
    let (mf, map) = build_standardized(&args.field, &args.data)?;
    let req = request(&args);
    let opts = fieldflow::run::sample_options(&mf, &req)?;
    // the start points: a file, or the prior draw that generate makes from the seed
    let (x0, s_top) = match &args.from {
        Some(path) => {
            let (x0, s_start) = read_start(&args, path)?;
            (Some(x0), s_start)
        }
        None => {
            if args.n.is_none() {
                bail!("give --n (or start points with --from)");
            }
            (None, opts.s_max)
        }
    };
    // after every input check: a refused run has printed nothing else
    let (prior_bound, prior_line) = if args.from.is_some() {
        (None, None)
    } else {
        prior_check(
            &mf,
            &opts,
            args.solver.s_max.is_some(),
            args.force_prior,
            quiet,
        )?
    };
    let n_total = x0
        .as_ref()
        .map_or_else(|| args.n.unwrap_or(0), |x| x.nrows());
    ensure_memory(&args, n_total, mf.dim())?;
    let bar = progress_bar(n_total, quiet, "sampling");
    let tick = |k: usize| bar.inc(k as u64);
    let start = Instant::now();
    let sampled = fieldflow::run::sample(&mf, &req, x0.as_ref().map(|x| x.view()), hooks(&tick))?;
    let fieldflow::run::Sampled::Ode(out) = sampled.sampled else {
        unreachable!("an ODE method gives an ODE result")
    };
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    let paths = match &args.trajectories {
        Some(_) => {
            let levels = log_levels(s_top, opts.s_min, args.levels);
            let start_points = match &x0 {
                Some(x) => x.clone(),
                None => {
                    use fieldflow::sampling::Prior as _;
                    mf.prior(opts.s_max, opts.prior)?.sample_range(
                        args.offset,
                        n_total,
                        args.seed,
                    )?
                }
            };
            let bar = spinner(quiet, "recording the paths");
            let p = record(&mf, start_points.view(), &levels, &opts)?;
            bar.finish_and_clear();
            Some((levels, p))
        }
        None => None,
    };
    let n = out.x.nrows();
    let prior = if args.from.is_some() {
        "start points from file".to_string()
    } else if mf.schedule() == Schedule::Linear {
        "exact prior".to_string()
    } else {
        match opts.prior {
            PriorKind::FarField => "far-field prior".to_string(),
            PriorKind::Exact => "exact mixture prior".to_string(),
        }
    };
    let integrator = args.solver.describe();
    let (failed, nonfinite) = failures(&out.stats);
    let t = &out.totals;
    let counts = RunCounts::new(
        out.x.view(),
        t.evals,
        (t.accepted, t.rejected),
        (failed, nonfinite),
    );
    let dropped = counts.nan_rows;
    let stats = Stats {
        command: "sample",
        counts,
        unconverged: Some(out.n_unconverged),
        unconverged_radius: Some(out.unconverged_radius),
        expected_unconverged_fraction: Some(out.expected_unconverged).filter(|v| v.is_finite()),
        unconverged_pvalue: out.unconverged_pvalue(),
        seconds,
        threads: rayon::current_num_threads(),
        trajectory_levels: paths.as_ref().map(|(l, _)| l.clone()),
        mean_log_likelihood: None,
        settings: Settings {
            field: mf.kind().to_string(),
            source_components: mf.source().len(),
            dim: mf.dim(),
            method: opts.solver.method.to_string(),
            rtol: args.solver.rtol,
            atol: args.solver.atol,
            fixed_steps: args.solver.steps,
            ode_time: Some(opts.time_for(mf.schedule(), s_top, opts.s_min).to_string()),
            s_from: s_top,
            s_to: opts.s_min,
            prior: prior.clone(),
            denoise: opts.denoise,
            seed: args.from.is_none().then_some(args.seed),
            unconverged_factor: opts.unconverged_factor,
            prior_error_bound: prior_bound,
        },
    };
    // every output appears together at the end, or none
    let mut files = Outputs::new(args.force);
    stage_samples(&mut files, &args.out, map.invert(out.x.view())?.view())?;
    if let (Some(path), Some((levels, p))) = (&args.trajectories, &paths) {
        files.trajectories(path, levels, p.view())?;
    }
    if let Some(path) = &args.stats {
        files.text(path, &(serde_json::to_string_pretty(&stats)? + "\n"))?;
    }
    files.commit()?;
    // after the files are in place: a failed run prints its one error line only
    if let Some(line) = &prior_line {
        eprintln!("{line}");
    }
    crate::say!(
        "wrote {} samples{} to {} (field {}, {} source components, {prior}, s {} -> {}{}, {integrator})",
        n - dropped,
        if dropped > 0 {
            format!(" and {dropped} NaN rows of failed particles")
        } else {
            String::new()
        },
        args.out.display(),
        mf.kind(),
        mf.source().len(),
        s_top,
        opts.s_min,
        if opts.denoise { " -> 0 (denoised)" } else { "" },
    );
    let t = &out.totals;
    crate::say!(
        "function evaluations: {} in total, {:.1} per particle ({} steps accepted, {} rejected), {:.2} s",
        t.evals,
        out.evals_per_particle(),
        t.accepted,
        t.rejected,
        seconds
    );
    crate::say!(
        "unconverged: {} of {n} (farther than {:.4} from every source component at s_min, or a failed trajectory: {failed}, non-finite: {nonfinite}); under the exact p_s_min at most {:.2e} of the particles would be that far",
        out.n_unconverged, out.unconverged_radius, out.expected_unconverged
    );
    if let (Some(path), Some((levels, _))) = (&args.trajectories, &paths) {
        crate::say!(
            "wrote the paths at {} levels (s {} -> {}) to {}",
            levels.len(),
            s_top,
            opts.s_min,
            path.display()
        );
    }
    if let Some(path) = &args.stats {
        crate::say!("wrote the run statistics to {}", path.display());
    }
    Ok(failure_verdict(&out, failed, args.allow_failures))
}

/// Stages the samples, NaN rows of failed particles included (row `i` is particle
/// `i`; points files refuse non-finite values, so such a file is written as a table).
pub(crate) fn stage_samples(
    files: &mut Outputs,
    path: &Path,
    x: ndarray::ArrayView2<f64>,
) -> anyhow::Result<()> {
    if x.iter().all(|v| v.is_finite()) {
        return files.points(path, x);
    }
    let columns: Vec<String> = (0..x.ncols()).map(|j| format!("x{j}")).collect();
    files.table(path, &columns, x)
}

/// Exit code 3 (with a line on stderr) when trajectories failed or the unconverged
/// count is too large for the exact marginal (binomial test at level
/// [`super::UNCONVERGED_LEVEL`]), unless `allow`.
pub fn failure_verdict(out: &Samples, failed: usize, allow: bool) -> ExitCode {
    let n = out.x.nrows();
    let mut why = Vec::new();
    if failed > 0 {
        why.push(format!(
            "{failed} of {n} trajectories failed (their rows are NaN)"
        ));
    }
    if let Some(p) = out.unconverged_pvalue() {
        if p < super::UNCONVERGED_LEVEL {
            why.push(format!(
                "{} of {n} particles are unconverged where the exact p_s_min allows a rate of at most {:.2e} (one-sided binomial test: P(X >= {}) = {p:.2e} < {:e})",
                out.n_unconverged,
                out.expected_unconverged,
                out.n_unconverged,
                super::UNCONVERGED_LEVEL
            ));
        }
    }
    super::failures_exit(why, allow)
}

/// `sample --method edm-euler|edm-heun|dpmpp-2m|dpmpp-3m`: a few-step sampler to
/// `s = 0`.
fn run_few_step(
    args: Args,
    method: fieldflow::samplers::Method,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    use fieldflow::samplers::SamplerOptions;
    if args.trajectories.is_some() {
        bail!("--trajectories applies to the ODE solvers only, not to --method {method}");
    }
    if args.denoise {
        bail!("--denoise does not apply to --method {method}: its output is already at s = 0");
    }
    let Some(steps) = args.solver.steps else {
        bail!("--method {method} needs the number of levels --steps N");
    };
    check_files(&args)?;
    let (mf, map) = build_standardized(&args.field, &args.data)?;
    let mut defaults = SampleOptions::new(&mf);
    let s_min = args.s_min.unwrap_or(defaults.s_min);
    let prior: PriorKind = args.solver.prior.parse()?;
    let rho = args.rho.unwrap_or(7.0);
    let (x0, s_top, prior_name, prior_bound, prior_line) = match &args.from {
        Some(path) => {
            let (x0, s) = read_start(&args, path)?;
            if s.is_finite() && s <= s_min {
                bail!("the start level --s-start {s} must be above --s-min {s_min}");
            }
            (
                Some(x0),
                s,
                "start points from file".to_string(),
                None,
                None,
            )
        }
        None => {
            let Some(n) = args.n else {
                bail!("give --n (or start points with --from)");
            };
            ensure_memory(&args, n, mf.dim())?;
            let s = args.solver.s_max.unwrap_or(defaults.s_max);
            SamplerOptions::new(method, steps, s, s_min)
                .rho(rho)
                .validate(&mf)?;
            defaults.s_max = s;
            defaults.prior = prior;
            let (bound, line) = prior_check(
                &mf,
                &defaults,
                args.solver.s_max.is_some(),
                args.force_prior,
                quiet,
            )?;
            let name = if mf.schedule() == Schedule::Linear {
                "exact prior"
            } else if prior == PriorKind::Exact {
                "exact mixture prior"
            } else {
                "far-field prior"
            };
            (None, s, name.to_string(), bound, line)
        }
    };
    let opts = SamplerOptions::new(method, steps, s_top, s_min).rho(rho);
    let start = Instant::now();
    let n_total = x0.as_ref().map_or(args.n.unwrap_or(0), |x| x.nrows());
    let bar = progress_bar(n_total, quiet, "sampling");
    let tick = |k: usize| bar.inc(k as u64);
    let sampled = fieldflow::run::sample(
        &mf,
        &request(&args),
        x0.as_ref().map(|x| x.view()),
        hooks(&tick),
    )?;
    bar.finish_and_clear();
    let fieldflow::run::Sampled::FewStep(out) = sampled.sampled else {
        unreachable!("a few-step method gives a few-step result")
    };
    let seconds = start.elapsed().as_secs_f64();
    let n = out.x.nrows();
    let evals = (out.evals_per_particle * n) as u64;
    let mut counts = RunCounts::new(out.x.view(), evals, ((steps * n) as u64, 0), (0, 0));
    // a few-step sampler has no failure test of its own: a failed particle is a
    // non-finite row
    let nan_rows = counts.nan_rows;
    (counts.failed, counts.non_finite) = (nan_rows, nan_rows);
    let describe = format!("{method}, {steps} levels, rho {}", opts.rho);
    let stats = Stats {
        command: "sample",
        counts,
        unconverged: None,
        unconverged_radius: None,
        expected_unconverged_fraction: None,
        unconverged_pvalue: None,
        seconds,
        threads: rayon::current_num_threads(),
        trajectory_levels: Some(out.levels.clone()),
        mean_log_likelihood: None,
        settings: Settings {
            field: mf.kind().to_string(),
            source_components: mf.source().len(),
            dim: mf.dim(),
            method: method.to_string(),
            rtol: f64::NAN,
            atol: f64::NAN,
            fixed_steps: Some(steps),
            ode_time: None,
            s_from: s_top,
            s_to: 0.0,
            prior: prior_name.clone(),
            denoise: true,
            seed: args.from.is_none().then_some(args.seed),
            unconverged_factor: f64::NAN,
            prior_error_bound: prior_bound,
        },
    };
    // every output appears together at the end, or none
    let mut files = Outputs::new(args.force);
    stage_samples(&mut files, &args.out, map.invert(out.x.view())?.view())?;
    if let Some(path) = &args.stats {
        files.text(path, &(serde_json::to_string_pretty(&stats)? + "\n"))?;
    }
    files.commit()?;
    // after the files are in place: a failed run prints its one error line only
    if let Some(line) = &prior_line {
        eprintln!("{line}");
    }
    crate::say!(
        "wrote {n} samples to {} (field {}, {} source components, {prior_name}, s {} -> {} -> 0, {describe})",
        args.out.display(),
        mf.kind(),
        mf.source().len(),
        s_top,
        s_min,
    );
    crate::say!(
        "function evaluations: {evals} in total, {} per particle, {seconds:.2} s",
        out.evals_per_particle
    );
    if let Some(path) = &args.stats {
        crate::say!("wrote the run statistics to {}", path.display());
    }
    let why = (nan_rows > 0)
        .then(|| format!("{nan_rows} of {n} particles became non-finite (their rows are NaN)"));
    Ok(super::failures_exit(
        why.into_iter().collect(),
        args.allow_failures,
    ))
}
