//! `fieldflow figures --out DIR`: every README figure.
//!
//! ```text
//! fieldflow figures --out plots/ [--quick] [--seed S] [--force]
//! ```
//!
//! Overwriting: `figures` owns the folder it writes; it leaves a marker file
//! `DIR/.fieldflow-figures` there, and regenerating into a folder with that marker
//! replaces the figure files (`STEM.png`, `STEM.svg`) without `--force`. Into any
//! other folder an existing figure file is only replaced with `--force`. Files other
//! than the figures' own are never touched.

use anyhow::{bail, Context};
use clap::Parser;
use fieldflow::plots::{make_all, FigureKind, FigureOptions, Size};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// The marker that says a folder was written by `fieldflow figures`.
pub const MARKER: &str = ".fieldflow-figures";

/// Arguments of `fieldflow figures`.
#[derive(Debug, Parser)]
#[command(allow_negative_numbers = true)]
#[command(
    after_help = "Example:\n  fieldflow figures --out plots/\n  fieldflow figures --out /tmp/figs --quick"
)]
pub struct Args {
    /// Output directory (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Reduced size (fewer particles and grid cells; for tests).
    #[arg(long)]
    pub quick: bool,
    /// Base seed of the figures' random draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Replace existing figure files even in a folder `figures` did not make.
    #[arg(long)]
    pub force: bool,
}

/// Runs `fieldflow figures`; the global `--quiet` silences the progress lines on
/// stderr.
pub fn run(args: Args, quiet: bool) -> anyhow::Result<ExitCode> {
    if args.out.exists() && !args.out.is_dir() {
        bail!("{} exists and is not a directory", args.out.display());
    }
    let owned = args.out.join(MARKER).is_file();
    if !owned && !args.force {
        for kind in FigureKind::ALL {
            for ext in ["png", "svg"] {
                let f = args.out.join(format!("{}.{ext}", kind.stem()));
                if f.exists() {
                    bail!(
                        "{} already exists and {} was not made by `fieldflow figures`; use --force to replace it",
                        f.display(),
                        args.out.display()
                    );
                }
            }
        }
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    std::fs::write(
        args.out.join(MARKER),
        "written by `fieldflow figures`: its figure files may be regenerated here\n",
    )
    .with_context(|| format!("cannot write into {}", args.out.display()))?;
    let opts = FigureOptions {
        size: if args.quick { Size::Quick } else { Size::Full },
        seed: args.seed,
        overwrite: true,
        data: None,
    };
    let start = Instant::now();
    let made = make_all(&args.out, &opts, |m| {
        if !quiet {
            eprintln!(
                "  {:<15} {:>6.1} s  {}",
                m.kind.name(),
                m.elapsed.as_secs_f64(),
                m.files.png.display()
            );
        }
    })?;
    println!(
        "wrote {} figures (PNG + SVG) to {} in {:.1} s",
        made.len(),
        args.out.display(),
        start.elapsed().as_secs_f64()
    );
    for m in &made {
        println!(
            "  {:<15} {:>6.1} s  {}",
            m.kind.name(),
            m.elapsed.as_secs_f64(),
            m.kind.describe()
        );
    }
    Ok(ExitCode::SUCCESS)
}
