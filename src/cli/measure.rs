//! `fieldflow measure`: memorisation and generalisation of generated samples.
//!
//! ```text
//! fieldflow measure --samples F --train F [--test F] [--second-test F]
//!                   [--threshold 0.333] [--w2-n N | --no-w2] [--seed S]
//!                   [--model MODEL [--levels K] [--level-n N]]
//!                   [--alpha A] [--permutations B | --no-checks] [--json FILE] [--force]
//! ```
//!
//! Prints the memorised fraction of the samples and of the held-out points (the
//! baseline), and the exact W2 of the samples to the held-out and to the training
//! points beside its noise floor (see the library's `measure` module); with
//! `--test`, the check battery of the samples against the held-out points (as
//! `fieldflow check --reference`); with `--model`, the error of the learned field
//! against the exact field of `--train` level by level (the library's `field_error`).

use clap::Parser;
use fieldflow::checks::Battery;
use fieldflow::field_error::{field_error, log_spaced};
use fieldflow::fields::{Field, MarginalField, Source};
use fieldflow::learn::LearnedField;
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
With --test, the two-sample check battery of the samples against the held-out points
runs too (as `fieldflow check --reference`: Bonferroni at --alpha, permutations seeded
by --seed); its verdict is reported, the exit code stays 0.
With --model (the model that generated the samples, trained on --train), the error of
its field against the exact field of --train: at --levels levels log-spaced between the
model's top level and 1e-3, --level-n exact draws of p_s each, the relative RMS error
of the velocity f and of the posterior mean m = x - s f that the network predicts.

Examples:
  fieldflow measure --samples gen.csv --train data.csv --test heldout.csv
  fieldflow measure --samples gen.csv --train train.csv --test test.csv --model m.safetensors
  fieldflow measure --samples gen.csv --train data.csv --no-w2 --json m.json

Exit code: 0 success (whatever the verdict), 2 bad input.")]
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
    /// The model that generated the samples: also measure its field against the
    /// exact field of --train.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Levels of the field error (log-spaced from the model's top level to 1e-3).
    #[arg(long, default_value_t = 8, requires = "model", value_parser = super::memory::count)]
    levels: usize,
    /// Exact draws of p_s per level for the field error.
    #[arg(long, default_value_t = 1000, requires = "model", value_parser = super::memory::count)]
    level_n: usize,
    /// Family-wise level of the check battery against --test.
    #[arg(allow_hyphen_values = true, long, default_value_t = 0.01)]
    alpha: f64,
    /// Permutations per test of the check battery.
    #[arg(long, default_value_t = 999, value_parser = super::memory::count)]
    permutations: usize,
    /// Skip the check battery.
    #[arg(long)]
    no_checks: bool,
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
    inputs.extend(args.model.as_deref());
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
    if args.permutations == 0 || args.permutations > fieldflow::limits::MAX_PERMUTATIONS {
        anyhow::bail!(
            "--permutations must be between 1 and {}, got {}",
            fieldflow::limits::MAX_PERMUTATIONS,
            args.permutations
        );
    }
    let battery = if args.no_checks || args.test.is_none() {
        None
    } else {
        let mut b = Battery::new(args.alpha)?;
        b.config.seed = args.seed;
        b.config.permutations = args.permutations;
        Some(b)
    };
    if args.model.is_some() && args.levels < 2 {
        anyhow::bail!(
            "--levels must be at least 2 (the two ends), got {}",
            args.levels
        );
    }
    let model = args.model.as_deref().map(LearnedField::load).transpose()?;
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
    // the inputs were validated above: what is left is a sample too small for the tests
    let (checks, checks_skipped) = match (&battery, &test) {
        (Some(b), Some(t)) => match b.two_sample(x.view(), t.view()) {
            Ok(r) => (Some(r), None),
            Err(e) => (None, Some(e.to_string())),
        },
        _ => (None, None),
    };
    let mut hash_note = None;
    let field = match &model {
        Some(lf) => {
            if lf.dim() != train.ncols() {
                anyhow::bail!(
                    "--model {} is for d = {} but --train has {} columns",
                    args.model
                        .as_deref()
                        .unwrap_or_else(|| "".as_ref())
                        .display(),
                    lf.dim(),
                    train.ncols()
                );
            }
            if fieldflow::learn::model::data_hash(train.view()) != lf.model().meta().data_sha256 {
                hash_note = Some(
                    "note: --train is not the model's training set (its SHA-256 differs); \
                     the field error is against the exact field of --train",
                );
            }
            let exact = MarginalField::new(lf.kind(), Source::points(train.view(), None)?)?;
            let opts = fieldflow::sampling::SampleOptions::for_schedule(lf.schedule());
            let levels = log_spaced(lf.default_s_max(), opts.s_min, args.levels)?;
            Some(field_error(lf, &exact, &levels, args.level_n, args.seed)?)
        }
        None => None,
    };
    spin.finish_and_clear();
    if let Some(path) = &args.json {
        let mut v = serde_json::to_value(&report)?;
        v["checks"] = serde_json::to_value(&checks)?;
        if let Some(why) = &checks_skipped {
            v["checks_skipped"] = serde_json::Value::from(why.as_str());
        }
        v["field_error"] = serde_json::to_value(&field)?;
        let text = serde_json::to_string_pretty(&v)? + "\n";
        fieldflow::io::write_text(path, &text, args.force).map_err(super::output::exists_hint)?;
    }
    outln!("{}", report.to_string().trim_end());
    if let Some(c) = &checks {
        outln!("check battery, samples against the held-out points:");
        outln!("{c}");
    }
    if let Some(why) = &checks_skipped {
        outln!("check battery against the held-out points not run: {why}");
    }
    if let Some(fe) = &field {
        outln!("{}", fe.to_string().trim_end());
    }
    if let Some(note) = hash_note {
        eprintln!("{note}");
    }
    if test.is_none() {
        eprintln!(
            "note: without --test there is no baseline for the memorised fraction \
             (fresh draws of a smooth law score about threshold^d) and no W2"
        );
    }
    Ok(ExitCode::SUCCESS)
}
