//! Figure 8: error against right-hand-side evaluations for every solver
//! (a work-precision diagram).
//!
//! Two PFGM transports with an exact answer, integrated in `tau = ln s` from
//! `s1 = 20` down to `s0 = 0.01` (not in the sampler's default `u = 1/s`, state
//! `x/s`: there the Cauchy path below is a straight line, which every method
//! integrates exactly, and the figure is about the methods' orders):
//!
//! * a Cauchy source in `d = 2` (docs/MATHEMATICS.md, section 7, item 4): from exact draws of
//!   `p_{s1}`, the exact path is `x_{s0} = mu + (x_{s1} - mu)(c + s0)/(c + s1)`; the
//!   error is the largest relative error `|x - x_exact| / |x_exact - mu|`;
//! * three weighted points in `d = 1` (item 6): the flow is the quantile map
//!   `x_{s0} = F_{s0}^{-1}(F_{s1}(x_{s1}))` with the closed-form Cauchy-mixture CDFs
//!   ([`super::force_laws::poisson_cdf_1d`], inverted by bisection to machine
//!   precision), started from the quantiles `2 % .. 98 %` of `p_{s1}`; the error is the
//!   largest absolute error.
//!
//! Fixed-step methods (euler, heun, rk4) run with 8 to 2048 steps, adaptive ones (bs3,
//! dopri5, tsit5) with `rtol = atol` from `1e-2` to `1e-11`; the horizontal axis is the
//! mean number of evaluations per particle.

use super::force_laws::poisson_cdf_1d;
use super::{
    axes_fmt, category_color, fmt_log_tick, save_figure, Figure, FigureFiles, FigureOptions,
};
use crate::fields::{FieldKind, MarginalField, Source};
use crate::ode::{Method, SolverOptions};
use crate::sampling::{transport_in, OdeTime};
use crate::Result;
use ndarray::{array, Array2};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// Levels of the transport.
pub const LEVELS: (f64, f64) = (20.0, 0.01);

/// One solver's curve: `(evaluations per particle, error, setting)` per run.
#[derive(Debug, Clone)]
pub struct Curve {
    /// The method.
    pub method: Method,
    /// The runs.
    pub points: Vec<(f64, f64, String)>,
}

/// One problem's curves.
#[derive(Debug, Clone)]
pub struct Problem {
    /// Title.
    pub title: String,
    /// What the error is.
    pub error_label: String,
    /// Curves, one per method.
    pub curves: Vec<Curve>,
}

/// The figure.
#[derive(Debug, Clone)]
pub struct WorkPrecision {
    /// The problems.
    pub problems: Vec<Problem>,
}

/// The solver settings of the diagram: fixed steps `8 * 2^k` and tolerances
/// `10^-k`.
pub fn settings(quick: bool) -> Vec<(Method, SolverOptions, String)> {
    let steps: Vec<usize> = if quick {
        vec![8, 64, 512]
    } else {
        (3..=11).map(|k| 1usize << k).collect()
    };
    let tols: Vec<i32> = if quick {
        vec![3, 6, 9]
    } else {
        (2..=11).collect()
    };
    let mut out = Vec::new();
    for m in Method::ALL {
        if m.is_adaptive() {
            for &k in &tols {
                let tol = 10f64.powi(-k);
                out.push((m, SolverOptions::new(m).tol(tol), format!("tol 1e-{k}")));
            }
        } else {
            for &n in &steps {
                out.push((
                    m,
                    SolverOptions::new(m).fixed_steps(n),
                    format!("{n} steps"),
                ));
            }
        }
    }
    out
}

/// Runs every setting on `mf` from `x1` (level `s1`) to `s0`, measuring the error
/// with `error(x_end)`.
pub fn curves(
    mf: &MarginalField,
    x1: &Array2<f64>,
    quick: bool,
    error: impl Fn(&Array2<f64>) -> f64,
) -> Result<Vec<Curve>> {
    let mut out: Vec<Curve> = Vec::new();
    for (m, opts, label) in settings(quick) {
        let tr = transport_in(mf, x1.view(), LEVELS, &opts, OdeTime::LogLevel, false)?;
        let evals = tr.totals.evals as f64 / x1.nrows() as f64;
        let err = error(&tr.x);
        match out.iter_mut().find(|c| c.method == m) {
            Some(c) => c.points.push((evals, err, label)),
            None => out.push(Curve {
                method: m,
                points: vec![(evals, err, label)],
            }),
        }
    }
    Ok(out)
}

/// The Cauchy-source problem (`n` particles).
pub fn cauchy_problem(n: usize, quick: bool, seed: u64) -> Result<Problem> {
    let (mu, c) = ([0.5, -0.3], 0.5);
    let src = Source::cauchy_mixture(array![[mu[0], mu[1]]].view(), &[c], None)?;
    let mf = MarginalField::new(FieldKind::Poisson, src)?;
    let (s1, s0) = LEVELS;
    let x1 = mf.sample_marginal(s1, n, seed)?;
    let k = (c + s0) / (c + s1);
    let curves = curves(&mf, &x1, quick, |x| {
        let mut worst: f64 = 0.0;
        for (a, b) in x.rows().into_iter().zip(x1.rows()) {
            let e0 = mu[0] + (b[0] - mu[0]) * k;
            let e1 = mu[1] + (b[1] - mu[1]) * k;
            let r = (e0 - mu[0]).hypot(e1 - mu[1]);
            worst = worst.max((a[0] - e0).hypot(a[1] - e1) / r);
        }
        worst
    })?;
    Ok(Problem {
        title: format!("PFGM, Cauchy source in d = 2 (scale {c}), s = {s1} -> {s0}"),
        error_label: "max relative error of x at s = 0.01".into(),
        curves,
    })
}

/// `x` with `F(x) = u` for an increasing continuous `F` (bisection to the last bit).
pub fn invert_cdf(f: impl Fn(f64) -> f64, u: f64) -> f64 {
    let (mut lo, mut hi) = (-1e8, 1e8);
    for _ in 0..400 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if f(mid) < u {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The 1-D quantile-map problem (`n` particles).
pub fn quantile_problem(n: usize, quick: bool) -> Result<Problem> {
    let points = [-1.0, 0.4, 1.5];
    let weights = [0.5, 0.3, 0.2];
    let pts = Array2::from_shape_vec((3, 1), points.to_vec())
        .map_err(|e| crate::Error::Invalid(e.to_string()))?;
    let mf = MarginalField::new(
        FieldKind::Poisson,
        Source::points(pts.view(), Some(&weights))?,
    )?;
    let (s1, s0) = LEVELS;
    let u: Vec<f64> = (0..n)
        .map(|k| 0.02 + 0.96 * (k as f64 + 0.5) / n as f64)
        .collect();
    let x1 = Array2::from_shape_fn((n, 1), |(i, _)| {
        invert_cdf(|x| poisson_cdf_1d(&points, &weights, s1, x), u[i])
    });
    let exact: Vec<f64> = u
        .iter()
        .map(|&q| invert_cdf(|x| poisson_cdf_1d(&points, &weights, s0, x), q))
        .collect();
    let curves = curves(&mf, &x1, quick, |x| {
        x.column(0)
            .iter()
            .zip(&exact)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max)
    })?;
    Ok(Problem {
        title: format!("PFGM, 3 weighted points in d = 1 (quantile map), s = {s1} -> {s0}"),
        error_label: "max absolute error of x at s = 0.01".into(),
        curves,
    })
}

impl Figure for WorkPrecision {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let root = root.titled(
            "Work-precision: error against right-hand-side evaluations per particle (fixed steps 8..2048, tolerances 1e-2..1e-11)",
            ("sans-serif", 19),
        )?;
        let panels = root.split_evenly((1, self.problems.len()));
        for (p, area) in self.problems.iter().zip(&panels) {
            let floor = 1e-16;
            let all = p.curves.iter().flat_map(|c| c.points.iter());
            let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, 0.0f64, f64::INFINITY, 0.0f64);
            for (e, err, _) in all {
                x0 = x0.min(*e);
                x1 = x1.max(*e);
                let v = err.max(floor);
                if v.is_finite() {
                    y0 = y0.min(v);
                    y1 = y1.max(v);
                }
            }
            let y1 = y1.min(1e3);
            let mut chart = axes_fmt(
                area,
                &p.title,
                (x0 / 1.3..x1 * 1.3).log_scale(),
                (y0 / 3.0..y1 * 3.0).log_scale(),
                ("evaluations per particle", p.error_label.as_str()),
                (Some(&fmt_log_tick), Some(&fmt_log_tick)),
            )?;
            for (i, c) in p.curves.iter().enumerate() {
                let color = category_color(i);
                let pts: Vec<(f64, f64)> = c
                    .points
                    .iter()
                    .filter(|(_, e, _)| e.is_finite())
                    .map(|(x, e, _)| (*x, e.max(floor).min(y1)))
                    .collect();
                let range = match (c.points.first(), c.points.last()) {
                    (Some(a), Some(b)) => format!("{} .. {}", a.2, b.2),
                    _ => String::new(),
                };
                chart
                    .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?
                    .label(format!("{} ({range})", c.method))
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                    });
                chart.draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
            }
            super::draw_legend(&mut chart, SeriesLabelPosition::LowerLeft, 13)?;
        }
        Ok(())
    }
}

/// Makes `work_precision.png` and `.svg` in `out_dir`.
pub fn make(out_dir: &Path, opts: &FigureOptions) -> Result<FigureFiles> {
    let quick = opts.size == super::Size::Quick;
    let n = opts.size.pick(200, 40);
    let fig = WorkPrecision {
        problems: vec![
            cauchy_problem(n, quick, opts.seed + 800)?,
            quantile_problem(n, quick)?,
        ],
    };
    save_figure(
        &fig,
        out_dir.join("work_precision"),
        (1700, 720),
        opts.overwrite,
    )
}
