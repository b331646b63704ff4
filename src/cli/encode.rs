//! `fieldflow encode`: integrate points forward from the data level to the prior level,
//! optionally with their exact log-likelihoods.
//!
//! ```text
//! fieldflow encode --field F (--data FILE | --dataset NAME) --points FILE --out FILE
//!                  [--log-likelihood] [--s-start S] [--s-max S] [--prior far|exact]
//!                  [--method M] [--rtol R] [--atol A] [--steps N] [--stats FILE.json]
//!                  [--force]
//! ```
//!
//! The points are taken to sit at level `--s-start` (default `1e-3`, the `s_min` of
//! `sample`) and are carried along the field up to `--s-max` (default 40 for the ray
//! fields, 1 for `linear`). The codes go to `--out`, one row per input point in the
//! same order. With `--log-likelihood` the file gets one more column, `log_p`:
//!
//! `log_p(x) = ln prior(z) - integral of (-div f_s) along the path from x to z`,
//!
//! where the divergence is the field's closed form (no trace estimator), so the
//! integral is exact up to the solver's tolerance. `prior` is, with `--prior far`
//! (the default), the far-field prior that `sample` draws from: `log_p` is then the
//! log-likelihood of the generative model that `sample` runs. With `--prior exact` it
//! is the exact mixture density `p_{s_max}`, and `log_p` equals the exact
//! `ln p_{s_start}(x)` of the field (printed next to it for comparison). For the
//! linear path the prior is exact either way.

use super::field_args::{build, DataOpts, FieldOpts, SolverArgs};
use super::output::{check_outputs, progress_bar, Kind, Outputs};
use super::sample::{failures, RunCounts, Settings, Stats};
use anyhow::bail;
use clap::Parser;
use fieldflow::fields::{PriorKind, Schedule};
use ndarray::{Array2, Axis};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

const EXAMPLES: &str = "\
Examples:
  fieldflow datasets moons --n 1000 --seed 0 --out data.csv
  fieldflow datasets moons --n 200 --seed 1 --out test.csv
  fieldflow encode --field poisson --data data.csv --points test.csv --out codes.csv --log-likelihood

Output: one row per input point, in order. Columns x0,...,x{d-1} are the code at --s-max;
with --log-likelihood a last column log_p (nats) holds
  ln prior(z) - (change of ln p_s along the path, from the closed-form divergence),
the prior being the far field that `sample` draws (--prior far, the default: the
model's log-likelihood) or the exact p_{s_max} (--prior exact: then log_p is the exact
ln p_{s_start}(x), up to the solver tolerance). In .npy the array is n x d (or n x (d+1)).
The row of a point whose trajectory failed is NaN (codes and log_p).
Exit code: 0 success, 2 bad input (nothing written), 3 some trajectories failed (the
  file is written all the same; --allow-failures makes such a run exit 0).";

/// Arguments of `fieldflow encode`.
#[derive(Debug, Parser)]
#[command(allow_negative_numbers = true)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// A learned field: a model file written by `fieldflow train` (instead of
    /// --field and the data); its log-likelihood uses the network's exact divergence.
    #[cfg(feature = "learn")]
    #[arg(long, conflicts_with_all = ["field", "data", "dataset", "stats"])]
    model: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) field: FieldOpts,
    #[command(flatten)]
    pub(crate) data: DataOpts,
    /// Points to encode, one per row (`.csv`, `.npy` of any real type, `.npz[:NAME]`,
    /// `-` for standard input).
    #[arg(long)]
    points: PathBuf,
    /// Output file (`.csv` or `.npy`; `-` or `npy:-` for standard output): the codes,
    /// plus a log_p column with --log-likelihood.
    #[arg(long)]
    out: PathBuf,
    /// Append the exact log-likelihood of each point (see below).
    #[arg(long = "log-likelihood")]
    log_likelihood: bool,
    /// Level of the input points (default 1e-3).
    #[arg(allow_hyphen_values = true, long = "s-start")]
    s_start: Option<f64>,
    /// The integrator, the level of the codes (--s-max) and the prior density used by
    /// --log-likelihood (--prior).
    #[command(flatten)]
    pub(crate) solver: SolverArgs,
    /// Write the run's statistics as JSON.
    #[arg(long)]
    stats: Option<PathBuf>,
    /// Replace the output files if they exist (input files are never replaced).
    #[arg(long)]
    force: bool,
    /// Exit 0 even when trajectories failed (otherwise exit code 3).
    #[arg(long = "allow-failures")]
    allow_failures: bool,
}

/// The library's request of these arguments (integrator, levels, prior).
fn request(args: &Args) -> fieldflow::run::SampleRequest {
    fieldflow::run::SampleRequest {
        method: args.solver.method.clone(),
        rtol: args.solver.rtol,
        atol: args.solver.atol,
        steps: args.solver.steps,
        s_max: args.solver.s_max,
        s_min: args.s_start,
        prior: args.solver.prior.clone(),
        ode_time: args.solver.ode_time.clone(),
        ..Default::default()
    }
}

/// Runs `fieldflow encode`.
pub fn run(args: Args, quiet: bool) -> anyhow::Result<ExitCode> {
    #[cfg(feature = "learn")]
    if let Some(model) = &args.model {
        return run_model(&args, model, quiet);
    }
    let mut outputs: Vec<(&Path, &str, Kind)> = vec![(&args.out, "--out", Kind::Points)];
    if let Some(p) = &args.stats {
        outputs.push((p, "--stats", Kind::Json));
    }
    let mut inputs: Vec<&Path> = vec![&args.points];
    inputs.extend(args.data.data.as_deref());
    inputs.extend(args.data.weights.as_deref());
    check_outputs(&outputs, &inputs, args.force)?;
    args.solver.check()?;
    let mf = build(&args.field, &args.data)?;
    let x = super::output::read_points(&args.points)?;
    if x.ncols() != mf.dim() {
        bail!(
            "{} has {} columns but the data have dimension {}",
            args.points.display(),
            x.ncols(),
            mf.dim()
        );
    }
    let req = request(&args);
    let mut opts = fieldflow::run::sample_options(&mf, &req)?;
    opts.likelihood = args.log_likelihood;
    let n = x.nrows();
    let bar = progress_bar(n, quiet, "encoding");
    let tick = |k: usize| bar.inc(k as u64);
    let start = Instant::now();
    let hooks = fieldflow::run::Hooks {
        progress: Some(&tick),
        cancel: Some(super::cancel_flag()),
    };
    let enc = fieldflow::run::encode(&mf, x.view(), &req, args.log_likelihood, hooks)?;
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    let d = mf.dim();
    let mut columns: Vec<String> = (0..d).map(|j| format!("x{j}")).collect();
    let table: Array2<f64> = match &enc.log_p {
        Some(lp) => {
            columns.push("log_p".into());
            let lp2 = lp.view().insert_axis(Axis(1));
            ndarray::concatenate(Axis(1), &[enc.z.view(), lp2])?
        }
        None => enc.z.clone(),
    };
    let (failed, nonfinite) = failures(&enc.stats);
    let mean_lp = enc.log_p.as_ref().map(|lp| lp.mean().unwrap_or(f64::NAN));
    let prior = if mf.schedule() == Schedule::Linear {
        "exact prior".to_string()
    } else {
        match opts.prior {
            PriorKind::FarField => "far-field prior".to_string(),
            PriorKind::Exact => "exact mixture prior".to_string(),
        }
    };
    let mut stats_text = None;
    if args.stats.is_some() {
        let t = &enc.totals;
        let stats = Stats {
            command: "encode",
            counts: RunCounts::new(
                enc.z.view(),
                t.evals,
                (t.accepted, t.rejected),
                (failed, nonfinite),
            ),
            unconverged: None,
            unconverged_radius: None,
            expected_unconverged_fraction: None,
            unconverged_pvalue: None,
            seconds,
            threads: rayon::current_num_threads(),
            trajectory_levels: None,
            mean_log_likelihood: mean_lp,
            settings: Settings {
                field: mf.kind().to_string(),
                source_components: mf.source().len(),
                dim: d,
                method: opts.solver.method.to_string(),
                rtol: args.solver.rtol,
                atol: args.solver.atol,
                fixed_steps: args.solver.steps,
                ode_time: Some(
                    opts.time_for(mf.schedule(), opts.s_min, opts.s_max)
                        .to_string(),
                ),
                s_from: opts.s_min,
                s_to: opts.s_max,
                prior: prior.clone(),
                denoise: false,
                seed: None,
                unconverged_factor: opts.unconverged_factor,
                prior_error_bound: (mf.schedule() != fieldflow::fields::Schedule::Linear
                    && opts.prior == fieldflow::fields::PriorKind::FarField)
                    .then(|| fieldflow::fields::prior_error_bound(&mf, opts.s_max))
                    .transpose()?,
            },
        };
        stats_text = Some(serde_json::to_string_pretty(&stats)? + "\n");
    }
    // every output appears together at the end, or none
    let mut files = Outputs::new(args.force);
    files.table(&args.out, &columns, table.view())?;
    if let (Some(path), Some(text)) = (&args.stats, &stats_text) {
        files.text(path, text)?;
    }
    files.commit()?;
    crate::say!(
        "wrote {n} codes to {} (field {}, {} source components, s {} -> {}, {})",
        args.out.display(),
        mf.kind(),
        mf.source().len(),
        opts.s_min,
        opts.s_max,
        args.solver.describe()
    );
    let t = &enc.totals;
    crate::say!(
        "function evaluations: {} in total, {:.1} per particle ({} steps accepted, {} rejected), {:.2} s; failed: {failed}",
        t.evals,
        t.evals as f64 / n.max(1) as f64,
        t.accepted,
        t.rejected,
        seconds
    );
    if let (Some(lp), Some(m)) = (&enc.log_p, mean_lp) {
        // the closed form ln p_{s_start}(x), for comparison
        let rows: Vec<Vec<f64>> = x.rows().into_iter().map(|r| r.to_vec()).collect();
        let exact: Vec<f64> = rows
            .par_iter()
            .map(|r| mf.log_density(opts.s_min, r))
            .collect();
        let me = exact.iter().sum::<f64>() / n as f64;
        let gap = lp
            .iter()
            .zip(&exact)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        crate::say!(
            "log-likelihood (column log_p, {prior}): mean {m:.6} nats per point; exact ln p_s_start: mean {me:.6}, largest |difference| {gap:.3e}"
        );
    }
    if let Some(path) = &args.stats {
        crate::say!("wrote the run statistics to {}", path.display());
    }
    let why =
        (failed > 0).then(|| format!("{failed} of {n} trajectories failed (their rows are NaN)"));
    Ok(super::failures_exit(
        why.into_iter().collect(),
        args.allow_failures,
    ))
}

/// `fieldflow encode --model MODEL`: the codes of a learned field and, with
/// `--log-likelihood`, the model's log-likelihood through its exact divergence (the
/// far-field prior around the training mean at the model's top level).
#[cfg(feature = "learn")]
fn run_model(args: &Args, model: &Path, quiet: bool) -> anyhow::Result<ExitCode> {
    use fieldflow::fields::Field;
    use fieldflow::learn::LearnedField;
    use fieldflow::sampling::Prior;
    check_outputs(
        &[(&args.out, "--out", Kind::Points)],
        &[&args.points, model],
        args.force,
    )?;
    if args
        .solver
        .method
        .parse::<fieldflow::samplers::Method>()
        .is_ok()
    {
        bail!("encode integrates the ODE: use an ODE solver (dopri5, tsit5, ...), not a few-step sampler");
    }
    let field = LearnedField::load(model)?;
    let x = super::output::read_points(&args.points)?;
    if x.ncols() != field.dim() {
        bail!(
            "{} has {} columns but the model {} has dimension {}",
            args.points.display(),
            x.ncols(),
            model.display(),
            field.dim()
        );
    }
    // the command line's own checks first, worded with its flags
    let opts = super::sample_model::model_options(&field, &args.solver, args.s_start)?;
    let prior = field.prior(opts.s_max)?;
    let req = request(args);
    let n = x.nrows();
    let bar = progress_bar(n, quiet, "encoding");
    let tick = |k: usize| bar.inc(k as u64);
    let start = Instant::now();
    let hooks = fieldflow::run::Hooks {
        progress: Some(&tick),
        cancel: Some(super::cancel_flag()),
    };
    let enc = fieldflow::run::encode_model(&field, x.view(), &req, args.log_likelihood, hooks)?;
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    let mut columns: Vec<String> = (0..field.dim()).map(|j| format!("x{j}")).collect();
    let table: Array2<f64> = match &enc.log_p {
        Some(lp) => {
            columns.push("log_p".into());
            ndarray::concatenate(Axis(1), &[enc.z.view(), lp.view().insert_axis(Axis(1))])?
        }
        None => enc.z.clone(),
    };
    let (failed, _) = failures(&enc.stats);
    let mut files = Outputs::new(args.force);
    files.table(&args.out, &columns, table.view())?;
    files.commit()?;
    crate::say!("{}", field.describe());
    crate::say!(
        "wrote {n} codes to {} ({}, s {} -> {}, {}): {} evaluations in total, {:.1} per particle, {seconds:.2} s",
        args.out.display(),
        prior.describe(),
        opts.s_min,
        opts.s_max,
        args.solver.describe(),
        enc.totals.evals,
        enc.totals.evals as f64 / n.max(1) as f64,
    );
    if let Some(lp) = &enc.log_p {
        crate::say!(
            "log-likelihood (column log_p, exact divergence of the network): mean {:.6} nats per point",
            lp.mean().unwrap_or(f64::NAN)
        );
    }
    let why =
        (failed > 0).then(|| format!("{failed} of {n} trajectories failed (their rows are NaN)"));
    Ok(super::failures_exit(
        why.into_iter().collect(),
        args.allow_failures,
    ))
}
