//! `fieldflow bench samplers`: few-step samplers measured against the exact solution.
//!
//! ```text
//! fieldflow bench samplers --field F [--aug-dim D] (--data FILE | --dataset NAME [--mixture])
//!                          [--n 500] [--seed 0] [--prior far|exact] [--s-max S] [--s-min S]
//!                          [--rho 7] [--samplers LIST] [--steps LIST] [--adaptive LIST]
//!                          [--tols LIST] [--no-w2] [--no-checks] [--permutations B]
//!                          [--alpha A] [--json FILE] [--force]
//! ```
//!
//! Draws `n` start points at `s_max`, computes their exact end points (DOPRI5 at
//! `rtol = atol = 1e-12` down to `s_min`, then the samplers' own last step
//! `x <- m_{s_min}(x)`), and runs every sampler for every `N` and every adaptive
//! solver for every tolerance from the same start points, printing one table row
//! each: evaluations per particle, RMS and largest global error, exact W2 to `n`
//! exact draws of the target, and the check battery's verdict.

use super::field_args::{build, DataOpts, FieldOpts};
use super::output::{check_outputs, exists_hint, spinner, Kind};
use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use fieldflow::checks::Battery;
use fieldflow::fields::PriorKind;
use fieldflow::ode::Method as OdeMethod;
use fieldflow::samplers::bench::{evals_to_reach, run as run_bench, BenchConfig};
use fieldflow::samplers::wasserstein::MAX_POINTS;
use fieldflow::samplers::Method;
use fieldflow::sampling::SampleOptions;
use std::path::PathBuf;
use std::process::ExitCode;

const EXAMPLES: &str = "\
Examples:
  fieldflow bench samplers --field gaussian --dataset 8gaussians --mixture --s-max 80 --s-min 0.002 --json gauss.json
  fieldflow bench samplers --field pfgmpp --aug-dim 128 --dataset 8gaussians --data-n 1000 --s-max 905.1 --s-min 0.0226
  fieldflow bench samplers --field poisson --dataset 8gaussians --s-max 40 --s-min 0.001 --steps 8,16,32 --no-checks

The reference (exact end points): DOPRI5 at rtol = atol = 1e-12 from the same start
points down to --s-min, then the last step x <- m(x) that every sampler takes (Euler
to s = 0). Errors are |x - x_exact| per particle (RMS and max). W2: exact optimal
assignment to n exact draws of the target (the source at s = 0). Checks: the two-sample
battery against those draws (closed-form sources) or the landing test (data points),
family-wise level --alpha; 'pass' or 'REJECT'.
JSON (--json): the settings, the reference's evaluations and W2, one object per row.
Exit code: 0 success, 2 bad input (nothing written).";

/// Arguments of `fieldflow bench`.
#[derive(Debug, Parser)]
pub struct Args {
    /// What to measure.
    #[command(subcommand)]
    pub what: What,
}

/// The benches.
#[derive(Debug, Subcommand)]
pub enum What {
    /// Few-step samplers and adaptive solvers against the exact end points.
    Samplers(SamplersArgs),
}

/// Arguments of `fieldflow bench samplers`.
#[derive(Debug, Parser)]
#[command(allow_negative_numbers = true)]
#[command(after_help = EXAMPLES)]
pub struct SamplersArgs {
    #[command(flatten)]
    field: FieldOpts,
    #[command(flatten)]
    data: DataOpts,
    /// Number of start points.
    #[arg(long, default_value_t = 500, value_parser = super::memory::count)]
    n: usize,
    /// Seed of the start points (the target draws use seed + 1).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Start points: far (far field around the data mean) or exact (p_{s_max}).
    #[arg(long, default_value = "far")]
    prior: String,
    /// Top level (default 40 for ray fields, 1 for linear).
    #[arg(allow_hyphen_values = true, long = "s-max")]
    s_max: Option<f64>,
    /// Lowest level above 0 (default 1e-3).
    #[arg(allow_hyphen_values = true, long = "s-min")]
    s_min: Option<f64>,
    /// EDM's schedule exponent rho.
    #[arg(allow_hyphen_values = true, long, default_value_t = 7.0)]
    rho: f64,
    /// Samplers, comma-separated (edm-euler, edm-heun, dpmpp-2m, dpmpp-3m).
    #[arg(long, default_value = "edm-euler,edm-heun,dpmpp-2m,dpmpp-3m")]
    samplers: String,
    /// Numbers of levels N, comma-separated.
    #[arg(long, default_value = "4,8,16,32,64")]
    steps: String,
    /// Adaptive solvers for comparison, comma-separated ("" for none).
    #[arg(long, default_value = "dopri5,tsit5")]
    adaptive: String,
    /// Tolerances (rtol = atol) of the adaptive solvers, comma-separated.
    #[arg(long, default_value = "1e-2,1e-3,1e-4,1e-5,1e-6")]
    tols: String,
    /// Skip the exact W2 (O(n^3) per row).
    #[arg(long = "no-w2")]
    no_w2: bool,
    /// Skip the check battery.
    #[arg(long = "no-checks")]
    no_checks: bool,
    /// Permutations of the battery's permutation tests.
    #[arg(long, default_value_t = 999, value_parser = super::memory::count)]
    permutations: usize,
    /// Family-wise level of the battery.
    #[arg(allow_hyphen_values = true, long, default_value_t = 0.01)]
    alpha: f64,
    /// Write the table as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Replace the JSON file if it exists.
    #[arg(long)]
    force: bool,
}

fn list<T>(
    what: &str,
    s: &str,
    parse: impl Fn(&str) -> anyhow::Result<T>,
) -> anyhow::Result<Vec<T>> {
    s.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| parse(t).with_context(|| format!("bad {what} '{t}'")))
        .collect()
}

fn fmt_e(v: f64) -> String {
    format!("{v:.2e}")
}

/// Runs `fieldflow bench`.
pub fn run(args: Args, quiet: bool) -> anyhow::Result<ExitCode> {
    match args.what {
        What::Samplers(a) => samplers(a, quiet),
    }
}

fn samplers(args: SamplersArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    if let Some(p) = &args.json {
        let mut inputs: Vec<&std::path::Path> = Vec::new();
        inputs.extend(args.data.data.as_deref());
        inputs.extend(args.data.weights.as_deref());
        check_outputs(&[(p, "--json", Kind::Json)], &inputs, args.force)?;
    }
    if args.n == 0 {
        bail!("--n must be at least 1");
    }
    fieldflow::limits::check_permutations(args.permutations)?;
    // start points, the exact end points and one sampler's output at a time
    super::memory::ensure_fits(
        &format!("--n {} (the particles)", args.n),
        super::memory::bytes(args.n, 8 * 8 * (2 + 4 * 4) as u128),
    )?;
    if !args.no_w2 && args.n > MAX_POINTS {
        bail!(
            "--n {} is too large for the exact W2 (at most {MAX_POINTS}); use --no-w2",
            args.n
        );
    }
    let methods: Vec<Method> = list("sampler", &args.samplers, |t| Ok(t.parse()?))?;
    let steps: Vec<usize> = list("--steps value", &args.steps, |t| {
        Ok(fieldflow::limits::parse_count(t)?)
    })?;
    let adaptive: Vec<OdeMethod> = list("adaptive solver", &args.adaptive, |t| {
        let m: OdeMethod = t.parse()?;
        if !m.is_adaptive() {
            bail!("{m} is not adaptive (use dopri5, tsit5 or bs3)");
        }
        Ok(m)
    })?;
    let tols: Vec<f64> = list("tolerance", &args.tols, |t| Ok(t.parse()?))?;
    let prior: PriorKind = args.prior.parse()?;
    let mf = build(&args.field, &args.data)?;
    let defaults = SampleOptions::new(&mf);
    let s_max = args.s_max.unwrap_or(defaults.s_max);
    let s_min = args.s_min.unwrap_or(defaults.s_min);
    let battery = if args.no_checks {
        None
    } else {
        let mut b = Battery::new(args.alpha)?;
        b.config.permutations = args.permutations;
        b.config.seed = args.seed;
        Some(b)
    };
    let cfg = BenchConfig {
        s_max,
        s_min,
        rho: args.rho,
        samplers: methods,
        steps,
        adaptive: adaptive
            .iter()
            .flat_map(|&m| tols.iter().map(move |&t| (m, t)))
            .collect(),
        target_seed: args.seed + 1,
        w2: !args.no_w2,
        battery,
    };
    mf.check_level(s_max)?;
    let x0 = mf.sample_prior(s_max, args.n, args.seed, prior)?;
    let bar = spinner(quiet, "running the samplers");
    let bench = run_bench(&mf, x0.view(), &cfg)?;
    bar.finish_and_clear();
    outln!(
        "field {}, {} source components, d = {}, n = {}, start points: {} prior at s_max = {s_max}, s_min = {s_min}, rho = {}",
        mf.kind(),
        mf.source().len(),
        mf.dim(),
        bench.n,
        match prior {
            PriorKind::FarField => "far-field",
            PriorKind::Exact => "exact",
        },
        args.rho
    );
    outln!(
        "reference: dopri5 rtol = atol = 1e-12 to s_min, then x <- m(x): {:.1} evaluations per particle{}",
        bench.reference_evals,
        bench
            .reference_w2
            .map(|w| format!(", W2 to the target draws {w:.4}"))
            .unwrap_or_default()
    );
    outln!(
        "{:<10} {:<12} {:>8} {:>10} {:>10} {:>8} {:>7}",
        "method",
        "setting",
        "evals",
        "RMS err",
        "max err",
        "W2",
        "checks"
    );
    for r in &bench.rows {
        outln!(
            "{:<10} {:<12} {:>8.1} {:>10} {:>10} {:>8} {:>7}",
            r.method,
            r.setting,
            r.evals,
            fmt_e(r.rms_error),
            fmt_e(r.max_error),
            r.w2.map(|w| format!("{w:.4}"))
                .unwrap_or_else(|| "-".into()),
            match r.rejected {
                Some(true) => "REJECT",
                Some(false) => "pass",
                None => "-",
            }
        );
    }
    for target in [1e-2, 1e-3, 1e-4] {
        let reach: Vec<String> = evals_to_reach(&bench.rows, target)
            .into_iter()
            .map(|(m, e)| match e {
                Some(e) => format!("{m} {e:.0}"),
                None => format!("{m} -"),
            })
            .collect();
        outln!(
            "fewest evaluations for RMS error <= {target:.0e}: {}",
            reach.join(", ")
        );
    }
    if let Some(p) = &args.json {
        let value = serde_json::json!({
            "command": "bench samplers",
            "field": mf.kind().to_string(),
            "source_components": mf.source().len(),
            "dim": mf.dim(),
            "prior": args.prior,
            "seed": args.seed,
            "reference": "dopri5 rtol = atol = 1e-12 to s_min, then x <- m(x)",
            "bench": bench,
        });
        let text = serde_json::to_string_pretty(&value)? + "\n";
        fieldflow::io::write_text(p, &text, args.force).map_err(exists_hint)?;
        outln!("wrote {}", p.display());
    }
    Ok(ExitCode::SUCCESS)
}
