//! Figure 2: PFGM trajectories from the prior to the data, coloured by `s`.
//!
//! For moons and 8gaussians (empirical fields of a few hundred points) a few hundred
//! particles are drawn from the far-field prior at `s_max = 40` and integrated down
//! to `s_min = 1e-3` ([`crate::sampling::trajectories`], dopri5 in `ln s`); the dense
//! output records each path at log-spaced levels, and each segment is coloured by
//! `log10 s`. Paths enter the window from far away (the prior is heavy-tailed) and
//! end on data points.
//!
//! [`compute_panel_field`] records the paths of any 2-D [`Field`] from given start
//! points (an own or a learned field); [`make_from_paths`] draws a trajectories file of `fieldflow sample --trajectories`
//! ([`crate::io::read_trajectories`]) with the same path drawing ([`draw_paths`]).

use super::{
    axes, colorbar, colored_path, log_levels, save_figure, ColorScale, Figure, FigureFiles,
    FigureOptions,
};
use crate::data::Dataset;
use crate::fields::{Field, FieldKind, MarginalField, PriorKind, Source};
use crate::io::RecordedPaths;
use crate::ode::{Method, SolverOptions};
use crate::sampling::trajectories;
use crate::{Error, Result};
use ndarray::{Array2, Array3, ArrayView3};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// Paths of one data set.
#[derive(Debug, Clone)]
pub struct Panel {
    /// The data set's name.
    pub name: String,
    /// The plot window `(x range, y range)`.
    pub window: ((f64, f64), (f64, f64)),
    /// Its points (the field's source), `m x 2`.
    pub data: Array2<f64>,
    /// Paths, `n x levels x 2`.
    pub paths: Array3<f64>,
    /// The levels.
    pub levels: Vec<f64>,
}

/// The figure.
#[derive(Debug, Clone)]
pub struct Trajectories {
    /// What is drawn, for the title (`PFGM trajectories` for [`make`]).
    pub label: String,
    /// Where the paths start, for the title (`the far-field prior` for [`make`]).
    pub start: String,
    /// One panel per data set.
    pub panels: Vec<Panel>,
    /// Top level.
    pub s_max: f64,
    /// Bottom level.
    pub s_min: f64,
}

/// PFGM paths of `n_paths` far-field prior draws for the empirical field of `data`
/// (`m x 2`), recorded at `levels` log-spaced levels from `s_max` to `s_min`.
pub fn compute_panel(
    name: &str,
    data: Array2<f64>,
    window: ((f64, f64), (f64, f64)),
    n_paths: usize,
    levels: usize,
    (s_max, s_min): (f64, f64),
    seed: u64,
) -> Result<Panel> {
    let mf = MarginalField::new(FieldKind::Poisson, Source::points(data.view(), None)?)?;
    let x0 = mf.sample_prior(s_max, n_paths, seed + 1, PriorKind::FarField)?;
    let lv = log_levels(s_max, s_min, levels);
    let solver = SolverOptions::new(Method::Dopri5).tol(1e-6);
    compute_panel_field(name, &mf, x0.view(), data, window, lv, &solver)
}

/// The paths of any 2-D `field` from the start points `x0` (`n x 2`, at level
/// `levels[0]`) recorded at `levels` (from the start level down, see
/// [`trajectories`]); `data` (`m x 2`, may be empty) is drawn in grey.
pub fn compute_panel_field(
    name: &str,
    field: &dyn Field,
    x0: ndarray::ArrayView2<f64>,
    data: Array2<f64>,
    window: ((f64, f64), (f64, f64)),
    levels: Vec<f64>,
    solver: &SolverOptions,
) -> Result<Panel> {
    if field.dim() != 2 {
        return Err(Error::DimensionMismatch {
            what: "field dimension (the trajectories figure is 2-D)",
            expected: 2,
            got: field.dim(),
        });
    }
    let (Some(&a), Some(&b)) = (levels.first(), levels.last()) else {
        return Err(Error::Empty { what: "levels" });
    };
    let paths = trajectories(field, x0, a, b, &levels, solver)?;
    Ok(Panel {
        name: name.to_string(),
        window,
        data,
        paths,
        levels,
    })
}

impl Figure for Trajectories {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let n = self.panels.first().map(|p| p.paths.dim().0).unwrap_or(0);
        let root = root.titled(
            &format!(
                "{}: {n} particles from {}, s = {} -> {}, coloured by log10 s",
                self.label, self.start, self.s_max, self.s_min
            ),
            ("sans-serif", 20),
        )?;
        let w = root.dim_in_pixel().0;
        let (left, bar) = root.split_horizontally(w - 110);
        let panels = left.split_evenly((1, self.panels.len()));
        let scale = ColorScale::new(self.s_min.log10(), self.s_max.log10())?;
        for (p, area) in self.panels.iter().zip(&panels) {
            let box_ = p.window;
            let mut chart = axes(
                area,
                &if p.data.nrows() == 0 {
                    format!("{}: end points at s_min (red)", p.name)
                } else {
                    format!(
                        "{}: {} data points (grey), end points at s_min (red)",
                        p.name,
                        p.data.nrows()
                    )
                },
                box_.0 .0..box_.0 .1,
                box_.1 .0..box_.1 .1,
                ("x1", "x2"),
            )?;
            let vals: Vec<f64> = p.levels.iter().map(|s| s.log10()).collect();
            draw_paths(
                &mut chart,
                p.paths.view(),
                &vals,
                &scale,
                box_,
                p.data.view(),
            )?;
        }
        colorbar(&bar, &scale, "log10 s", &|v| format!("{v:.1}"))?;
        Ok(())
    }
}

/// Makes `trajectories.png` and `.svg` in `out_dir`.
pub fn make(out_dir: &Path, opts: &FigureOptions) -> Result<FigureFiles> {
    let (s_max, s_min) = (40.0, 1e-3);
    let n = opts.size.pick(200, 40);
    let levels = opts.size.pick(160, 50);
    let sets: Vec<(String, Array2<f64>, super::Window)> = match &opts.data {
        Some(u) => vec![(
            u.name.clone(),
            u.points.clone(),
            super::window(u.points.view(), 0.25),
        )],
        None => [Dataset::Moons, Dataset::EightGaussians]
            .into_iter()
            .enumerate()
            .map(|(k, set)| {
                let data = set.sample_seeded(500, opts.seed + 10 * k as u64);
                (set.name().to_string(), data, ((-4.5, 4.5), (-4.5, 4.5)))
            })
            .collect(),
    };
    let panels = sets
        .into_iter()
        .enumerate()
        .map(|(k, (name, data, win))| {
            let seed = opts.seed + 10 * k as u64;
            compute_panel(&name, data, win, n, levels, (s_max, s_min), seed + 1)
        })
        .collect::<Result<Vec<_>>>()?;
    let fig = Trajectories {
        label: "PFGM trajectories (empirical fields)".into(),
        start: "the far-field prior".into(),
        panels,
        s_max,
        s_min,
    };
    let width = if fig.panels.len() == 1 { 1000 } else { 1500 };
    save_figure(
        &fig,
        out_dir.join("trajectories"),
        (width, 760),
        opts.overwrite,
    )
}

/// Draws every path of `paths` (`n x K x 2`) in `chart`, segment `k` coloured by
/// `scale.color(values[k])` and clipped to `window`; then the `data` points (`m x 2`,
/// may be empty) as grey dots, then the end points (level `K - 1`) inside the window
/// in red. A path stops at its first non-finite point (a failed trajectory).
pub fn draw_paths<DB: DrawingBackend>(
    chart: &mut super::Chart<'_, DB>,
    paths: ArrayView3<f64>,
    values: &[f64],
    scale: &ColorScale,
    window: super::Window,
    data: ndarray::ArrayView2<f64>,
) -> Result<()> {
    let (np, nl, _) = paths.dim();
    for i in 0..np {
        let pts: Vec<(f64, f64)> = (0..nl)
            .map(|k| (paths[[i, k, 0]], paths[[i, k, 1]]))
            .take_while(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        colored_path(chart, &pts, values, Some(scale), BLACK, 24, 1, window)?;
    }
    chart.draw_series(
        data.rows()
            .into_iter()
            .map(|r| Circle::new((r[0], r[1]), 2, RGBColor(150, 150, 150).filled())),
    )?;
    let ((x0, x1), (y0, y1)) = window;
    chart.draw_series((0..np).filter_map(|i| {
        let (x, y) = (paths[[i, nl - 1, 0]], paths[[i, nl - 1, 1]]);
        let inside = x > x0 && x < x1 && y > y0 && y < y1;
        inside.then(|| Circle::new((x, y), 2, RED.filled()))
    }))?;
    Ok(())
}

/// Paths read from a file, drawn in one panel.
#[derive(Debug, Clone)]
pub struct PathsFile {
    /// The file's name (for the title).
    pub name: String,
    /// The recorded paths (`n x K x 2`, `K >= 2`) and, if known, their levels.
    pub recorded: RecordedPaths,
    /// The plot window.
    pub window: super::Window,
}

impl PathsFile {
    /// Checks that the paths are 2-D with at least 2 levels and one finite end point;
    /// the window is the end points' bounding box grown by 25% (square): the paths
    /// come in from the prior, often far away, and end on the samples.
    pub fn new(name: impl Into<String>, recorded: RecordedPaths) -> Result<Self> {
        let (n, nl, d) = recorded.paths.dim();
        if d != 2 {
            return Err(Error::DimensionMismatch {
                what: "coordinates of the paths (the trajectories plot is 2-D)",
                expected: 2,
                got: d,
            });
        }
        if nl < 2 {
            return Err(Error::InvalidParameter {
                name: "levels",
                value: nl as f64,
                reason: "a path needs at least 2 recorded levels to be drawn",
            });
        }
        if let Some(l) = &recorded.levels {
            if l.len() != nl {
                return Err(Error::DimensionMismatch {
                    what: "trajectory levels",
                    expected: nl,
                    got: l.len(),
                });
            }
        }
        let ends = recorded.paths.slice(ndarray::s![.., nl - 1, ..]);
        if !ends.iter().any(|v| v.is_finite()) || n == 0 {
            return Err(Error::Empty {
                what: "finite end points of the paths",
            });
        }
        let window = super::window(ends, 0.25);
        Ok(Self {
            name: name.into(),
            recorded,
            window,
        })
    }

    /// The colour value of each level and its label: `log10 s` when the levels are
    /// known and distinct, the level index `k` (0 = start) otherwise.
    fn colour_values(&self) -> (Vec<f64>, &'static str) {
        let nl = self.recorded.paths.dim().1;
        match &self.recorded.levels {
            Some(l) if l.first().map(|s| s.log10()) != l.last().map(|s| s.log10()) => {
                (l.iter().map(|s| s.log10()).collect(), "log10 s")
            }
            _ => ((0..nl).map(|k| k as f64).collect(), "level k"),
        }
    }
}

impl Figure for PathsFile {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let (n, nl, _) = self.recorded.paths.dim();
        let (vals, label) = self.colour_values();
        let how = match &self.recorded.levels {
            Some(l) => format!("s = {} -> {}, coloured by {label}", l[0], l[nl - 1]),
            None => format!(
                "levels not stored in .npy: coloured by level index k = 0 (start) .. {}",
                nl - 1
            ),
        };
        let root = root.titled(
            &format!("{}: {n} paths at {nl} levels, {how}", self.name),
            ("sans-serif", 20),
        )?;
        let w = root.dim_in_pixel().0;
        let (left, bar) = root.split_horizontally(w - 110);
        let scale = ColorScale::spanning(&vals)?;
        let ((x0, x1), (y0, y1)) = self.window;
        let mut chart = axes(
            &left,
            "end points (last level) in red; window around the end points",
            x0..x1,
            y0..y1,
            ("x1", "x2"),
        )?;
        draw_paths(
            &mut chart,
            self.recorded.paths.view(),
            &vals,
            &scale,
            self.window,
            Array2::<f64>::zeros((0, 2)).view(),
        )?;
        let fmt = |v: &f64| {
            if label == "level k" {
                format!("{v:.0}")
            } else {
                format!("{v:.1}")
            }
        };
        colorbar(&bar, &scale, label, &fmt)?;
        Ok(())
    }
}

/// Draws the paths of a trajectories file (see [`PathsFile::new`]) as `STEM.png` and
/// `.svg` in `out_dir`.
pub fn make_from_paths(
    out_dir: &Path,
    stem: &str,
    name: &str,
    recorded: RecordedPaths,
    overwrite: bool,
) -> Result<FigureFiles> {
    let fig = PathsFile::new(name, recorded)?;
    save_figure(&fig, out_dir.join(stem), (1000, 860), overwrite)
}
