//! `fieldflow check`: test samples against a reference sample or a known target.
//!
//! ```text
//! fieldflow check --samples FILE (--reference FILE | --target SPEC)
//!                 [--alpha A] [--seed S] [--permutations B] [--tests LIST] [--json FILE]
//! ```
//!
//! Prints the summary table of the battery. Exit code 0 when the samples pass, 1 when
//! they are rejected at the family-wise level, 2 on an error.

use anyhow::{bail, Context};
use clap::{ArgGroup, Parser};
use fieldflow::checks::battery::{OneSampleTarget, TwoSampleTest, TARGET_SPEC_HELP};
use fieldflow::checks::Battery;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `fieldflow check`.
#[derive(Debug, Parser)]
#[command(group(ArgGroup::new("against").required(true).args(["reference", "target"])))]
#[command(after_help = format!(
    "Two-sample tests (--reference): ks, ad, energy, mmd, sliced_w2, w1 (1-D), ks2d (2-D).\n\
     One-sample targets (--target SPEC): {TARGET_SPEC_HELP}\n  \
     normal:MEAN,STD        1-D normal: ks, ad, chi2_radius\n  \
     gaussian[:std=S,mean=M1;M2..]  whitening, |z|^2 ~ chi2_d: chi2_radius\n  \
     pfgm-prior:D=1,smax=40 PFGM/PFGM++ prior on the plane s = smax: prior_radius\n                         \
     (R^2/(R^2+smax^2) ~ Beta(d/2, D/2)), prior_direction (uniform)\n  \
     mixture:8gaussians     mode_counts (against the weights), residual_chi2\n  \
     landing:FILE[,weights=WFILE]  nearest data point counts against the weights\n\
     Verdict: rejected when some p-value <= alpha / (number of tests) (Bonferroni).\n\
     Exit code: 0 pass, 1 rejected, 2 error."
))]
pub struct Args {
    /// Samples to check (`.csv` or `.npy`, one point per row).
    #[arg(long)]
    pub samples: PathBuf,
    /// Reference sample for the two-sample tests.
    #[arg(long)]
    pub reference: Option<PathBuf>,
    /// Known target for the one-sample tests (see below).
    #[arg(long)]
    pub target: Option<String>,
    /// Family-wise level.
    #[arg(long, default_value_t = 0.01)]
    pub alpha: f64,
    /// Seed of the permutations, projections and Monte Carlo draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Permutations (and Monte Carlo draws) per test.
    #[arg(long, default_value_t = 999)]
    pub permutations: usize,
    /// MMD bandwidths as multiples of the median pooled distance, comma-separated
    /// (default 0.125,0.25,0.5,1,2; the kernel is exp(-|x-y|^2 / (2 h^2))).
    #[arg(long, value_delimiter = ',')]
    pub bandwidths: Option<Vec<f64>>,
    /// Comma-separated two-sample tests to run (default: all that apply).
    #[arg(long, value_delimiter = ',')]
    pub tests: Option<Vec<String>>,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// Runs `fieldflow check`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let x = fieldflow::io::read_points(&args.samples)?;
    let mut battery = Battery::new(args.alpha)?;
    battery.config.seed = args.seed;
    battery.config.permutations = args.permutations;
    if let Some(b) = &args.bandwidths {
        battery.config.bandwidth_factors = b.clone();
    }
    let report = match (&args.reference, &args.target) {
        (Some(reference), None) => {
            if let Some(names) = &args.tests {
                battery.tests = Some(
                    names
                        .iter()
                        .map(|n| TwoSampleTest::from_name(n.trim()))
                        .collect::<fieldflow::Result<Vec<_>>>()?,
                );
            }
            let y = fieldflow::io::read_points(reference)?;
            battery.two_sample(x.view(), y.view())?
        }
        (None, Some(spec)) => {
            if args.tests.is_some() {
                bail!("--tests selects two-sample tests; it cannot be used with --target");
            }
            let target = OneSampleTarget::parse(spec, x.ncols())?;
            battery.one_sample(x.view(), &target)?
        }
        _ => bail!("give exactly one of --reference and --target"),
    };
    println!("{report}");
    let needed = report.tests.len() as f64 / args.alpha;
    if ((args.permutations + 1) as f64) < needed {
        eprintln!(
            "warning: with {} permutations a permutation test cannot reach p <= {:.3e}; \
             use --permutations {} or more",
            args.permutations,
            report.threshold(),
            needed.ceil() as usize
        );
    }
    if let Some(path) = &args.json {
        std::fs::write(path, report.to_json()? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(if report.reject {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
