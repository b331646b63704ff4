//! `fieldflow plot KIND`: one figure, computed afresh.
//!
//! ```text
//! fieldflow plot field-lines --out plots/ [--quick] [--seed S] [--force]
//! ```
//!
//! KIND is one of `field-lines`, `trajectories`, `velocity`, `density`, `compare`,
//! `su1d`, `force-laws`, `work-precision`, `pfgmpp`, `samplers`, `datasets`. The figure is written
//! as `DIR/STEM.png` and `DIR/STEM.svg` (the directory is created if needed); an
//! existing file is only replaced with `--force`.
//!
//! `--data FILE` (`.csv` or `.npy`, 2 columns) draws `trajectories`, `velocity` and
//! `density` for the PFGM field of the file's points instead of the built-in toy sets
//! (the window and the levels `s` follow the data's extent).
//!
//! Two modes draw files instead of a fresh run (see [`FILE_MODES`]):
//! `plot compare --samples FILE --reference FILE` and
//! `plot trajectories --paths FILE`.

use anyhow::{bail, Context};
use clap::Parser;
use fieldflow::checks::Battery;
use fieldflow::plots::compare::{save_points_figure, Compare};
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

/// The `after_help` of `plot`: examples and the file-driven modes.
pub const FILE_MODES: &str = "\
Examples:
  fieldflow plot field-lines --out plots/
  fieldflow plot work-precision --out /tmp/figs --quick --force
  fieldflow plot trajectories --data points.csv --out /tmp/figs
  fieldflow plot compare --samples gen.csv --reference data.npy --out /tmp/figs [--alpha 0.01] [--seed S]
  fieldflow plot trajectories --paths paths.npy --out /tmp/figs

From files (no fresh run):
  compare --samples FILE --reference FILE: the two point files (2 columns; .csv, .npy of
        any real type, .npz[:NAME], or - for standard input; the scatter is
        2-D; `fieldflow check` runs the tests in any dimension) side by
        side in a window around both, with the two-sample battery of `fieldflow check`
        (999 permutations, --seed S, Bonferroni verdict at family-wise level --alpha,
        default 0.01) in the caption. Writes compare.png and compare.svg.
  trajectories --paths FILE: a file of `fieldflow sample --trajectories` (2-D paths),
        coloured by log10 s (.csv stores the levels) or by level index k = 0 (start)
        .. K-1 (.npy does not), in a window around the end points. Writes
        trajectories.png and trajectories.svg.
  --quick and --data do not apply to these modes; --seed does not apply to --paths.
Existing files are replaced only with --force; the PNG and SVG of a figure appear together
or not at all. Exit code: 0 success, 2 bad input (nothing written).";

/// Arguments of `fieldflow plot`.
#[derive(Debug, Parser)]
#[command(allow_negative_numbers = true)]
#[command(after_help = FILE_MODES)]
pub struct Args {
    /// Figure: field-lines, trajectories, velocity, density, compare, su1d,
    /// force-laws, work-precision, pfgmpp, samplers, datasets, digits,
    /// learned-velocity, learned-memorisation, learned-loss, learned-memorisation-n,
    /// learned-digits.
    pub kind: String,
    #[command(flatten)]
    pub common: FigureArgs,
    /// 2-D points (.csv, .npy, .npz[:NAME], - for standard input) for trajectories, velocity and density (the PFGM
    /// field of these points instead of the built-in toy sets).
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// compare only: generated points (.csv, .npy, .npz[:NAME], -; 2 columns), drawn
    /// right.
    #[arg(long, value_name = "FILE")]
    pub samples: Option<PathBuf>,
    /// compare only: reference points (.csv, .npy, .npz[:NAME], -; 2 columns), drawn
    /// left.
    #[arg(long, value_name = "FILE")]
    pub reference: Option<PathBuf>,
    /// compare --samples only: family-wise level of the battery [default: 0.01].
    #[arg(long, value_name = "A")]
    pub alpha: Option<f64>,
    /// trajectories only: paths written by `fieldflow sample --trajectories`.
    #[arg(long, value_name = "FILE")]
    pub paths: Option<PathBuf>,
}

/// The file name of `path`, for titles.
fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// `plot compare --samples FILE --reference FILE`.
fn compare_files(args: &Args, samples: &Path, reference: &Path) -> anyhow::Result<ExitCode> {
    let common = &args.common;
    if args.data.is_some() || common.quick {
        bail!("--data and --quick do not apply to compare --samples");
    }
    let mut battery = Battery::new(args.alpha.unwrap_or(0.01))?;
    battery.config.seed = common.seed;
    refuse_existing(&common.out, &[FigureKind::Compare], common.force, "")?;
    let x = super::output::read_points(samples)?;
    let y = super::output::read_points(reference)?;
    for (path, pts) in [(samples, &x), (reference, &y)] {
        if pts.ncols() != 2 {
            bail!(
                "{}: {} columns, but plot compare draws 2-D points (use `fieldflow check` for the tests in any dimension)",
                path.display(),
                pts.ncols()
            );
        }
    }
    // the battery runs before the folder is made: a failure writes nothing
    let fig = Compare::from_points(
        (&file_name(samples), x.view()),
        (&file_name(reference), y.view()),
        &battery,
    )?;
    create_dir(&common.out)?;
    let (files, report) =
        save_points_figure(&fig, &common.out, FigureKind::Compare.stem(), common.force)?;
    for t in &report.tests {
        outln!("{:>10}  p = {}", t.name, fieldflow::plots::fmt_p(t.pvalue));
    }
    outln!(
        "verdict: {} (Bonferroni, family-wise alpha = {})",
        if report.reject { "REJECTED" } else { "pass" },
        report.alpha
    );
    outln!(
        "compare: wrote {} and {}",
        files.png.display(),
        files.svg.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `plot trajectories --paths FILE`.
fn trajectories_file(args: &Args, paths: &Path) -> anyhow::Result<ExitCode> {
    let common = &args.common;
    if args.data.is_some()
        || args.samples.is_some()
        || args.reference.is_some()
        || args.alpha.is_some()
        || common.quick
        || common.seed != 0
    {
        bail!("--paths takes only --out and --force (not --data, --samples, --reference, --alpha, --quick, --seed)");
    }
    refuse_existing(&common.out, &[FigureKind::Trajectories], common.force, "")?;
    let recorded = fieldflow::io::read_trajectories(paths)?;
    let name = file_name(paths);
    // validate (2-D, levels) before creating the folder
    let fig = fieldflow::plots::trajectories::PathsFile::new(name.clone(), recorded)
        .with_context(|| paths.display().to_string())?;
    create_dir(&common.out)?;
    let files = fieldflow::plots::trajectories::make_from_paths(
        &common.out,
        FigureKind::Trajectories.stem(),
        &name,
        fig.recorded,
        common.force,
    )?;
    outln!(
        "trajectories: wrote {} and {}",
        files.png.display(),
        files.svg.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs `fieldflow plot`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let kind: FigureKind = args.kind.parse()?;
    let common = &args.common;
    if let Some(paths) = &args.paths {
        if kind != FigureKind::Trajectories {
            bail!("--paths applies to trajectories, not {kind}");
        }
        return trajectories_file(&args, paths);
    }
    match (&args.samples, &args.reference) {
        (Some(_), _) | (_, Some(_)) if kind != FigureKind::Compare => {
            bail!("--samples and --reference apply to compare, not {kind}")
        }
        (Some(x), Some(y)) => return compare_files(&args, x, y),
        (Some(_), None) => bail!("--samples needs --reference (the points to compare with)"),
        (None, Some(_)) => bail!("--reference needs --samples (the points to compare)"),
        (None, None) => {
            if args.alpha.is_some() {
                bail!("--alpha applies to compare --samples FILE --reference FILE only");
            }
        }
    }
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
            let points = super::output::read_points(path)?;
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
    outln!(
        "{kind}: wrote {} and {} in {:.1} s",
        made.files.png.display(),
        made.files.svg.display(),
        made.elapsed.as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
