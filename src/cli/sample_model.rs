//! `fieldflow sample --model MODEL`: samples of a learned field (a minimal path until
//! the common field interface lands: far-field prior, any solver, optional final
//! denoising step; no --from, --trajectories or --stats yet).

use super::field_args::{write, SolverArgs};
use super::output::{check_outputs, spinner, Kind};
use anyhow::bail;
use fieldflow::fields::Schedule;
use fieldflow::learn::sample::generate;
use fieldflow::learn::LearnedField;
use fieldflow::ode::{Method, SolverOptions};
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
    /// Final denoising step.
    pub denoise: bool,
    /// Output file.
    pub out: &'a Path,
    /// Replace the output.
    pub force: bool,
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
    r.solver.check()?;
    if r.solver.prior != "far" {
        bail!(
            "--prior {} does not apply with --model (far field only)",
            r.solver.prior
        );
    }
    let field = LearnedField::load(r.model)?;
    let mut opts = SolverOptions::new(r.solver.method.parse::<Method>()?)
        .rtol(r.solver.rtol)
        .atol(r.solver.atol);
    if let Some(k) = r.solver.steps {
        opts = opts.fixed_steps(k);
    }
    let linear = field.schedule() == Schedule::Linear;
    let s_max = r.solver.s_max.unwrap_or(if linear { 1.0 } else { 40.0 });
    let s_min = r.s_min.unwrap_or(1e-3);
    let bar = spinner(quiet, "sampling");
    let start = Instant::now();
    let out = generate(&field, n, r.seed, &opts, s_max, s_min, r.denoise)?;
    bar.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();
    let dropped = write(r.out, out.x.view(), r.force)?;
    println!("{}", field.describe());
    println!(
        "{n} samples, s {s_max} -> {s_min}{}, {}: {} evaluations in total, {:.1} per particle, {} failed, {:.2} s",
        if r.denoise { " + denoising step" } else { "" },
        r.solver.describe(),
        out.totals.evals,
        out.totals.evals as f64 / n as f64,
        out.totals.failed,
        secs
    );
    if dropped > 0 {
        println!("left out of the file: {dropped} rows with non-finite values");
    }
    println!("wrote {}", r.out.display());
    Ok(ExitCode::SUCCESS)
}
