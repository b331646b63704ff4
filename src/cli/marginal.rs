//! `fieldflow marginal`: exact samples of the marginal `p_s` of a field.
//!
//! ```text
//! fieldflow marginal --field F [--aug-dim D] [--power K] (--data FILE | --dataset NAME)
//!                    --s S --n N --seed SEED --out FILE [--force]
//! ```
//!
//! Draws `x = alpha(s) y + sigma(s) U` with `y` from the data (by weight) and `U`
//! from the field's law `nu` (the Poisson law for `power`). Same seed, same points,
//! for any thread count.

use super::field_args::{build, DataOpts, FieldOpts};
use super::output::Outputs;
use anyhow::bail;
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `fieldflow marginal`.
#[derive(Debug, Parser)]
#[command(allow_negative_numbers = true)]
#[command(after_help = "\
Examples:
  fieldflow marginal --field poisson --dataset 8gaussians --data-n 1000 --s 0.5 --n 2000 --out p05.csv
  fieldflow marginal --field gaussian --dataset 8gaussians --mixture --s 1 --n 1000 --out g1.npy
  fieldflow marginal --field pfgmpp --aug-dim 4 --data data.csv --weights w.csv --s 2 --n 500 --out m.csv

Exit code: 0 success, 2 bad input (nothing written).")]
pub struct Args {
    #[command(flatten)]
    pub(crate) field: FieldOpts,
    #[command(flatten)]
    pub(crate) data: DataOpts,
    /// Level s > 0 (at most 1 for `linear`).
    #[arg(allow_hyphen_values = true, long)]
    s: f64,
    /// Number of samples.
    #[arg(long, value_parser = super::memory::count)]
    n: usize,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output file (`.csv` or `.npy`; `-` or `npy:-` for standard output).
    #[arg(long)]
    out: PathBuf,
    /// Replace the output file if it exists.
    #[arg(long)]
    force: bool,
}

/// Runs `fieldflow marginal`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.n == 0 {
        bail!("--n must be at least 1");
    }
    let mut inputs: Vec<&std::path::Path> = Vec::new();
    inputs.extend(args.data.data.as_deref());
    inputs.extend(args.data.weights.as_deref());
    super::output::check_outputs(
        &[(&args.out, "--out", super::output::Kind::Points)],
        &inputs,
        args.force,
    )?;
    let mf = build(&args.field, &args.data)?;
    // the draws, the finite rows kept for writing, and the file's buffer
    super::memory::ensure_fits(
        &format!("--n {} (the samples)", args.n),
        super::memory::bytes(args.n, 3 * 8 * mf.dim() as u128),
    )?;
    let fieldflow::run::MarginalDraws { x, dropped } =
        fieldflow::run::marginal(&mf, args.s, args.n, args.seed)?;
    let mut out = Outputs::new(args.force);
    out.points(&args.out, x.view())?;
    out.commit()?;
    crate::say!(
        "wrote {} exact samples of p_s (field {}, s = {}, {} source components, seed {}) to {}{}",
        args.n - dropped,
        mf.kind(),
        args.s,
        mf.source().len(),
        args.seed,
        args.out.display(),
        if dropped > 0 {
            format!(" ({dropped} draws with an infinite radius left out)")
        } else {
            String::new()
        }
    );
    Ok(ExitCode::SUCCESS)
}
