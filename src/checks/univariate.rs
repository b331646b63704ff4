//! One-dimensional two-sample statistics on `&[f64]`.
//!
//! All of them are functions of the pooled sample sorted once and of which pooled
//! point belongs to which sample. [`SortedPooled`] keeps the sorted order and the
//! groups of tied values, so that a relabelling (a permutation) costs `O(N)` per
//! statistic instead of a new sort; the permutation tests of
//! [`super::two_sample`] rely on this.
//!
//! * Kolmogorov-Smirnov: `D = max |F_n - G_m|` over the pooled values (ties handled
//!   as scipy does), p-value exact for `max(n, m) <= 10000` and otherwise
//!   `kstwo.sf(D, round(n m / (n + m)))`, exactly scipy's `ks_2samp(method='auto')`.
//! * Anderson-Darling k-sample (k = 2) in the midrank form of Scholz & Stephens
//!   (1987, eq. 7), standardised by its exact null mean `k - 1` and variance, which
//!   is scipy's `anderson_ksamp(..., midrank=True).statistic`.
//! * Wasserstein distances between the empirical laws, exactly, as integrals of the
//!   difference of the quantile functions: `W_p^p = int_0^1 |F^{-1} - G^{-1}|^p dt`
//!   (for p = 1 this is `int |F - G| dx`, scipy's `wasserstein_distance`).

use super::kolmogorov::{kolmogorov_sf, ks2_lattice, ks_2samp_exact_sf};
use super::validate_slice;
use crate::Result;

/// Largest sample size for which the two-sample KS p-value is computed exactly
/// (scipy's `MAX_AUTO_N`).
pub const KS_EXACT_MAX_N: usize = 10_000;

/// Result of the two-sample Kolmogorov-Smirnov test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KsTwoSample {
    /// `D = sup |F_n - G_m|`.
    pub statistic: f64,
    /// The p-value.
    pub pvalue: f64,
    /// Whether the p-value is the exact one (otherwise the asymptotic `kstwo` law).
    pub exact: bool,
}

/// The two-sample KS p-value for statistic `d` and sizes `n`, `m`, as scipy's
/// `ks_2samp(method='auto')` computes it. Returns `(pvalue, exact)`.
pub fn ks_2samp_pvalue(n: usize, m: usize, d: f64) -> (f64, bool) {
    if n.max(m) <= KS_EXACT_MAX_N {
        let p = ks_2samp_exact_sf(n, m, d);
        if p.is_finite() {
            return (p, true);
        }
    }
    let (big, small) = (n.max(m) as f64, n.min(m) as f64);
    let en = (big * small / (big + small)).round().max(1.0) as usize;
    (kolmogorov_sf(en, d), false)
}

/// Two-sample Kolmogorov-Smirnov test (two-sided), scipy's `ks_2samp`.
///
/// # Errors
/// Empty or non-finite input.
pub fn ks_2samp(x: &[f64], y: &[f64]) -> Result<KsTwoSample> {
    validate_slice(x, "samples")?;
    validate_slice(y, "reference")?;
    let sp = SortedPooled::new(x, y);
    let labels = sp.identity_labels();
    let d = sp.ks(&labels);
    let (pvalue, exact) = ks_2samp_pvalue(x.len(), y.len(), d);
    let statistic = if exact {
        ks2_lattice(x.len(), y.len(), d).1
    } else {
        d
    };
    Ok(KsTwoSample {
        statistic,
        pvalue,
        exact,
    })
}

/// The two-sample Anderson-Darling statistic (midrank form), standardised:
/// `(A2 - 1) / sigma`, scipy's `anderson_ksamp([x, y]).statistic`. Needs
/// `n + m >= 4`.
///
/// # Errors
/// Empty or non-finite input, or fewer than 4 points in all.
pub fn anderson_darling_2samp(x: &[f64], y: &[f64]) -> Result<f64> {
    validate_slice(x, "samples")?;
    validate_slice(y, "reference")?;
    super::require_rows(x.len() + y.len(), 4, "the Anderson-Darling k-sample test")?;
    let sp = SortedPooled::new(x, y);
    let labels = sp.identity_labels();
    Ok(sp.ad_standardised(&labels))
}

/// Exact Wasserstein-1 distance between the empirical laws of `x` and `y`
/// (scipy's `wasserstein_distance`).
///
/// # Errors
/// Empty or non-finite input.
pub fn wasserstein1(x: &[f64], y: &[f64]) -> Result<f64> {
    validate_slice(x, "samples")?;
    validate_slice(y, "reference")?;
    let (a, b) = (sorted(x), sorted(y));
    Ok(quantile_integral(&a, &b, |t| t.abs()))
}

/// Exact Wasserstein-2 distance between the empirical laws of `x` and `y`.
///
/// # Errors
/// Empty or non-finite input.
pub fn wasserstein2(x: &[f64], y: &[f64]) -> Result<f64> {
    validate_slice(x, "samples")?;
    validate_slice(y, "reference")?;
    let (a, b) = (sorted(x), sorted(y));
    Ok(quantile_integral(&a, &b, |t| t * t).sqrt())
}

pub(crate) fn sorted(x: &[f64]) -> Vec<f64> {
    let mut v = x.to_vec();
    v.sort_unstable_by(f64::total_cmp);
    v
}

/// `int_0^1 f(A^{-1}(t) - B^{-1}(t)) dt` for sorted samples `a`, `b`, merging the
/// breakpoints `i/n` and `j/m` in exact integer arithmetic (units of `1/(n m)`).
pub(crate) fn quantile_integral(a: &[f64], b: &[f64], f: impl Fn(f64) -> f64) -> f64 {
    let (n, m) = (a.len() as u128, b.len() as u128);
    let (mut i, mut j) = (0usize, 0usize);
    let mut prev: u128 = 0;
    let mut acc = 0.0;
    while i < a.len() && j < b.len() {
        let ea = (i as u128 + 1) * m;
        let eb = (j as u128 + 1) * n;
        let e = ea.min(eb);
        acc += f(a[i] - b[j]) * (e - prev) as f64;
        prev = e;
        if ea == e {
            i += 1;
        }
        if eb == e {
            j += 1;
        }
    }
    acc / (n * m) as f64
}

/// The pooled sample `x ++ y` sorted once, with its groups of tied values.
///
/// A labelling is a `&[bool]` over the pooled points in their original order
/// (`x` first, then `y`; `true` = first sample), so that one relabelling can be
/// applied to several projections of the same points;
/// [`SortedPooled::identity_labels`] is the observed one.
#[derive(Debug, Clone)]
pub struct SortedPooled {
    values: Vec<f64>,
    /// original pooled index of each sorted position
    order: Vec<usize>,
    /// end (exclusive) of each group of equal values, in sorted order
    group_end: Vec<usize>,
    identity: Vec<bool>,
    n: usize,
    m: usize,
    /// null variance of the AD statistic (k = 2), if N >= 4
    ad_sigma: f64,
}

impl SortedPooled {
    /// Sorts the pooled sample. Inputs must be finite (checked by the callers).
    pub fn new(x: &[f64], y: &[f64]) -> Self {
        let mut pairs: Vec<(f64, usize)> = x.iter().chain(y).copied().zip(0..).collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let values: Vec<f64> = pairs.iter().map(|p| p.0).collect();
        let order: Vec<usize> = pairs.iter().map(|p| p.1).collect();
        let identity: Vec<bool> = (0..x.len() + y.len()).map(|i| i < x.len()).collect();
        let mut group_end = Vec::new();
        for k in 1..values.len() {
            #[allow(clippy::float_cmp)] // exact ties are what groups mean here
            if values[k] != values[k - 1] {
                group_end.push(k);
            }
        }
        group_end.push(values.len());
        let (n, m) = (x.len(), y.len());
        Self {
            ad_sigma: ad_null_sigma(n, m),
            values,
            order,
            group_end,
            identity,
            n,
            m,
        }
    }

    /// Size of the first sample.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Size of the second sample.
    pub fn m(&self) -> usize {
        self.m
    }

    /// The observed labelling (pooled order: `n` times `true`, then `m` times `false`).
    pub fn identity_labels(&self) -> Vec<bool> {
        self.identity.clone()
    }

    /// KS statistic `max |F_n - G_m|` for a labelling.
    pub fn ks(&self, labels: &[bool]) -> f64 {
        let (nf, mf) = (self.n as f64, self.m as f64);
        let (mut cx, mut cy) = (0usize, 0usize);
        let mut start = 0;
        let mut d: f64 = 0.0;
        for &end in &self.group_end {
            for &o in &self.order[start..end] {
                if labels[o] {
                    cx += 1;
                } else {
                    cy += 1;
                }
            }
            d = d.max((cx as f64 / nf - cy as f64 / mf).abs());
            start = end;
        }
        d
    }

    /// The raw midrank Anderson-Darling k-sample statistic `A2_akN` (k = 2).
    pub fn ad_raw(&self, labels: &[bool]) -> f64 {
        let big_n = (self.n + self.m) as f64;
        let (nf, mf) = (self.n as f64, self.m as f64);
        let (mut cx, mut cy) = (0usize, 0usize);
        let mut start = 0;
        let (mut sx, mut sy) = (0.0, 0.0);
        for &end in &self.group_end {
            let l = (end - start) as f64;
            let mut fx = 0usize;
            for &o in &self.order[start..end] {
                if labels[o] {
                    fx += 1;
                }
            }
            let fy = (end - start) - fx;
            let b = start as f64 + l / 2.0;
            cx += fx;
            cy += fy;
            let mx = cx as f64 - fx as f64 / 2.0;
            let my = cy as f64 - fy as f64 / 2.0;
            let den = b * (big_n - b) - big_n * l / 4.0;
            if den > 0.0 {
                let w = l / big_n / den;
                sx += w * (big_n * mx - b * nf).powi(2);
                sy += w * (big_n * my - b * mf).powi(2);
            }
            start = end;
        }
        (sx / nf + sy / mf) * (big_n - 1.0) / big_n
    }

    /// The standardised statistic `(A2_akN - (k - 1)) / sigma_N` (k = 2).
    pub fn ad_standardised(&self, labels: &[bool]) -> f64 {
        (self.ad_raw(labels) - 1.0) / self.ad_sigma
    }

    /// The sorted values of each sample under a labelling.
    pub fn split(&self, labels: &[bool]) -> (Vec<f64>, Vec<f64>) {
        let mut a = Vec::with_capacity(self.n);
        let mut b = Vec::with_capacity(self.m);
        for (&v, &o) in self.values.iter().zip(&self.order) {
            if labels[o] {
                a.push(v);
            } else {
                b.push(v);
            }
        }
        (a, b)
    }

    /// `W2^2` between the two samples under a labelling.
    pub fn w2_squared(&self, labels: &[bool]) -> f64 {
        let (a, b) = self.split(labels);
        quantile_integral(&a, &b, |t| t * t)
    }

    /// `W1` between the two samples under a labelling.
    pub fn w1(&self, labels: &[bool]) -> f64 {
        let (a, b) = self.split(labels);
        quantile_integral(&a, &b, |t| t.abs())
    }
}

/// Standard deviation of the k-sample AD statistic under the null for k = 2
/// (Scholz & Stephens 1987, eq. 4); NaN when `N < 4`.
fn ad_null_sigma(n: usize, m: usize) -> f64 {
    let big_n = n + m;
    if big_n < 4 {
        return f64::NAN;
    }
    let k = 2.0f64;
    let nf = big_n as f64;
    let hh = 1.0 / n as f64 + 1.0 / m as f64;
    // h = sum_{i=1}^{N-1} 1/i;  g = sum_{i=1}^{N-2} sum_{j=i+1}^{N-1} 1/((N-i) j)
    let h: f64 = (1..big_n).map(|i| 1.0 / i as f64).sum();
    let mut g = 0.0;
    let mut partial = 0.0; // sum_{j<=i} 1/j
    for i in 1..=(big_n - 2) {
        partial += 1.0 / i as f64;
        g += (h - partial) / (nf - i as f64);
    }
    let a = (4.0 * g - 6.0) * (k - 1.0) + (10.0 - 6.0 * g) * hh;
    let b = (2.0 * g - 4.0) * k * k + 8.0 * h * k + (2.0 * g - 14.0 * h - 4.0) * hh - 8.0 * h
        + 4.0 * g
        - 6.0;
    let c = (6.0 * h + 2.0 * g - 2.0) * k * k
        + (4.0 * h - 4.0 * g + 6.0) * k
        + (2.0 * h - 6.0) * hh
        + 4.0 * h;
    let d = (2.0 * h + 6.0) * k * k - 4.0 * h * k;
    let var = (a * nf.powi(3) + b * nf * nf + c * nf + d) / ((nf - 1.0) * (nf - 2.0) * (nf - 3.0));
    var.sqrt()
}
