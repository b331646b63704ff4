//! `fieldflow sample`: generate by integrating a field from the prior down to the data.
//!
//! ```text
//! fieldflow sample --field F [--aug-dim D] [--power K] (--data FILE | --dataset NAME)
//!                  --n N --seed SEED [--method dopri5] [--rtol R] [--atol A] [--steps N]
//!                  [--s-max S] [--s-min S] [--prior far|exact] [--denoise]
//!                  [--from FILE --s-start S] --out FILE [--force]
//! ```
//!
//! Without `--from` the prior is drawn at `s_max` (the far field around the data mean
//! for the ray fields, or the exact mixture with `--prior exact`; the linear path's
//! prior is exact); with `--from` the file's points start at `--s-start` and `--n`
//! may be omitted. Ray fields are integrated in `tau = ln s`. The summary reports the
//! function evaluations and the unconverged particles (trajectories that failed, or
//! that end farther than `--unconverged-factor` kernel widths from every data point).

use super::field_args::{build, write, DataOpts, FieldOpts};
use anyhow::{bail, Context};
use clap::Parser;
use fieldflow::fields::{PriorKind, Schedule};
use fieldflow::ode::{Method, Status};
use fieldflow::sampling::{generate, generate_from, SampleOptions};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `fieldflow sample`.
#[derive(Debug, Parser)]
pub struct Args {
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
    /// Integrator: euler, heun, rk4, bs3, dopri5, tsit5.
    #[arg(long, default_value = "dopri5")]
    method: String,
    /// Relative tolerance.
    #[arg(long, default_value_t = 1e-5)]
    rtol: f64,
    /// Absolute tolerance.
    #[arg(long, default_value_t = 1e-5)]
    atol: f64,
    /// Fixed number of steps (no error control; needed for euler, heun, rk4).
    #[arg(long)]
    steps: Option<usize>,
    /// Top level (default 40 for ray fields, 1 for linear).
    #[arg(long = "s-max")]
    s_max: Option<f64>,
    /// Bottom level (default 1e-3).
    #[arg(long = "s-min")]
    s_min: Option<f64>,
    /// Prior: far (far field around the data mean) or exact (the mixture p_{s_max}).
    #[arg(long, default_value = "far")]
    prior: String,
    /// Final denoising step x <- x - s_min f(x) (Euler to s = 0).
    #[arg(long)]
    denoise: bool,
    /// Start points (`.csv`, `.npy`) instead of prior draws.
    #[arg(long, requires = "s_start")]
    from: Option<PathBuf>,
    /// Level of the --from points.
    #[arg(long = "s-start", requires = "from")]
    s_start: Option<f64>,
    /// Unconverged radius in kernel widths at s_min.
    #[arg(long = "unconverged-factor", default_value_t = 1000.0)]
    unconverged_factor: f64,
    /// Output file (`.csv` or `.npy`).
    #[arg(long)]
    out: PathBuf,
    /// Replace the output file if it exists.
    #[arg(long)]
    force: bool,
}

/// Runs `fieldflow sample`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    fieldflow::io::PointFormat::from_path(&args.out)?;
    let mf = build(&args.field, &args.data)?;
    let method: Method = args.method.parse()?;
    let mut opts = SampleOptions::new(&mf);
    opts.solver = opts.solver.rtol(args.rtol).atol(args.atol);
    opts.solver.method = method;
    if let Some(n) = args.steps {
        opts.solver = opts.solver.fixed_steps(n);
    }
    if let Some(s) = args.s_max {
        opts.s_max = s;
    }
    if let Some(s) = args.s_min {
        opts.s_min = s;
    }
    opts.prior = args.prior.parse::<PriorKind>()?;
    opts.denoise = args.denoise;
    opts.unconverged_factor = args.unconverged_factor;
    let (out, s_top) = match &args.from {
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
            (generate_from(&mf, x0.view(), s_start, &opts)?, s_start)
        }
        None => {
            let Some(n) = args.n else {
                bail!("give --n (or start points with --from)");
            };
            if n == 0 {
                bail!("--n must be at least 1");
            }
            (generate(&mf, n, args.seed, &opts)?, opts.s_max)
        }
    };
    let n = out.x.nrows();
    let dropped = write(&args.out, out.x.view(), args.force)?;
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
    let integrator = match args.steps {
        Some(k) => format!("{method}, {k} fixed steps"),
        None => format!("{method} rtol {} atol {}", args.rtol, args.atol),
    };
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
        "function evaluations: {} in total, {:.1} per particle ({} steps accepted, {} rejected)",
        t.evals,
        out.evals_per_particle(),
        t.accepted,
        t.rejected
    );
    let failed = out.stats.iter().filter(|s| !s.status.is_success()).count();
    let nonfinite = out
        .stats
        .iter()
        .filter(|s| matches!(s.status, Status::NonFinite { .. }))
        .count();
    println!(
        "unconverged: {} of {n} (farther than {:.4} from every source component at s_min, or a failed trajectory: {failed}, non-finite: {nonfinite}); under the exact p_s_min at most {:.2e} of the particles would be that far",
        out.n_unconverged, out.unconverged_radius, out.expected_unconverged
    );
    if dropped > 0 {
        println!("left out of the file: {dropped} rows with non-finite values");
    }
    Ok(ExitCode::SUCCESS)
}
