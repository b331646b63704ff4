//! Figure 10: the few-step samplers' global error against evaluations per particle,
//! next to the adaptive solvers (a work-precision diagram against the exact
//! solution).
//!
//! Three fields on the `8gaussians` data, each from far-field prior draws at
//! `s_max` with the bench of [`crate::samplers::bench`]: the error of a run is the RMS
//! over particles of `|x - x_exact|`, the exact end points being DOPRI5 at
//! `rtol = atol = 1e-12` down to `s_min` followed by the common last step
//! `x <- m_{s_min}(x)`.
//!
//! * Gaussian field (EDM) on the closed-form 8gaussians mixture, `s = 80 -> 0.002`
//!   (EDM's `sigma_max`, `sigma_min`);
//! * PFGM++ with `D = 128` on 1000 draws of 8gaussians, `r = 905.1 -> 0.0226`
//!   (EDM's levels mapped by `r = sigma sqrt(D)`);
//! * PFGM (Poisson) on the same 1000 points, `s = 40 -> 0.001` (PFGM's settings);
//! * PFGM on a smooth source with the same far-field prior: the Cauchy mixture (the
//!   Poisson kernel at scale 0.1) around the eight centres, whose field is smooth at
//!   `s = 0`, so that no particle can switch data points.
//!
//! Samplers with `N = 4 .. 512` levels (`rho = 7`); dopri5 and tsit5 with
//! `rtol = atol = 1e-2 .. 1e-8` plus the last step.

use super::{axes_fmt, category_color, fmt_log_tick, save_figure, Figure, FigureFiles};
use super::{FigureOptions, Size};
use crate::data::{Dataset, GaussianMixture};
use crate::fields::{FieldKind, MarginalField, PriorKind, Source};
use crate::ode::Method as OdeMethod;
use crate::samplers::bench::{run, BenchConfig, Row};
use crate::samplers::Method;
use crate::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// One panel: a field, its levels and the measured rows.
#[derive(Debug, Clone)]
pub struct Panel {
    /// Title.
    pub title: String,
    /// Rows of the bench (samplers and adaptive solvers).
    pub rows: Vec<Row>,
}

/// The figure.
#[derive(Debug, Clone)]
pub struct SamplersFigure {
    /// The panels.
    pub panels: Vec<Panel>,
}

/// The four problems of the figure: `(title, field, s_max, s_min)`.
pub fn problems(data_n: usize) -> Result<Vec<(String, MarginalField, f64, f64)>> {
    let mix = MarginalField::new(
        FieldKind::Gaussian,
        Source::from_mixture(&GaussianMixture::eight_gaussians())?,
    )?;
    let pts = Dataset::EightGaussians.sample_seeded(data_n, 0);
    let pfgmpp = MarginalField::new(
        FieldKind::Pfgmpp { aug_dim: 128.0 },
        Source::points(pts.view(), None)?,
    )?;
    let poisson = MarginalField::new(FieldKind::Poisson, Source::points(pts.view(), None)?)?;
    let centres = GaussianMixture::eight_gaussians();
    let cauchy = MarginalField::new(
        FieldKind::Poisson,
        Source::cauchy_mixture(centres.means(), &[0.1; 8], None)?,
    )?;
    let r = 128f64.sqrt();
    Ok(vec![
        (
            "gaussian (EDM), 8gaussians mixture, s 80 -> 0.002".to_string(),
            mix,
            80.0,
            0.002,
        ),
        (
            format!("pfgmpp D = 128, {data_n} points, r 905.1 -> 0.0226"),
            pfgmpp,
            80.0 * r,
            0.002 * r,
        ),
        (
            format!("poisson (PFGM), {data_n} points, s 40 -> 0.001"),
            poisson,
            40.0,
            0.001,
        ),
        (
            "poisson (PFGM), Cauchy mixture (scale 0.1), s 40 -> 0.001".to_string(),
            cauchy,
            40.0,
            0.001,
        ),
    ])
}

/// Measures one problem from `n` far-field prior draws (stream `seed`).
pub fn measure(
    mf: &MarginalField,
    s_max: f64,
    s_min: f64,
    n: usize,
    seed: u64,
    quick: bool,
) -> Result<Vec<Row>> {
    let steps: Vec<usize> = if quick {
        vec![4, 16, 64]
    } else {
        (2..=9).map(|k| 1usize << k).collect()
    };
    let tols: Vec<f64> = if quick {
        vec![1e-3, 1e-6]
    } else {
        (2..=8).map(|k| 10f64.powi(-k)).collect()
    };
    let cfg = BenchConfig {
        s_max,
        s_min,
        rho: 7.0,
        samplers: Method::ALL.to_vec(),
        steps,
        adaptive: [OdeMethod::Dopri5, OdeMethod::Tsit5]
            .iter()
            .flat_map(|&m| tols.iter().map(move |&t| (m, t)))
            .collect(),
        target_seed: 0,
        w2: false,
        battery: None,
    };
    let x0 = mf.sample_prior(s_max, n, seed, PriorKind::FarField)?;
    Ok(run(mf, x0.view(), &cfg)?.rows)
}

impl Figure for SamplersFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let root = root.titled(
            "Few-step samplers against the exact solution: RMS error at s = 0 vs evaluations per particle (N = 4..512 levels, rho = 7; adaptive tol 1e-2..1e-8)",
            ("sans-serif", 18),
        )?;
        let areas = root.split_evenly((2, self.panels.len().div_ceil(2)));
        for (p, area) in self.panels.iter().zip(&areas) {
            let floor = 1e-9;
            let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, 0.0f64, f64::INFINITY, 0.0f64);
            for r in &p.rows {
                x0 = x0.min(r.evals);
                x1 = x1.max(r.evals);
                let v = r.rms_error.max(floor);
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
                ("evaluations per particle", "RMS error of x at s = 0"),
                (Some(&fmt_log_tick), Some(&fmt_log_tick)),
            )?;
            let mut names: Vec<&str> = Vec::new();
            for r in &p.rows {
                if !names.contains(&r.method.as_str()) {
                    names.push(&r.method);
                }
            }
            for (i, name) in names.iter().enumerate() {
                let color = category_color(i);
                let pts: Vec<(f64, f64)> = p
                    .rows
                    .iter()
                    .filter(|r| r.method == *name && r.rms_error.is_finite())
                    .map(|r| (r.evals, r.rms_error.max(floor).min(y1)))
                    .collect();
                let dashed = matches!(*name, "dopri5" | "tsit5");
                let label = if dashed {
                    format!("{name} (tol)")
                } else {
                    format!("{name} (N levels)")
                };
                chart
                    .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?
                    .label(label)
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                    });
                if dashed {
                    chart.draw_series(
                        pts.iter()
                            .map(|&q| TriangleMarker::new(q, 5, color.filled())),
                    )?;
                } else {
                    chart.draw_series(pts.iter().map(|&q| Circle::new(q, 4, color.filled())))?;
                }
            }
            super::draw_legend(&mut chart, SeriesLabelPosition::LowerLeft, 13)?;
        }
        Ok(())
    }
}

/// Makes `samplers.png` and `.svg` in `out_dir`.
pub fn make(out_dir: &Path, opts: &FigureOptions) -> Result<FigureFiles> {
    let quick = opts.size == Size::Quick;
    let n = opts.size.pick(300, 40);
    let data_n = opts.size.pick(1000, 200);
    let mut panels = Vec::new();
    for (k, (title, mf, s_max, s_min)) in problems(data_n)?.into_iter().enumerate() {
        let rows = measure(&mf, s_max, s_min, n, opts.seed + 1000 + k as u64, quick)?;
        panels.push(Panel { title, rows });
    }
    save_figure(
        &SamplersFigure { panels },
        out_dir.join("samplers"),
        (1700, 1300),
        opts.overwrite,
    )
}
