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
//!
//! [`make_from_points`] draws the same kind of row for two point sets a user brings
//! (`fieldflow plot compare --samples FILE --reference FILE`): only the two-sample
//! battery, in a window taken from the data's extent.

use super::{
    axes, fmt_p, save_figure, text_lines, window, Figure, FigureFiles, FigureOptions, Window,
};
use crate::checks::{Battery, BatteryReport, OneSampleTarget};
use crate::data::{Dataset, GaussianMixture};
use crate::fields::{FieldKind, MarginalField, Source};
use crate::sampling::{generate, SampleOptions};
use crate::{Error, Result};
use ndarray::{Array2, ArrayView2};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// One row: two samples side by side and their checks.
#[derive(Debug, Clone)]
pub struct Row {
    /// What was run (a prefix of the panel titles; empty for none).
    pub title: String,
    /// Panel names of the left (target) and right (generated) samples.
    pub names: [String; 2],
    /// Exact draws of `p_{s_min}`, or a reference file's points (left).
    pub target: Array2<f64>,
    /// Generated samples, or a samples file's points (right).
    pub generated: Array2<f64>,
    /// Mean right-hand-side evaluations per particle and unconverged particles (a
    /// fresh run only).
    pub run: Option<(f64, usize)>,
    /// The two-sample battery.
    pub two_sample: BatteryReport,
    /// The one-sample tests against the known law (a fresh run only).
    pub one_sample: Option<BatteryReport>,
}

/// The figure.
#[derive(Debug, Clone)]
pub struct Compare {
    /// The figure's title.
    pub title: String,
    /// The rows.
    pub rows: Vec<Row>,
    /// The plot window of every panel.
    pub window: Window,
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
        names: ["target (exact)".to_string(), "generated".to_string()],
        target,
        run: Some((gen.evals_per_particle(), gen.n_unconverged)),
        generated: x,
        two_sample,
        one_sample: Some(one_sample),
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
        let root = root.titled(&self.title, ("sans-serif", 19))?;
        let ((x0, x1), (y0, y1)) = self.window;
        let rows = root.split_evenly((self.rows.len(), 1));
        for (row, area) in self.rows.iter().zip(&rows) {
            let h = area.dim_in_pixel().1;
            let (plots, caption) = area.split_vertically(h - 92);
            let halves = plots.split_evenly((1, 2));
            for (k, (pts, what)) in [
                (&row.target, row.names[0].as_str()),
                (&row.generated, row.names[1].as_str()),
            ]
            .into_iter()
            .enumerate()
            {
                let prefix = if row.title.is_empty() {
                    String::new()
                } else {
                    format!("{}: ", row.title)
                };
                let mut chart = axes(
                    &halves[k],
                    &format!("{prefix}{what}, n = {}", pts.nrows()),
                    x0..x1,
                    y0..y1,
                    ("x1", "x2"),
                )?;
                let color = super::category_color(k);
                chart.draw_series(
                    pts.rows()
                        .into_iter()
                        .filter(|r| r[0] > x0 && r[0] < x1 && r[1] > y0 && r[1] < y1)
                        .map(|r| Circle::new((r[0], r[1]), 1, color.mix(0.6).filled())),
                )?;
            }
            let run = match row.run {
                Some((evals, unconverged)) => {
                    format!("{evals:.1} evaluations per particle, {unconverged} unconverged.  ")
                }
                None => String::new(),
            };
            let mut lines = vec![
                format!(
                    "{run}Two-sample battery (n = {}, m = {}):",
                    row.two_sample.n,
                    row.two_sample.m.unwrap_or(0)
                ),
                format!("    {}", summary(&row.two_sample)),
            ];
            if let Some(one) = &row.one_sample {
                lines.push("One-sample tests against the known law:".to_string());
                lines.push(format!("    {}", summary(one)));
            }
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
        title: "Generated (right) against exact draws of the target p_s at s_min = 0.001 (left), from the far-field prior at s = 40".to_string(),
        rows: vec![row1, row2],
        window: ((-4.5, 4.5), (-4.5, 4.5)),
    };
    save_figure(&fig, out_dir.join("compare"), (1400, 1500), opts.overwrite)
}

impl Compare {
    /// Runs `battery.two_sample(samples, reference)` on two user point sets (`n x 2`
    /// and `m x 2`, finite) named `names = (samples, reference)` (e.g. their file
    /// names): one row, the reference left and the samples right, in a window around
    /// both (their bounding box grown by 10% on each side, square), the p-values and
    /// the verdict in the caption.
    ///
    /// # Errors
    /// Points that are not 2-D (the scatter needs `d = 2`; [`crate::checks`] takes any
    /// `d`), empty or non-finite points, the battery's errors (e.g. too few points).
    pub fn from_points(
        (samples_name, samples): (&str, ArrayView2<f64>),
        (reference_name, reference): (&str, ArrayView2<f64>),
        battery: &Battery,
    ) -> Result<Self> {
        for (what, pts) in [
            ("columns of the samples (the compare plot is 2-D)", samples),
            (
                "columns of the reference (the compare plot is 2-D)",
                reference,
            ),
        ] {
            if pts.ncols() != 2 {
                return Err(Error::DimensionMismatch {
                    what,
                    expected: 2,
                    got: pts.ncols(),
                });
            }
        }
        let two_sample = battery.two_sample(samples, reference)?;
        let n = samples.nrows();
        let both = Array2::from_shape_fn((n + reference.nrows(), 2), |(i, j)| {
            if i < n {
                samples[[i, j]]
            } else {
                reference[[i - n, j]]
            }
        });
        Ok(Compare {
            title: format!(
                "Samples {samples_name} (right) against the reference {reference_name} (left)"
            ),
            rows: vec![Row {
                title: String::new(),
                names: [
                    format!("reference {reference_name}"),
                    format!("samples {samples_name}"),
                ],
                target: reference.to_owned(),
                generated: samples.to_owned(),
                run: None,
                two_sample,
                one_sample: None,
            }],
            window: window(both.view(), 0.1),
        })
    }

    /// The two-sample report of the first row (the only one of
    /// [`Compare::from_points`]).
    pub fn report(&self) -> Option<&BatteryReport> {
        self.rows.first().map(|r| &r.two_sample)
    }
}

/// [`Compare::from_points`] drawn as `STEM.png` and `.svg` in the existing folder
/// `out_dir` (1400 x 800); returns the files and the battery's report.
pub fn make_from_points(
    out_dir: &Path,
    stem: &str,
    samples: (&str, ArrayView2<f64>),
    reference: (&str, ArrayView2<f64>),
    battery: &Battery,
    overwrite: bool,
) -> Result<(FigureFiles, BatteryReport)> {
    let fig = Compare::from_points(samples, reference, battery)?;
    save_points_figure(&fig, out_dir, stem, overwrite)
}

/// Saves a figure of [`Compare::from_points`] (1400 x 800); returns the files and
/// its report.
pub fn save_points_figure(
    fig: &Compare,
    out_dir: &Path,
    stem: &str,
    overwrite: bool,
) -> Result<(FigureFiles, BatteryReport)> {
    let report = fig.report().cloned().ok_or(Error::Empty {
        what: "rows of the compare figure",
    })?;
    let files = save_figure(fig, out_dir.join(stem), (1400, 800), overwrite)?;
    Ok((files, report))
}
