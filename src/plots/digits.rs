//! Digits figure: samples of the exact fields on the 8 x 8 handwritten digits, each
//! next to its nearest training image, and one path shown as images over levels.
//!
//! The data are the bundled digits ([`crate::data::digits`]), standardised with one
//! global mean and standard deviation ([`Standardize::Global`]) so that every field's
//! default top level applies; samples are mapped back to pixel units 0..16 with the
//! inverse before they are drawn and compared. Four fields are sampled from their
//! far-field priors at their default `s_max` down to `s_min = 1e-3` with DOPRI5 at
//! `rtol = atol = 1e-4`: Poisson (PFGM), PFGM++ with `D = 128`, Gaussian (EDM) and the
//! linear path. Each generated image is drawn beside the training image nearest to it
//! (Euclidean distance in pixel units, printed under the pair): the exact fields of an
//! empirical data set transport the prior onto the data points themselves, so a
//! distance near 0 is the expected outcome, not a sign of a bug. The last row is one
//! Poisson path recorded at log-spaced levels from `s_max` to `s_min`.

use super::{save_figure, Figure, FigureFiles, FigureOptions};
use crate::data::{digits, Digits, Standardization, Standardize};
use crate::fields::{FieldKind, LinearPrior, MarginalField, PriorKind, Source};
use crate::ode::{Method, SolverOptions};
use crate::sampling::{generate, trajectories, SampleOptions};
use crate::Result;
use ndarray::{Array2, ArrayView1, ArrayView2};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// One row of the grid: a field's samples and their nearest training images.
#[derive(Debug, Clone)]
pub struct FieldRow {
    /// The field's name and levels.
    pub title: String,
    /// Generated images in pixel units, one per row.
    pub samples: Array2<f64>,
    /// For each sample, the nearest training image.
    pub nearest: Array2<f64>,
    /// For each sample, the distance to it (pixel units).
    pub distances: Vec<f64>,
}

/// The figure's content.
#[derive(Debug, Clone)]
pub struct DigitsFigure {
    /// One row per field.
    pub rows: Vec<FieldRow>,
    /// One Poisson path in pixel units at `levels` (one image per level).
    pub path: Array2<f64>,
    /// The levels of `path`.
    pub levels: Vec<f64>,
    /// Number of training images.
    pub m: usize,
}

/// The nearest row of `data` to `x` and the Euclidean distance to it.
pub fn nearest(data: ArrayView2<'_, f64>, x: ArrayView1<'_, f64>) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for (i, y) in data.rows().into_iter().enumerate() {
        let d2: f64 = y.iter().zip(x).map(|(a, b)| (a - b) * (a - b)).sum();
        if d2 < best.1 {
            best = (i, d2);
        }
    }
    (best.0, best.1.sqrt())
}

/// Samples `n` images per field from `m` training digits (`None`: all 1,797).
pub fn compute(n: usize, m: Option<usize>, seed: u64) -> Result<DigitsFigure> {
    let data = Digits::draw(m, seed)?.images;
    let map = Standardization::fit(Standardize::Global, data.view())?;
    let z = map.apply(data.view())?;
    let fields = [
        ("poisson (PFGM)", FieldKind::Poisson),
        ("pfgmpp D = 128", FieldKind::Pfgmpp { aug_dim: 128.0 }),
        ("gaussian (EDM)", FieldKind::Gaussian),
        (
            "linear",
            FieldKind::Linear {
                prior: LinearPrior::Normal,
            },
        ),
    ];
    let mut rows = Vec::new();
    let mut path = Array2::zeros((0, digits::DIM));
    let mut levels = Vec::new();
    for (k, (name, kind)) in fields.into_iter().enumerate() {
        let mf = MarginalField::new(kind, Source::points(z.view(), None)?)?;
        let mut opts = SampleOptions::new(&mf);
        opts.solver = SolverOptions::new(Method::Dopri5).tol(1e-4);
        let out = generate(&mf, n, seed + 1 + k as u64, &opts)?;
        let samples = map.invert(out.x.view())?;
        let mut nearest_rows = Array2::zeros(samples.dim());
        let mut distances = Vec::with_capacity(n);
        for (i, x) in samples.rows().into_iter().enumerate() {
            let (j, dist) = nearest(data.view(), x);
            nearest_rows.row_mut(i).assign(&data.row(j));
            distances.push(dist);
        }
        rows.push(FieldRow {
            title: format!("{name}: s {:.4} -> {}", opts.s_max, opts.s_min),
            samples,
            nearest: nearest_rows,
            distances,
        });
        if k == 0 {
            levels = super::log_levels(opts.s_max, opts.s_min, 10);
            let x0 = mf.sample_prior(opts.s_max, 1, seed + 11, PriorKind::FarField)?;
            let p = trajectories(
                &mf,
                x0.view(),
                opts.s_max,
                opts.s_min,
                &levels,
                &opts.solver,
            )?;
            let flat = p.index_axis(ndarray::Axis(0), 0).to_owned();
            path = map.invert(flat.view())?;
        }
    }
    Ok(DigitsFigure {
        rows,
        path,
        levels,
        m: data.nrows(),
    })
}

/// Draws one 8 x 8 image (pixel units 0..16, ink dark) into the square at `(x, y)`.
pub(super) fn draw_image<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    img: ArrayView1<'_, f64>,
    (x, y): (i32, i32),
    cell: i32,
) -> Result<()> {
    for r in 0..digits::SIDE {
        for c in 0..digits::SIDE {
            let v = img[r * digits::SIDE + c];
            let t = if v.is_finite() {
                (v / digits::MAX_VALUE).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let g = (255.0 * (1.0 - t)).round() as u8;
            let (x0, y0) = (x + c as i32 * cell, y + r as i32 * cell);
            area.draw(&Rectangle::new(
                [(x0, y0), (x0 + cell, y0 + cell)],
                RGBColor(g, g, g).filled(),
            ))?;
        }
    }
    let side = cell * digits::SIDE as i32;
    area.draw(&Rectangle::new(
        [(x, y), (x + side, y + side)],
        BLACK.stroke_width(1),
    ))?;
    Ok(())
}

impl Figure for DigitsFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let title = ("sans-serif", 18).into_font();
        let small = ("sans-serif", 13).into_font();
        let cell = 6;
        let side = cell * digits::SIDE as i32;
        root.draw(&Text::new(
            format!(
                "Exact fields on {} UCI 8x8 digits: generated (left) beside the nearest training image",
                self.m
            ),
            (10, 6),
            title.clone(),
        ))?;
        root.draw(&Text::new(
            "(right), distance in pixel units 0..16; dopri5 rtol = atol = 1e-4, global standardisation",
            (10, 26),
            small.clone(),
        ))?;
        let mut y = 48;
        for row in &self.rows {
            root.draw(&Text::new(row.title.clone(), (10, y), small.clone()))?;
            y += 18;
            for i in 0..row.samples.nrows() {
                let x = 10 + i as i32 * (2 * side + 24);
                draw_image(root, row.samples.row(i), (x, y), cell)?;
                draw_image(root, row.nearest.row(i), (x + side + 4, y), cell)?;
                root.draw(&Text::new(
                    format!("{:.3}", row.distances[i]),
                    (x + side / 2, y + side + 3),
                    small.clone(),
                ))?;
            }
            y += side + 24;
        }
        draw_path(
            root,
            "One poisson path from the prior (left, s_max) to the data (right, s_min), log-spaced levels",
            self.path.view(),
            &self.levels,
            y,
            cell,
        )
    }
}

/// Draws a path as a row of images under the caption `caption` at height `y`: row `k`
/// of `path` at level `levels[k]`, written under it.
pub(super) fn draw_path<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    caption: &str,
    path: ArrayView2<'_, f64>,
    levels: &[f64],
    y: i32,
    cell: i32,
) -> Result<()> {
    let small = ("sans-serif", 13).into_font();
    let side = cell * digits::SIDE as i32;
    root.draw(&Text::new(caption, (10, y), small.clone()))?;
    let y = y + 18;
    for (k, s) in levels.iter().enumerate() {
        let x = 10 + k as i32 * (side + 24);
        draw_image(root, path.row(k), (x, y), cell)?;
        root.draw(&Text::new(
            format!("s={s:.2e}"),
            (x, y + side + 3),
            small.clone(),
        ))?;
    }
    Ok(())
}

/// Computes and saves the figure into `out_dir` (`digits.png`, `digits.svg`): six
/// samples per field from all 1,797 digits (quick: four samples from 300 digits).
pub fn make(out_dir: &Path, opts: &FigureOptions) -> Result<FigureFiles> {
    let (n, m) = opts.size.pick((6, None), (4, Some(300)));
    let fig = compute(n, m, opts.seed)?;
    save_figure(&fig, out_dir.join("digits"), (760, 510), opts.overwrite)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn nearest_finds_the_closest_row_and_its_distance() {
        let data = array![[0.0, 0.0], [3.0, 4.0], [1.0, 1.0]];
        assert_eq!(nearest(data.view(), array![2.9, 4.1].view()).0, 1);
        let (j, d) = nearest(data.view(), array![3.0, 0.0].view());
        assert_eq!(j, 2);
        assert!((d - 5f64.sqrt()).abs() < 1e-15);
    }
}
