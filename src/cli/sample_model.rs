//! `fieldflow sample --model MODEL`: samples of a learned field, through the same
//! sampling code as the exact fields (`sampling::Flow` for the ODE solvers,
//! `samplers::sample` for the few-step samplers). The prior is the far field around
//! the training mean at the model's stored default level (or `--s-max`); the linear
//! path starts from its exact prior at `s = 1`. There is no data here, so nothing is
//! counted as unconverged: only failed trajectories are reported.

use super::field_args::SolverArgs;
use super::output::{check_outputs, spinner, Kind, Outputs};
use anyhow::bail;
use fieldflow::fields::{Field, PriorKind};
use fieldflow::learn::LearnedField;
use fieldflow::ode::Method;
use fieldflow::sampling::{Flow, Prior, SampleOptions};
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
    check_outputs(&[(r.out, "--out", Kind::Points)], &[r.model], r.force)?;
    let Some(n) = r.n else {
        bail!("give --n");
    };
    if n == 0 {
        bail!("--n must be at least 1");
    }
    let field = LearnedField::load(r.model)?;
    let mut opts = model_options(&field, r.solver, r.s_min)?;
    opts.denoise = r.denoise;
    let prior = field.prior(opts.s_max)?;
    let bar = spinner(quiet, "sampling");
    let start = Instant::now();
    let (x, evals, failed, how) = match r.solver.method.parse::<fieldflow::samplers::Method>() {
        Ok(method) => {
            use fieldflow::samplers::{sample, SamplerOptions};
            if r.denoise {
                bail!(
                    "--denoise does not apply to --method {method}: its output is already at s = 0"
                );
            }
            let Some(steps) = r.solver.steps else {
                bail!("--method {method} needs the number of levels --steps N");
            };
            let so = SamplerOptions::new(method, steps, opts.s_max, opts.s_min)
                .rho(r.rho.unwrap_or(7.0));
            so.validate(&field)?;
            let x0 = prior.sample(n, r.seed)?;
            let out = sample(&field, x0.view(), &so)?;
            let failed = out
                .x
                .rows()
                .into_iter()
                .filter(|row| !row.iter().all(|v| v.is_finite()))
                .count();
            let evals = (out.evals_per_particle * n) as u64;
            let how = format!(
                "{method}, {steps} levels, rho {}, s {} -> {} -> 0",
                so.rho, opts.s_max, opts.s_min
            );
            (out.x, evals, failed, how)
        }
        Err(_) => {
            if r.rho.is_some() {
                bail!("--rho applies to the few-step samplers only");
            }
            let out = Flow::new(&field, &prior)?.generate(n, r.seed, &opts)?;
            let how = format!(
                "{}, s {} -> {}{}",
                r.solver.describe(),
                opts.s_max,
                opts.s_min,
                if r.denoise { " -> 0 (denoised)" } else { "" }
            );
            (out.x, out.totals.evals, out.totals.failed, how)
        }
    };
    bar.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();
    let mut files = Outputs::new(r.force);
    super::sample::stage_samples(&mut files, r.out, x.view())?;
    files.commit()?;
    crate::say!("{}", field.describe());
    crate::say!(
        "wrote {n} samples to {} ({}, {}): {evals} evaluations in total, {:.1} per particle, {secs:.2} s",
        r.out.display(),
        prior.describe(),
        how,
        evals as f64 / n as f64,
    );
    let why =
        (failed > 0).then(|| format!("{failed} of {n} trajectories failed (their rows are NaN)"));
    Ok(super::failures_exit(
        why.into_iter().collect(),
        r.allow_failures,
    ))
}
