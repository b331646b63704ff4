//! Figure 9: PFGM++ from `D = 1` (PFGM) to the Gaussian limit `D -> infinity`.
//!
//! PFGM++ with `D` extra dimensions at radius `r` matches the Gaussian (EDM) field at
//! `sigma = r / sqrt(D)` as `D` grows (docs/MATHEMATICS.md, section 3.2 and section 7, item 10).
//! Top row: 1-D trajectories on three weighted points, all started from the same
//! points at `sigma = 4` and integrated to `sigma = 1e-3` (`r = sigma sqrt(D)`), each
//! panel with the Gaussian trajectories in grey underneath: for small `D` the paths
//! differ, by `D = 256` they coincide. Bottom row: samples on 8gaussians (empirical
//! field of 500 points) generated from each far-field prior at `sigma = 40` down to
//! `sigma = 0.05`; small `D` has heavy tails (points far outside the window, counted
//! in the panel title).

use super::{
    axes, axes_fmt, category_color, fmt_log_tick, log_levels, save_figure, Figure, FigureFiles,
    FigureOptions,
};
use crate::data::Dataset;
use crate::fields::{FieldKind, MarginalField, Source};
use crate::ode::{Method, SolverOptions};
use crate::sampling::{generate, trajectories, SampleOptions};
use crate::Result;
use ndarray::{Array2, Array3};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// The values of `D` shown (`None` is the Gaussian limit).
pub const AUG_DIMS: [Option<f64>; 5] = [Some(1.0), Some(4.0), Some(32.0), Some(256.0), None];
/// 1-D data points of the top row.
pub const POINTS: [f64; 3] = [-1.0, 0.4, 1.5];
/// Their weights.
pub const WEIGHTS: [f64; 3] = [0.5, 0.3, 0.2];
/// Sample window half-width.
const HALF: f64 = 4.5;

/// The field for `D` (`None`: Gaussian) and the factor `sqrt(D)` from `sigma` to `r`.
pub fn field_of(aug: Option<f64>) -> (FieldKind, f64) {
    match aug {
        Some(d) => (FieldKind::Pfgmpp { aug_dim: d }, d.sqrt()),
        None => (FieldKind::Gaussian, 1.0),
    }
}

/// One column: trajectories and samples for one `D`.
#[derive(Debug, Clone)]
pub struct Column {
    /// `D` (`None`: Gaussian).
    pub aug: Option<f64>,
    /// 1-D paths, `n x levels x 1`.
    pub paths: Array3<f64>,
    /// Generated samples (`n x 2`).
    pub samples: Array2<f64>,
    /// Unconverged particles.
    pub unconverged: usize,
    /// Evaluations per particle.
    pub evals: f64,
}

/// The figure.
#[derive(Debug, Clone)]
pub struct Pfgmpp {
    /// Levels `sigma` of the paths.
    pub sigmas: Vec<f64>,
    /// Start points of the paths.
    pub starts: Vec<f64>,
    /// One column per `D`.
    pub columns: Vec<Column>,
    /// The 2-D data.
    pub data: Array2<f64>,
    /// Sample levels `(sigma_max, sigma_min)`.
    pub sample_levels: (f64, f64),
}

/// 1-D paths of the field `aug` from `starts` at `sigmas[0]` down to the last level.
pub fn paths_1d(aug: Option<f64>, starts: &[f64], sigmas: &[f64]) -> Result<Array3<f64>> {
    let (kind, k) = field_of(aug);
    let pts = Array2::from_shape_vec((3, 1), POINTS.to_vec())
        .map_err(|e| crate::Error::Invalid(e.to_string()))?;
    let mf = MarginalField::new(kind, Source::points(pts.view(), Some(&WEIGHTS))?)?;
    let x0 = Array2::from_shape_vec((starts.len(), 1), starts.to_vec())
        .map_err(|e| crate::Error::Invalid(e.to_string()))?;
    let levels: Vec<f64> = sigmas.iter().map(|s| s * k).collect();
    let solver = SolverOptions::new(Method::Dopri5).tol(1e-8);
    let last = levels[levels.len() - 1];
    trajectories(&mf, x0.view(), levels[0], last, &levels, &solver)
}

/// Computes the figure: `n_paths` 1-D paths and `n_samples` samples per `D`.
pub fn compute(n_paths: usize, n_samples: usize, seed: u64) -> Result<Pfgmpp> {
    let sigmas = log_levels(4.0, 1e-3, 160);
    let starts: Vec<f64> = (0..n_paths)
        .map(|k| -4.0 + 8.0 * k as f64 / (n_paths.max(2) - 1) as f64)
        .collect();
    let data = Dataset::EightGaussians.sample_seeded(500, seed);
    let (sig_max, sig_min) = (40.0, 0.05);
    let mut columns = Vec::new();
    for aug in AUG_DIMS {
        let paths = paths_1d(aug, &starts, &sigmas)?;
        let (kind, k) = field_of(aug);
        let mf = MarginalField::new(kind, Source::points(data.view(), None)?)?;
        let mut opts = SampleOptions::new(&mf);
        opts.s_max = sig_max * k;
        opts.s_min = sig_min * k;
        let gen = generate(&mf, n_samples, seed + 1, &opts)?;
        columns.push(Column {
            aug,
            paths,
            evals: gen.evals_per_particle(),
            unconverged: gen.n_unconverged,
            samples: gen.x,
        });
    }
    Ok(Pfgmpp {
        sigmas,
        starts,
        columns,
        data,
        sample_levels: (sig_max, sig_min),
    })
}

fn name(aug: Option<f64>) -> String {
    match aug {
        Some(d) if (d - 1.0).abs() < 1e-12 => "D = 1 (PFGM)".into(),
        Some(d) => format!("D = {d}"),
        None => "Gaussian (D = infinity)".into(),
    }
}

impl Figure for Pfgmpp {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let root = root.titled(
            "PFGM++ from D = 1 to the Gaussian limit, matched by r = sigma sqrt(D)",
            ("sans-serif", 21),
        )?;
        let rows = root.split_evenly((2, 1));
        let top = rows[0].titled(
            "1-D paths on 3 weighted points (-1, 0.4, 1.5; weights 0.5, 0.3, 0.2) from the same starts at sigma = 4, coloured by landing point; grey underneath: the Gaussian paths",
            ("sans-serif", 15),
        )?;
        let (smax, smin) = self.sample_levels;
        let bottom = rows[1].titled(
            &format!(
                "Samples on 8gaussians ({} data points, grey), far-field prior at sigma = {smax} down to sigma = {smin}",
                self.data.nrows()
            ),
            ("sans-serif", 15),
        )?;
        let tops = top.split_evenly((1, self.columns.len()));
        let bottoms = bottom.split_evenly((1, self.columns.len()));
        let gauss = &self.columns[self.columns.len() - 1].paths;
        let nl = self.sigmas.len();
        let s_lo = self.sigmas[nl - 1];
        let s_hi = self.sigmas[0];
        for (col, (ta, ba)) in self.columns.iter().zip(tops.iter().zip(&bottoms)) {
            let dev = col
                .paths
                .iter()
                .zip(gauss.iter())
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            let title = if col.aug.is_some() {
                if dev >= 0.1 {
                    format!("{}: max |x - x_Gauss| = {dev:.2}", name(col.aug))
                } else {
                    format!("{}: max |x - x_Gauss| = {dev:.1e}", name(col.aug))
                }
            } else {
                name(col.aug)
            };
            let mut chart = axes_fmt(
                ta,
                &title,
                (s_lo..s_hi).log_scale(),
                -4.2..4.2,
                ("sigma = r / sqrt(D)", "x"),
                (Some(&fmt_log_tick), None),
            )?;
            let np = col.paths.dim().0;
            for i in 0..np {
                let g: Vec<(f64, f64)> = (0..nl)
                    .map(|k| (self.sigmas[k], gauss[[i, k, 0]]))
                    .collect();
                chart.draw_series(std::iter::once(PathElement::new(
                    g,
                    RGBColor(205, 205, 205).stroke_width(4),
                )))?;
            }
            for i in 0..np {
                let p: Vec<(f64, f64)> = (0..nl)
                    .map(|k| (self.sigmas[k], col.paths[[i, k, 0]]))
                    .collect();
                let dest = super::field_lines::nearest(&POINTS, col.paths[[i, nl - 1, 0]]);
                chart.draw_series(std::iter::once(PathElement::new(
                    p,
                    category_color(dest).stroke_width(2),
                )))?;
            }
            let outside = col
                .samples
                .rows()
                .into_iter()
                .filter(|r| !(r[0].abs() < HALF && r[1].abs() < HALF))
                .count();
            let mut chart = axes(
                ba,
                &format!(
                    "{}: {outside} of {} outside",
                    name(col.aug),
                    col.samples.nrows(),
                ),
                -HALF..HALF,
                -HALF..HALF,
                ("x1", "x2"),
            )?;
            chart.draw_series(
                self.data
                    .rows()
                    .into_iter()
                    .map(|r| Circle::new((r[0], r[1]), 1, RGBColor(185, 185, 185).filled())),
            )?;
            chart.draw_series(
                col.samples
                    .rows()
                    .into_iter()
                    .filter(|r| r[0].abs() < HALF && r[1].abs() < HALF)
                    .map(|r| Circle::new((r[0], r[1]), 1, category_color(0).filled())),
            )?;
        }
        Ok(())
    }
}

/// Makes `pfgmpp.png` and `.svg` in `out_dir`.
pub fn make(out_dir: &Path, opts: &FigureOptions) -> Result<FigureFiles> {
    let fig = compute(
        opts.size.pick(25, 7),
        opts.size.pick(1000, 150),
        opts.seed + 900,
    )?;
    save_figure(&fig, out_dir.join("pfgmpp"), (1900, 900), opts.overwrite)
}
