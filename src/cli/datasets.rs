//! `fieldflow datasets`: draw a toy data set and write it to a point file.
//!
//! ```text
//! fieldflow datasets NAME --n N --seed SEED --out FILE [--force]
//! ```
//!
//! NAME is one of the eight toy data sets of `fieldflow::data::Dataset`. The output
//! format follows the extension of FILE (`.csv` or `.npy`). An existing FILE is only
//! replaced with `--force`; the parent directory must exist; nothing partial is ever
//! left behind.

use anyhow::{bail, Context};
use clap::Parser;
use fieldflow::data::Dataset;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `fieldflow datasets`.
#[derive(Debug, Parser)]
pub struct Args {
    /// Data set: swissroll, circles, rings, moons, 8gaussians, pinwheel, 2spirals,
    /// checkerboard.
    pub name: String,
    /// Number of points (at least 1).
    #[arg(long)]
    pub n: usize,
    /// Seed of the random stream (same seed, same points).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output file, `.csv` or `.npy`.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
}

/// Runs `fieldflow datasets`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let set: Dataset = args.name.parse()?;
    if args.n == 0 {
        bail!("--n must be at least 1");
    }
    // Check the format before doing any work.
    fieldflow::io::PointFormat::from_path(&args.out)?;
    let points = set.sample_seeded(args.n, args.seed);
    match fieldflow::io::write_points(&args.out, points.view(), args.force) {
        Err(e @ fieldflow::Error::FileExists { .. }) => {
            bail!("{e}; use --force to replace it")
        }
        other => other.with_context(|| format!("cannot save data set {set}"))?,
    }
    println!(
        "wrote {} points of {set} (seed {}) to {}",
        args.n,
        args.seed,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
