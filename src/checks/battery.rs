//! A battery: run a configured set of tests and decide at a family-wise level.
//!
//! The verdict uses Bonferroni's rule: with `k` tests the samples are rejected when
//! some p-value is at most `alpha / k`. (Holm's step-down procedure rejects the
//! global null in exactly the same cases, so the verdict is the same.) The default
//! family-wise `alpha` is 0.01. With permutation tests the smallest attainable
//! p-value is `1/(B+1)`, so `B` must exceed `k / alpha - 1` for those tests to be
//! able to reject at all; the default `B = 999` allows up to 10 tests at 0.01.

use super::one_sample::{landing_test, GaussianTarget, IsotropicMixture, PfgmPrior};
use super::two_sample::{self, TwoSampleConfig};
use super::{validate_pair, validate_sample, TestResult};
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
#[derive(Debug, Clone, PartialEq)]
pub enum OneSampleTarget {
    /// A Gaussian: `chi2_radius` (and `ks`, `ad` in 1-D).
    Gaussian(GaussianTarget),
    /// The PFGM/PFGM++ prior: `prior_radius`, `prior_direction`.
    PfgmPrior(PfgmPrior),
    /// An isotropic Gaussian mixture: `mode_counts`, `residual_chi2` (and `ks`,
    /// `ad` in 1-D).
    Mixture(IsotropicMixture),
    /// Samples of an empirical field: `landing` against the data points.
    Landing {
        /// The data points (`M x d`).
        data: Array2<f64>,
        /// Their weights (`None`: uniform).
        weights: Option<Vec<f64>>,
    },
}

/// The battery: which tests, their settings, and the family-wise level.
#[derive(Debug, Clone, PartialEq)]
pub struct Battery {
    alpha: f64,
    /// Settings of the two-sample tests (permutations, seed, projections, ...); the
    /// one-sample Monte Carlo tests use its `permutations` and `seed` too.
    pub config: TwoSampleConfig,
    /// The two-sample tests to run (`None`: every test that applies).
    pub tests: Option<Vec<TwoSampleTest>>,
}

impl Default for Battery {
    fn default() -> Self {
        Self {
            alpha: 0.01,
            config: TwoSampleConfig::default(),
            tests: None,
        }
    }
}

impl Battery {
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
            .map(|t| t.run(x, y, &self.config))
            .collect::<Result<Vec<_>>>()?;
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
        let (b, seed) = (self.config.permutations, self.config.seed);
        let (results, m) = match target {
            OneSampleTarget::Gaussian(g) => (g.tests(x)?, None),
            OneSampleTarget::PfgmPrior(p) => (p.tests(x)?, None),
            OneSampleTarget::Mixture(mx) => (mx.tests(x, b, seed)?, None),
            OneSampleTarget::Landing { data, weights } => {
                let l = landing_test(x, data.view(), weights.as_deref(), b, seed)?;
                (vec![l.result], Some(data.nrows()))
            }
        };
        Ok(BatteryReport::new(
            x.nrows(),
            m,
            x.ncols(),
            self.alpha,
            results,
        ))
    }
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
    /// The tests, in the order run.
    pub tests: Vec<TestResult>,
}

impl BatteryReport {
    /// A report with the Bonferroni verdict at family-wise level `alpha`.
    pub fn new(n: usize, m: Option<usize>, d: usize, alpha: f64, tests: Vec<TestResult>) -> Self {
        let thr = alpha / tests.len().max(1) as f64;
        let reject = tests.iter().any(|t| t.pvalue <= thr);
        Self {
            n,
            m,
            d,
            alpha,
            reject,
            tests,
        }
    }

    /// The per-test threshold `alpha / k`.
    pub fn threshold(&self) -> f64 {
        self.alpha / self.tests.len().max(1) as f64
    }

    /// The report as JSON (the format of `fieldflow check --json`).
    ///
    /// # Errors
    /// Never in practice (serialisation of plain numbers and strings).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| Error::Invalid(format!("json: {e}")))
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
            "{:<16} {:>14} {:>12}  verdict",
            "test", "statistic", "p-value"
        )?;
        for t in &self.tests {
            let v = if t.pvalue <= thr { "REJECT" } else { "ok" };
            writeln!(
                f,
                "{:<16} {:>14.6e} {:>12.4e}  {v}",
                t.name, t.statistic, t.pvalue
            )?;
        }
        write!(
            f,
            "family-wise alpha = {} (Bonferroni: each p <= {:.3e}): {}",
            self.alpha,
            thr,
            if self.reject { "REJECTED" } else { "PASSED" }
        )
    }
}
