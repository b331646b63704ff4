//! Figure 4: the marginal density `p_s` of PFGM on moons, as heat maps across `s`.
//!
//! `ln p_s(x)` is evaluated exactly ([`MarginalField::evaluate`], the Poisson kernel
//! superposed over the data points) on a grid at several levels and shown as
//! `log10 p_s` on one colour scale (clipped four decades below the largest value), so
//! the panels show both how the data blur and how the mass spreads as `s` grows.

use super::{axes, colorbar, heatmap, save_figure, ColorScale, Figure, FigureFiles, FigureOptions};
use crate::data::Dataset;
use crate::fields::{FieldKind, MarginalField, Source};
use crate::Result;
use ndarray::Array2;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// The window.
const X: (f64, f64) = (-4.0, 4.0);
/// The window.
const Y: (f64, f64) = (-3.0, 3.0);

/// The figure: `log10 p_s` on a grid per level.
#[derive(Debug, Clone)]
pub struct Density {
    /// Data points.
    pub m: usize,
    /// Levels.
    pub levels: Vec<f64>,
    /// `log10 p_s`, `ny x nx` per level (row 0 at the bottom).
    pub log10_p: Vec<Array2<f64>>,
}

/// `log10 p_s` of PFGM on `m` moons points on an `nx x ny` grid of cell centres.
pub fn compute(m: usize, levels: &[f64], (nx, ny): (usize, usize), seed: u64) -> Result<Density> {
    let data = Dataset::Moons.sample_seeded(m, seed);
    let mf = MarginalField::new(FieldKind::Poisson, Source::points(data.view(), None)?)?;
    let grid = Array2::from_shape_fn((nx * ny, 2), |(i, j)| {
        if j == 0 {
            X.0 + ((i % nx) as f64 + 0.5) * (X.1 - X.0) / nx as f64
        } else {
            Y.0 + ((i / nx) as f64 + 0.5) * (Y.1 - Y.0) / ny as f64
        }
    });
    let log10_p = levels
        .iter()
        .map(|&s| {
            let lp = mf.evaluate(s, grid.view())?.log_p;
            Ok(Array2::from_shape_fn((ny, nx), |(r, c)| {
                lp[r * nx + c] / std::f64::consts::LN_10
            }))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Density {
        m,
        levels: levels.to_vec(),
        log10_p,
    })
}

impl Figure for Density {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let root = root.titled(
            &format!(
                "PFGM marginal density p_s on moons ({} points): exact log10 p_s (Poisson kernel superposed over the data) across s",
                self.m
            ),
            ("sans-serif", 19),
        )?;
        let w = root.dim_in_pixel().0;
        let (left, bar) = root.split_horizontally(w - 100);
        let panels = left.split_evenly((1, self.levels.len()));
        let top = self
            .log10_p
            .iter()
            .flat_map(|a| a.iter().copied())
            .filter(|v| v.is_finite())
            .fold(f64::NEG_INFINITY, f64::max);
        let scale = ColorScale::new(top - 4.0, top)?;
        for ((s, lp), area) in self.levels.iter().zip(&self.log10_p).zip(&panels) {
            let mut chart = axes(area, &format!("s = {s}"), X.0..X.1, Y.0..Y.1, ("x1", "x2"))?;
            heatmap(&mut chart, X, Y, lp, &scale, 48)?;
        }
        colorbar(&bar, &scale, "log10 p_s", &|v| format!("{v:.1}"))?;
        Ok(())
    }
}

/// Makes `density.png` and `.svg` in `out_dir`.
pub fn make(out_dir: &Path, opts: &FigureOptions) -> Result<FigureFiles> {
    let n = opts.size.pick((128, 96), (40, 30));
    let fig = compute(500, &[0.03, 0.1, 0.3, 1.0, 3.0], n, opts.seed)?;
    save_figure(&fig, out_dir.join("density"), (1800, 400), opts.overwrite)
}
