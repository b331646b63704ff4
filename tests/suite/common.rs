//! Shared statistical helpers for the integration tests (test-only code).
//!
//! Kolmogorov-Smirnov tests with the asymptotic Kolmogorov distribution
//! `Q(lambda) = 2 sum_{j>=1} (-1)^{j-1} exp(-2 j^2 lambda^2)` and Stephens' small-sample
//! correction `lambda = (sqrt(n_e) + 0.12 + 0.11 / sqrt(n_e)) D` (n_e = n for one
//! sample, n m / (n + m) for two). Multivariate samples are compared on fixed
//! projections with a Bonferroni correction (p = min(1, k * min_j p_j)).
#![allow(dead_code)]

use ndarray::ArrayView2;

/// The Kolmogorov survival function `Q(lambda) = P(K > lambda)`.
pub fn kolmogorov_q(lambda: f64) -> f64 {
    if lambda < 0.2 {
        return 1.0; // Q(0.2) = 1 - 2.7e-22
    }
    let mut acc = 0.0;
    for j in 1..200 {
        let jf = j as f64;
        let t = (-2.0 * jf * jf * lambda * lambda).exp();
        acc += if j % 2 == 1 { t } else { -t };
        if t < 1e-300 {
            break;
        }
    }
    (2.0 * acc).clamp(0.0, 1.0)
}

fn p_value(d: f64, ne: f64) -> f64 {
    let sq = ne.sqrt();
    kolmogorov_q((sq + 0.12 + 0.11 / sq) * d)
}

/// One-sample KS test of `x` against `cdf`: returns `(D, p)`.
pub fn ks_one(x: &[f64], cdf: impl Fn(f64) -> f64) -> (f64, f64) {
    let mut v = x.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len() as f64;
    let mut d: f64 = 0.0;
    for (i, &xi) in v.iter().enumerate() {
        let f = cdf(xi);
        d = d.max(f - i as f64 / n).max((i as f64 + 1.0) / n - f);
    }
    (d, p_value(d, n))
}

/// Two-sample KS test: returns `(D, p)`.
pub fn ks_two(a: &[f64], b: &[f64]) -> (f64, f64) {
    let mut x = a.to_vec();
    let mut y = b.to_vec();
    x.sort_by(|p, q| p.total_cmp(q));
    y.sort_by(|p, q| p.total_cmp(q));
    let (n, m) = (x.len(), y.len());
    let (mut i, mut j) = (0, 0);
    let mut d: f64 = 0.0;
    while i < n && j < m {
        let v = x[i].min(y[j]);
        while i < n && x[i] <= v {
            i += 1;
        }
        while j < m && y[j] <= v {
            j += 1;
        }
        d = d.max((i as f64 / n as f64 - j as f64 / m as f64).abs());
    }
    let ne = (n * m) as f64 / (n + m) as f64;
    (d, p_value(d, ne))
}

/// Fixed unit directions in `R^d`: the axes and, for `d >= 2`, `extra` more spread
/// over the sphere by a fixed rule (for `d = 2` equally spaced angles).
pub fn directions(d: usize, extra: usize) -> Vec<Vec<f64>> {
    let mut out = Vec::new();
    for j in 0..d {
        let mut e = vec![0.0; d];
        e[j] = 1.0;
        out.push(e);
    }
    if d >= 2 {
        for k in 0..extra {
            let mut v = vec![0.0; d];
            let t = std::f64::consts::PI * (k as f64 + 0.5) / extra as f64;
            v[0] = t.cos();
            v[1] = t.sin();
            for (j, vj) in v.iter_mut().enumerate().skip(2) {
                *vj = ((k + 1) as f64 * (j as f64 + 0.37)).sin();
            }
            let n: f64 = v.iter().map(|a| a * a).sum::<f64>().sqrt();
            out.push(v.iter().map(|a| a / n).collect());
        }
    }
    out
}

fn project(x: ArrayView2<f64>, dir: &[f64]) -> Vec<f64> {
    x.rows()
        .into_iter()
        .map(|r| r.iter().zip(dir).map(|(a, b)| a * b).sum())
        .collect()
}

/// Two-sample KS on the projections onto `directions(d, extra)`, Bonferroni
/// corrected: returns the corrected p-value and the largest `D`.
pub fn ks_projections(a: ArrayView2<f64>, b: ArrayView2<f64>, extra: usize) -> (f64, f64) {
    let dirs = directions(a.ncols(), extra);
    let mut pmin: f64 = 1.0;
    let mut dmax: f64 = 0.0;
    for dir in &dirs {
        let (d, p) = ks_two(&project(a, dir), &project(b, dir));
        pmin = pmin.min(p);
        dmax = dmax.max(d);
    }
    ((pmin * dirs.len() as f64).min(1.0), dmax)
}
