//! `fieldflow plot KIND`: one figure, computed afresh.
//!
//! ```text
//! fieldflow plot field-lines --out plots/ [--quick] [--seed S] [--force]
//! ```
//!
//! KIND is one of `field-lines`, `trajectories`, `velocity`, `density`, `compare`,
//! `su1d`, `force-laws`, `work-precision`, `pfgmpp`, `datasets`. The figure is written
//! as `DIR/STEM.png` and `DIR/STEM.svg` (the directory is created if needed); an
//! existing file is only replaced with `--force`.

use anyhow::{bail, Context};
use clap::Parser;
use fieldflow::plots::{make_figure, FigureKind, FigureOptions, Size};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `fieldflow plot`.
#[derive(Debug, Parser)]
#[command(
    after_help = "Example:\n  fieldflow plot field-lines --out plots/\n  fieldflow plot work-precision --out /tmp/figs --quick --force"
)]
pub struct Args {
    /// Figure: field-lines, trajectories, velocity, density, compare, su1d,
    /// force-laws, work-precision, pfgmpp, datasets.
    pub kind: String,
    /// Output directory (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Reduced size (fewer particles and grid cells; for tests).
    #[arg(long)]
    pub quick: bool,
    /// Base seed of the figure's random draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Replace existing figure files.
    #[arg(long)]
    pub force: bool,
}

/// Runs `fieldflow plot`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let kind: FigureKind = args.kind.parse()?;
    if args.out.exists() && !args.out.is_dir() {
        bail!("{} exists and is not a directory", args.out.display());
    }
    let opts = FigureOptions {
        size: if args.quick { Size::Quick } else { Size::Full },
        seed: args.seed,
        overwrite: args.force,
    };
    // refuse before computing anything
    if !args.force {
        for ext in ["png", "svg"] {
            let f = args.out.join(format!("{}.{ext}", kind.stem()));
            if f.exists() {
                bail!("{} already exists; use --force to replace it", f.display());
            }
        }
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let made = make_figure(kind, &args.out, &opts)
        .with_context(|| format!("cannot make figure {kind}"))?;
    println!(
        "{kind}: wrote {} and {} in {:.1} s",
        made.files.png.display(),
        made.files.svg.display(),
        made.elapsed.as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
