//! `fieldflow datasets`: draw a toy data set and write it to a point file.
//!
//! ```text
//! fieldflow datasets NAME --n N --seed SEED --out FILE [--force]
//! ```
//!
//! NAME is one of the eight toy data sets of `fieldflow::data::Dataset`, or
//! `mixture:SPEC` for an isotropic Gaussian mixture in any dimension, with SPEC as
//! parsed by `fieldflow::data::GaussianMixture` (`WEIGHT@X1,...,XD~STD` components
//! separated by `/`, e.g. `'mixture:1@-2,0~0.5/1@2,0~0.5'`, or `mixture:8gaussians`).
//! The output
//! format follows the extension of FILE (`.csv` or `.npy`). An existing FILE is only
//! replaced with `--force`; the parent directory must exist; nothing partial is ever
//! left behind.

use anyhow::{bail, Context};
use clap::Parser;
use fieldflow::data::{Dataset, GaussianMixture};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `fieldflow datasets`.
#[derive(Debug, Parser)]
#[command(allow_negative_numbers = true)]
#[command(after_help = "\
Examples:
  fieldflow datasets 8gaussians --n 2000 --seed 0 --out data.csv
  fieldflow datasets moons --n 1000 --out moons.npy
  fieldflow datasets 'mixture:1@-2,0~0.5/1@2,0~0.5' --n 500 --out two.csv

CSV output has the header x0,x1,...; .npy holds an n x d float64 array.
Exit code: 0 success, 2 bad input (nothing written).")]
pub struct Args {
    /// Data set: swissroll, circles, rings, moons, 8gaussians, pinwheel, 2spirals,
    /// checkerboard, or mixture:SPEC (components WEIGHT@X1,...,XD~STD separated by
    /// '/', e.g. 'mixture:1@-2,0~0.5/1@2,0~0.5').
    pub name: String,
    /// Number of points (at least 1; `1e4` is read as 10000).
    #[arg(long, value_parser = super::memory::count)]
    pub n: usize,
    /// Seed of the random stream (same seed, same points).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output file, `.csv` or `.npy` (`-` or `csv:-` for CSV on standard output,
    /// `npy:-` for .npy).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
}

/// Where the points come from.
enum Source {
    Toy(Dataset),
    Mixture(GaussianMixture),
}

/// Runs `fieldflow datasets`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (set, points_of): (String, Source) = match args.name.strip_prefix("mixture:") {
        Some(spec) => {
            let gm: GaussianMixture = spec.parse()?;
            (args.name.clone(), Source::Mixture(gm))
        }
        None => {
            let d: Dataset = args.name.parse()?;
            (d.to_string(), Source::Toy(d))
        }
    };
    if args.n == 0 {
        bail!("--n must be at least 1");
    }
    let d = match &points_of {
        Source::Toy(t) => t.dim(),
        Source::Mixture(gm) => gm.dim(),
    };
    // the points and the text or bytes written from them
    super::memory::ensure_fits(
        &format!("--n {} (the points)", args.n),
        super::memory::bytes(args.n, 2 * 8 * d as u128),
    )?;
    // Check the output before doing any work.
    super::output::check_outputs(
        &[(&args.out, "--out", super::output::Kind::Points)],
        &[],
        args.force,
    )?;
    let points = match &points_of {
        Source::Toy(d) => d.try_sample_seeded(args.n, args.seed)?,
        Source::Mixture(gm) => gm.try_sample(args.n, &mut fieldflow::rng::seeded(args.seed))?,
    };
    let mut out = super::output::Outputs::new(args.force);
    out.points(&args.out, points.view())
        .and_then(|()| out.commit())
        .with_context(|| format!("cannot save data set {set}"))?;
    crate::say!(
        "wrote {} points of {set} (seed {}) to {}",
        args.n,
        args.seed,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
