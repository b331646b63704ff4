//! Figure 1: field lines of the Poisson field in the `(x, s)` plane for 1-D data.
//!
//! The data (a few weighted points on the line `s = 0`) act as charges in the plane;
//! their field `F(x, s)` (docs/MATHEMATICS.md, section 3.4) is that of a point charge far away,
//! so lines seeded uniformly in angle on a large half-circle carry equal flux. Each
//! line is traced inward with the sampling ODE itself, `dx/ds = F_x / F_s`
//! ([`crate::sampling::trajectories`], integrated in `ln s`), down to `s = 1e-3`;
//! the fraction of lines that end on each point approaches its weight as the radius
//! grows (the legend shows both).

use super::{
    axes, category_color, log_levels, save_figure, text_lines, Figure, FigureFiles, FigureOptions,
};
use crate::fields::{FieldKind, MarginalField, Source};
use crate::ode::{Method, SolverOptions};
use crate::sampling::trajectories;
use crate::Result;
use ndarray::Array2;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// The figure's data points (1-D) and weights.
pub const POINTS: [f64; 4] = [-1.6, -0.4, 0.7, 1.7];
/// Weights of [`POINTS`].
pub const WEIGHTS: [f64; 4] = [0.35, 0.15, 0.3, 0.2];

/// Seeds on the half-circle of `radius` around `(center, 0)`: `n` points at the
/// angles `theta_k = pi (k + 1/2) / n`, returned as `(x, s)`.
pub fn half_circle_seeds(center: f64, radius: f64, n: usize) -> Vec<(f64, f64)> {
    (0..n)
        .map(|k| {
            let t = std::f64::consts::PI * (k as f64 + 0.5) / n as f64;
            (center + radius * t.cos(), radius * t.sin())
        })
        .collect()
}

/// Traced field lines.
#[derive(Debug, Clone)]
pub struct FieldLines {
    /// The data points.
    pub points: Vec<f64>,
    /// Their weights (normalised).
    pub weights: Vec<f64>,
    /// Centre of the half-circle (the weighted mean of the points).
    pub center: f64,
    /// Radius of the half-circle.
    pub radius: f64,
    /// Each line as `(x, s)` from its seed down to `s_end`.
    pub lines: Vec<Vec<(f64, f64)>>,
    /// The data point each line ends nearest to.
    pub destination: Vec<usize>,
    /// Lowest level traced.
    pub s_end: f64,
}

/// Traces `n_lines` field lines of the Poisson field of `points` (weights
/// `weights`, `d = 1`) from a half-circle of `radius` around their mean down to
/// `s_end`, recording each at `levels` log-spaced levels (dopri5, tolerance `1e-8`).
pub fn trace(
    points: &[f64],
    weights: &[f64],
    radius: f64,
    n_lines: usize,
    levels: usize,
    s_end: f64,
) -> Result<FieldLines> {
    let pts = Array2::from_shape_vec((points.len(), 1), points.to_vec())
        .map_err(|e| crate::Error::Invalid(e.to_string()))?;
    let src = Source::points(pts.view(), Some(weights))?;
    let center = src.center()[0];
    let weights = src.weights().to_vec();
    let mf = MarginalField::new(FieldKind::Poisson, src)?;
    let solver = SolverOptions::new(Method::Dopri5).tol(1e-8);
    let mut lines = Vec::with_capacity(n_lines);
    let mut destination = Vec::with_capacity(n_lines);
    for (x0, s0) in half_circle_seeds(center, radius, n_lines) {
        let lv = log_levels(s0, s_end, levels);
        let tr = trajectories(
            &mf,
            Array2::from_elem((1, 1), x0).view(),
            s0,
            s_end,
            &lv,
            &solver,
        )?;
        let line: Vec<(f64, f64)> = lv
            .iter()
            .enumerate()
            .map(|(k, &s)| (tr[[0, k, 0]], s))
            .collect();
        let end = line.last().map(|p| p.0).unwrap_or(f64::NAN);
        destination.push(nearest(points, end));
        lines.push(line);
    }
    Ok(FieldLines {
        points: points.to_vec(),
        weights,
        center,
        radius,
        lines,
        destination,
        s_end,
    })
}

/// Index of the value of `points` nearest to `x` (0 for NaN).
pub fn nearest(points: &[f64], x: f64) -> usize {
    let mut best = (0, f64::INFINITY);
    for (i, &p) in points.iter().enumerate() {
        let d = (p - x).abs();
        if d < best.1 {
            best = (i, d);
        }
    }
    best.0
}

impl FieldLines {
    /// How many lines end on each point.
    pub fn counts(&self) -> Vec<usize> {
        let mut c = vec![0; self.points.len()];
        for &k in &self.destination {
            c[k] += 1;
        }
        c
    }
}

impl Figure for FieldLines {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let r = self.radius;
        let n = self.lines.len();
        let title = format!(
            "Field lines of the Poisson field of {} weighted points on the line s = 0 ({} lines, equal angles on a half-circle of radius {})",
            self.points.len(),
            n,
            r
        );
        let (main, legend) = root.split_vertically(root.dim_in_pixel().1 - 120);
        let xr = (self.center - 1.08 * r, self.center + 1.08 * r);
        let yr = (0.0, 1.08 * r);
        let mut chart = axes(
            &main,
            &title,
            xr.0..xr.1,
            yr.0..yr.1,
            ("x (data space)", "s (extra dimension)"),
        )?;
        // the half-circle
        let circle: Vec<(f64, f64)> = (0..=180)
            .map(|k| {
                let t = std::f64::consts::PI * k as f64 / 180.0;
                (self.center + r * t.cos(), r * t.sin())
            })
            .collect();
        chart.draw_series(std::iter::once(PathElement::new(
            circle,
            BLACK.mix(0.35).stroke_width(1),
        )))?;
        for (line, &dest) in self.lines.iter().zip(&self.destination) {
            let c = category_color(dest);
            chart.draw_series(std::iter::once(PathElement::new(
                line.clone(),
                c.stroke_width(1),
            )))?;
            chart.draw_series(std::iter::once(Circle::new(line[0], 2, c.filled())))?;
        }
        for (i, (&y, &w)) in self.points.iter().zip(&self.weights).enumerate() {
            let radius = (4.0 + 20.0 * w).round() as i32;
            chart.draw_series(std::iter::once(Circle::new(
                (y, 0.0),
                radius,
                category_color(i).filled(),
            )))?;
        }
        let counts = self.counts();
        let mut lines = vec![format!(
            "Each line starts on the half-circle (dots) and follows dx/ds = F_x / F_s down to s = {}; colour = the data point it ends on (disc area ~ weight).",
            self.s_end
        )];
        let per: Vec<String> = self
            .points
            .iter()
            .zip(&self.weights)
            .zip(&counts)
            .map(|((y, w), c)| {
                format!(
                    "y = {y}: weight {w:.2}, {c} of {n} lines ({:.2})",
                    *c as f64 / n as f64
                )
            })
            .collect();
        lines.push(per.join("    "));
        lines.push("Equal angles far away carry equal flux, so the share of lines ending on a point approaches its weight as the radius grows.".into());
        text_lines(&legend, &lines, (70, 10), 15)?;
        Ok(())
    }
}

/// Makes `field_lines.png` and `.svg` in `out_dir`.
pub fn make(out_dir: &Path, opts: &FigureOptions) -> Result<FigureFiles> {
    let n = opts.size.pick(72, 16);
    let fl = trace(&POINTS, &WEIGHTS, 6.0, n, opts.size.pick(200, 60), 1e-3)?;
    save_figure(
        &fl,
        out_dir.join("field_lines"),
        (1400, 860),
        opts.overwrite,
    )
}
