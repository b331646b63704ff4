//! Chi-square tests on counts.
//!
//! * [`chi2_contingency`]: Pearson's test of independence (homogeneity) on an
//!   `r x c` table of counts, `X^2 = sum (O - E)^2 / E` with `E = row * col / total`,
//!   against chi2 with `(r - 1)(c - 1)` degrees of freedom. No continuity
//!   correction (scipy applies Yates' correction when there is one degree of
//!   freedom; we do not).
//! * [`chi2_gof`]: goodness of fit of counts to probabilities, chi2 with `k - 1`
//!   degrees of freedom. The chi-square law is an approximation that needs expected
//!   counts of about 5 or more.
//! * [`multinomial_gof_mc`]: the same statistic with a Monte Carlo p-value from
//!   `B` seeded multinomial draws, `(1 + #{X^2_b >= X^2}) / (1 + B)`: valid for any
//!   expected counts (used by the landing test, where many cells are small).

use super::permutation::{par_map_cancel, pvalue};
use super::TestResult;
use crate::{Error, Result};
use ndarray::ArrayView2;
use rand_distr::{Binomial, Distribution};
use statrs::distribution::{ChiSquared, ContinuousCDF};
use std::sync::atomic::AtomicBool;

fn chi2_sf(x: f64, df: f64) -> Result<f64> {
    let law = ChiSquared::new(df).map_err(|e| Error::Invalid(format!("chi-square law: {e}")))?;
    Ok(law.sf(x))
}

/// Pearson's chi-square test of independence on a table of counts (`chi2`).
///
/// # Errors
/// A table with fewer than 2 rows or columns, or a row or column of zeros.
pub fn chi2_contingency(table: ArrayView2<u64>) -> Result<TestResult> {
    let (r, c) = table.dim();
    if r < 2 || c < 2 {
        return Err(Error::Invalid(format!(
            "contingency table must be at least 2 x 2, got {r} x {c}"
        )));
    }
    let rows: Vec<f64> = table
        .outer_iter()
        .map(|v| v.iter().sum::<u64>() as f64)
        .collect();
    let cols: Vec<f64> = (0..c)
        .map(|j| table.column(j).iter().sum::<u64>() as f64)
        .collect();
    if rows.iter().chain(&cols).any(|&s| s == 0.0) {
        return Err(Error::Invalid(
            "contingency table has a row or column of zeros".into(),
        ));
    }
    let total: f64 = rows.iter().sum();
    let mut stat = 0.0;
    for i in 0..r {
        for j in 0..c {
            let e = rows[i] * cols[j] / total;
            let o = table[[i, j]] as f64;
            stat += (o - e) * (o - e) / e;
        }
    }
    let df = ((r - 1) * (c - 1)) as f64;
    Ok(TestResult::new("chi2", stat, chi2_sf(stat, df)?))
}

/// Chi-square test that two samples of category counts (for example the mode
/// counts of generated and reference samples) come from the same distribution: the
/// contingency test on the `2 x k` table, after dropping categories empty in both.
/// Named `chi2`.
///
/// # Errors
/// Length mismatch, an empty sample, or fewer than 2 non-empty categories.
pub fn chi2_two_sample(a: &[u64], b: &[u64]) -> Result<TestResult> {
    if a.len() != b.len() {
        return Err(Error::DimensionMismatch {
            what: "category counts",
            expected: a.len(),
            got: b.len(),
        });
    }
    let cols: Vec<(u64, u64)> = a
        .iter()
        .zip(b)
        .filter(|(x, y)| **x + **y > 0)
        .map(|(x, y)| (*x, *y))
        .collect();
    let table =
        ndarray::Array2::from_shape_fn(
            (2, cols.len()),
            |(r, c)| {
                if r == 0 {
                    cols[c].0
                } else {
                    cols[c].1
                }
            },
        );
    chi2_contingency(table.view())
}

fn check_probs(counts: &[u64], probs: &[f64]) -> Result<Vec<f64>> {
    if counts.len() != probs.len() {
        return Err(Error::DimensionMismatch {
            what: "probabilities",
            expected: counts.len(),
            got: probs.len(),
        });
    }
    if counts.len() < 2 {
        return Err(Error::Invalid(
            "goodness of fit needs at least 2 cells".into(),
        ));
    }
    if let Some(&p) = probs.iter().find(|p| !(p.is_finite() && **p > 0.0)) {
        return Err(Error::InvalidParameter {
            name: "cell probability",
            value: p,
            reason: "must be finite and positive",
        });
    }
    let s: f64 = probs.iter().sum();
    Ok(probs.iter().map(|p| p / s).collect())
}

fn pearson(counts: &[u64], probs: &[f64], n: f64) -> f64 {
    counts
        .iter()
        .zip(probs)
        .map(|(&o, &p)| {
            let e = n * p;
            (o as f64 - e).powi(2) / e
        })
        .sum()
}

/// Chi-square goodness of fit of `counts` to `probs` (normalised to sum 1), named
/// `name`; asymptotic chi2 law with `k - 1` degrees of freedom.
///
/// # Errors
/// Length mismatch, fewer than 2 cells, a non-positive probability, no counts.
pub fn chi2_gof(name: &str, counts: &[u64], probs: &[f64]) -> Result<TestResult> {
    let probs = check_probs(counts, probs)?;
    let n: u64 = counts.iter().sum();
    if n == 0 {
        return Err(Error::Empty { what: "counts" });
    }
    let stat = pearson(counts, &probs, n as f64);
    Ok(TestResult::new(
        name,
        stat,
        chi2_sf(stat, (counts.len() - 1) as f64)?,
    ))
}

/// Chi-square goodness of fit with a Monte Carlo p-value from `b` multinomial
/// draws (draw `k` from `rng::stream(seed, k)`), named `name`.
///
/// # Errors
/// As [`chi2_gof`], or `b == 0`.
pub fn multinomial_gof_mc(
    name: &str,
    counts: &[u64],
    probs: &[f64],
    b: usize,
    seed: u64,
) -> Result<TestResult> {
    multinomial_gof_mc_cancel(name, counts, probs, b, seed, None)
}

/// [`multinomial_gof_mc`] with every draw first polling `cancel`
/// ([`Error::Cancelled`] when it is set; the draws do not depend on it).
pub(crate) fn multinomial_gof_mc_cancel(
    name: &str,
    counts: &[u64],
    probs: &[f64],
    b: usize,
    seed: u64,
    cancel: Option<&AtomicBool>,
) -> Result<TestResult> {
    let probs = check_probs(counts, probs)?;
    super::pairwise::check_permutations(b)?;
    let n: u64 = counts.iter().sum();
    if n == 0 {
        return Err(Error::Empty { what: "counts" });
    }
    let obs = pearson(counts, &probs, n as f64);
    let mut stats = vec![obs];
    stats.extend(par_map_cancel(1..b + 1, cancel, |k| {
        let mut rng = crate::rng::stream(seed, k as u64);
        let mut left = n;
        let mut mass = 1.0;
        let mut draw = vec![0u64; probs.len()];
        for (c, &p) in probs.iter().enumerate() {
            if left == 0 {
                break;
            }
            if c + 1 == probs.len() {
                draw[c] = left;
                break;
            }
            let q = (p / mass).clamp(0.0, 1.0);
            let x = Binomial::new(left, q)
                .map(|bn| bn.sample(&mut rng))
                .unwrap_or(0);
            draw[c] = x;
            left -= x;
            mass -= p;
        }
        pearson(&draw, &probs, n as f64)
    })?);
    Ok(TestResult::new(name, obs, pvalue(&stats)))
}
