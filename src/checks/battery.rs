//! A battery: run a configured set of tests and decide at a family-wise level.
//!
//! The verdict uses Bonferroni's rule: with `k` tests the samples are rejected when
//! some p-value is at most `alpha / k`. A test that cannot run on the data (MMD's
//! median-heuristic bandwidth is 0 on tied data, a sample is too small for it, its
//! statistic is not finite) is reported as not applicable, with the reason, and the
//! others still run: `k` counts the applicable tests only, and the verdict uses only
//! them. A battery in which no test applies is an error. (Holm's step-down procedure rejects the
//! global null in exactly the same cases, so the verdict is the same.) The default
//! family-wise `alpha` is 0.01. With permutation tests the smallest attainable
//! p-value is `1/(B+1)`, so `B` must exceed `k / alpha - 1` for those tests to be
//! able to reject at all; the default `B = 999` allows up to 10 tests at 0.01.

use super::one_sample::{landing_test_cancel, mixture_tests_cancel, GaussianTarget, PfgmPrior};
use super::two_sample::{self, TwoSampleConfig};
use super::{validate_pair, validate_sample, TestResult};
use crate::data::GaussianMixture;
use crate::{Error, Result};
use ndarray::{Array2, ArrayView2};
use serde::Serialize;
use std::fmt;

/// The two-sample tests a battery can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwoSampleTest {
    /// `ks`
    Ks,
    /// `ad`
    Ad,
    /// `energy`
    Energy,
    /// `mmd`
    Mmd,
    /// `sliced_w2`
    SlicedW2,
    /// `w1` (1-D only)
    W1,
    /// `ks2d` (2-D only)
    Ks2d,
}

impl TwoSampleTest {
    /// Every test, in report order.
    pub const ALL: [TwoSampleTest; 7] = [
        TwoSampleTest::Ks,
        TwoSampleTest::Ad,
        TwoSampleTest::Energy,
        TwoSampleTest::Mmd,
        TwoSampleTest::SlicedW2,
        TwoSampleTest::W1,
        TwoSampleTest::Ks2d,
    ];

    /// The test's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            TwoSampleTest::Ks => "ks",
            TwoSampleTest::Ad => "ad",
            TwoSampleTest::Energy => "energy",
            TwoSampleTest::Mmd => "mmd",
            TwoSampleTest::SlicedW2 => "sliced_w2",
            TwoSampleTest::W1 => "w1",
            TwoSampleTest::Ks2d => "ks2d",
        }
    }

    /// The test with this name.
    ///
    /// # Errors
    /// An unknown name.
    pub fn from_name(name: &str) -> Result<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|t| t.name() == name)
            .ok_or_else(|| Error::UnknownName {
                kind: "two-sample test",
                name: name.to_string(),
                known: Self::ALL.map(|t| t.name()).join(", "),
            })
    }

    /// Whether the test applies in dimension `d`.
    pub fn applies(self, d: usize) -> bool {
        match self {
            TwoSampleTest::W1 => d == 1,
            TwoSampleTest::Ks2d => d == 2,
            _ => true,
        }
    }

    /// Runs the test.
    ///
    /// # Errors
    /// As the underlying test.
    pub fn run(
        self,
        x: ArrayView2<f64>,
        y: ArrayView2<f64>,
        cfg: &TwoSampleConfig,
    ) -> Result<TestResult> {
        match self {
            TwoSampleTest::Ks => two_sample::ks(x, y, cfg),
            TwoSampleTest::Ad => two_sample::ad(x, y, cfg),
            TwoSampleTest::Energy => two_sample::energy(x, y, cfg),
            TwoSampleTest::Mmd => two_sample::mmd(x, y, cfg),
            TwoSampleTest::SlicedW2 => two_sample::sliced_w2(x, y, cfg),
            TwoSampleTest::W1 => two_sample::w1(x, y, cfg),
            TwoSampleTest::Ks2d => two_sample::ks2d(x, y, cfg),
        }
    }
}

/// A known target for the one-sample battery.
#[derive(Debug, Clone)]
pub enum OneSampleTarget {
    /// A Gaussian: `chi2_radius` (and `ks`, `ad` in 1-D).
    Gaussian(GaussianTarget),
    /// The PFGM/PFGM++ prior: `prior_radius`, `prior_direction`.
    PfgmPrior(PfgmPrior),
    /// An isotropic Gaussian mixture: `mode_counts`, `residual_chi2` (and `ks`,
    /// `ad` in 1-D).
    Mixture(GaussianMixture),
    /// Samples of an empirical field: `landing` against the data points.
    Landing {
        /// The data points (`M x d`).
        data: Array2<f64>,
        /// Their weights (`None`: uniform).
        weights: Option<Vec<f64>>,
    },
}

/// The battery: which tests, their settings, and the family-wise level.
///
/// The lifetime is that of the cancel flag in [`Battery::config`].
#[derive(Debug, Clone, PartialEq)]
pub struct Battery<'a> {
    alpha: f64,
    /// Settings of the two-sample tests (permutations, seed, projections, ...); the
    /// one-sample Monte Carlo tests use its `permutations` and `seed` too.
    pub config: TwoSampleConfig<'a>,
    /// The two-sample tests to run (`None`: every test that applies); each at most
    /// once, as the Bonferroni threshold `alpha / k` counts distinct tests.
    pub tests: Option<Vec<TwoSampleTest>>,
}

impl Default for Battery<'_> {
    fn default() -> Self {
        Self {
            alpha: 0.01,
            config: TwoSampleConfig::default(),
            tests: None,
        }
    }
}

impl Battery<'_> {
    /// A battery with the default tests and settings at family-wise level `alpha`.
    ///
    /// # Errors
    /// `alpha` outside `(0, 1)`.
    pub fn new(alpha: f64) -> Result<Self> {
        if !(alpha > 0.0 && alpha < 1.0) {
            return Err(Error::InvalidParameter {
                name: "alpha",
                value: alpha,
                reason: "must be in (0, 1)",
            });
        }
        Ok(Self {
            alpha,
            ..Self::default()
        })
    }

    /// The family-wise level.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// Runs the two-sample tests on samples `x` and reference `y`.
    ///
    /// # Errors
    /// Bad input, or a requested test that does not apply in this dimension.
    pub fn two_sample(&self, x: ArrayView2<f64>, y: ArrayView2<f64>) -> Result<BatteryReport> {
        validate_pair(x, y)?;
        let d = x.ncols();
        let tests: Vec<TwoSampleTest> = match &self.tests {
            Some(t) => {
                // the Bonferroni family is the set of distinct tests: a repeated test
                // would count twice and halve the threshold; an empty list tests nothing
                if t.is_empty() {
                    return Err(Error::Invalid(
                        "the list of two-sample tests is empty".into(),
                    ));
                }
                for (i, a) in t.iter().enumerate() {
                    if t[..i].contains(a) {
                        return Err(Error::Invalid(format!(
                            "test '{}' is listed twice (each test counts once in the \
                             Bonferroni family)",
                            a.name()
                        )));
                    }
                }
                if let Some(bad) = t.iter().find(|t| !t.applies(d)) {
                    return Err(Error::Invalid(format!(
                        "test '{}' does not apply in dimension {d}",
                        bad.name()
                    )));
                }
                t.clone()
            }
            None => TwoSampleTest::ALL
                .iter()
                .copied()
                .filter(|t| t.applies(d))
                .collect(),
        };
        let results = tests
            .iter()
            .map(|t| {
                match super::permutation::poll(self.config.cancel)
                    .and_then(|()| t.run(x, y, &self.config))
                {
                    Ok(r) => Ok(r.checked()),
                    Err(Error::NotApplicable(why)) => Ok(TestResult::not_applicable(t.name(), why)),
                    Err(e) => Err(e),
                }
            })
            .collect::<Result<Vec<_>>>()?;
        some_applicable(&results)?;
        Ok(BatteryReport::new(
            x.nrows(),
            Some(y.nrows()),
            d,
            self.alpha,
            results,
        ))
    }

    /// Runs the one-sample tests of `target` on `x`.
    ///
    /// # Errors
    /// Bad input or a dimension that does not fit the target.
    pub fn one_sample(
        &self,
        x: ArrayView2<f64>,
        target: &OneSampleTarget,
    ) -> Result<BatteryReport> {
        validate_sample(x, "samples")?;
        super::permutation::poll(self.config.cancel)?;
        let (b, seed, cancel) = (
            self.config.permutations,
            self.config.seed,
            self.config.cancel,
        );
        let (results, m) = match target {
            OneSampleTarget::Gaussian(g) => (g.tests(x)?, None),
            OneSampleTarget::PfgmPrior(p) => (p.tests(x)?, None),
            OneSampleTarget::Mixture(mx) => (mixture_tests_cancel(x, mx, b, seed, cancel)?, None),
            OneSampleTarget::Landing { data, weights } => {
                let l = landing_test_cancel(x, data.view(), weights.as_deref(), b, seed, cancel)?;
                (vec![l.result], Some(data.nrows()))
            }
        };
        let results: Vec<TestResult> = results.into_iter().map(TestResult::checked).collect();
        some_applicable(&results)?;
        Ok(BatteryReport::new(
            x.nrows(),
            m,
            x.ncols(),
            self.alpha,
            results,
        ))
    }
}

/// An error naming every reason when no test of a battery could run.
fn some_applicable(results: &[TestResult]) -> Result<()> {
    if results.iter().any(TestResult::is_applicable) {
        return Ok(());
    }
    let why: Vec<String> = results
        .iter()
        .map(|t| format!("{}: {}", t.name, t.not_applicable.as_deref().unwrap_or("")))
        .collect();
    Err(Error::NotApplicable(format!(
        "no test applies to these data ({})",
        why.join("; ")
    )))
}

/// Every statistic and p-value of a battery run, and the verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatteryReport {
    /// Number of samples.
    pub n: usize,
    /// Size of the reference sample (two-sample) or of the data set (landing).
    pub m: Option<usize>,
    /// Dimension.
    pub d: usize,
    /// Family-wise level.
    pub alpha: f64,
    /// Whether the samples are rejected.
    pub reject: bool,
    /// The tests, in the order run (including those not applicable to the data).
    pub tests: Vec<TestResult>,
    /// How many tests ran (the `k` of the Bonferroni threshold `alpha / k`).
    pub applicable: usize,
}

impl BatteryReport {
    /// A report with the Bonferroni verdict at family-wise level `alpha` over the
    /// applicable tests.
    pub fn new(n: usize, m: Option<usize>, d: usize, alpha: f64, tests: Vec<TestResult>) -> Self {
        let applicable = tests.iter().filter(|t| t.is_applicable()).count();
        let thr = alpha / applicable.max(1) as f64;
        let reject = tests.iter().any(|t| t.is_applicable() && t.pvalue <= thr);
        Self {
            n,
            m,
            d,
            alpha,
            reject,
            tests,
            applicable,
        }
    }

    /// The per-test threshold `alpha / k`, `k` the number of applicable tests.
    pub fn threshold(&self) -> f64 {
        self.alpha / self.applicable.max(1) as f64
    }

    /// The p-value of the test named `name` (as in the table, e.g. `energy`); `None`
    /// when the report has no such test or it was not applicable.
    pub fn pvalue(&self, name: &str) -> Option<f64> {
        self.tests
            .iter()
            .find(|t| t.name == name)
            .filter(|t| t.is_applicable())
            .map(|t| t.pvalue)
    }

    /// The report as JSON (the format of `fieldflow check --json`).
    ///
    /// # Errors
    /// Never in practice (serialisation of plain numbers and strings).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| Error::Invalid(format!("json: {e}")))
    }
}

/// Fixed notation for moderate magnitudes, scientific otherwise.
fn readable(v: f64, digits: usize) -> String {
    if v == 0.0 || (1e-3..1e4).contains(&v.abs()) {
        format!("{v:.digits$}")
    } else {
        format!("{v:.3e}")
    }
}

impl fmt::Display for BatteryReport {
    /// A readable summary table.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.m {
            Some(m) => writeln!(f, "n = {}, m = {}, d = {}", self.n, m, self.d)?,
            None => writeln!(f, "n = {}, d = {}", self.n, self.d)?,
        }
        let thr = self.threshold();
        writeln!(
            f,
            "{:<16} {:>14} {:>11}  verdict",
            "test", "statistic", "p-value"
        )?;
        for t in &self.tests {
            if let Some(why) = &t.not_applicable {
                writeln!(
                    f,
                    "{:<16} {:>14} {:>11}  not applicable: {why}",
                    t.name, "n/a", "n/a"
                )?;
                continue;
            }
            let v = if t.pvalue <= thr { "REJECT" } else { "ok" };
            writeln!(
                f,
                "{:<16} {:>14} {:>11}  {v}",
                t.name,
                readable(t.statistic, 6),
                readable(t.pvalue, 4)
            )?;
        }
        let skipped = self.tests.len() - self.applicable;
        let over = if skipped > 0 {
            format!(
                " over the {} applicable tests, {skipped} not applicable",
                self.applicable
            )
        } else {
            String::new()
        };
        write!(
            f,
            "family-wise alpha = {} (Bonferroni{over}: each p <= {:.3e}): {}",
            self.alpha,
            thr,
            if self.reject { "REJECTED" } else { "PASSED" }
        )
    }
}

/// The target specification syntax of `fieldflow check --target SPEC`:
/// `NAME` or `NAME:ARGS`, with `ARGS` comma-separated `key=value` pairs (vectors
/// separated by `;`).
///
/// | SPEC | target | tests |
/// |---|---|---|
/// | `normal:MEAN,STD` or `normal:mean=M,std=S` | 1-D `N(M, S^2)` | `ks`, `ad`, `chi2_radius` |
/// | `gaussian` or `gaussian:std=S,mean=M1;M2;...` | `N(mean, S^2 I_d)` (default `N(0, I)`) | `chi2_radius` (+ `ks`, `ad` in 1-D) |
/// | `pfgm-prior:D=1,smax=40` (+ `d=2`, `center=C1;C2`) | PFGM/PFGM++ prior on the plane `s = smax` (d from the samples unless given) | `prior_radius`, `prior_direction` |
/// | `mixture:8gaussians` | the 8gaussians mixture | `mode_counts`, `residual_chi2` |
/// | `landing:FILE` (+ `weights=WFILE`) | the data points of an empirical field (`.csv`/`.npy`) | `landing` |
pub const TARGET_SPEC_HELP: &str = "normal:MEAN,STD | gaussian[:std=S,mean=M1;M2..] | \
pfgm-prior:D=1,smax=40[,d=2,center=C1;C2..] | mixture:8gaussians | landing:FILE[,weights=WFILE]";

fn spec_err(spec: &str, why: impl Into<String>) -> Error {
    Error::Invalid(format!(
        "bad target '{spec}': {} (expected {TARGET_SPEC_HELP})",
        why.into()
    ))
}

fn parse_num(spec: &str, key: &str, v: &str) -> Result<f64> {
    v.trim()
        .parse::<f64>()
        .map_err(|_| spec_err(spec, format!("{key}={v} is not a number")))
}

fn parse_vec(spec: &str, key: &str, v: &str) -> Result<Vec<f64>> {
    v.split(';').map(|t| parse_num(spec, key, t)).collect()
}

impl OneSampleTarget {
    /// Parses a target specification (see [`TARGET_SPEC_HELP`]) for samples in `d`
    /// dimensions. `landing:FILE` reads the data points with [`crate::io`].
    ///
    /// # Errors
    /// An unknown name or key, a malformed number, parameters that the target
    /// rejects, a dimension that does not fit, or an unreadable file.
    pub fn parse(spec: &str, d: usize) -> Result<Self> {
        let (name, args) = match spec.split_once(':') {
            Some((n, a)) => (n.trim(), a.trim()),
            None => (spec.trim(), ""),
        };
        let pairs: Vec<&str> = if args.is_empty() {
            Vec::new()
        } else {
            args.split(',').map(str::trim).collect()
        };
        let kv = |allowed: &[&str]| -> Result<Vec<(String, String)>> {
            pairs
                .iter()
                .map(|p| {
                    let (k, v) = p
                        .split_once('=')
                        .ok_or_else(|| spec_err(spec, format!("'{p}' is not key=value")))?;
                    let k = k.trim();
                    if !allowed.contains(&k) {
                        return Err(spec_err(
                            spec,
                            format!(
                                "unknown key '{k}' for {name} (known: {})",
                                allowed.join(", ")
                            ),
                        ));
                    }
                    Ok((k.to_string(), v.trim().to_string()))
                })
                .collect()
        };
        let need_dim = |expected: usize| -> Result<()> {
            if d != expected {
                return Err(Error::DimensionMismatch {
                    what: "sample dimension for the target",
                    expected,
                    got: d,
                });
            }
            Ok(())
        };
        match name {
            "normal" => {
                need_dim(1)?;
                let (mean, std) = if pairs.len() == 2 && !pairs.iter().any(|p| p.contains('=')) {
                    (
                        parse_num(spec, "mean", pairs[0])?,
                        parse_num(spec, "std", pairs[1])?,
                    )
                } else {
                    let (mut mean, mut std) = (0.0, 1.0);
                    for (k, v) in kv(&["mean", "std"])? {
                        if k == "mean" {
                            mean = parse_num(spec, &k, &v)?;
                        } else {
                            std = parse_num(spec, &k, &v)?;
                        }
                    }
                    (mean, std)
                };
                Ok(Self::Gaussian(GaussianTarget::isotropic(vec![mean], std)?))
            }
            "gaussian" => {
                let (mut mean, mut std) = (vec![0.0; d], 1.0);
                for (k, v) in kv(&["mean", "std"])? {
                    if k == "mean" {
                        mean = parse_vec(spec, &k, &v)?;
                    } else {
                        std = parse_num(spec, &k, &v)?;
                    }
                }
                need_dim(mean.len())?;
                Ok(Self::Gaussian(GaussianTarget::isotropic(mean, std)?))
            }
            "pfgm-prior" => {
                let (mut dd, mut big_d, mut smax, mut center) = (d, None, None, None);
                for (k, v) in kv(&["d", "D", "smax", "center"])? {
                    match k.as_str() {
                        "d" => {
                            let v = parse_num(spec, &k, &v)?;
                            if !(v >= 1.0 && v.fract() == 0.0) {
                                return Err(spec_err(spec, "d must be a positive integer"));
                            }
                            dd = v as usize;
                        }
                        "D" => big_d = Some(parse_num(spec, &k, &v)?),
                        "smax" => smax = Some(parse_num(spec, &k, &v)?),
                        _ => center = Some(parse_vec(spec, &k, &v)?),
                    }
                }
                need_dim(dd)?;
                let big_d = big_d.ok_or_else(|| spec_err(spec, "pfgm-prior needs D"))?;
                let smax = smax.ok_or_else(|| spec_err(spec, "pfgm-prior needs smax"))?;
                Ok(Self::PfgmPrior(PfgmPrior::new(dd, big_d, smax, center)?))
            }
            "mixture" => match args {
                "8gaussians" => {
                    need_dim(2)?;
                    Ok(Self::Mixture(GaussianMixture::eight_gaussians()))
                }
                _ => Err(spec_err(spec, "known mixtures: 8gaussians")),
            },
            "landing" => {
                let mut parts = pairs.iter();
                let file = parts
                    .next()
                    .filter(|f| !f.is_empty() && !f.contains('='))
                    .ok_or_else(|| spec_err(spec, "landing needs a data file"))?;
                let mut weights = None;
                for p in parts {
                    match p.split_once('=') {
                        Some(("weights", wf)) => {
                            weights = Some(crate::io::read_weights(wf.trim())?)
                        }
                        _ => return Err(spec_err(spec, format!("unknown argument '{p}'"))),
                    }
                }
                let data = crate::io::read_points(file)?;
                need_dim(data.ncols())?;
                if let Some(w) = &weights {
                    // the rule of `sample` (zero allowed: that point is left out)
                    crate::fields::check_weights(w, data.nrows())?;
                }
                Ok(Self::Landing { data, weights })
            }
            _ => Err(Error::UnknownName {
                kind: "target",
                name: name.to_string(),
                known: "normal, gaussian, pfgm-prior, mixture, landing".into(),
            }),
        }
    }
}
