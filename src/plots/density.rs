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

/// The figure: `log10 p_s` on a grid per level.
#[derive(Debug, Clone)]
pub struct Density {
    /// The data's name.
    pub name: String,
    /// Data points.
    pub m: usize,
    /// The window `(x range, y range)`.
    pub window: ((f64, f64), (f64, f64)),
    /// Levels.
    pub levels: Vec<f64>,
    /// `log10 p_s`, `ny x nx` per level (row 0 at the bottom).
    pub log10_p: Vec<Array2<f64>>,
}

/// `log10 p_s` of PFGM on the points `data` on an `nx x ny` grid of cell centres
/// over `window`.
pub fn compute(
    name: &str,
    data: &Array2<f64>,
    window: ((f64, f64), (f64, f64)),
    levels: &[f64],
    (nx, ny): (usize, usize),
) -> Result<Density> {
    let (wx, wy) = window;
    let mf = MarginalField::new(FieldKind::Poisson, Source::points(data.view(), None)?)?;
    let grid = Array2::from_shape_fn((nx * ny, 2), |(i, j)| {
        if j == 0 {
            wx.0 + ((i % nx) as f64 + 0.5) * (wx.1 - wx.0) / nx as f64
        } else {
            wy.0 + ((i / nx) as f64 + 0.5) * (wy.1 - wy.0) / ny as f64
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
        name: name.to_string(),
        m: data.nrows(),
        window,
        levels: levels.to_vec(),
        log10_p,
    })
}

impl Figure for Density {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let root = root.titled(
            &format!(
                "PFGM marginal density p_s on {} ({} points): exact log10 p_s (Poisson kernel superposed over the data) across s",
                self.name, self.m
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
        let (wx, wy) = self.window;
        for ((s, lp), area) in self.levels.iter().zip(&self.log10_p).zip(&panels) {
            let mut chart = axes(
                area,
                &format!("s = {s}"),
                wx.0..wx.1,
                wy.0..wy.1,
                ("x1", "x2"),
            )?;
            heatmap(&mut chart, wx, wy, lp, &scale, 48)?;
        }
        colorbar(&bar, &scale, "log10 p_s", &|v| format!("{v:.1}"))?;
        Ok(())
    }
}

/// Makes `density.png` and `.svg` in `out_dir`.
pub fn make(out_dir: &Path, opts: &FigureOptions) -> Result<FigureFiles> {
    let n = opts.size.pick((128, 96), (40, 30));
    let (name, data, win) = match &opts.data {
        Some(u) => (
            u.name.clone(),
            u.points.clone(),
            super::window(u.points.view(), 0.1),
        ),
        None => (
            Dataset::Moons.name().to_string(),
            Dataset::Moons.sample_seeded(500, opts.seed),
            ((-4.0, 4.0), (-3.0, 3.0)),
        ),
    };
    let scale = 10f64.powf(((win.0 .1 - win.0 .0) / 8.0).log10().round());
    let levels: Vec<f64> = [0.03, 0.1, 0.3, 1.0, 3.0]
        .iter()
        .map(|l| l * scale)
        .collect();
    // square user windows get a square grid
    let n = if opts.data.is_some() { (n.0, n.0) } else { n };
    let fig = compute(&name, &data, win, &levels, n)?;
    save_figure(&fig, out_dir.join("density"), (1800, 400), opts.overwrite)
}
