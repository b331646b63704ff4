//! Figure 7: valid against invalid force laws, `K = d, d + 1, d + 2` in `d = 1`.
//!
//! The point-source law `F = (x - y, s) / R^K` moves particles by `dx/ds = F_x / F_s`
//! (the `power` field). Only `K = d + 1` is divergence-free in `(s, x)` space
//! (docs/MATHEMATICS.md, section 9). For each `K`, exact samples of the Poisson marginal at
//! `s1 = 3` are pushed forward to `s0 = 0.2` and compared with the exact `p_{s0}`:
//! a histogram against the exact density, and the one-sample KS and Anderson-Darling
//! tests of [`crate::checks::one_sample`] against the exact CDF
//! ([`poisson_cdf_1d`]), with a Bonferroni verdict at level 0.01. The flux of each law
//! through the lines `s = s1` and `s = s0` ([`crate::fields::validity::flux`]) shows why:
//! it is 1 at every level only for `K = d + 1`.

use super::{
    axes, category_color, fmt_p, save_figure, text_lines, Figure, FigureFiles, FigureOptions,
};
use crate::checks::one_sample::{ad_1samp, ks_1samp};
use crate::checks::TestResult;
use crate::fields::validity::flux;
use crate::fields::{FieldKind, MarginalField, Source};
use crate::ode::{Method, SolverOptions};
use crate::sampling::transport;
use crate::Result;
use ndarray::Array2;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// The figure's data points (`d = 1`).
pub const POINTS: [f64; 3] = [-1.0, 0.4, 1.5];
/// Their weights.
pub const WEIGHTS: [f64; 3] = [0.5, 0.3, 0.2];
/// Start and end levels.
pub const LEVELS: (f64, f64) = (3.0, 0.2);
/// Histogram window.
const WINDOW: (f64, f64) = (-3.5, 4.0);

/// The CDF of the 1-D Poisson (PFGM) marginal of weighted points at level `s`:
/// `sum_i pi_i (1/2 + atan((x - y_i)/s)/pi)` (a Cauchy mixture).
pub fn poisson_cdf_1d(points: &[f64], weights: &[f64], s: f64, x: f64) -> f64 {
    let total: f64 = weights.iter().sum();
    points
        .iter()
        .zip(weights)
        .map(|(y, w)| w / total * (0.5 + ((x - y) / s).atan() / std::f64::consts::PI))
        .sum()
}

/// One law's run.
#[derive(Debug, Clone)]
pub struct Law {
    /// `K`.
    pub k: f64,
    /// Pushed-forward samples.
    pub x: Vec<f64>,
    /// KS and AD against the exact CDF.
    pub tests: Vec<TestResult>,
    /// Whether rejected (Bonferroni at 0.01 over the tests).
    pub reject: bool,
    /// Flux through `s = s1` and `s = s0` (infinite for `K <= d`).
    pub flux: (f64, f64),
    /// KS and AD of the start sample against the exact CDF at `s1`.
    pub start_tests: Vec<TestResult>,
    /// Largest `|F_{s0}(x0) - F_{s1}(x1)|` over particles: zero for a flow that
    /// transports `p_s` (in 1-D it is the quantile map, docs/MATHEMATICS.md, section 7, item 6).
    pub quantile_error: f64,
}

/// The figure.
#[derive(Debug, Clone)]
pub struct ForceLaws {
    /// One panel per law.
    pub laws: Vec<Law>,
    /// Exact density `p_{s0}` on a fine grid `(x, p)`.
    pub density: Vec<(f64, f64)>,
    /// Sample size.
    pub n: usize,
}

/// Pushes `n` exact draws of the Poisson `p_{s1}` forward to `s0` under the law `K`
/// (dopri5, tolerance `1e-7`) and tests them against the exact `p_{s0}`.
pub fn run_law(k: f64, n: usize, seed: u64) -> Result<Law> {
    let pts = Array2::from_shape_vec((POINTS.len(), 1), POINTS.to_vec())
        .map_err(|e| crate::Error::Invalid(e.to_string()))?;
    let src = Source::points(pts.view(), Some(&WEIGHTS))?;
    let mf = MarginalField::new(FieldKind::Power { k }, src)?;
    let (s1, s0) = LEVELS;
    let x1 = mf.sample_marginal(s1, n, seed)?;
    let solver = SolverOptions::new(Method::Dopri5).tol(1e-7);
    let tr = transport(&mf, x1.view(), s1, s0, &solver, false)?;
    let cdf = |t: f64| poisson_cdf_1d(&POINTS, &WEIGHTS, s0, t);
    let cdf1 = |t: f64| poisson_cdf_1d(&POINTS, &WEIGHTS, s1, t);
    let quantile_error =
        tr.x.column(0)
            .iter()
            .zip(x1.column(0))
            .map(|(&a, &b)| (cdf(a) - cdf1(b)).abs())
            .fold(0.0, f64::max);
    let x: Vec<f64> =
        tr.x.column(0)
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .collect();
    let start: Vec<f64> = x1.column(0).to_vec();
    let tests = vec![ks_1samp(&x, cdf)?, ad_1samp(&x, cdf)?];
    let start_tests = vec![ks_1samp(&start, cdf1)?, ad_1samp(&start, cdf1)?];
    let reject = tests.iter().any(|t| t.pvalue <= 0.01 / tests.len() as f64);
    // for K <= d the flux integral diverges (u_s ~ s / |x|^K at large |x|)
    let flux = if k <= 1.0 {
        (f64::INFINITY, f64::INFINITY)
    } else {
        (flux(&mf, s1, 4000)?, flux(&mf, s0, 4000)?)
    };
    Ok(Law {
        k,
        x,
        tests,
        reject,
        flux,
        start_tests,
        quantile_error,
    })
}

impl Figure for ForceLaws {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let (s1, s0) = LEVELS;
        let root = root.titled(
            &format!(
                "Force laws F = (x - y, s) / R^K in d = 1: {} exact samples of the Poisson p_s at s = {s1} pushed to s = {s0} by dx/ds = F_x / F_s",
                self.n
            ),
            ("sans-serif", 19),
        )?;
        let panels = root.split_evenly((1, self.laws.len()));
        let nb = 75;
        let width = (WINDOW.1 - WINDOW.0) / nb as f64;
        let ymax = self.density.iter().map(|p| p.1).fold(0.0, f64::max) * 1.35;
        for (law, area) in self.laws.iter().zip(&panels) {
            let h = area.dim_in_pixel().1;
            let (plot, caption) = area.split_vertically(h - 105);
            let kind = match law.k as i64 {
                1 => "K = d",
                2 => "K = d + 1 (Poisson)",
                _ => "K = d + 2",
            };
            let mut chart = axes(
                &plot,
                &format!("{kind}: K = {}", law.k),
                WINDOW.0..WINDOW.1,
                0.0..ymax,
                ("x", "density at s = 0.2"),
            )?;
            let mut counts = vec![0usize; nb];
            for &v in &law.x {
                let b = ((v - WINDOW.0) / width).floor();
                if b >= 0.0 && (b as usize) < nb {
                    counts[b as usize] += 1;
                }
            }
            let color = if law.reject {
                category_color(3)
            } else {
                category_color(2)
            };
            chart
                .draw_series(counts.iter().enumerate().map(|(b, &c)| {
                    let x0 = WINDOW.0 + b as f64 * width;
                    let hgt = c as f64 / (law.x.len() as f64 * width);
                    Rectangle::new([(x0, 0.0), (x0 + width, hgt)], color.mix(0.55).filled())
                }))?
                .label("pushed-forward samples (histogram)")
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.mix(0.55).filled())
                });
            chart
                .draw_series(std::iter::once(PathElement::new(
                    self.density.clone(),
                    BLACK.stroke_width(2),
                )))?
                .label("exact p_s at s = 0.2")
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 14, y)], BLACK.stroke_width(2))
                });
            super::draw_legend(&mut chart, SeriesLabelPosition::UpperLeft, 13)?;
            let tests: Vec<String> = law
                .tests
                .iter()
                .map(|t| format!("{} p = {}", t.name, fmt_p(t.pvalue)))
                .collect();
            let start: Vec<String> = law
                .start_tests
                .iter()
                .map(|t| format!("{} p = {}", t.name, fmt_p(t.pvalue)))
                .collect();
            let lines = vec![
                format!(
                    "verdict: {}",
                    if law.reject {
                        "INVALID (rejected at 0.01, Bonferroni)"
                    } else {
                        "valid (not rejected at 0.01)"
                    }
                ),
                format!("at s = {s0} against the exact CDF: {}", tests.join(", ")),
                format!(
                    "(start sample at s = {s1}: {}); max |F_s0(x0) - F_s1(x1)| = {:.1e}",
                    start.join(", "),
                    law.quantile_error
                ),
                if law.flux.0.is_finite() {
                    format!(
                        "flux through the line s = {s1}: {:.3}, through s = {s0}: {:.3}",
                        law.flux.0, law.flux.1
                    )
                } else {
                    "flux through a line s = const: infinite (the law decays too slowly)".into()
                },
            ];
            text_lines(&caption, &lines, (40, 6), 14)?;
        }
        Ok(())
    }
}

/// Makes `force_laws.png` and `.svg` in `out_dir`.
pub fn make(out_dir: &Path, opts: &FigureOptions) -> Result<FigureFiles> {
    let n = opts.size.pick(20_000, 2000);
    let laws = [1.0, 2.0, 3.0]
        .iter()
        .map(|&k| run_law(k, n, opts.seed + 7))
        .collect::<Result<Vec<_>>>()?;
    let pts = Array2::from_shape_vec((POINTS.len(), 1), POINTS.to_vec())
        .map_err(|e| crate::Error::Invalid(e.to_string()))?;
    let mf = MarginalField::new(
        FieldKind::Poisson,
        Source::points(pts.view(), Some(&WEIGHTS))?,
    )?;
    let density = (0..=600)
        .map(|i| {
            let x = WINDOW.0 + (WINDOW.1 - WINDOW.0) * i as f64 / 600.0;
            (x, mf.log_density(LEVELS.1, &[x]).exp())
        })
        .collect();
    let fig = ForceLaws { laws, density, n };
    save_figure(
        &fig,
        out_dir.join("force_laws"),
        (1800, 640),
        opts.overwrite,
    )
}
