//! A learned field on the 8 x 8 digits against the exact field of its training set.
//!
//! The exact field of an empirical data set carries every prior point onto one of
//! its training images (the [`super::digits`] figure shows it): it memorises. A
//! network trained on the same images cannot represent that field exactly and, when
//! it generalises, produces new images. This figure makes the comparison on real data.
//!
//! The 1,797 bundled digits are permuted with the seed and split into
//! [`N_TRAIN`] training images and the remaining [`N_HELD_OUT`] held-out images;
//! one global mean and standard deviation of the training images standardise both
//! ([`Standardize::Global`], as in the exact figure). A network learns the Gaussian
//! (EDM) field of the training images with the conditional target: EDM's
//! preconditioning and level distribution are what [`crate::learn`] implements, and
//! the Gaussian field is the one they were designed for (PFGM++ with a large `D`
//! approaches it; Xu et al. 2023). The network is a 3 x 256 SiLU MLP trained by
//! AdamW (`lr = 1e-3`, batch 256) for [`FULL_STEPS`] steps ([`QUICK_STEPS`] steps of
//! a 3 x 128 MLP on 300 images in the quick size).
//!
//! Both fields start from the same far-field prior draws at the exact field's
//! default `s_max` and are integrated down to `s_min = 1e-3` by DOPRI5 at
//! `rtol = atol = 1e-4`, the solver of the exact figure. Each learned sample is
//! drawn beside the training image nearest to it (Euclidean distance in pixel units
//! 0..16) and beside the exact field's sample from the same prior point. The
//! memorisation meter of Gu et al. (2025; [`crate::measure`]) gives the fraction of
//! samples whose nearest / second-nearest training distance ratio is below 1/3, for
//! the learned field, the exact field and the held-out images (the baseline: what
//! fresh data score). The last row is one learned path as images over levels.

use super::digits::{draw_image, draw_path, nearest};
use super::learned::finite_rows;
use super::{save_figure, Figure, FigureFiles, FigureOptions};
use crate::data::{digits, Digits, Standardization, Standardize};
use crate::fields::{FieldKind, MarginalField, PriorKind, Source};
use crate::learn::{train, LearnedField, TrainConfig};
use crate::measure::{memorisation, DEFAULT_THRESHOLD};
use crate::ode::{Method, SolverOptions};
use crate::sampling::{generate_from, trajectories, Flow, SampleOptions};
use crate::Result;
use ndarray::{s, Array2, ArrayView2, Axis};
use plotters::coord::Shift;
use plotters::prelude::*;
use statrs::statistics::{Data, Median};
use std::path::Path;
use std::time::{Duration, Instant};

/// Training images at full size (the rest of the 1,797 are held out).
pub const N_TRAIN: usize = 1500;
/// Held-out images (both sizes).
pub const N_HELD_OUT: usize = 297;
/// Training steps at full size.
pub const FULL_STEPS: usize = 10_000;
/// Training steps at quick size.
pub const QUICK_STEPS: usize = 300;
/// Samples drawn in the grid.
pub const N_DRAWN: usize = 40;

/// The settings of the figure's network: the Gaussian (EDM) field, conditional
/// target, `layers x hidden` SiLU MLP, batch 256, AdamW `lr = 1e-3`.
pub fn config(steps: usize, hidden: usize, seed: u64) -> TrainConfig {
    TrainConfig {
        kind: FieldKind::Gaussian,
        steps,
        batch: 256,
        hidden,
        layers: 3,
        seed,
        test_every: (steps / 20).max(1),
        ..TrainConfig::default()
    }
}

/// The memorised fraction and the median nearest-training distance of one point set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Meter {
    /// Fraction of points with `d1/d2 < 1/3`.
    pub memorised: f64,
    /// Points measured.
    pub n: usize,
    /// Median distance to the nearest training image (pixel units).
    pub median_nn: f64,
}

/// The figure's content (images in pixel units 0..16, one per row).
#[derive(Debug, Clone)]
pub struct LearnedDigits {
    /// Samples of the learned field (`n x 64`; NaN rows for failed paths).
    pub learned: Array2<f64>,
    /// Samples of the exact field from the same prior points.
    pub exact: Array2<f64>,
    /// For each learned sample, its nearest training image.
    pub nearest: Array2<f64>,
    /// For each learned sample, the distance to it.
    pub distances: Vec<f64>,
    /// One learned path at `levels`.
    pub path: Array2<f64>,
    /// The levels of `path`, from `s_max` to `s_min`.
    pub levels: Vec<f64>,
    /// The meter on the learned samples, the exact samples and the held-out images.
    pub meters: [Meter; 3],
    /// Training images.
    pub n_train: usize,
    /// Training steps.
    pub steps: usize,
    /// Hidden width of the MLP.
    pub hidden: usize,
    /// Held-out loss at the last step.
    pub test_loss: f64,
    /// Wall-clock training time (not drawn: it depends on the machine).
    pub train_time: Duration,
}

/// The meter of `x` (rows with a NaN skipped) against `train`.
fn meter(x: ArrayView2<'_, f64>, train: ArrayView2<'_, f64>) -> Result<Meter> {
    let x = finite_rows(x.to_owned());
    let m = memorisation(x.view(), train, DEFAULT_THRESHOLD)?;
    let d: Vec<f64> = x.rows().into_iter().map(|r| nearest(train, r).1).collect();
    Ok(Meter {
        memorised: m.memorised.fraction,
        n: m.memorised.n,
        median_nn: Data::new(d).median(),
    })
}

/// Trains on `n_train` digits (the first of a seeded permutation; the last
/// [`N_HELD_OUT`] are held out) for `steps` steps of a 3 x `hidden` MLP and samples
/// `n` images from each field.
pub fn compute(
    n: usize,
    n_train: usize,
    steps: usize,
    hidden: usize,
    seed: u64,
) -> Result<LearnedDigits> {
    let all = Digits::draw(Some(digits::N_IMAGES), seed)?.images;
    let n_train = n_train.min(digits::N_IMAGES - N_HELD_OUT);
    let data = all.slice(s![..n_train, ..]).to_owned();
    let held = all
        .slice(s![digits::N_IMAGES - N_HELD_OUT.., ..])
        .to_owned();
    let map = Standardization::fit(Standardize::Global, data.view())?;
    let z = map.apply(data.view())?;
    let zt = map.apply(held.view())?;
    let cfg = config(steps, hidden, seed);
    let start = Instant::now();
    let report = train(&cfg, z.view(), Some(zt.view()), |_, _| {})?;
    let train_time = start.elapsed();
    let test_loss = report.curve.last().map_or(f64::NAN, |p| p.test);
    let learned = LearnedField::new(report.model);
    let exact = MarginalField::new(cfg.kind, Source::points(z.view(), None)?)?;
    let mut opts = SampleOptions::new(&exact);
    opts.solver = SolverOptions::new(Method::Dopri5).tol(1e-4);
    let x0 = exact.sample_prior(opts.s_max, n, seed + 1, PriorKind::FarField)?;
    let prior = learned.prior(opts.s_max)?;
    let xl = Flow::new(&learned, &prior)?.generate_from(x0.view(), opts.s_max, &opts)?;
    let xe = generate_from(&exact, x0.view(), opts.s_max, &opts)?;
    let xl = map.invert(xl.x.view())?;
    let xe = map.invert(xe.x.view())?;
    let mut nearest_rows = Array2::from_elem(xl.dim(), f64::NAN);
    let mut distances = vec![f64::NAN; n];
    for (i, x) in xl.rows().into_iter().enumerate() {
        if x.iter().all(|v| v.is_finite()) {
            let (j, dist) = nearest(data.view(), x);
            nearest_rows.row_mut(i).assign(&data.row(j));
            distances[i] = dist;
        }
    }
    let meters = [
        meter(xl.view(), data.view())?,
        meter(xe.view(), data.view())?,
        meter(held.view(), data.view())?,
    ];
    let levels = super::log_levels(opts.s_max, opts.s_min, 10);
    let p = trajectories(
        &learned,
        x0.slice(s![..1, ..]),
        opts.s_max,
        opts.s_min,
        &levels,
        &opts.solver,
    )?;
    let path = map.invert(p.index_axis(Axis(0), 0))?;
    Ok(LearnedDigits {
        learned: xl,
        exact: xe,
        nearest: nearest_rows,
        distances,
        path,
        levels,
        meters,
        n_train,
        steps,
        hidden,
        test_loss,
        train_time,
    })
}

impl Figure for LearnedDigits {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let title = ("sans-serif", 18).into_font();
        let small = ("sans-serif", 13).into_font();
        let cell = 6;
        let side = cell * digits::SIDE as i32;
        let [ml, me, mh] = self.meters;
        let pct = |m: Meter| format!("{:.1}% of {}", 100.0 * m.memorised, m.n);
        root.draw(&Text::new(
            format!(
                "Learned vs exact Gaussian (EDM) field, {} UCI 8x8 digits: memorised (Gu et al. d1/d2 < 1/3) \
                 learned {}, exact {}, held-out images {}",
                self.n_train,
                pct(ml),
                pct(me),
                pct(mh)
            ),
            (10, 6),
            title.clone(),
        ))?;
        root.draw(&Text::new(
            format!(
                "Each triple: learned sample | nearest training image (distance under it, pixel units 0..16) | \
                 exact field's sample from the same prior point. Median nearest distance: learned {:.2}, \
                 exact {:.3}, held-out {:.2}.",
                ml.median_nn, me.median_nn, mh.median_nn
            ),
            (10, 28),
            small.clone(),
        ))?;
        root.draw(&Text::new(
            format!(
                "Network: 3 x {} SiLU MLP, conditional target, {} AdamW steps of batch 256 (held-out loss {:.3}); \
                 both fields from the far-field prior at s = {:.0} to 1e-3, dopri5 rtol = atol = 1e-4.",
                self.hidden,
                self.steps,
                self.test_loss,
                self.levels.first().copied().unwrap_or(f64::NAN),
            ),
            (10, 46),
            small.clone(),
        ))?;
        let per_row = 8;
        let gap = 4;
        let triple = 3 * side + 2 * gap + 22;
        let mut y = 70;
        for i in 0..self.learned.nrows() {
            let (r, c) = (i / per_row, i % per_row);
            let x = 10 + c as i32 * triple;
            let yy = y + r as i32 * (side + 22);
            draw_image(root, self.learned.row(i), (x, yy), cell)?;
            draw_image(root, self.nearest.row(i), (x + side + gap, yy), cell)?;
            draw_image(root, self.exact.row(i), (x + 2 * (side + gap), yy), cell)?;
            root.draw(&Text::new(
                format!("{:.1}", self.distances[i]),
                (x + side + gap + side / 4, yy + side + 3),
                small.clone(),
            ))?;
        }
        let rows = self.learned.nrows().div_ceil(per_row) as i32;
        y += rows * (side + 22) + 6;
        draw_path(
            root,
            "One learned path (the first prior point) from s_max (left, noise) to s_min (right), log-spaced levels",
            self.path.view(),
            &self.levels,
            y,
            cell,
        )
    }
}

/// Computes and saves `learned_digits.png` and `.svg` in `out_dir`: [`N_DRAWN`]
/// samples; full: [`N_TRAIN`] training images, [`FULL_STEPS`] steps of a 3 x 256
/// MLP; quick: 300 images, [`QUICK_STEPS`] steps of a 3 x 128 MLP.
pub fn make(out_dir: &Path, opts: &FigureOptions) -> Result<FigureFiles> {
    let fig = figure(opts)?;
    save_figure(
        &fig,
        out_dir.join("learned_digits"),
        (1400, 530),
        opts.overwrite,
    )
}

/// The figure's content for `opts` (size and seed).
pub fn figure(opts: &FigureOptions) -> Result<LearnedDigits> {
    let (n_train, steps, hidden) = opts
        .size
        .pick((N_TRAIN, FULL_STEPS, 256), (300, QUICK_STEPS, 128));
    compute(N_DRAWN, n_train, steps, hidden, opts.seed)
}
