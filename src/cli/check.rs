//! `fieldflow check`: test samples against a reference sample or a known target.
//!
//! ```text
//! fieldflow check --samples FILE (--reference FILE | --target SPEC)
//!                 [--alpha A] [--seed S] [--permutations B] [--tests LIST] [--json FILE]
//! ```
//!
//! Prints the summary table of the battery. Exit code 0 when the samples pass, 1 when
//! they are rejected at the family-wise level, 2 on an error.

use anyhow::bail;
use clap::{ArgGroup, Parser};
use fieldflow::checks::battery::TARGET_SPEC_HELP;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `fieldflow check`.
#[derive(Debug, Parser)]
#[command(allow_negative_numbers = true)]
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
     A test that cannot run on the data (MMD on tied data, a sample too small for it, a\n\
     degenerate statistic) is reported as not applicable with the reason; the verdict uses\n\
     the applicable tests only (no applicable test: exit 2).\n\
     Exit code: 0 pass, 1 rejected, 2 error.\n\n\
     Examples:\n  \
     fieldflow check --samples gen.csv --reference exact.csv --json report.json\n  \
     fieldflow check --samples gen.csv --target mixture:8gaussians\n  \
     fieldflow check --samples gen.csv --target landing:data.csv --permutations 1999"
))]
pub struct Args {
    /// Samples to check, one point per row (`.csv`, `.npy` of any real type,
    /// `.npz[:NAME]`, or `-` for standard input).
    #[arg(long)]
    pub samples: PathBuf,
    /// Reference sample for the two-sample tests (same formats as --samples).
    #[arg(long)]
    pub reference: Option<PathBuf>,
    /// Known target for the one-sample tests (see below).
    #[arg(long)]
    pub target: Option<String>,
    /// Family-wise level.
    #[arg(allow_hyphen_values = true, long, default_value_t = 0.01)]
    pub alpha: f64,
    /// Seed of the permutations, projections and Monte Carlo draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Permutations (and Monte Carlo draws) per test.
    #[arg(long, default_value_t = 999, value_parser = super::memory::count)]
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
    /// Replace the --json file if it exists (input files are never replaced).
    #[arg(long)]
    pub force: bool,
}

/// The files named in a target spec (`landing:FILE[,weights=WFILE]`).
fn spec_files(spec: &str) -> Vec<PathBuf> {
    let Some(rest) = spec.trim().strip_prefix("landing:") else {
        return Vec::new();
    };
    rest.split(',')
        .map(|p| PathBuf::from(p.trim().strip_prefix("weights=").unwrap_or(p.trim())))
        .collect()
}

/// Runs `fieldflow check`.
pub fn run(args: Args, quiet: bool) -> anyhow::Result<ExitCode> {
    if let Some(json) = &args.json {
        let mut inputs: Vec<PathBuf> = vec![args.samples.clone()];
        inputs.extend(args.reference.clone());
        if let Some(spec) = &args.target {
            inputs.extend(spec_files(spec));
        }
        let inputs: Vec<&std::path::Path> = inputs.iter().map(|p| p.as_path()).collect();
        super::output::check_outputs(
            &[(json, "--json", super::output::Kind::Json)],
            &inputs,
            args.force,
        )?;
    }
    if args.permutations == 0 {
        bail!("--permutations must be at least 1");
    }
    if args.permutations > fieldflow::limits::MAX_PERMUTATIONS {
        bail!(
            "--permutations {} is more than the limit {} (p-values then resolve 1e-6 already)",
            args.permutations,
            fieldflow::limits::MAX_PERMUTATIONS
        );
    }
    let x = super::output::read_points(&args.samples)?;
    if args.target.is_some() && args.tests.is_some() {
        bail!("--tests selects two-sample tests; it cannot be used with --target");
    }
    let req = fieldflow::run::CheckRequest {
        alpha: args.alpha,
        seed: args.seed,
        permutations: args.permutations,
        bandwidths: args.bandwidths.clone(),
        tests: args.tests.clone(),
    };
    let spin = super::output::spinner(quiet, "running the tests");
    let report = match (&args.reference, &args.target) {
        (Some(reference), None) => {
            let y = super::output::read_points(reference)?;
            fieldflow::run::check(
                x.view(),
                Some(y.view()),
                None,
                &req,
                Some(super::cancel_flag()),
            )?
        }
        (None, Some(spec)) => {
            fieldflow::run::check(x.view(), None, Some(spec), &req, Some(super::cancel_flag()))?
        }
        _ => bail!("give exactly one of --reference and --target"),
    };
    spin.finish_and_clear();
    if let Some(path) = &args.json {
        fieldflow::io::write_text(path, &(report.to_json()? + "\n"), args.force)
            .map_err(super::output::exists_hint)?;
    }
    outln!("{report}");
    let needed = report.applicable as f64 / args.alpha;
    if (args.permutations as f64 + 1.0) < needed {
        eprintln!(
            "warning: with {} permutations a permutation test cannot reach p <= {:.3e}; \
             use --permutations {} or more",
            args.permutations,
            report.threshold(),
            needed.ceil() as usize
        );
    }
    Ok(if report.reject {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
