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
//!
//! `--data FILE` (`.csv` or `.npy`, 2 columns) draws `trajectories`, `velocity` and
//! `density` for the PFGM field of the file's points instead of the built-in toy sets
//! (the window and the levels `s` follow the data's extent).

use anyhow::{bail, Context};
use clap::Parser;
use fieldflow::plots::{make_figure, FigureKind, FigureOptions, Size, UserData};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Options shared by `plot` and `figures`.
#[derive(Debug, clap::Args)]
pub struct FigureArgs {
    /// Output directory (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Reduced size (fewer particles and grid cells; for tests).
    #[arg(long)]
    pub quick: bool,
    /// Base seed of the figures' random draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Replace existing figure files (for `figures`: in a folder it did not make).
    #[arg(long)]
    pub force: bool,
}

impl FigureArgs {
    /// Library options for these arguments.
    pub fn options(&self, overwrite: bool, data: Option<UserData>) -> FigureOptions {
        FigureOptions {
            size: if self.quick { Size::Quick } else { Size::Full },
            seed: self.seed,
            overwrite,
            data,
        }
    }
}

/// Fails if `out` is not a folder, or (unless `replace`) if a figure of `kinds` is
/// already there; `why` ends the message. Called before anything is computed.
pub fn refuse_existing(
    out: &Path,
    kinds: &[FigureKind],
    replace: bool,
    why: &str,
) -> anyhow::Result<()> {
    if out.exists() && !out.is_dir() {
        bail!("{} exists and is not a directory", out.display());
    }
    if replace {
        return Ok(());
    }
    for kind in kinds {
        for ext in ["png", "svg"] {
            let f = out.join(format!("{}.{ext}", kind.stem()));
            if f.exists() {
                bail!(
                    "{} already exists{why}; use --force to replace it",
                    f.display()
                );
            }
        }
    }
    Ok(())
}

/// Creates the output folder.
pub fn create_dir(out: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))
}

/// Arguments of `fieldflow plot`.
#[derive(Debug, Parser)]
#[command(allow_negative_numbers = true)]
#[command(
    after_help = "Example:\n  fieldflow plot field-lines --out plots/\n  fieldflow plot work-precision --out /tmp/figs --quick --force\n  fieldflow plot trajectories --data points.csv --out /tmp/figs"
)]
pub struct Args {
    /// Figure: field-lines, trajectories, velocity, density, compare, su1d,
    /// force-laws, work-precision, pfgmpp, datasets.
    pub kind: String,
    #[command(flatten)]
    pub common: FigureArgs,
    /// 2-D points (.csv or .npy) for trajectories, velocity and density (the PFGM
    /// field of these points instead of the built-in toy sets).
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
}

/// Runs `fieldflow plot`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let kind: FigureKind = args.kind.parse()?;
    let common = &args.common;
    // refuse before computing anything
    refuse_existing(&common.out, &[kind], common.force, "")?;
    let data = match &args.data {
        Some(path) => {
            if !matches!(
                kind,
                FigureKind::Trajectories | FigureKind::Velocity | FigureKind::Density
            ) {
                bail!("--data applies to trajectories, velocity and density, not {kind}");
            }
            let points = fieldflow::io::read_points(path)?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "data".into());
            Some(UserData::new(name, points).with_context(|| path.display().to_string())?)
        }
        None => None,
    };
    let opts = common.options(common.force, data);
    create_dir(&common.out)?;
    let made = make_figure(kind, &common.out, &opts)
        .with_context(|| format!("cannot make figure {kind}"))?;
    println!(
        "{kind}: wrote {} and {} in {:.1} s",
        made.files.png.display(),
        made.files.svg.display(),
        made.elapsed.as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
