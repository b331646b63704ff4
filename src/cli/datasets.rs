//! `fieldflow datasets`: draw a data set and write it to a point file.
//!
//! ```text
//! fieldflow datasets NAME --n N --seed SEED --out FILE [--force]
//! fieldflow datasets digits [--n N] [--seed SEED] [--labels FILE] --out FILE
//! fieldflow datasets images DIR --out FILE
//! ```
//!
//! `digits` writes the bundled 8 x 8 handwritten digits (`fieldflow::data::digits`,
//! 1,797 images, d = 64, values 0..16): all of them in file order, or with `--n N`
//! the first N of a seeded random permutation (a draw without replacement);
//! `--labels FILE` writes their classes 0..9, one per row, in the same order.
//! `images DIR` reads a folder of PNG images (`fieldflow::io::read_png_folder`: sorted
//! by file name, one size, values scaled to [0, 1], alpha dropped).
//!
//! Otherwise NAME is one of the eight toy data sets of `fieldflow::data::Dataset`, or
//! `mixture:SPEC` for an isotropic Gaussian mixture in any dimension, with SPEC as
//! parsed by `fieldflow::data::GaussianMixture` (`WEIGHT@X1,...,XD~STD` components
//! separated by `/`, e.g. `'mixture:1@-2,0~0.5/1@2,0~0.5'`, or `mixture:8gaussians`).
//! The output
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
#[command(allow_negative_numbers = true)]
#[command(after_help = "\
Examples:
  fieldflow datasets 8gaussians --n 2000 --seed 0 --out data.csv
  fieldflow datasets moons --n 1000 --out moons.npy
  fieldflow datasets 'mixture:1@-2,0~0.5/1@2,0~0.5' --n 500 --out two.csv
  fieldflow datasets digits --out digits.npy --labels labels.csv
  fieldflow datasets digits --n 500 --seed 1 --out some_digits.csv
  fieldflow datasets images ./my_pngs --out images.npy

digits: the 1,797 bundled 8 x 8 UCI handwritten digits (values 0..16, d = 64),
  all in file order, or --n N <= 1797 drawn without replacement (seeded).
images DIR: every file of DIR is a PNG (sorted by name, one size, values in [0, 1]).

CSV output has the header x0,x1,...; .npy holds an n x d float64 array.
Exit code: 0 success, 2 bad input (nothing written).")]
pub struct Args {
    /// Data set: swissroll, circles, rings, moons, 8gaussians, pinwheel, 2spirals,
    /// checkerboard, mixture:SPEC (components WEIGHT@X1,...,XD~STD separated by
    /// '/', e.g. 'mixture:1@-2,0~0.5/1@2,0~0.5'), digits, or images (with DIR).
    pub name: String,
    /// The folder of PNG images of `images`.
    pub dir: Option<PathBuf>,
    /// Number of points (at least 1; `1e4` is read as 10000); for digits at most
    /// 1797 (default: all), not used by images.
    #[arg(long, value_parser = super::memory::count)]
    pub n: Option<usize>,
    /// digits only: also write the classes 0..9 of the images, one per row.
    #[arg(long)]
    pub labels: Option<PathBuf>,
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

/// Runs `fieldflow datasets digits` and `fieldflow datasets images DIR`.
fn run_images(args: &Args) -> anyhow::Result<ExitCode> {
    let mut files = vec![(args.out.as_path(), "--out", super::output::Kind::Points)];
    if let Some(l) = &args.labels {
        files.push((l.as_path(), "--labels", super::output::Kind::Points));
    }
    let inputs: Vec<&std::path::Path> = args.dir.iter().map(|p| p.as_path()).collect();
    super::output::check_outputs(&files, &inputs, args.force)?;
    let (points, labels, what) = if args.name == "digits" {
        // the labels need the draw itself (the points are those of run::datasets)
        let d = fieldflow::data::Digits::draw(args.n, args.seed)?;
        let what = match args.n {
            Some(n) => format!(
                "{n} of the 1797 digits drawn without replacement (seed {})",
                args.seed
            ),
            None => "the 1797 digits (file order)".to_string(),
        };
        (d.images, Some(d.labels), what)
    } else {
        let Some(dir) = &args.dir else {
            bail!("datasets images needs the folder: fieldflow datasets images DIR --out FILE");
        };
        if args.n.is_some() || args.labels.is_some() {
            bail!("datasets images takes every image of the folder: no --n or --labels");
        }
        let f = fieldflow::io::read_png_folder(dir)?;
        super::output::note(&f.notes);
        let what = format!("{} images of {}", f.points.nrows(), dir.display());
        (f.points, None, what)
    };
    let mut out = super::output::Outputs::new(args.force);
    out.points(&args.out, points.view())?;
    if let (Some(path), Some(l)) = (&args.labels, &labels) {
        let col = ndarray::Array2::from_shape_fn((l.len(), 1), |(i, _)| f64::from(l[i]));
        out.points(path, col.view())?;
    }
    out.commit().context("cannot save the data set")?;
    crate::say!("wrote {what} to {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}

/// Runs `fieldflow datasets`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.name == "digits" || args.name == "images" {
        if args.name == "digits" && args.dir.is_some() {
            bail!("datasets digits takes no folder");
        }
        return run_images(&args);
    }
    if args.dir.is_some() || args.labels.is_some() {
        bail!("a folder and --labels are only for datasets images and digits");
    }
    let Some(n) = args.n else {
        bail!("--n is required for {}", args.name);
    };
    // the set's name as written (a toy set by its canonical name)
    let set = match args.name.strip_prefix("mixture:") {
        Some(_) => args.name.clone(),
        None => args.name.parse::<Dataset>()?.to_string(),
    };
    let d = fieldflow::run::dataset_dim(&args.name)?;
    if n == 0 {
        bail!("--n must be at least 1");
    }
    // the points and the text or bytes written from them
    super::memory::ensure_fits(
        &format!("--n {n} (the points)"),
        super::memory::bytes(n, 2 * 8 * d as u128),
    )?;
    // Check the output before doing any work.
    super::output::check_outputs(
        &[(&args.out, "--out", super::output::Kind::Points)],
        &[],
        args.force,
    )?;
    let points = fieldflow::run::datasets(&args.name, Some(n), args.seed)?;
    let mut out = super::output::Outputs::new(args.force);
    out.points(&args.out, points.view())
        .and_then(|()| out.commit())
        .with_context(|| format!("cannot save data set {set}"))?;
    crate::say!(
        "wrote {} points of {set} (seed {}) to {}",
        n,
        args.seed,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
