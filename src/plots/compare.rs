//! Figure 5: generated samples against the target, side by side, with the checks'
//! p-values.
//!
//! Two runs of [`crate::sampling::generate`] from the far-field prior at `s = 40` down
//! to `s_min = 1e-3`, each compared with independent exact draws of `p_{s_min}`
//! ([`MarginalField::sample_marginal`]) by the two-sample battery of
//! [`crate::checks`] (KS and Anderson-Darling on projections, energy, MMD, sliced
//! W2, 2-D KS; Bonferroni verdict at family-wise level 0.01):
//!
//! * the Gaussian (EDM) field on the closed-form 8gaussians mixture, also checked
//!   against the mixture itself (blurred by `s_min`) by the one-sample tests
//!   (mode counts, residual chi-square);
//! * PFGM on the empirical field of 1000 moons points, also checked by the landing
//!   test (which data point each sample lands on, against the weights).

use super::{axes, fmt_p, save_figure, text_lines, Figure, FigureFiles, FigureOptions};
use crate::checks::{Battery, BatteryReport, OneSampleTarget};
use crate::data::{Dataset, GaussianMixture};
use crate::fields::{FieldKind, MarginalField, Source};
use crate::sampling::{generate, SampleOptions};
use crate::Result;
use ndarray::Array2;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// One row: a run, its target and its checks.
#[derive(Debug, Clone)]
pub struct Row {
    /// What was run.
    pub title: String,
    /// Exact draws of `p_{s_min}`.
    pub target: Array2<f64>,
    /// Generated samples.
    pub generated: Array2<f64>,
    /// Mean right-hand-side evaluations per particle.
    pub evals: f64,
    /// Unconverged particles.
    pub unconverged: usize,
    /// The two-sample battery.
    pub two_sample: BatteryReport,
    /// The one-sample tests against the known law.
    pub one_sample: BatteryReport,
}

/// The figure.
#[derive(Debug, Clone)]
pub struct Compare {
    /// The rows.
    pub rows: Vec<Row>,
}

/// Generates `n` samples of `mf` (far field, `s 40 -> 1e-3`, dopri5 at `1e-5`) and
/// checks them against `n` exact draws of `p_{s_min}` and against `one`.
pub fn run_row(
    title: &str,
    mf: &MarginalField,
    one: &OneSampleTarget,
    n: usize,
    permutations: usize,
    seed: u64,
) -> Result<Row> {
    let opts = SampleOptions::new(mf);
    let gen = generate(mf, n, seed, &opts)?;
    let target = mf.sample_marginal(opts.s_min, n, seed + 1)?;
    // the tests need finite samples; unconverged particles are kept (they are real
    // draws of the model) unless their trajectory failed
    let finite: Vec<usize> = (0..n)
        .filter(|&i| gen.x.row(i).iter().all(|v| v.is_finite()))
        .collect();
    let x = gen.x.select(ndarray::Axis(0), &finite);
    let mut battery = Battery::new(0.01)?;
    battery.config.permutations = permutations;
    battery.config.seed = seed + 2;
    let two_sample = battery.two_sample(x.view(), target.view())?;
    let one_sample = battery.one_sample(x.view(), one)?;
    Ok(Row {
        title: title.to_string(),
        target,
        evals: gen.evals_per_particle(),
        unconverged: gen.n_unconverged,
        generated: x,
        two_sample,
        one_sample,
    })
}

fn summary(r: &BatteryReport) -> String {
    let tests: Vec<String> = r
        .tests
        .iter()
        .map(|t| format!("{} p = {}", t.name, fmt_p(t.pvalue)))
        .collect();
    format!(
        "{}  ->  {} (Bonferroni, family-wise alpha = {})",
        tests.join(", "),
        if r.reject { "REJECTED" } else { "pass" },
        r.alpha
    )
}

impl Figure for Compare {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let root = root.titled(
            "Generated (right) against exact draws of the target p_s at s_min = 0.001 (left), from the far-field prior at s = 40",
            ("sans-serif", 19),
        )?;
        let rows = root.split_evenly((self.rows.len(), 1));
        for (row, area) in self.rows.iter().zip(&rows) {
            let h = area.dim_in_pixel().1;
            let (plots, caption) = area.split_vertically(h - 92);
            let halves = plots.split_evenly((1, 2));
            let lim = 4.5;
            for (k, (pts, what)) in [
                (&row.target, "target (exact)"),
                (&row.generated, "generated"),
            ]
            .into_iter()
            .enumerate()
            {
                let mut chart = axes(
                    &halves[k],
                    &format!("{}: {what}, n = {}", row.title, pts.nrows()),
                    -lim..lim,
                    -lim..lim,
                    ("x1", "x2"),
                )?;
                let color = super::category_color(k);
                chart.draw_series(
                    pts.rows()
                        .into_iter()
                        .filter(|r| r[0].abs() < lim && r[1].abs() < lim)
                        .map(|r| Circle::new((r[0], r[1]), 1, color.mix(0.6).filled())),
                )?;
            }
            let lines = vec![
                format!(
                    "{:.1} evaluations per particle, {} unconverged.  Two-sample battery (n = {}, m = {}):",
                    row.evals,
                    row.unconverged,
                    row.two_sample.n,
                    row.two_sample.m.unwrap_or(0)
                ),
                format!("    {}", summary(&row.two_sample)),
                "One-sample tests against the known law:".to_string(),
                format!("    {}", summary(&row.one_sample)),
            ];
            text_lines(&caption, &lines, (20, 4), 14)?;
        }
        Ok(())
    }
}

/// Makes `compare.png` and `.svg` in `out_dir`.
pub fn make(out_dir: &Path, opts: &FigureOptions) -> Result<FigureFiles> {
    let n = opts.size.pick(2000, 300);
    let b = opts.size.pick(199, 99);
    let mix = GaussianMixture::eight_gaussians();
    let gauss = MarginalField::new(FieldKind::Gaussian, Source::from_mixture(&mix)?)?;
    let s_min = SampleOptions::new(&gauss).s_min;
    let row1 = run_row(
        "Gaussian field, 8gaussians mixture",
        &gauss,
        &OneSampleTarget::Mixture(mix.convolved(s_min)?),
        n,
        b,
        opts.seed + 100,
    )?;
    let data = Dataset::Moons.sample_seeded(1000, opts.seed + 200);
    let pfgm = MarginalField::new(FieldKind::Poisson, Source::points(data.view(), None)?)?;
    let row2 = run_row(
        "PFGM, 1000 moons points",
        &pfgm,
        &OneSampleTarget::Landing {
            data: data.clone(),
            weights: None,
        },
        n,
        b,
        opts.seed + 300,
    )?;
    let fig = Compare {
        rows: vec![row1, row2],
    };
    save_figure(&fig, out_dir.join("compare"), (1400, 1500), opts.overwrite)
}
