//! Figure 6: Su's 1-D demo (docs/MATHEMATICS.md, section 7, item 11).
//!
//! The linear path `x_s = (1 - s) y + s U` with a uniform prior `U ~ U[0, 2]` and data
//! `{0.5, 1.2, 1.7}` with weights `1/2, 1/4, 1/4`. Prior points are spread evenly over
//! `[0, 2]` at `s = 1` and integrated down to `s = 1e-3` (dopri5; the velocity jumps
//! at the edges of the moving boxes, and the adaptive solver takes small steps there).
//! Each path is coloured by the data point it lands on; the theory says `[0, 1)` lands
//! on 0.5, `[1, 1.5)` on 1.2 and `[1.5, 2]` on 1.7, and the figure states the observed
//! boundaries.

use super::{axes, category_color, save_figure, text_lines, Figure, FigureFiles, FigureOptions};
use crate::fields::{FieldKind, LinearPrior, MarginalField, Source};
use crate::ode::{Method, SolverOptions};
use crate::sampling::trajectories;
use crate::Result;
use ndarray::{Array2, Array3};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// Su's data points.
pub const POINTS: [f64; 3] = [0.5, 1.2, 1.7];
/// Su's weights.
pub const WEIGHTS: [f64; 3] = [0.5, 0.25, 0.25];

/// The computed paths.
#[derive(Debug, Clone)]
pub struct Su1d {
    /// Prior points at `s = 1`.
    pub starts: Vec<f64>,
    /// Levels from 1 down to `s_end`.
    pub levels: Vec<f64>,
    /// Paths, `n x levels x 1`.
    pub paths: Array3<f64>,
    /// Landing point of each path (index into [`POINTS`]).
    pub destination: Vec<usize>,
}

/// Integrates `n` prior points `x_k = 2 (k + 1/2) / n` from `s = 1` to `s_end`,
/// recorded at `levels` equally spaced levels.
pub fn compute(n: usize, levels: usize, s_end: f64) -> Result<Su1d> {
    let pts = Array2::from_shape_vec((3, 1), POINTS.to_vec())
        .map_err(|e| crate::Error::Invalid(e.to_string()))?;
    let kind = FieldKind::Linear {
        prior: LinearPrior::UniformBox { lo: 0.0, hi: 2.0 },
    };
    let mf = MarginalField::new(kind, Source::points(pts.view(), Some(&WEIGHTS))?)?;
    let starts: Vec<f64> = (0..n).map(|k| 2.0 * (k as f64 + 0.5) / n as f64).collect();
    let x0 = Array2::from_shape_vec((n, 1), starts.clone())
        .map_err(|e| crate::Error::Invalid(e.to_string()))?;
    let levels = levels.max(2);
    let lv: Vec<f64> = (0..levels)
        .map(|k| 1.0 - (1.0 - s_end) * k as f64 / (levels - 1) as f64)
        .collect();
    let solver = SolverOptions::new(Method::Dopri5).tol(1e-8);
    let paths = trajectories(&mf, x0.view(), 1.0, s_end, &lv, &solver)?;
    let destination = (0..n)
        .map(|i| super::field_lines::nearest(&POINTS, paths[[i, levels - 1, 0]]))
        .collect();
    Ok(Su1d {
        starts,
        levels: lv,
        paths,
        destination,
    })
}

impl Su1d {
    /// For each data point, the range `(min, max)` of prior points that land on it
    /// (`None` if none does).
    pub fn basins(&self) -> Vec<Option<(f64, f64)>> {
        (0..POINTS.len())
            .map(|j| {
                let xs: Vec<f64> = self
                    .starts
                    .iter()
                    .zip(&self.destination)
                    .filter(|(_, &d)| d == j)
                    .map(|(x, _)| *x)
                    .collect();
                (!xs.is_empty()).then(|| {
                    (
                        xs.iter().copied().fold(f64::INFINITY, f64::min),
                        xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                    )
                })
            })
            .collect()
    }
}

impl Figure for Su1d {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let n = self.starts.len();
        let (main, legend) = root.split_vertically(root.dim_in_pixel().1 - 95);
        let mut chart = axes(
            &main,
            &format!("Su's 1-D demo: linear path x_s = (1 - s) y + s U, U ~ uniform[0, 2], data 0.5, 1.2, 1.7 (weights 1/2, 1/4, 1/4); {n} paths"),
            0.0..1.0,
            -0.05..2.05,
            ("s  (0 = data, 1 = prior)", "x"),
        )?;
        for b in [1.0, 1.5] {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(0.9, b), (1.0, b)],
                BLACK.stroke_width(2),
            )))?;
        }
        let nl = self.levels.len();
        for i in 0..n {
            let c = category_color(self.destination[i]);
            let pts: Vec<(f64, f64)> = (0..nl)
                .map(|k| (self.levels[k], self.paths[[i, k, 0]]))
                .collect();
            chart.draw_series(std::iter::once(PathElement::new(pts, c.stroke_width(2))))?;
        }
        for (j, &y) in POINTS.iter().enumerate() {
            chart.draw_series(std::iter::once(Circle::new(
                (0.0, y),
                7,
                category_color(j).filled(),
            )))?;
        }
        let basins = self.basins();
        let theory = ["[0, 1)", "[1, 1.5)", "[1.5, 2]"];
        let mut lines = vec![
            "Colour = the data point a path lands on; black ticks at s = 1 mark the theoretical basin edges x = 1 and x = 1.5.".to_string(),
        ];
        let per: Vec<String> = POINTS
            .iter()
            .enumerate()
            .map(|(j, y)| {
                let count = self.destination.iter().filter(|&&d| d == j).count();
                match basins[j] {
                    Some((a, b)) => format!(
                        "lands on {y}: {count} paths, prior x in [{a:.3}, {b:.3}] (theory {})",
                        theory[j]
                    ),
                    None => format!("lands on {y}: no path (theory {})", theory[j]),
                }
            })
            .collect();
        lines.extend(per);
        text_lines(&legend, &lines, (70, 8), 15)?;
        Ok(())
    }
}

/// Makes `su1d.png` and `.svg` in `out_dir`.
pub fn make(out_dir: &Path, opts: &FigureOptions) -> Result<FigureFiles> {
    let fig = compute(opts.size.pick(48, 16), opts.size.pick(400, 100), 1e-3)?;
    save_figure(&fig, out_dir.join("su1d"), (1300, 760), opts.overwrite)
}
