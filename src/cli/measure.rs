//! `fieldflow measure`: memorisation and generalisation of generated samples.
//!
//! ```text
//! fieldflow measure --samples F --train F [--test F] [--second-test F]
//!                   [--threshold 0.333] [--w2-n N | --no-w2] [--seed S] [--json FILE] [--force]
//! ```
//!
//! Prints the memorised fraction of the samples and of the held-out points (the
//! baseline), and the exact W2 of the samples to the held-out and to the training
//! points beside its noise floor (see the library's `measure` module).

use clap::Parser;
use fieldflow::measure::{generalisation, Config, DEFAULT_THRESHOLD};
use fieldflow::samplers::wasserstein::MAX_POINTS;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `fieldflow measure`.
#[derive(Debug, Parser)]
#[command(allow_negative_numbers = true)]
#[command(after_help = "\
A sample is memorised when d1/d2 < threshold (d1, d2: distances to its nearest and
second-nearest training points; Gu et al. 2025). Fresh draws of a smooth law are
flagged too, about threshold^d of them, so the same fraction for --test (held-out
points never trained on) is the baseline to compare with. W2 is exact (optimal
assignment) on m = min(--w2-n, sizes) points per set; its noise floor is W2 between
two disjoint halves of --test (or --test and --second-test).

Examples:
  fieldflow measure --samples gen.csv --train data.csv --test heldout.csv
  fieldflow measure --samples gen.csv --train data.csv --no-w2 --json m.json

Exit code: 0 success, 2 bad input.")]
pub struct Args {
    /// Generated samples, one point per row (`.csv`, `.npy`, `.npz[:NAME]`).
    #[arg(long)]
    samples: PathBuf,
    /// The training points the model was fitted to.
    #[arg(long)]
    train: PathBuf,
    /// Held-out points of the same law (baseline of the meter, reference of W2).
    #[arg(long)]
    test: Option<PathBuf>,
    /// A second held-out draw for the W2 noise floor (default: halves of --test).
    #[arg(long, requires = "test")]
    second_test: Option<PathBuf>,
    /// Memorised when d1/d2 < threshold, in (0, 1].
    #[arg(allow_hyphen_values = true, long, default_value_t = DEFAULT_THRESHOLD)]
    threshold: f64,
    /// Points per set for W2 (1 to 4000; time grows like m^3, about 1 s at 1000).
    #[arg(long, default_value_t = 1000, value_parser = super::memory::count)]
    w2_n: usize,
    /// Skip the W2 distances.
    #[arg(long, conflicts_with = "w2_n")]
    no_w2: bool,
    /// Seed of the random subsets used for W2.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Replace the --json file if it exists (input files are never replaced).
    #[arg(long)]
    force: bool,
}

/// Runs `fieldflow measure`.
pub fn run(args: Args, quiet: bool) -> anyhow::Result<ExitCode> {
    let mut inputs: Vec<&std::path::Path> = vec![&args.samples, &args.train];
    inputs.extend(args.test.as_deref());
    inputs.extend(args.second_test.as_deref());
    if let Some(json) = &args.json {
        super::output::check_outputs(
            &[(json, "--json", super::output::Kind::Json)],
            &inputs,
            args.force,
        )?;
    }
    if !args.no_w2 && (args.w2_n == 0 || args.w2_n > MAX_POINTS) {
        anyhow::bail!(
            "--w2-n must be between 1 and {MAX_POINTS} (exact W2 is O(m^3)), got {}; \
             use --no-w2 to skip W2",
            args.w2_n
        );
    }
    let x = super::output::read_points(&args.samples)?;
    let train = super::output::read_points(&args.train)?;
    let test = args
        .test
        .as_deref()
        .map(super::output::read_points)
        .transpose()?;
    let second = args
        .second_test
        .as_deref()
        .map(super::output::read_points)
        .transpose()?;
    // the brute-force distances hold nothing per pair; the W2 cost matrix is m^2
    if !args.no_w2 && test.is_some() {
        super::memory::ensure_fits(
            &format!("--w2-n {} (the W2 cost matrix)", args.w2_n),
            super::memory::bytes(args.w2_n, 16 * args.w2_n as u128),
        )?;
    }
    let config = Config {
        threshold: args.threshold,
        w2_points: (!args.no_w2).then_some(args.w2_n),
        seed: args.seed,
    };
    let spin = super::output::spinner(quiet, "measuring");
    let report = generalisation(
        x.view(),
        train.view(),
        test.as_ref().map(|t| t.view()),
        second.as_ref().map(|t| t.view()),
        &config,
    )?;
    spin.finish_and_clear();
    if let Some(path) = &args.json {
        fieldflow::io::write_text(path, &(report.to_json()? + "\n"), args.force)
            .map_err(super::output::exists_hint)?;
    }
    outln!("{}", report.to_string().trim_end());
    if test.is_none() {
        eprintln!(
            "note: without --test there is no baseline for the memorised fraction \
             (fresh draws of a smooth law score about threshold^d) and no W2"
        );
    }
    Ok(ExitCode::SUCCESS)
}
