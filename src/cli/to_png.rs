//! `fieldflow to-png`: write points (e.g. generated samples) as PNG images.
//!
//! ```text
//! fieldflow to-png FILE --shape HxW[xC] [--max V] --out DIR [--prefix P] [--force]
//! ```
//!
//! Each row of FILE becomes `DIR/P00000.png`, ... : an 8-bit grey (C = 1) or RGB
//! (C = 3) image of H rows and W columns, pixels in row-major order with the channels
//! of a pixel next to each other (the layout `datasets images` reads). Values are
//! divided by `--max` (16 for the digits, 1 for images read from PNG files), clipped
//! to [0, 1] and rounded to 256 levels. All files appear together or none; existing
//! files are replaced only with `--force`.

use anyhow::{bail, Context};
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `fieldflow to-png`.
#[derive(Debug, Parser)]
#[command(after_help = "\
Examples:
  fieldflow sample --field poisson --dataset digits --standardize global --n 16 --out gen.csv
  fieldflow to-png gen.csv --shape 8x8 --max 16 --out gen_png/
Exit code: 0 success, 2 bad input (nothing written).")]
pub struct Args {
    /// Points file (`.csv`, `.npy`, `.npz`, `-`), one image per row.
    pub points: PathBuf,
    /// Image shape: HEIGHTxWIDTH (grey) or HEIGHTxWIDTHx3 (RGB).
    #[arg(long)]
    pub shape: String,
    /// The value drawn white (full intensity).
    #[arg(long, default_value_t = 1.0)]
    pub max: f64,
    /// Existing output folder.
    #[arg(long)]
    pub out: PathBuf,
    /// File-name prefix.
    #[arg(long, default_value = "img")]
    pub prefix: String,
    /// Replace existing files.
    #[arg(long)]
    pub force: bool,
}

/// Parses `HxW` or `HxWxC`.
fn shape(text: &str) -> anyhow::Result<(usize, usize, usize)> {
    let v: Vec<usize> = text
        .split('x')
        .map(|p| p.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("--shape {text}: expected HEIGHTxWIDTH or HEIGHTxWIDTHx3"))?;
    match v[..] {
        [h, w] => Ok((h, w, 1)),
        [h, w, c] => Ok((h, w, c)),
        _ => bail!("--shape {text}: expected HEIGHTxWIDTH or HEIGHTxWIDTHx3"),
    }
}

/// Runs `fieldflow to-png`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (h, w, c) = shape(&args.shape)?;
    if !(args.max.is_finite() && args.max > 0.0) {
        bail!("--max must be a positive number, got {}", args.max);
    }
    if args.prefix.contains(['/', '\\']) {
        bail!("--prefix must be a file-name prefix, not a path");
    }
    let x = super::output::read_points(&args.points)?;
    let scaled = x.mapv(|v| v / args.max);
    let files = fieldflow::io::write_png_images(
        &args.out,
        &args.prefix,
        scaled.view(),
        (w, h, c),
        args.force,
    )?;
    crate::say!(
        "wrote {} {h} x {w} image(s) to {}",
        files.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
