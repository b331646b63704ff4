//! Figure 3: the PFGM velocity field on 8gaussians at several levels `s`.
//!
//! On a grid of the plane, each arrow points along the generation direction
//! `-s f_s(x) = m(x) - x` (the displacement to the posterior-weighted mean of the data,
//! [`MarginalField::evaluate`]); arrows are drawn at a common length (capped at one
//! grid cell) and coloured by the length of `m(x) - x`. At large `s` the field points
//! to the centre of the data, at small `s` to the nearest data points.
//! [`compute_field`] draws any 2-D ray [`Field`] the same way (an own or a learned
//! field, with `m(x) = x - s f_s(x)` its implied posterior mean).

use super::{arrow, axes, colorbar, save_figure, ColorScale, Figure, FigureFiles, FigureOptions};
use crate::data::Dataset;
use crate::fields::{Field, FieldKind, MarginalField, Source, BATCH};
use crate::{Error, Result};
use ndarray::Array2;
use plotters::coord::Shift;
use plotters::prelude::*;
use rayon::prelude::*;
use std::path::Path;

/// The figure: the data, the grid and `m(x) - x` at each level.
#[derive(Debug, Clone)]
pub struct Velocity {
    /// The field's name for the title (`PFGM` for [`compute`]).
    pub field: String,
    /// The data's name.
    pub name: String,
    /// The data (`m x 2`).
    pub data: Array2<f64>,
    /// The plot window.
    pub window: ((f64, f64), (f64, f64)),
    /// Grid points, `g x 2`.
    pub grid: Array2<f64>,
    /// Levels.
    pub levels: Vec<f64>,
    /// `-s f_s(x)` on the grid per level.
    pub arrows: Vec<Array2<f64>>,
    /// Grid spacing.
    pub cell: f64,
}

/// `-s f_s(x)` of PFGM on the points `data` at `levels`, on an `n x n` grid of cell
/// centres over the square `window`.
pub fn compute(
    name: &str,
    data: Array2<f64>,
    window: ((f64, f64), (f64, f64)),
    levels: &[f64],
    n: usize,
) -> Result<Velocity> {
    let mf = MarginalField::new(FieldKind::Poisson, Source::points(data.view(), None)?)?;
    let mut fig = compute_field(name, &mf, data, window, levels, n)?;
    fig.field = "PFGM".into();
    Ok(fig)
}

/// `-s f_s(x)` of any 2-D `field` at `levels` on an `n x n` grid of cell centres over
/// the square `window`; `data` (`m x 2`, may be empty) is drawn in grey. The title
/// names the field by [`Field::describe`].
pub fn compute_field(
    name: &str,
    field: &dyn Field,
    data: Array2<f64>,
    window: ((f64, f64), (f64, f64)),
    levels: &[f64],
    n: usize,
) -> Result<Velocity> {
    if field.dim() != 2 {
        return Err(Error::DimensionMismatch {
            what: "field dimension (the velocity figure is 2-D)",
            expected: 2,
            got: field.dim(),
        });
    }
    for &s in levels {
        field.check_level(s)?;
    }
    let cell = (window.0 .1 - window.0 .0) / n as f64;
    let grid = Array2::from_shape_fn((n * n, 2), |(i, j)| {
        let (k, lo) = if j == 0 {
            (i % n, window.0 .0)
        } else {
            (i / n, window.1 .0)
        };
        lo + (k as f64 + 0.5) * cell
    });
    let arrows = levels
        .iter()
        .map(|&s| {
            let xs: Vec<f64> = grid.iter().copied().collect();
            let mut f = vec![0.0; xs.len()];
            f.par_chunks_mut(BATCH * 2)
                .zip(xs.par_chunks(BATCH * 2))
                .for_each(|(fb, xb)| field.eval_block(&vec![s; xb.len() / 2], xb, fb, None));
            Ok(Array2::from_shape_vec((n * n, 2), f).expect("shape") * (-s))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Velocity {
        field: field.describe(),
        name: name.to_string(),
        window,
        data,
        grid,
        levels: levels.to_vec(),
        arrows,
        cell,
    })
}

impl Figure for Velocity {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let root = root.titled(
            &format!(
                "{} velocity on {}{}: arrows along the generation direction -s f_s(x) = m(x) - x, colour = its length",
                self.field,
                self.name,
                if self.data.nrows() == 0 {
                    String::new()
                } else {
                    format!(" ({} data points, grey)", self.data.nrows())
                }
            ),
            ("sans-serif", 19),
        )?;
        let w = root.dim_in_pixel().0;
        let (left, bar) = root.split_horizontally(w - 100);
        let panels = left.split_evenly((1, self.levels.len()));
        let lengths: Vec<f64> = self
            .arrows
            .iter()
            .flat_map(|a| {
                a.rows()
                    .into_iter()
                    .map(|r| r[0].hypot(r[1]))
                    .collect::<Vec<_>>()
            })
            .collect();
        let scale = ColorScale::spanning(&lengths)?;
        for ((s, a), area) in self.levels.iter().zip(&self.arrows).zip(&panels) {
            let mut chart = axes(
                area,
                &format!("s = {s}"),
                self.window.0 .0..self.window.0 .1,
                self.window.1 .0..self.window.1 .1,
                ("x1", "x2"),
            )?;
            chart.draw_series(
                self.data
                    .rows()
                    .into_iter()
                    .map(|r| Circle::new((r[0], r[1]), 1, RGBColor(175, 175, 175).filled())),
            )?;
            for (p, v) in self.grid.rows().into_iter().zip(a.rows()) {
                let len = v[0].hypot(v[1]);
                if !(len.is_finite() && len > 0.0) {
                    continue;
                }
                let k = 0.8 * self.cell / len;
                let to = (p[0] + k * v[0], p[1] + k * v[1]);
                let style = scale.color(len).stroke_width(2);
                arrow(&mut chart, (p[0], p[1]), to, 5.0, style)?;
            }
        }
        colorbar(&bar, &scale, "|m(x) - x|", &|v| format!("{v:.1}"))?;
        Ok(())
    }
}

/// Makes `velocity.png` and `.svg` in `out_dir`.
pub fn make(out_dir: &Path, opts: &FigureOptions) -> Result<FigureFiles> {
    let n = opts.size.pick(19, 9);
    let (name, data, win) = match &opts.data {
        Some(u) => (
            u.name.clone(),
            u.points.clone(),
            super::window(u.points.view(), 0.15),
        ),
        None => (
            Dataset::EightGaussians.name().to_string(),
            Dataset::EightGaussians.sample_seeded(500, opts.seed),
            ((-4.5, 4.5), (-4.5, 4.5)),
        ),
    };
    // levels relative to the window (the built-in window is 9 wide), a power of 10
    let scale = 10f64.powf(((win.0 .1 - win.0 .0) / 9.0).log10().round());
    let levels: Vec<f64> = [3.0, 1.0, 0.3, 0.1].iter().map(|l| l * scale).collect();
    let fig = compute(&name, data, win, &levels, n)?;
    save_figure(&fig, out_dir.join("velocity"), (1800, 520), opts.overwrite)
}
