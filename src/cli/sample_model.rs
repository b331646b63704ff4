//! `fieldflow sample --model MODEL`: samples of a learned field, through the same
//! sampling code as the exact fields (`sampling::Flow` for the ODE solvers,
//! `samplers::sample` for the few-step samplers). The prior is the far field around
//! the training mean at the model's stored default level (or `--s-max`); the linear
//! path starts from its exact prior at `s = 1`; `--from FILE --s-start S` starts from
//! given points instead. There is no data here, so nothing is counted as
//! unconverged: only failed trajectories are reported. `--trajectories` records the
//! paths of the ODE solvers as for an exact field; `--stats` writes what applies to a
//! model (evaluations, steps, failures, the levels, the model's metadata; no prior
//! error bound, as the exact `p_s_max` of a model is unknown).

use super::field_args::SolverArgs;
use super::output::{check_outputs, spinner, Kind, Outputs};
use super::sample::RunCounts;
use anyhow::bail;
use fieldflow::fields::{Field, PriorKind};
use fieldflow::learn::LearnedField;
use fieldflow::ode::Method;
use fieldflow::run::{sample_model, Hooks, SampleRequest, Sampled};
use fieldflow::sampling::{Prior, SampleOptions};
use serde::Serialize;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

/// What `sample --model` uses of the command line.
pub struct ModelRun<'a> {
    /// The model file.
    pub model: &'a Path,
    /// Number of samples.
    pub n: Option<usize>,
    /// Prior seed.
    pub seed: u64,
    /// Integrator settings.
    pub solver: &'a SolverArgs,
    /// Bottom level.
    pub s_min: Option<f64>,
    /// EDM's schedule exponent of the few-step samplers.
    pub rho: Option<f64>,
    /// Final denoising step.
    pub denoise: bool,
    /// Accept failed trajectories (exit 0).
    pub allow_failures: bool,
    /// Output file.
    pub out: &'a Path,
    /// Replace the output.
    pub force: bool,
    /// Start points (`--from`) and their level (`--s-start`).
    pub from: Option<(&'a Path, f64)>,
    /// Where to write the recorded paths.
    pub trajectories: Option<&'a Path>,
    /// Number of recorded levels.
    pub levels: usize,
    /// Where to write the run statistics.
    pub stats: Option<&'a Path>,
}

/// The settings block of `sample --model --stats`.
#[derive(Debug, Serialize)]
pub struct ModelSettings {
    /// The model file.
    pub model: String,
    /// The field the network was trained on.
    pub field: String,
    /// Dimension.
    pub dim: usize,
    /// Hidden width of the network.
    pub hidden: usize,
    /// Hidden layers.
    pub layers: usize,
    /// Training steps.
    pub train_steps: usize,
    /// Training seed.
    pub train_seed: u64,
    /// Training points.
    pub n_train: usize,
    /// SHA-256 of the training data.
    pub data_sha256: String,
    /// fieldflow version that trained the model.
    pub version: String,
    /// Integrator or few-step sampler.
    pub method: String,
    /// Relative tolerance (adaptive runs).
    pub rtol: f64,
    /// Absolute tolerance (adaptive runs).
    pub atol: f64,
    /// Fixed number of steps, or the levels of a few-step sampler.
    pub fixed_steps: Option<usize>,
    /// The ODE variables of the integrator (None for a few-step sampler).
    pub ode_time: Option<String>,
    /// `rho` of a few-step sampler's schedule.
    pub rho: Option<f64>,
    /// The level where the paths start (s_max or --s-start).
    pub s_from: f64,
    /// The level where they end (a few-step sampler then steps to 0).
    pub s_to: f64,
    /// The prior, or "start points from file".
    pub prior: String,
    /// Whether the denoising step was taken.
    pub denoise: bool,
    /// Seed of the prior draw (None with --from).
    pub seed: Option<u64>,
}

/// The `--stats` report of `sample --model`.
#[derive(Debug, Serialize)]
pub struct ModelStats {
    /// Always `sample`.
    pub command: &'static str,
    /// Particles, rows, network evaluations, steps and failures.
    #[serde(flatten)]
    pub counts: RunCounts,
    /// Wall-clock seconds of the sampling.
    pub seconds: f64,
    /// Worker threads.
    pub threads: usize,
    /// The recorded levels of --trajectories, if written.
    pub trajectory_levels: Option<Vec<f64>>,
    /// Settings of the run and the model.
    pub settings: ModelSettings,
}

/// What a sampling run of a model gave.
struct Outcome {
    x: ndarray::Array2<f64>,
    evals: u64,
    accepted: u64,
    rejected: u64,
    failed: usize,
    non_finite: usize,
    how: String,
}

/// The sampling options of a learned field: the model's default top level unless
/// `--s-max`, `--s-min` (bottom level; for `encode` the level of the points), and the
/// ODE solver (a few-step sampler's name leaves the default solver in place; the
/// caller runs the sampler instead). Only the far-field prior exists for a model.
pub fn model_options(
    field: &LearnedField,
    solver: &SolverArgs,
    s_min: Option<f64>,
) -> anyhow::Result<SampleOptions> {
    solver.check()?;
    if solver.prior.parse::<PriorKind>()? != PriorKind::FarField {
        bail!(
            "--prior {} does not apply with --model (the far field around the training mean)",
            solver.prior
        );
    }
    let mut opts = SampleOptions::for_schedule(field.schedule());
    opts.s_max = solver.s_max.unwrap_or(field.default_s_max());
    if let Some(t) = &solver.ode_time {
        opts.time = Some(t.parse()?);
    }
    if let Some(s) = s_min {
        opts.s_min = s;
    }
    if solver
        .method
        .parse::<fieldflow::samplers::Method>()
        .is_err()
    {
        opts.solver = opts.solver.rtol(solver.rtol).atol(solver.atol);
        opts.solver.method = solver.method.parse::<Method>()?;
        if let Some(k) = solver.steps {
            opts.solver = opts.solver.fixed_steps(k);
        }
    }
    Ok(opts)
}

/// Runs `fieldflow sample --model`.
pub fn run(r: ModelRun<'_>, quiet: bool) -> anyhow::Result<ExitCode> {
    let mut outputs = vec![(r.out, "--out", Kind::Points)];
    if let Some(p) = r.trajectories {
        outputs.push((p, "--trajectories", Kind::Points));
    }
    if let Some(p) = r.stats {
        outputs.push((p, "--stats", Kind::Json));
    }
    let mut inputs = vec![r.model];
    inputs.extend(r.from.map(|(p, _)| p));
    check_outputs(&outputs, &inputs, r.force)?;
    if r.trajectories.is_some() && r.levels < 2 {
        bail!("--levels must be at least 2, got {}", r.levels);
    }
    let start_points = match r.from {
        Some((path, _)) => Some(super::sample::read_start_points(path, r.n)?),
        None => None,
    };
    let n = match (&start_points, r.n) {
        (Some(x), _) => x.nrows(),
        (None, Some(n)) => n,
        (None, None) => bail!("give --n (or start points with --from)"),
    };
    if n == 0 {
        bail!("--n must be at least 1");
    }
    let field = LearnedField::load(r.model)?;
    // the command line's own checks first, worded with its flags
    let mut opts = model_options(&field, r.solver, r.s_min)?;
    opts.denoise = r.denoise;
    let s_top = r.from.map_or(opts.s_max, |(_, s)| s);
    let prior = field.prior(opts.s_max)?;
    let sampler = r.solver.method.parse::<fieldflow::samplers::Method>();
    match &sampler {
        Ok(method) => {
            if r.trajectories.is_some() {
                bail!("--trajectories applies to the ODE solvers only, not to --method {method}");
            }
            if r.denoise {
                bail!(
                    "--denoise does not apply to --method {method}: its output is already at s = 0"
                );
            }
            if r.solver.steps.is_none() {
                bail!("--method {method} needs the number of levels --steps N");
            }
        }
        Err(_) => {
            if r.rho.is_some() {
                bail!("--rho applies to the few-step samplers only");
            }
        }
    }
    let req = SampleRequest {
        n: Some(n),
        seed: r.seed,
        offset: 0,
        method: r.solver.method.clone(),
        rtol: r.solver.rtol,
        atol: r.solver.atol,
        steps: r.solver.steps,
        s_max: r.solver.s_max,
        s_min: r.s_min,
        prior: r.solver.prior.clone(),
        force_prior: false,
        start_level: r.from.map(|(_, s)| s),
        rho: r.rho,
        denoise: r.denoise,
        unconverged_factor: SampleRequest::default().unconverged_factor,
        ode_time: r.solver.ode_time.clone(),
    };
    let bar = spinner(quiet, "sampling");
    let start = Instant::now();
    let run = sample_model(
        &field,
        &req,
        start_points.as_ref().map(|x| x.view()),
        Hooks::default(),
    )?;
    let out = match run.sampled {
        Sampled::FewStep(out) => {
            let so = run.sampler.expect("a few-step run has its options");
            let failed = out
                .x
                .rows()
                .into_iter()
                .filter(|row| !row.iter().all(|v| v.is_finite()))
                .count();
            let per = out.levels.len().saturating_sub(1) as u64;
            Outcome {
                evals: (out.evals_per_particle * n) as u64,
                accepted: per * n as u64,
                rejected: 0,
                failed,
                non_finite: failed,
                how: format!(
                    "{}, {} levels, rho {}, s {} -> {} -> 0",
                    so.method, so.steps, so.rho, s_top, opts.s_min
                ),
                x: out.x,
            }
        }
        Sampled::Ode(out) => {
            let (failed, non_finite) = super::sample::failures(&out.stats);
            Outcome {
                evals: out.totals.evals,
                accepted: out.totals.accepted,
                rejected: out.totals.rejected,
                failed,
                non_finite,
                how: format!(
                    "{}, s {} -> {}{}",
                    r.solver.describe(),
                    s_top,
                    opts.s_min,
                    if r.denoise { " -> 0 (denoised)" } else { "" }
                ),
                x: out.x,
            }
        }
    };
    bar.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();
    let paths = match r.trajectories {
        Some(_) => {
            let levels = super::sample::log_levels(s_top, opts.s_min, r.levels);
            let bar = spinner(quiet, "recording the paths");
            // the start points again: the file's, or the prior draw of the run
            let x0 = match &start_points {
                Some(x) => x.clone(),
                None => prior.sample_range(0, n, r.seed)?,
            };
            let p = super::sample::record(&field, x0.view(), &levels, &opts)?;
            bar.finish_and_clear();
            Some((levels, p))
        }
        None => None,
    };
    let prior_name = match r.from {
        Some(_) => "start points from file".to_string(),
        None => prior.describe(),
    };
    let mut files = Outputs::new(r.force);
    super::sample::stage_samples(&mut files, r.out, out.x.view())?;
    if let (Some(path), Some((levels, p))) = (r.trajectories, &paths) {
        files.trajectories(path, levels, p.view())?;
    }
    if let Some(path) = r.stats {
        let meta = field.model().meta();
        let few_step = r
            .solver
            .method
            .parse::<fieldflow::samplers::Method>()
            .is_ok();
        let stats = ModelStats {
            command: "sample",
            counts: RunCounts::new(
                out.x.view(),
                out.evals,
                (out.accepted, out.rejected),
                (out.failed, out.non_finite),
            ),
            seconds: secs,
            threads: rayon::current_num_threads(),
            trajectory_levels: paths.as_ref().map(|(l, _)| l.clone()),
            settings: ModelSettings {
                model: r.model.display().to_string(),
                field: meta.kind.to_string(),
                dim: meta.dim,
                hidden: meta.hidden,
                layers: meta.layers,
                train_steps: meta.steps,
                train_seed: meta.seed,
                n_train: meta.n_train,
                data_sha256: meta.data_sha256.clone(),
                version: meta.version.clone(),
                method: r.solver.method.clone(),
                rtol: r.solver.rtol,
                atol: r.solver.atol,
                fixed_steps: r.solver.steps,
                ode_time: (!few_step).then(|| {
                    opts.time_for(field.schedule(), s_top, opts.s_min)
                        .to_string()
                }),
                rho: few_step.then(|| r.rho.unwrap_or(7.0)),
                s_from: s_top,
                s_to: opts.s_min,
                prior: prior_name.clone(),
                denoise: opts.denoise,
                seed: r.from.is_none().then_some(r.seed),
            },
        };
        files.text(path, &(serde_json::to_string_pretty(&stats)? + "\n"))?;
    }
    files.commit()?;
    crate::say!("{}", field.describe());
    crate::say!(
        "wrote {n} samples to {} ({}, {}): {} evaluations in total, {:.1} per particle, {secs:.2} s",
        r.out.display(),
        prior_name,
        out.how,
        out.evals,
        out.evals as f64 / n as f64,
    );
    if let (Some(path), Some((levels, _))) = (r.trajectories, &paths) {
        crate::say!(
            "wrote the paths at {} levels (s {} -> {}) to {}",
            levels.len(),
            s_top,
            opts.s_min,
            path.display()
        );
    }
    if let Some(path) = r.stats {
        crate::say!("wrote the run statistics to {}", path.display());
    }
    let failed = out.failed;
    let why =
        (failed > 0).then(|| format!("{failed} of {n} trajectories failed (their rows are NaN)"));
    Ok(super::failures_exit(
        why.into_iter().collect(),
        r.allow_failures,
    ))
}
