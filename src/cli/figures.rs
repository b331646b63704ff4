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

use super::plot::{create_dir, refuse_existing, FigureArgs};
use anyhow::Context;
use clap::Parser;
use fieldflow::plots::{make_all, FigureKind};
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
    #[command(flatten)]
    pub common: FigureArgs,
}

/// Runs `fieldflow figures`; the global `--quiet` silences the progress lines on
/// stderr.
pub fn run(args: Args, quiet: bool) -> anyhow::Result<ExitCode> {
    let common = &args.common;
    let owned = common.out.join(MARKER).is_file();
    let why = format!(
        " and {} was not made by `fieldflow figures`",
        common.out.display()
    );
    refuse_existing(&common.out, &FigureKind::ALL, owned || common.force, &why)?;
    create_dir(&common.out)?;
    std::fs::write(
        common.out.join(MARKER),
        "written by `fieldflow figures`: its figure files may be regenerated here\n",
    )
    .with_context(|| format!("cannot write into {}", common.out.display()))?;
    let opts = common.options(true, None);
    let start = Instant::now();
    let made = make_all(&common.out, &opts, |m| {
        if !quiet {
            eprintln!(
                "  {:<15} {:>6.1} s  {}",
                m.kind.name(),
                m.elapsed.as_secs_f64(),
                m.files.png.display()
            );
        }
    })?;
    outln!(
        "wrote {} figures (PNG + SVG) to {} in {:.1} s",
        made.len(),
        common.out.display(),
        start.elapsed().as_secs_f64()
    );
    for m in &made {
        outln!(
            "  {:<15} {:>6.1} s  {}",
            m.kind.name(),
            m.elapsed.as_secs_f64(),
            m.kind.describe()
        );
    }
    Ok(ExitCode::SUCCESS)
}
