//! Figures of learned fields: what a network trained on a field learned, measured
//! against the exact field of its training set.
//!
//! Every figure here trains its networks when it is drawn (nothing is shipped): the
//! linear path (flow matching) on moons with the conditional target, a 3 x 64 SiLU
//! MLP, batch 256, AdamW at `1e-3` ([`crate::learn::train()`]); the full size trains
//! on 2000 points for [`FULL_STEPS`] steps (a few seconds), the quick size on 300
//! points for 200 steps. One training is shared by the first three figures (kept for
//! the process, keyed by seed and size):
//!
//! * [`LearnedVelocity`]: the generation direction `m(x) - x` of the learned and of
//!   the exact field on a grid, at several levels, one row each (drawn by
//!   [`super::velocity`]);
//! * [`Memorisation`]: samples of the learned and of the exact field coloured by the
//!   memorisation ratio `d1/d2` ([`crate::measure`]), and the distribution of the
//!   ratio beside that of held-out points, with Gu et al.'s threshold 1/3 marked;
//! * [`LossCurve`]: the training loss as per-window means with a min-max band, and the
//!   held-out loss;
//! * [`MemorisationVsN`]: the memorised fraction against the training-set size
//!   `N = 16 ... 4096` for learned fields (one training per `N`, [`SWEEP_STEPS`]
//!   steps each) and exact fields, with the held-out baseline.

use super::velocity::{compute_field, Velocity};
use super::{
    axes, axes_fmt, category_color, colorbar, fmt_log_tick, save_figure, ColorScale, Figure,
    FigureFiles, FigureOptions, Size,
};
use crate::data::Dataset;
use crate::fields::{Field, FieldKind, MarginalField, Source};
use crate::learn::{train, LearnedField, LossPoint, TrainConfig};
use crate::measure::{memorisation, DEFAULT_THRESHOLD};
use crate::ode::{Method, SolverOptions};
use crate::sampling::{generate, Flow, SampleOptions};
use crate::Result;
use ndarray::{Array2, Axis};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Training steps of the shared model at full size.
pub const FULL_STEPS: usize = 4000;
/// Training steps per training-set size of [`MemorisationVsN`] at full size.
pub const SWEEP_STEPS: usize = 2000;
/// RK4 steps used to sample the learned fields (from the exact prior at `s = 1`).
pub const RK4_STEPS: usize = 20;

/// The training settings of every figure here.
pub fn config(steps: usize, seed: u64) -> TrainConfig {
    TrainConfig {
        kind: FieldKind::Linear {
            prior: crate::fields::LinearPrior::Normal,
        },
        steps,
        batch: 256,
        hidden: 64,
        layers: 3,
        seed,
        test_every: (steps / 50).max(1),
        ..TrainConfig::default()
    }
}

/// The shared training: data, held-out points, the loss curve, both fields.
#[derive(Debug)]
pub struct Setup {
    /// Training points.
    pub train: Array2<f64>,
    /// Held-out points (fresh draws of moons).
    pub test: Array2<f64>,
    /// The loss curve.
    pub curve: Vec<LossPoint>,
    /// The learned field.
    pub learned: LearnedField,
    /// The exact field of the training points.
    pub exact: MarginalField,
    /// The training settings.
    pub config: TrainConfig,
}

/// Trains (or returns the cached) shared model for `opts` (seed and size).
pub fn setup(opts: &FigureOptions) -> Result<Arc<Setup>> {
    type Cache = Mutex<Vec<((u64, bool), Arc<Setup>)>>;
    static CACHE: Cache = Mutex::new(Vec::new());
    let key = (opts.seed, opts.size == Size::Quick);
    if let Ok(c) = CACHE.lock() {
        if let Some((_, s)) = c.iter().find(|(k, _)| *k == key) {
            return Ok(Arc::clone(s));
        }
    }
    let n = opts.size.pick(2000, 300);
    let train_pts = Dataset::Moons.sample_seeded(n, opts.seed + 900);
    let test = Dataset::Moons.sample_seeded(opts.size.pick(1000, 200), opts.seed + 901);
    let cfg = config(opts.size.pick(FULL_STEPS, 200), opts.seed);
    let report = train(&cfg, train_pts.view(), Some(test.view()), |_, _| {})?;
    let exact = MarginalField::new(cfg.kind, Source::points(train_pts.view(), None)?)?;
    let s = Arc::new(Setup {
        train: train_pts,
        test,
        curve: report.curve,
        learned: LearnedField::new(report.model),
        exact,
        config: cfg,
    });
    if let Ok(mut c) = CACHE.lock() {
        c.push((key, Arc::clone(&s)));
    }
    Ok(s)
}

/// `n` samples of a learned field by RK4 ([`RK4_STEPS`] steps from its prior at
/// `s = 1` to `1e-3`), keeping the finite rows.
pub fn sample_learned(field: &LearnedField, n: usize, seed: u64) -> Result<Array2<f64>> {
    let mut o = SampleOptions::for_schedule(field.schedule());
    o.solver = SolverOptions::new(Method::Rk4).fixed_steps(RK4_STEPS);
    let prior = field.prior(o.s_max)?;
    Ok(finite_rows(
        Flow::new(field, &prior)?.generate(n, seed, &o)?.x,
    ))
}

/// `n` samples of an exact field (its default options: dopri5 at `1e-5`).
pub fn sample_exact(mf: &MarginalField, n: usize, seed: u64) -> Result<Array2<f64>> {
    Ok(finite_rows(
        generate(mf, n, seed, &SampleOptions::new(mf))?.x,
    ))
}

pub(super) fn finite_rows(x: Array2<f64>) -> Array2<f64> {
    let keep: Vec<usize> = (0..x.nrows())
        .filter(|&i| x.row(i).iter().all(|v| v.is_finite()))
        .collect();
    x.select(Axis(0), &keep)
}

/// Learned against exact velocity: two rows of [`Velocity`] panels.
#[derive(Debug, Clone)]
pub struct LearnedVelocity {
    /// The learned field's row and the exact field's row.
    pub rows: [Velocity; 2],
}

impl Figure for LearnedVelocity {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let (top, bottom) = root.split_vertically(root.dim_in_pixel().1 / 2);
        self.rows[0].draw(&top)?;
        self.rows[1].draw(&bottom)?;
        Ok(())
    }
}

/// Makes `learned_velocity.png` and `.svg` in `out_dir`.
pub fn make_velocity(out_dir: &Path, opts: &FigureOptions) -> Result<FigureFiles> {
    let st = setup(opts)?;
    let win = super::window(st.train.view(), 0.1);
    let levels = [1.0, 0.5, 0.2, 0.05];
    let n = opts.size.pick(19, 9);
    let mut learned = compute_field("moons", &st.learned, st.train.clone(), win, &levels, n)?;
    learned.field = format!(
        "Learned linear field (3x64 MLP, {} steps on {} points)",
        st.config.steps,
        st.train.nrows()
    );
    let mut exact = compute_field("moons", &st.exact, st.train.clone(), win, &levels, n)?;
    exact.field = "Exact linear field of the same training points".into();
    let fig = LearnedVelocity {
        rows: [learned, exact],
    };
    save_figure(
        &fig,
        out_dir.join("learned_velocity"),
        (1800, 1000),
        opts.overwrite,
    )
}

/// Samples of the learned and of the exact field coloured by the memorisation ratio,
/// and the distribution of the ratio.
#[derive(Debug, Clone)]
pub struct Memorisation {
    /// Training points.
    pub train: Array2<f64>,
    /// `(name, samples, ratios)` of the learned and of the exact field.
    pub panels: Vec<(String, Array2<f64>, Vec<f64>)>,
    /// The ratios of held-out points (the baseline).
    pub test_ratios: Vec<f64>,
    /// The threshold.
    pub threshold: f64,
}

fn fraction_below(r: &[f64], t: f64) -> f64 {
    r.iter().filter(|&&v| v < t).count() as f64 / r.len().max(1) as f64
}

impl Figure for Memorisation {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let t = self.threshold;
        let root = root.titled(
            &format!(
                "Memorisation: d1/d2 = nearest / second-nearest training-point distance of each sample \
                 ({} training points, grey); memorised when d1/d2 < {t:.3}",
                self.train.nrows()
            ),
            ("sans-serif", 19),
        )?;
        let w = root.dim_in_pixel().0 as i32;
        let (left, right) = root.split_horizontally(w * 2 / 3);
        let (plots, bar) = left.split_horizontally(w * 2 / 3 - 90);
        let scale = ColorScale::new(0.0, 1.0)?;
        let win = super::window(self.train.view(), 0.1);
        let inside = |x: f64, y: f64| {
            (win.0 .0..=win.0 .1).contains(&x) && (win.1 .0..=win.1 .1).contains(&y)
        };
        for ((name, x, r), area) in self.panels.iter().zip(&plots.split_evenly((1, 2))) {
            let title = format!(
                "{name}: {:.1}% memorised (n = {})",
                100.0 * fraction_below(r, t),
                r.len()
            );
            let mut chart = axes(
                area,
                &title,
                win.0 .0..win.0 .1,
                win.1 .0..win.1 .1,
                ("x1", "x2"),
            )?;
            chart.draw_series(
                self.train
                    .rows()
                    .into_iter()
                    .map(|p| Circle::new((p[0], p[1]), 2, RGBColor(190, 190, 190).filled())),
            )?;
            // memorised samples last, so that they stay visible
            let mut order: Vec<usize> = (0..r.len()).collect();
            order.sort_by(|&a, &b| r[b].total_cmp(&r[a]));
            order.retain(|&i| inside(x[[i, 0]], x[[i, 1]]));
            chart.draw_series(
                order
                    .into_iter()
                    .map(|i| Circle::new((x[[i, 0]], x[[i, 1]]), 2, scale.color(r[i]).filled())),
            )?;
        }
        colorbar(&bar, &scale, "d1/d2", &|v| format!("{v:.1}"))?;
        // the empirical CDF of the ratio
        let mut chart = axes(
            &right,
            "distribution of d1/d2 (fraction below, dashed: threshold)",
            0.0..1.0,
            0.0..1.0,
            ("d1/d2", "fraction of points with a smaller ratio"),
        )?;
        let mut curves: Vec<(String, &[f64])> = self
            .panels
            .iter()
            .map(|(n, _, r)| (n.clone(), r.as_slice()))
            .collect();
        curves.push(("held-out data (baseline)".into(), &self.test_ratios));
        for (k, (name, r)) in curves.iter().enumerate() {
            let mut v = r.to_vec();
            v.sort_by(f64::total_cmp);
            let m = v.len() as f64;
            let mut pts = vec![(0.0, 0.0)];
            for (i, x) in v.iter().enumerate() {
                pts.push((*x, i as f64 / m));
                pts.push((*x, (i + 1) as f64 / m));
            }
            pts.push((1.0, 1.0));
            let color = category_color(k);
            chart
                .draw_series(LineSeries::new(pts, color.stroke_width(2)))?
                .label(format!(
                    "{name}: {:.1}% below",
                    100.0 * fraction_below(r, t)
                ))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
        }
        chart
            .draw_series(DashedLineSeries::new(
                vec![(t, 0.0), (t, 1.0)],
                8,
                6,
                BLACK.stroke_width(1),
            ))?
            .label(format!("threshold {t:.3}"))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK));
        super::draw_legend(&mut chart, SeriesLabelPosition::LowerRight, 13)?;
        Ok(())
    }
}

/// Makes `learned_memorisation.png` and `.svg` in `out_dir`.
pub fn make_memorisation(out_dir: &Path, opts: &FigureOptions) -> Result<FigureFiles> {
    let st = setup(opts)?;
    let n = opts.size.pick(1000, 200);
    let t = DEFAULT_THRESHOLD;
    let xl = sample_learned(&st.learned, n, opts.seed + 910)?;
    let xe = sample_exact(&st.exact, n, opts.seed + 911)?;
    let rl = memorisation(xl.view(), st.train.view(), t)?.ratios;
    let re = memorisation(xe.view(), st.train.view(), t)?.ratios;
    let rt = memorisation(st.test.view(), st.train.view(), t)?.ratios;
    let fig = Memorisation {
        train: st.train.clone(),
        panels: vec![
            (format!("learned field (RK4, {RK4_STEPS} steps)"), xl, rl),
            ("exact field (dopri5)".into(), xe, re),
        ],
        test_ratios: rt,
        threshold: t,
    };
    save_figure(
        &fig,
        out_dir.join("learned_memorisation"),
        (1900, 640),
        opts.overwrite,
    )
}

/// The training loss curve.
#[derive(Debug, Clone)]
pub struct LossCurve {
    /// One point per step.
    pub curve: Vec<LossPoint>,
    /// What was trained (for the title).
    pub what: String,
    /// Steps per window: the training loss is drawn as each window's mean and its
    /// min-max band.
    pub window: usize,
}

impl Figure for LossCurve {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let train: Vec<(f64, f64)> = self
            .curve
            .iter()
            .filter(|p| p.train.is_finite() && p.train > 0.0)
            .map(|p| (p.step as f64, p.train))
            .collect();
        let test: Vec<(f64, f64)> = self
            .curve
            .iter()
            .filter(|p| p.test.is_finite() && p.test > 0.0)
            .map(|p| (p.step as f64, p.test))
            .collect();
        // one point per window of `w` steps (not one per step: a line through every
        // step of a long run makes a megabyte PNG of noise)
        let w = self.window.max(1);
        let blocks = window_stats(&train, w);
        let avg: Vec<(f64, f64)> = blocks.iter().map(|b| (b.0, b.1)).collect();
        let band: Vec<(f64, f64)> = blocks
            .iter()
            .map(|b| (b.0, b.3))
            .chain(blocks.iter().rev().map(|b| (b.0, b.2)))
            .collect();
        let (lo, hi) = train
            .iter()
            .chain(&test)
            .fold((f64::INFINITY, 0.0f64), |(a, b), p| {
                (a.min(p.1), b.max(p.1))
            });
        let (lo, hi) = if lo < hi { (lo, hi) } else { (0.0, 1.0) };
        let steps = self.curve.len().max(2) as f64;
        let pad = 0.05 * (hi - lo);
        let int = |v: &f64| format!("{v:.0}");
        let two = |v: &f64| format!("{v:.2}");
        let mut chart = axes_fmt(
            root,
            &format!("Training loss: {}", self.what),
            1.0..steps,
            (lo - pad).max(0.0)..hi + pad,
            (
                "step",
                "loss (mean squared error of the preconditioned output)",
            ),
            (Some(&int), Some(&two)),
        )?;
        let c0 = category_color(0);
        if band.len() >= 4 {
            chart
                .draw_series(std::iter::once(Polygon::new(band, c0.mix(0.2).filled())))?
                .label(format!("training batches, min to max per {w} steps"))
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 4), (x + 16, y + 4)], c0.mix(0.2).filled())
                });
        }
        chart
            .draw_series(LineSeries::new(avg, c0.stroke_width(2)))?
            .label(format!("training, mean per {w} steps"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], c0.stroke_width(2)));
        let c1 = category_color(1);
        chart
            .draw_series(LineSeries::new(test.clone(), c1.stroke_width(2)))?
            .label("held-out (fixed batch)")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], c1.stroke_width(2)));
        chart.draw_series(test.iter().map(|&p| Circle::new(p, 3, c1.filled())))?;
        super::draw_legend(&mut chart, SeriesLabelPosition::UpperRight, 13)?;
        Ok(())
    }
}

/// `(last step, mean, min, max)` of the losses of each run of `w` consecutive points
/// (the last run may be shorter).
pub fn window_stats(points: &[(f64, f64)], w: usize) -> Vec<(f64, f64, f64, f64)> {
    points
        .chunks(w.max(1))
        .map(|c| {
            let mean = c.iter().map(|p| p.1).sum::<f64>() / c.len() as f64;
            let (lo, hi) = c
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
                    (a.min(p.1), b.max(p.1))
                });
            (c[c.len() - 1].0, mean, lo, hi)
        })
        .collect()
}

/// Makes `learned_loss.png` and `.svg` in `out_dir`.
pub fn make_loss(out_dir: &Path, opts: &FigureOptions) -> Result<FigureFiles> {
    let st = setup(opts)?;
    let c = &st.config;
    let fig = LossCurve {
        curve: st.curve.clone(),
        what: format!(
            "linear field on {} moons points, {}x{} SiLU MLP, batch {}, AdamW lr {}, {} held-out points",
            st.train.nrows(),
            c.layers,
            c.hidden,
            c.batch,
            c.lr,
            st.test.nrows()
        ),
        window: opts.size.pick(100, 10),
    };
    save_figure(
        &fig,
        out_dir.join("learned_loss"),
        (1400, 700),
        opts.overwrite,
    )
}

/// One training-set size of [`MemorisationVsN`].
#[derive(Debug, Clone, PartialEq)]
pub struct SweepPoint {
    /// Training points `N`.
    pub n_train: usize,
    /// Memorised fraction and its standard error: learned field.
    pub learned: (f64, f64),
    /// Exact field.
    pub exact: (f64, f64),
    /// Held-out points (the baseline).
    pub held_out: (f64, f64),
}

/// Memorised fraction against the training-set size.
#[derive(Debug, Clone)]
pub struct MemorisationVsN {
    /// One point per `N`.
    pub points: Vec<SweepPoint>,
    /// Settings for the title.
    pub what: String,
}

/// The sweep: for each `N`, train a learned field ([`config`] with `steps`), draw `n`
/// samples of it and of the exact field, and measure both and `n` held-out points.
pub fn sweep(sizes: &[usize], steps: usize, n: usize, seed: u64) -> Result<Vec<SweepPoint>> {
    let t = DEFAULT_THRESHOLD;
    let frac = |x: &Array2<f64>, tr: &Array2<f64>| -> Result<(f64, f64)> {
        let m = memorisation(x.view(), tr.view(), t)?.memorised;
        Ok((m.fraction, m.std_error))
    };
    sizes
        .iter()
        .enumerate()
        .map(|(k, &nt)| {
            let k = k as u64;
            let tr = Dataset::Moons.sample_seeded(nt, seed + 920 + k);
            let test = Dataset::Moons.sample_seeded(n, seed + 940 + k);
            let cfg = config(steps, seed + k);
            let model = train(&cfg, tr.view(), None, |_, _| {})?.model;
            let lf = LearnedField::new(model);
            let exact = MarginalField::new(cfg.kind, Source::points(tr.view(), None)?)?;
            let xl = sample_learned(&lf, n, seed + 960 + k)?;
            let xe = sample_exact(&exact, n, seed + 980 + k)?;
            Ok(SweepPoint {
                n_train: nt,
                learned: frac(&xl, &tr)?,
                exact: frac(&xe, &tr)?,
                held_out: frac(&test, &tr)?,
            })
        })
        .collect()
}

impl Figure for MemorisationVsN {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let (n0, n1) = match (self.points.first(), self.points.last()) {
            (Some(a), Some(b)) => (a.n_train as f64, b.n_train as f64),
            _ => (1.0, 10.0),
        };
        let root = root.titled(
            "Memorised fraction (d1/d2 < 1/3) against the training-set size N",
            ("sans-serif", 20),
        )?;
        let mut chart = axes_fmt(
            &root,
            &self.what,
            (n0 / 1.4..n1 * 1.4).log_scale(),
            -0.02..1.02,
            ("training points N", "fraction of points memorised"),
            (Some(&fmt_log_tick), None),
        )?;
        type Pick = fn(&SweepPoint) -> (f64, f64);
        let lines: [(&str, Pick); 3] = [
            ("exact field", |p| p.exact),
            ("learned field", |p| p.learned),
            ("held-out data (baseline)", |p| p.held_out),
        ];
        for (k, (name, pick)) in lines.iter().enumerate() {
            let color = category_color(k);
            let pts: Vec<(f64, f64, f64)> = self
                .points
                .iter()
                .map(|p| {
                    let (f, e) = pick(p);
                    (p.n_train as f64, f, e)
                })
                .collect();
            chart
                .draw_series(LineSeries::new(
                    pts.iter().map(|p| (p.0, p.1)),
                    color.stroke_width(2),
                ))?
                .label(*name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
            chart.draw_series(
                pts.iter()
                    .map(|p| Circle::new((p.0, p.1), 4, color.filled())),
            )?;
            // two standard errors
            chart.draw_series(pts.iter().map(|p| {
                PathElement::new(
                    vec![(p.0, p.1 - 2.0 * p.2), (p.0, p.1 + 2.0 * p.2)],
                    color.stroke_width(2),
                )
            }))?;
        }
        super::draw_legend(&mut chart, SeriesLabelPosition::MiddleRight, 13)?;
        Ok(())
    }
}

/// Makes `learned_memorisation_n.png` and `.svg` in `out_dir`: `N = 16, 64, ...,
/// 4096` at full size, `16, 64, 256` quick.
pub fn make_memorisation_n(out_dir: &Path, opts: &FigureOptions) -> Result<FigureFiles> {
    let sizes: &[usize] = opts.size.pick(&[16, 64, 256, 1024, 4096], &[16, 64, 256]);
    let steps = opts.size.pick(SWEEP_STEPS, 100);
    let n = opts.size.pick(500, 100);
    let points = sweep(sizes, steps, n, opts.seed)?;
    let fig = MemorisationVsN {
        points,
        what: format!(
            "moons, linear field; learned: 3x64 MLP, {steps} steps of batch 256, sampled by RK4 \
             ({RK4_STEPS} steps); {n} samples and {n} held-out points per N; bars: 2 s.e."
        ),
    };
    save_figure(
        &fig,
        out_dir.join("learned_memorisation_n"),
        (1400, 700),
        opts.overwrite,
    )
}

#[cfg(test)]
mod tests {
    use super::window_stats;

    #[test]
    fn window_stats_are_the_block_means_and_extremes() {
        // losses 1..=7 at steps 1..=7 in windows of 3: {1,2,3}, {4,5,6}, {7}
        let pts: Vec<(f64, f64)> = (1..=7).map(|i| (f64::from(i), f64::from(i))).collect();
        let w = window_stats(&pts, 3);
        assert_eq!(
            w,
            vec![
                (3.0, 2.0, 1.0, 3.0),
                (6.0, 5.0, 4.0, 6.0),
                (7.0, 7.0, 7.0, 7.0)
            ]
        );
        // a window of 0 is taken as 1: every point its own block
        assert_eq!(window_stats(&pts[..2], 0).len(), 2);
    }
}
