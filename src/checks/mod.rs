//! Distribution checks: statistical tests that decide whether samples match a target.
//!
//! A sampler is only as trustworthy as the test that checks it. This module collects
//! two kinds of tests, all returning a [`TestResult`] (a name, a statistic and a
//! p-value):
//!
//! * **Two-sample tests** ([`two_sample`]) compare generated samples `x` (n x d) with
//!   a reference sample `y` (m x d): Kolmogorov-Smirnov, Anderson-Darling k-sample,
//!   energy distance, MMD^2 with Gaussian kernels at several bandwidths, sliced
//!   Wasserstein-2, exact 1-D W1/W2, the 2-D Fasano-Franceschini KS test and the
//!   chi-square test on a contingency table ([`contingency`]). Tests without a
//!   closed-form null law are calibrated by permutation: the pooled sample is
//!   relabelled `B` times with a seeded generator and
//!   `p = (1 + #{T_b >= T}) / (1 + B)`, which is never 0 and is exactly valid
//!   (its null law is uniform on `{1, ..., B+1}/(B+1)` for continuous data).
//! * **One-sample tests** ([`one_sample`]) compare samples with a known target:
//!   KS and Anderson-Darling against an analytic CDF, the PFGM/PFGM++ prior
//!   (`R^2/(R^2 + s^2) ~ Beta(d/2, D/2)`, uniform directions), Gaussian whitening
//!   (`|z|^2 ~ chi2_d`), the mode counts and standardised residuals of an isotropic
//!   Gaussian mixture, and the landing test of empirical fields.
//!
//! The exact Kolmogorov distributions live in [`kolmogorov`]; the O(N^2) statistics
//! (energy, MMD) and their permutation engine in [`pairwise`]; a configurable set of
//! tests with a family-wise verdict in [`battery`].
//!
//! Conventions. Samples are `ArrayView2<f64>` with one point per row; 1-D helpers take
//! `&[f64]`. Every public entry point validates its input (non-empty, finite, matching
//! dimensions) and returns [`crate::Error`] instead of panicking. Every random choice
//! (permutations, projection directions) comes from [`crate::rng::stream`] with the
//! caller's seed: permutation `b` uses stream `(seed, b)`, so p-values are
//! bit-identical for any thread count. Special functions and distributions
//! (incomplete beta and gamma, normal, chi-square, beta) come from `statrs`.
//!
//! ```
//! use fieldflow::checks::{Battery, OneSampleTarget};
//! use fieldflow::data::GaussianMixture;
//!
//! let target = GaussianMixture::eight_gaussians();
//! let samples = target.sample(500, &mut fieldflow::rng::seeded(1));
//! let reference = target.sample(700, &mut fieldflow::rng::seeded(2));
//!
//! let mut battery = Battery::new(0.01)?;
//! battery.config.permutations = 999;
//! // two-sample: ks, ad, energy, mmd, sliced_w2, ks2d
//! let report = battery.two_sample(samples.view(), reference.view())?;
//! assert_eq!(report.tests.len(), 6);
//! // one-sample, against the known mixture: mode_counts, residual_chi2
//! let report = battery.one_sample(samples.view(), &OneSampleTarget::Mixture(target))?;
//! println!("{report}");
//! # Ok::<(), fieldflow::Error>(())
//! ```

pub mod battery;
pub mod contingency;
pub mod kolmogorov;
pub mod one_sample;
pub mod pairwise;
mod permutation;
pub mod two_sample;
pub mod univariate;

use crate::{Error, Result};
use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

pub use battery::{Battery, BatteryReport, OneSampleTarget, TwoSampleTest};
pub use two_sample::TwoSampleConfig;

/// The outcome of one test: its name, the value of its statistic and its p-value,
/// or the reason it could not run on the data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    /// Short name of the test (`ks`, `ad`, `energy`, `mmd`, ...).
    pub name: String,
    /// The test statistic (its meaning is documented with each test); NaN (`null` in
    /// JSON) when not applicable.
    pub statistic: f64,
    /// The p-value, in `(0, 1]`; NaN (`null` in JSON) when not applicable.
    pub pvalue: f64,
    /// Why the test could not run on these data (`None`: it ran). A battery leaves
    /// such a test out of its verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_applicable: Option<String>,
}

impl TestResult {
    /// A result with the given name, statistic and p-value.
    pub fn new(name: impl Into<String>, statistic: f64, pvalue: f64) -> Self {
        Self {
            name: name.into(),
            statistic,
            pvalue,
            not_applicable: None,
        }
    }

    /// A test that could not run on the data, with the reason.
    pub fn not_applicable(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            statistic: f64::NAN,
            pvalue: f64::NAN,
            not_applicable: Some(reason.into()),
        }
    }

    /// Whether the test ran (it has a statistic and a p-value).
    pub fn is_applicable(&self) -> bool {
        self.not_applicable.is_none()
    }

    /// The result as it counts in a battery: a non-finite statistic or p-value (a
    /// degenerate statistic) makes the test not applicable.
    pub(crate) fn checked(self) -> Self {
        if self.is_applicable() && !(self.statistic.is_finite() && self.pvalue.is_finite()) {
            let why = format!(
                "degenerate statistic on these data (statistic {}, p-value {})",
                self.statistic, self.pvalue
            );
            return Self::not_applicable(self.name, why);
        }
        self
    }
}

/// Checks that a sample is non-empty, has at least one column and is finite.
pub(crate) fn validate_sample(x: ArrayView2<f64>, what: &'static str) -> Result<()> {
    if x.nrows() == 0 {
        return Err(Error::Empty { what });
    }
    if x.ncols() == 0 {
        return Err(Error::DimensionMismatch {
            what,
            expected: 1,
            got: 0,
        });
    }
    crate::error::ensure_finite(what, x)
}

/// Checks two samples for a two-sample test: each valid, same dimension.
pub(crate) fn validate_pair(x: ArrayView2<f64>, y: ArrayView2<f64>) -> Result<()> {
    validate_sample(x, "samples")?;
    validate_sample(y, "reference")?;
    crate::error::ensure_cols("reference sample dimension", y, x.ncols())
}

/// Checks a 1-D sample: non-empty and finite.
pub(crate) fn validate_slice(x: &[f64], what: &'static str) -> Result<()> {
    if x.is_empty() {
        return Err(Error::Empty { what });
    }
    if let Some(row) = x.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite { what, row, col: 0 });
    }
    Ok(())
}

/// Requires at least `min` rows (a test that cannot run on fewer is not applicable).
pub(crate) fn require_rows(n: usize, min: usize, what: &'static str) -> Result<()> {
    if n < min {
        return Err(Error::NotApplicable(format!(
            "{what} needs at least {min} points, got {n}"
        )));
    }
    Ok(())
}
