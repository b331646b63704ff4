//! `fieldflow sample`: generate by integrating a field from the prior down to the data.
//!
//! ```text
//! fieldflow sample --field F [--aug-dim D] [--power K] (--data FILE | --dataset NAME)
//!                  --n N --seed SEED [--method dopri5] [--rtol R] [--atol A] [--steps N]
//!                  [--s-max S] [--s-min S] [--prior far|exact] [--denoise]
//!                  [--from FILE --s-start S] --out FILE [--force]
//!                  [--trajectories FILE [--levels K]] [--stats FILE.json]
//! ```
//!
//! Without `--from` the prior is drawn at `s_max` (the far field around the data mean
//! for the ray fields, or the exact mixture with `--prior exact`; the linear path's
//! prior is exact); with `--from` the file's points start at `--s-start` and `--n`
//! may be omitted. Ray fields are integrated in `tau = ln s`. The summary reports the
//! function evaluations and the unconverged particles (trajectories that failed, or
//! that end farther than `--unconverged-factor` kernel widths from every data point).
//! `--trajectories` records every path at `K` log-spaced levels from the start level
//! down to `s_min` (a second integration of the same paths, read from the solver's
//! dense output); `--stats` writes the run's numbers as JSON. A progress bar on
//! stderr follows the particles (hidden with `--quiet` or when stderr is not a
//! terminal); it only observes, so the output is the same with or without it.

use super::field_args::{build, write, DataOpts, FieldOpts, SolverArgs};
use super::output::{
    check_outputs, exists_hint, progress_bar, spinner, write_all, Kind, WriteStep,
};
use anyhow::{bail, Context};
use clap::Parser;
use fieldflow::fields::{MarginalField, PriorKind, Schedule};
use fieldflow::ode::Status;
use fieldflow::sampling::{
    generate_from_with_progress, generate_with_progress, trajectories, SampleOptions, Samples,
};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

const EXAMPLES: &str = "\
Examples:
  fieldflow sample --field poisson --dataset 8gaussians --data-n 1000 --n 2000 --seed 1 --out gen.csv
  fieldflow sample --field pfgmpp --aug-dim 8 --data data.npy --n 500 --out gen.npy --stats run.json
  fieldflow sample --field poisson --dataset moons --n 200 --out gen.csv --trajectories paths.csv --levels 30

Files: --out has one sample per row (header x0,x1,... in CSV). --trajectories FILE:
  .csv  long format, header particle,s,x0,...,x{d-1}: one row per particle and level,
        particle-major, levels from the start level down to s_min (NaN after a failed path;
        the paths stop at s_min, before a --denoise step)
  .npy  a 3-D float64 array of shape (n, K, d); the K levels are
        s_k = s_start * (s_min / s_start)^(k / (K - 1)), k = 0..K-1 (also listed in --stats)
--stats FILE.json: evaluations (total, per particle), steps accepted/rejected, failed,
  non-finite and unconverged particles, seconds, threads, and the settings of the run.
Exit code: 0 success, 2 bad input (nothing written).";

/// Arguments of `fieldflow sample`.
#[derive(Debug, Parser)]
#[command(allow_negative_numbers = true)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// A learned field: a model file written by `fieldflow train` (instead of
    /// --field and the data).
    #[cfg(feature = "learn")]
    #[arg(long, conflicts_with_all = ["field", "data", "dataset", "from", "trajectories", "stats"])]
    model: Option<PathBuf>,
    #[command(flatten)]
    field: FieldOpts,
    #[command(flatten)]
    data: DataOpts,
    /// Number of samples (optional with --from: the file says how many).
    #[arg(long)]
    n: Option<usize>,
    /// Seed of the prior draw.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    solver: SolverArgs,
    /// Bottom level (default 1e-3).
    #[arg(allow_hyphen_values = true, long = "s-min")]
    s_min: Option<f64>,
    /// Final denoising step x <- x - s_min f(x) (Euler to s = 0).
    #[arg(long)]
    denoise: bool,
    /// Start points (`.csv`, `.npy`) instead of prior draws.
    #[arg(long, requires = "s_start")]
    from: Option<PathBuf>,
    /// Level of the --from points.
    #[arg(allow_hyphen_values = true, long = "s-start", requires = "from")]
    s_start: Option<f64>,
    /// Unconverged radius in kernel widths at s_min.
    #[arg(
        allow_hyphen_values = true,
        long = "unconverged-factor",
        default_value_t = 1000.0
    )]
    unconverged_factor: f64,
    /// Output file (`.csv` or `.npy`).
    #[arg(long)]
    out: PathBuf,
    /// Replace the output files if they exist (input files are never replaced).
    #[arg(long)]
    force: bool,
    /// Also write every path at --levels log-spaced levels (.csv long format or a 3-D
    /// .npy; see below).
    #[arg(long)]
    trajectories: Option<PathBuf>,
    /// Number of recorded levels for --trajectories (at least 2, both ends included).
    #[arg(long, default_value_t = 20, requires = "trajectories")]
    levels: usize,
    /// Write the run's statistics (evaluations, steps, failures, seconds, settings) as
    /// JSON.
    #[arg(long)]
    stats: Option<PathBuf>,
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
}

/// The `--stats` report of `sample` (and, with `log_likelihood`, of `encode`).
#[derive(Debug, Serialize)]
pub struct Stats {
    /// `sample` or `encode`.
    pub command: &'static str,
    /// Particles integrated.
    pub n: usize,
    /// Rows written to the output file.
    pub rows_written: usize,
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
    /// Unconverged particles (failed, or farther than the unconverged radius from
    /// every source component at s_min); None for encode.
    pub unconverged: Option<usize>,
    /// The unconverged radius.
    pub unconverged_radius: Option<f64>,
    /// Upper bound of the unconverged fraction under the exact p_{s_min}.
    pub expected_unconverged_fraction: Option<f64>,
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

/// The recorded paths of `x0` (non-finite rows stay NaN).
fn record(
    mf: &MarginalField,
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
    let tr = trajectories(mf, xs.view(), a, b, levels, &opts.solver)?;
    for (k, &i) in keep.iter().enumerate() {
        out.slice_mut(ndarray::s![i, .., ..])
            .assign(&tr.slice(ndarray::s![k, .., ..]));
    }
    Ok(out)
}

fn write_stats(path: &Path, stats: &Stats, force: bool) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(stats)? + "\n";
    fieldflow::io::write_text(path, &text, force).map_err(exists_hint)
}

/// Runs `fieldflow sample`.
pub fn run(args: Args, quiet: bool) -> anyhow::Result<ExitCode> {
    #[cfg(feature = "learn")]
    if let Some(model) = &args.model {
        let run = super::sample_model::ModelRun {
            model,
            n: args.n,
            seed: args.seed,
            solver: &args.solver,
            s_min: args.s_min,
            denoise: args.denoise,
            out: &args.out,
            force: args.force,
        };
        return super::sample_model::run(run, quiet);
    }
    let mut outputs: Vec<(&Path, &str, Kind)> = vec![(&args.out, "--out", Kind::Points)];
    if let Some(p) = &args.trajectories {
        outputs.push((p, "--trajectories", Kind::Points));
        if args.levels < 2 {
            bail!("--levels must be at least 2, got {}", args.levels);
        }
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
    args.solver.check()?;
    let mf = build(&args.field, &args.data)?;
    let mut opts = args.solver.options(&mf)?;
    if let Some(s) = args.s_min {
        opts.s_min = s;
    }
    opts.denoise = args.denoise;
    opts.unconverged_factor = args.unconverged_factor;
    // the start points: a file, or the prior draw that generate makes from the seed
    let (x0, s_top) = match &args.from {
        Some(path) => {
            let x0 = fieldflow::io::read_points(path)
                .with_context(|| format!("cannot read start points {}", path.display()))?;
            if let Some(n) = args.n {
                if n != x0.nrows() {
                    bail!(
                        "--n {n} but {} holds {} points (omit --n to use them all)",
                        path.display(),
                        x0.nrows()
                    );
                }
            }
            let s_start = args.s_start.expect("clap requires --s-start with --from");
            (Some(x0), s_start)
        }
        None => {
            if args.n.is_none() {
                bail!("give --n (or start points with --from)");
            }
            (None, opts.s_max)
        }
    };
    let n_total = x0
        .as_ref()
        .map_or_else(|| args.n.unwrap_or(0), |x| x.nrows());
    let bar = progress_bar(n_total, quiet, "sampling");
    let tick = |k: usize| bar.inc(k as u64);
    let start = Instant::now();
    let out: Samples = match &x0 {
        Some(x) => generate_from_with_progress(&mf, x.view(), s_top, &opts, &tick)?,
        None => generate_with_progress(&mf, n_total, args.seed, &opts, &tick)?,
    };
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    let paths = match &args.trajectories {
        Some(_) => {
            let levels = log_levels(s_top, opts.s_min, args.levels);
            let start_points = match &x0 {
                Some(x) => x.clone(),
                None => mf.sample_prior(opts.s_max, n_total, args.seed, opts.prior)?,
            };
            let bar = spinner(quiet, "recording the paths");
            let p = record(&mf, start_points.view(), &levels, &opts)?;
            bar.finish_and_clear();
            Some((levels, p))
        }
        None => None,
    };
    let n = out.x.nrows();
    let dropped = (0..n)
        .filter(|&i| !out.x.row(i).iter().all(|v| v.is_finite()))
        .count();
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
    let stats = Stats {
        command: "sample",
        n,
        rows_written: n - dropped,
        evaluations: t.evals,
        evaluations_per_particle: out.evals_per_particle(),
        steps_accepted: t.accepted,
        steps_rejected: t.rejected,
        failed,
        non_finite: nonfinite,
        unconverged: Some(out.n_unconverged),
        unconverged_radius: Some(out.unconverged_radius),
        expected_unconverged_fraction: Some(out.expected_unconverged).filter(|v| v.is_finite()),
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
            s_from: s_top,
            s_to: opts.s_min,
            prior: prior.clone(),
            denoise: opts.denoise,
            seed: args.from.is_none().then_some(args.seed),
            unconverged_factor: opts.unconverged_factor,
        },
    };
    let mut steps: Vec<WriteStep> = vec![(
        &args.out,
        Box::new(|| write(&args.out, out.x.view(), args.force).map(|_| ())),
    )];
    if let (Some(path), Some((levels, p))) = (&args.trajectories, &paths) {
        steps.push((
            path,
            Box::new(move || {
                fieldflow::io::write_trajectories(path, levels, p.view(), args.force)
                    .map_err(exists_hint)
            }),
        ));
    }
    if let Some(path) = &args.stats {
        let stats = &stats;
        steps.push((path, Box::new(move || write_stats(path, stats, args.force))));
    }
    write_all(steps)?;
    println!(
        "wrote {} samples to {} (field {}, {} source components, {prior}, s {} -> {}{}, {integrator})",
        n - dropped,
        args.out.display(),
        mf.kind(),
        mf.source().len(),
        s_top,
        opts.s_min,
        if opts.denoise { " -> 0 (denoised)" } else { "" },
    );
    let t = &out.totals;
    println!(
        "function evaluations: {} in total, {:.1} per particle ({} steps accepted, {} rejected), {:.2} s",
        t.evals,
        out.evals_per_particle(),
        t.accepted,
        t.rejected,
        seconds
    );
    println!(
        "unconverged: {} of {n} (farther than {:.4} from every source component at s_min, or a failed trajectory: {failed}, non-finite: {nonfinite}); under the exact p_s_min at most {:.2e} of the particles would be that far",
        out.n_unconverged, out.unconverged_radius, out.expected_unconverged
    );
    if dropped > 0 {
        println!("left out of the file: {dropped} rows with non-finite values");
    }
    if let (Some(path), Some((levels, _))) = (&args.trajectories, &paths) {
        println!(
            "wrote the paths at {} levels (s {} -> {}) to {}",
            levels.len(),
            s_top,
            opts.s_min,
            path.display()
        );
    }
    if let Some(path) = &args.stats {
        println!("wrote the run statistics to {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
