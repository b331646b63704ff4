//! The list of the project's figures, their common options, and a driver that makes
//! one or all of them (the command line's `plot` and `figures`).

use super::FigureFiles;
use crate::{Error, Result};
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

/// How much work a figure does: `Full` for the README, `Quick` for tests (fewer
/// particles, lines and grid cells; the same pictures, coarser).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Size {
    /// The README size.
    #[default]
    Full,
    /// The reduced size for tests.
    Quick,
}

impl Size {
    /// `full` or `quick`, by size.
    pub fn pick<T>(self, full: T, quick: T) -> T {
        match self {
            Size::Full => full,
            Size::Quick => quick,
        }
    }
}

/// A user's 2-D data set for the figures that draw a field of data
/// (`trajectories`, `velocity`, `density`), instead of their built-in toy sets.
#[derive(Debug, Clone, PartialEq)]
pub struct UserData {
    /// A name for titles (e.g. the file name).
    pub name: String,
    /// The points, `m x 2`, finite.
    pub points: ndarray::Array2<f64>,
}

impl UserData {
    /// Checks that `points` is a non-empty finite `m x 2` array.
    pub fn new(name: impl Into<String>, points: ndarray::Array2<f64>) -> Result<Self> {
        if points.nrows() == 0 {
            return Err(Error::Empty {
                what: "data points",
            });
        }
        if points.ncols() != 2 {
            return Err(Error::DimensionMismatch {
                what: "figure data columns (the figures are 2-D)",
                expected: 2,
                got: points.ncols(),
            });
        }
        if let Some(((r, c), _)) = points.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(Error::NonFinite {
                what: "data points",
                row: r,
                col: c,
            });
        }
        Ok(Self {
            name: name.into(),
            points,
        })
    }
}

/// Options every figure takes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FigureOptions {
    /// Full or quick.
    pub size: Size,
    /// Base seed of every random draw (each figure derives its streams from it).
    pub seed: u64,
    /// Replace existing files.
    pub overwrite: bool,
    /// A user's data set for `trajectories`, `velocity` and `density` (the other
    /// figures ignore it).
    pub data: Option<UserData>,
}

/// The figures, by the names the command line uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FigureKind {
    /// 1. Field lines of the Poisson field in the `(x, s)` plane for 1-D data.
    FieldLines,
    /// 2. PFGM trajectories prior -> data for moons and 8gaussians, coloured by `s`.
    Trajectories,
    /// 3. The velocity field at several `s`.
    Velocity,
    /// 4. The marginal density `p_s` as heat maps across `s`.
    Density,
    /// 5. Generated against target, with the checks' p-values.
    Compare,
    /// 6. Su's 1-D demo: linear path, uniform prior, three data points.
    Su1d,
    /// 7. Valid and invalid force laws `K = d, d + 1, d + 2`, with verdicts.
    ForceLaws,
    /// 8. Error against function evaluations for every solver (work-precision).
    WorkPrecision,
    /// 9. PFGM++ from `D = 1` to the Gaussian limit.
    Pfgmpp,
    /// 10. Few-step samplers against the exact solution (error against evaluations).
    Samplers,
    /// The eight toy data sets.
    Datasets,
    /// Exact fields on the 8 x 8 digits: samples beside their nearest training
    /// images, and one path as images over levels.
    Digits,
    /// A learned linear field on moons against the exact field of its training set:
    /// `m(x) - x` at several levels.
    LearnedVelocity,
    /// Samples of the learned and of the exact field coloured by the memorisation
    /// ratio, with the ratio's distribution beside held-out points.
    LearnedMemorisation,
    /// The training loss (per-window means with a min-max band, held-out).
    LearnedLoss,
    /// Memorised fraction against the training-set size, learned and exact fields.
    LearnedMemorisationN,
    /// A learned Gaussian field on the digits: samples beside their nearest
    /// training images and the exact field's samples, memorised fractions.
    LearnedDigits,
}

impl FigureKind {
    /// Every figure, in README order.
    pub const ALL: [FigureKind; 17] = [
        FigureKind::FieldLines,
        FigureKind::Trajectories,
        FigureKind::Velocity,
        FigureKind::Density,
        FigureKind::Compare,
        FigureKind::Su1d,
        FigureKind::ForceLaws,
        FigureKind::WorkPrecision,
        FigureKind::Pfgmpp,
        FigureKind::Samplers,
        FigureKind::Datasets,
        FigureKind::Digits,
        FigureKind::LearnedVelocity,
        FigureKind::LearnedMemorisation,
        FigureKind::LearnedLoss,
        FigureKind::LearnedMemorisationN,
        FigureKind::LearnedDigits,
    ];

    /// The command-line name (`field-lines`, ...).
    pub fn name(self) -> &'static str {
        match self {
            FigureKind::FieldLines => "field-lines",
            FigureKind::Trajectories => "trajectories",
            FigureKind::Velocity => "velocity",
            FigureKind::Density => "density",
            FigureKind::Compare => "compare",
            FigureKind::Su1d => "su1d",
            FigureKind::ForceLaws => "force-laws",
            FigureKind::WorkPrecision => "work-precision",
            FigureKind::Pfgmpp => "pfgmpp",
            FigureKind::Samplers => "samplers",
            FigureKind::Datasets => "datasets",
            FigureKind::Digits => "digits",
            FigureKind::LearnedVelocity => "learned-velocity",
            FigureKind::LearnedMemorisation => "learned-memorisation",
            FigureKind::LearnedLoss => "learned-loss",
            FigureKind::LearnedMemorisationN => "learned-memorisation-n",
            FigureKind::LearnedDigits => "learned-digits",
        }
    }

    /// The file stem (`field_lines` for `field_lines.png` and `.svg`).
    pub fn stem(self) -> &'static str {
        match self {
            FigureKind::FieldLines => "field_lines",
            FigureKind::Trajectories => "trajectories",
            FigureKind::Velocity => "velocity",
            FigureKind::Density => "density",
            FigureKind::Compare => "compare",
            FigureKind::Su1d => "su1d",
            FigureKind::ForceLaws => "force_laws",
            FigureKind::WorkPrecision => "work_precision",
            FigureKind::Pfgmpp => "pfgmpp",
            FigureKind::Samplers => "samplers",
            FigureKind::Datasets => "datasets",
            FigureKind::Digits => "digits",
            FigureKind::LearnedVelocity => "learned_velocity",
            FigureKind::LearnedMemorisation => "learned_memorisation",
            FigureKind::LearnedLoss => "learned_loss",
            FigureKind::LearnedMemorisationN => "learned_memorisation_n",
            FigureKind::LearnedDigits => "learned_digits",
        }
    }

    /// One line on what the figure shows.
    pub fn describe(self) -> &'static str {
        match self {
            FigureKind::FieldLines => {
                "field lines of the Poisson field in the (x, s) plane, 1-D data"
            }
            FigureKind::Trajectories => {
                "PFGM trajectories prior -> data (moons, 8gaussians), coloured by s"
            }
            FigureKind::Velocity => "PFGM velocity field on 8gaussians at several s",
            FigureKind::Density => "marginal density p_s of PFGM on moons across s",
            FigureKind::Compare => "generated against target with the checks' p-values",
            FigureKind::Su1d => "Su's 1-D demo: linear path, uniform prior on [0, 2]",
            FigureKind::ForceLaws => {
                "force laws K = d, d + 1, d + 2: pushforward against the exact marginal"
            }
            FigureKind::WorkPrecision => "error against function evaluations for every solver",
            FigureKind::Pfgmpp => {
                "PFGM++ from D = 1 to the Gaussian limit: trajectories and samples"
            }
            FigureKind::Samplers => {
                "few-step samplers and adaptive solvers against the exact solution"
            }
            FigureKind::Datasets => "the eight toy data sets",
            FigureKind::Digits => {
                "exact fields on the 8x8 digits: samples beside their nearest training images"
            }
            FigureKind::LearnedVelocity => {
                "learned vs exact linear field on moons: m(x) - x at several levels"
            }
            FigureKind::LearnedMemorisation => {
                "samples of the learned and the exact field coloured by d1/d2 (memorisation)"
            }
            FigureKind::LearnedLoss => "training loss of the learned field, train and held-out",
            FigureKind::LearnedMemorisationN => {
                "memorised fraction against training-set size N = 16..4096, learned and exact"
            }
            FigureKind::LearnedDigits => {
                "learned vs exact Gaussian field on the 8x8 digits: samples, nearest images, memorised"
            }
        }
    }
}

impl fmt::Display for FigureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FigureKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let key = s.to_ascii_lowercase().replace('_', "-");
        FigureKind::ALL
            .into_iter()
            .find(|k| k.name() == key)
            .ok_or_else(|| Error::UnknownName {
                kind: "figure",
                name: s.to_string(),
                known: FigureKind::ALL.map(|k| k.name()).join(", "),
            })
    }
}

/// A figure that was made: which, its files, and how long it took.
#[derive(Debug, Clone, PartialEq)]
pub struct MadeFigure {
    /// The figure.
    pub kind: FigureKind,
    /// Its files.
    pub files: FigureFiles,
    /// Wall-clock time to compute and draw it.
    pub elapsed: Duration,
}

/// Makes one figure into the existing directory `out_dir` (files `STEM.png` and
/// `STEM.svg`).
pub fn make_figure(kind: FigureKind, out_dir: &Path, opts: &FigureOptions) -> Result<MadeFigure> {
    let start = Instant::now();
    let files = match kind {
        FigureKind::FieldLines => super::field_lines::make(out_dir, opts),
        FigureKind::Trajectories => super::trajectories::make(out_dir, opts),
        FigureKind::Velocity => super::velocity::make(out_dir, opts),
        FigureKind::Density => super::density::make(out_dir, opts),
        FigureKind::Compare => super::compare::make(out_dir, opts),
        FigureKind::Su1d => super::su1d::make(out_dir, opts),
        FigureKind::ForceLaws => super::force_laws::make(out_dir, opts),
        FigureKind::WorkPrecision => super::work_precision::make(out_dir, opts),
        FigureKind::Pfgmpp => super::pfgmpp::make(out_dir, opts),
        FigureKind::Samplers => super::samplers::make(out_dir, opts),
        FigureKind::Digits => super::digits::make(out_dir, opts),
        FigureKind::LearnedVelocity => super::learned::make_velocity(out_dir, opts),
        FigureKind::LearnedMemorisation => super::learned::make_memorisation(out_dir, opts),
        FigureKind::LearnedLoss => super::learned::make_loss(out_dir, opts),
        FigureKind::LearnedMemorisationN => super::learned::make_memorisation_n(out_dir, opts),
        FigureKind::LearnedDigits => super::learned_digits::make(out_dir, opts),
        FigureKind::Datasets => {
            let grid = super::DatasetsGrid {
                n: opts.size.pick(2000, 300),
                seed: opts.seed,
            };
            super::save_figure(
                &grid,
                out_dir.join(kind.stem()),
                (1600, 850),
                opts.overwrite,
            )
        }
    }?;
    Ok(MadeFigure {
        kind,
        files,
        elapsed: start.elapsed(),
    })
}

/// Makes every figure of [`FigureKind::ALL`] into the existing directory `out_dir`,
/// calling `progress` after each one; stops at the first error.
pub fn make_all(
    out_dir: &Path,
    opts: &FigureOptions,
    mut progress: impl FnMut(&MadeFigure),
) -> Result<Vec<MadeFigure>> {
    let mut made = Vec::new();
    for kind in FigureKind::ALL {
        let m = make_figure(kind, out_dir, opts)?;
        progress(&m);
        made.push(m);
    }
    Ok(made)
}
