//! Exact and asymptotic laws of the Kolmogorov-Smirnov statistics.
//!
//! * [`kolmogorov_sf`] / [`kolmogorov_cdf`]: the law of the one-sample statistic
//!   `D_n = sup |F_n - F|` for a continuous `F` (scipy's `kstwo`), computed with the
//!   algorithm selection of Simard & L'Ecuyer (2011, J. Stat. Software 39(11)):
//!   Ruben-Gambino closed forms at the ends of the support, the Durbin matrix
//!   (Marsaglia, Tsang & Wang 2003) for moderate `n x^2`, twice the exact one-sided
//!   Smirnov tail (Birnbaum-Tingey) where the two tails cannot overlap or the
//!   overlap is negligible, and the Pelz-Good expansion for very large `n`. Where
//!   Simard & L'Ecuyer use Pomeranz's recursion (`n <= 140`, `0.754693 < n x^2 <= 4`)
//!   we use the Durbin matrix, which is exact there too.
//! * [`smirnov_sf`]: the exact one-sided tail `P(D_n^+ >= x)`.
//! * [`ks_2samp_exact_sf`]: the exact null law of the two-sample statistic
//!   `D_{n,m}`, by counting lattice paths (Hodges 1958): the probability that a
//!   uniformly random interleaving of the two samples leaves the band
//!   `|i/n - j/m| < D`. The recursion runs on probabilities of the walk (each step
//!   draws the next pooled point from the remaining ones), and adds up the mass that
//!   leaves the band, so the tail is a sum of positive terms with no cancellation.

/// Upper tail `P(D_n >= x)` of the one-sample two-sided Kolmogorov-Smirnov statistic
/// for a sample of size `n` from a continuous law (scipy's `kstwo.sf(x, n)`).
///
/// Returns 1 for `x <= 0`, 0 for `x >= 1`; `n = 0` gives NaN.
pub fn kolmogorov_sf(n: usize, x: f64) -> f64 {
    kolmogn(n, x, false)
}

/// Distribution function `P(D_n <= x)` (scipy's `kstwo.cdf(x, n)`).
pub fn kolmogorov_cdf(n: usize, x: f64) -> f64 {
    kolmogn(n, x, true)
}

fn pick(cdf_value: f64, sf_value: f64, want_cdf: bool) -> f64 {
    let p = if want_cdf { cdf_value } else { sf_value };
    p.clamp(0.0, 1.0)
}

fn kolmogn(n: usize, x: f64, want_cdf: bool) -> f64 {
    if n == 0 || x.is_nan() {
        return f64::NAN;
    }
    if x >= 1.0 {
        return pick(1.0, 0.0, want_cdf);
    }
    if x <= 0.0 {
        return pick(0.0, 1.0, want_cdf);
    }
    let nf = n as f64;
    let t = nf * x;
    if t <= 1.0 {
        // Ruben-Gambino: P(D_n <= x) = n!/n^n (2t - 1)^n for 1/(2n) <= x <= 1/n.
        if t <= 0.5 {
            return pick(0.0, 1.0, want_cdf);
        }
        let ln_p = statrs::function::factorial::ln_factorial(n as u64) - nf * nf.ln()
            + nf * (2.0 * t - 1.0).ln();
        let p = ln_p.exp();
        return pick(p, 1.0 - p, want_cdf);
    }
    if t >= nf - 1.0 {
        // Ruben-Gambino at the upper end: P(D_n >= x) = 2 (1 - x)^n.
        let p = 2.0 * (1.0 - x).powf(nf);
        return pick(1.0 - p, p, want_cdf);
    }
    if x >= 0.5 {
        // The two one-sided events are disjoint: exactly twice the Smirnov tail.
        let p = 2.0 * smirnov_sf(n, x);
        return pick(1.0 - p, p, want_cdf);
    }
    let nxx = t * x;
    if n <= 140 {
        if nxx <= 4.0 {
            let c = durbin_cdf(n, x);
            return pick(c, 1.0 - c, want_cdf);
        }
        // Miller's approximation; its error is below the square of the tail.
        let p = 2.0 * smirnov_sf(n, x);
        return pick(1.0 - p, p, want_cdf);
    }
    if !want_cdf {
        if nxx >= 370.0 {
            return 0.0;
        }
        if nxx >= 2.2 {
            return (2.0 * smirnov_sf(n, x)).clamp(0.0, 1.0);
        }
    }
    let c = if nxx >= 18.0 {
        1.0
    } else if n <= 100_000 && nf * x.powf(1.5) <= 1.4 {
        durbin_cdf(n, x)
    } else {
        pelz_good_cdf(n, x)
    };
    pick(c, 1.0 - c, want_cdf)
}

/// Exact one-sided tail `P(D_n^+ >= x)` (scipy's `smirnov(n, x)`), by the
/// Birnbaum-Tingey sum
/// `x sum_{j=0}^{floor(n(1-x))} C(n,j) (1 - x - j/n)^{n-j} (x + j/n)^{j-1}`,
/// evaluated term by term in logarithms (all terms are positive).
pub fn smirnov_sf(n: usize, x: f64) -> f64 {
    if n == 0 || x.is_nan() {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 1.0;
    }
    if x >= 1.0 {
        return 0.0;
    }
    let nf = n as f64;
    let jmax = (nf * (1.0 - x)).floor() as usize;
    let ln_x = x.ln();
    let mut sum = 0.0;
    for j in 0..=jmax.min(n) {
        let jf = j as f64;
        let a = 1.0 - x - jf / nf;
        let b = x + jf / nf;
        let ln_a_term = if n - j == 0 {
            0.0
        } else if a <= 0.0 {
            continue;
        } else {
            (nf - jf) * a.ln()
        };
        let ln_term = statrs::function::factorial::ln_binomial(n as u64, j as u64)
            + ln_a_term
            + (jf - 1.0) * b.ln()
            + ln_x;
        sum += ln_term.exp();
    }
    sum.clamp(0.0, 1.0)
}

/// A square matrix with a binary exponent, so that powers neither over- nor
/// underflow: the value is `m * 2^exp`.
struct ScaledMatrix {
    m: Vec<f64>,
    exp: i64,
}

fn mat_mul(a: &[f64], b: &[f64], k: usize) -> Vec<f64> {
    let mut c = vec![0.0; k * k];
    for i in 0..k {
        for l in 0..k {
            let ail = a[i * k + l];
            if ail == 0.0 {
                continue;
            }
            let brow = &b[l * k..(l + 1) * k];
            let crow = &mut c[i * k..(i + 1) * k];
            for (cv, bv) in crow.iter_mut().zip(brow) {
                *cv += ail * bv;
            }
        }
    }
    c
}

fn rescale(s: &mut ScaledMatrix, centre: usize) {
    let v = s.m[centre].abs();
    if v > 1e140 || (v < 1e-140 && v > 0.0) {
        let e = v.log2().round() as i32;
        let f = 2f64.powi(-e);
        for x in s.m.iter_mut() {
            *x *= f;
        }
        s.exp += i64::from(e);
    }
}

fn mat_pow(h: &[f64], k: usize, n: usize, centre: usize) -> ScaledMatrix {
    if n == 1 {
        return ScaledMatrix {
            m: h.to_vec(),
            exp: 0,
        };
    }
    let half = mat_pow(h, k, n / 2, centre);
    let mut sq = ScaledMatrix {
        m: mat_mul(&half.m, &half.m, k),
        exp: 2 * half.exp,
    };
    if n % 2 == 1 {
        sq.m = mat_mul(h, &sq.m, k);
    }
    rescale(&mut sq, centre);
    sq
}

/// `P(D_n < x)` by the Durbin matrix method in the formulation of Marsaglia, Tsang
/// and Wang (2003): the `(k, k)` entry of `H^n`, times `n!/n^n`, where `H` is a
/// `(2k-1) x (2k-1)` matrix built from `h = k - n x`, `k = floor(n x) + 1`.
/// Cost `O(k^3 log n)`.
fn durbin_cdf(n: usize, x: f64) -> f64 {
    let nf = n as f64;
    let k = (nf * x).floor() as usize + 1;
    let m = 2 * k - 1;
    let h = k as f64 - nf * x;
    let mut hm = vec![0.0; m * m];
    for i in 0..m {
        for j in 0..m {
            if i + 1 >= j {
                hm[i * m + j] = 1.0;
            }
        }
    }
    for i in 0..m {
        hm[i * m] -= h.powi(i as i32 + 1);
        hm[(m - 1) * m + i] -= h.powi((m - i) as i32);
    }
    if 2.0 * h - 1.0 > 0.0 {
        hm[(m - 1) * m] += (2.0 * h - 1.0).powi(m as i32);
    }
    for i in 0..m {
        for j in 0..m {
            if i + 1 > j {
                // divide by (i - j + 1)!
                let f = statrs::function::factorial::factorial((i + 1 - j) as u64);
                hm[i * m + j] /= f;
            }
        }
    }
    let centre = (k - 1) * m + (k - 1);
    let q = mat_pow(&hm, m, n, centre);
    // s = Q[centre] * n! / n^n, accumulated in logs of the binary exponent.
    let s = q.m[centre];
    if s <= 0.0 {
        return 0.0;
    }
    let ln_s = s.ln()
        + q.exp as f64 * std::f64::consts::LN_2
        + statrs::function::factorial::ln_factorial(n as u64)
        - nf * nf.ln();
    ln_s.exp().clamp(0.0, 1.0)
}

/// The Pelz-Good (1976) asymptotic expansion of `P(D_n <= x)` in powers of
/// `n^{-1/2}` (terms K0..K3), written with Jacobi theta transforms so that it is
/// accurate for small `z = x sqrt(n)`.
fn pelz_good_cdf(n: usize, x: f64) -> f64 {
    use std::f64::consts::PI;
    let z = (n as f64).sqrt() * x;
    let z2 = z * z;
    let z4 = z2 * z2;
    let z6 = z4 * z2;
    let pi2 = PI * PI;
    let pi4 = pi2 * pi2;
    let pi6 = pi4 * pi2;
    let qlog = -pi2 / 8.0 / z2;
    if qlog < -745.0 {
        return 0.0;
    }
    let q = qlog.exp();
    let k1a = -z2;
    let k1b = pi2 / 4.0;
    let k2a = 6.0 * z6 + 2.0 * z4;
    let k2b = (2.0 * z4 - 5.0 * z2) * pi2 / 4.0;
    let k2c = pi4 * (1.0 - 2.0 * z2) / 16.0;
    let k3d = pi6 * (5.0 - 30.0 * z2) / 64.0;
    let k3c = pi4 * (-60.0 * z2 + 212.0 * z4) / 16.0;
    let k3b = pi2 * (135.0 * z4 - 96.0 * z6) / 4.0;
    let k3a = -30.0 * z6 - 90.0 * z4 * z4;
    let maxk = (16.0 * z / PI).ceil().max(1.0) as usize;
    // sums over odd m = 2k - 1 of c(m) q^{m^2}, by Horner in q^{8k}
    let mut s = [0.0f64; 4];
    for k in (1..=maxk).rev() {
        let m = (2 * k - 1) as f64;
        let m2 = m * m;
        let m4 = m2 * m2;
        let m6 = m4 * m2;
        let qp = q.powi(8 * k as i32);
        let c = [
            1.0,
            k1a + k1b * m2,
            k2a + k2b * m2 + k2c * m4,
            k3a + k3b * m2 + k3c * m4 + k3d * m6,
        ];
        for (sv, cv) in s.iter_mut().zip(c) {
            *sv = *sv * qp + cv;
        }
    }
    let sqrt2pi = (2.0 * PI).sqrt();
    let denom = [z, 6.0 * z4, 72.0 * z6 * z, 6480.0 * z4 * z6];
    for (sv, dv) in s.iter_mut().zip(denom) {
        *sv *= q * sqrt2pi / dv;
    }
    // the extra sums over all integers k in K2 and K3
    let q2 = (-pi2 / 2.0 / z2).exp();
    let sqrt3z = 3f64.sqrt() * z;
    let mut k2extra = 0.0;
    let mut k3extra = 0.0;
    for k in (1..=maxk).rev() {
        let kf = k as f64;
        let k2 = kf * kf;
        let qp = q2.powf(k2);
        k2extra += k2 * qp;
        let kpi = PI * kf;
        k3extra += (sqrt3z + kpi) * (sqrt3z - kpi) * k2 * qp;
    }
    s[2] += k2extra * pi2 * sqrt2pi / (-36.0 * z2 * z);
    s[3] += k3extra * pi2 * sqrt2pi / (216.0 * z6);
    let sn = (n as f64).sqrt();
    let total = s[0] + s[1] / sn + s[2] / (sn * sn) + s[3] / (sn * sn * sn);
    total.clamp(0.0, 1.0)
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        let t = a % b;
        a = b;
        b = t;
    }
    a
}

/// The two-sample statistic rounded to the lattice of attainable values, and the
/// integer `h` with `D = h / lcm(n, m)`.
pub(crate) fn ks2_lattice(n: usize, m: usize, d: f64) -> (u64, f64) {
    let g = gcd(n, m);
    let lcm = (n / g) as f64 * m as f64;
    let h = (d * lcm).round();
    (h as u64, h / lcm)
}

/// Exact `P(D_{n,m} >= d)` for the two-sided two-sample Kolmogorov-Smirnov
/// statistic under the null (no ties), as scipy's `ks_2samp(method='exact')`
/// computes it: `d` is first rounded to the nearest attainable value `h/lcm(n, m)`.
///
/// Cost `O(m * band)` with a band of width about `2 d n`; at most `O(n m)`.
pub fn ks_2samp_exact_sf(n: usize, m: usize, d: f64) -> f64 {
    if n == 0 || m == 0 || d.is_nan() {
        return f64::NAN;
    }
    let (h, _) = ks2_lattice(n, m, d);
    if h == 0 {
        return 1.0;
    }
    let g = gcd(n, m) as i128;
    // outside the band iff |i m - j n| >= h g, with i of n drawn from the first
    // sample and j of m from the second.
    let limit = h as i128 * g;
    let (ni, mi) = (n as i128, m as i128);
    let inside = |i: usize, j: usize| -> bool { (i as i128 * mi - j as i128 * ni).abs() < limit };
    let total = (n + m) as f64;
    let mut row = vec![0.0f64; n + 1];
    let mut next = vec![0.0f64; n + 1];
    row[0] = 1.0;
    let mut out = 0.0;
    // range of i carrying mass in the current row
    let (mut lo, mut hi) = (0usize, 0usize);
    for j in 0..=m {
        let (mut nlo, mut nhi) = (usize::MAX, 0usize);
        let mut i = lo;
        while i <= hi {
            let u = row[i];
            row[i] = 0.0;
            let left = total - (i + j) as f64;
            if u == 0.0 || left <= 0.0 {
                i += 1;
                continue;
            }
            // draw from the first sample: move to (i + 1, j)
            if i < n {
                let p = u * (n - i) as f64 / left;
                if inside(i + 1, j) {
                    row[i + 1] += p;
                    hi = hi.max(i + 1);
                } else {
                    out += p;
                }
            }
            // draw from the second sample: move to (i, j + 1)
            if j < m {
                let p = u * (m - j) as f64 / left;
                if inside(i, j + 1) {
                    next[i] += p;
                    nlo = nlo.min(i);
                    nhi = nhi.max(i);
                } else {
                    out += p;
                }
            }
            i += 1;
        }
        std::mem::swap(&mut row, &mut next);
        if nlo == usize::MAX {
            break;
        }
        lo = nlo;
        hi = nhi;
    }
    out.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ruben_gambino_ends() {
        // P(D_n >= x) = 2 (1 - x)^n near x = 1.
        let p = kolmogorov_sf(5, 0.9);
        assert!((p - 2.0 * 0.1f64.powi(5)).abs() < 1e-15);
        // P(D_n <= x) = n!/n^n (2 n x - 1)^n for 1/(2n) <= x <= 1/n: n = 3, x = 0.3.
        let c = kolmogorov_cdf(3, 0.3);
        assert!((c - 6.0 / 27.0 * 0.8f64.powi(3)).abs() < 1e-15, "{c}");
    }

    #[test]
    fn n_equals_one_is_uniform() {
        // D_1 = max(U, 1 - U) is uniform on [1/2, 1]: P(D_1 >= x) = 2 (1 - x).
        for x in [0.55, 0.7, 0.9] {
            assert!((kolmogorov_sf(1, x) - 2.0 * (1.0 - x)).abs() < 1e-14);
        }
    }

    #[test]
    fn durbin_and_pelz_good_agree_for_large_n() {
        // At n = 5000 both are accurate to about 1e-7 in the middle of the law.
        for x in [0.012, 0.016, 0.02] {
            let a = durbin_cdf(5000, x);
            let b = pelz_good_cdf(5000, x);
            assert!((a - b).abs() < 1e-5, "x={x}: {a} vs {b}");
        }
    }

    #[test]
    fn two_sample_exact_small_case_by_enumeration() {
        // n = m = 2: the 6 interleavings have D = 1 (xxyy, yyxx) or 1/2 (the rest).
        assert!((ks_2samp_exact_sf(2, 2, 1.0) - 2.0 / 6.0).abs() < 1e-15);
        assert!((ks_2samp_exact_sf(2, 2, 0.5) - 1.0).abs() < 1e-15);
    }

    /// All interleavings of n first-sample and m second-sample points, by brute
    /// force: the fraction whose statistic D is at least `d`.
    fn enumerate_sf(n: usize, m: usize, d: f64) -> f64 {
        let total = n + m;
        let (mut hit, mut all) = (0u64, 0u64);
        for mask in 0u32..(1 << total) {
            if mask.count_ones() as usize != n {
                continue;
            }
            let (mut i, mut j, mut dmax) = (0.0, 0.0, 0.0f64);
            for b in 0..total {
                if mask >> b & 1 == 1 {
                    i += 1.0;
                } else {
                    j += 1.0;
                }
                dmax = dmax.max((i / n as f64 - j / m as f64).abs());
            }
            all += 1;
            if dmax >= d - 1e-12 {
                hit += 1;
            }
        }
        hit as f64 / all as f64
    }

    #[test]
    fn two_sample_exact_matches_enumeration() {
        for (n, m) in [(4, 3), (5, 7), (6, 6), (3, 9), (8, 5)] {
            let g = gcd(n, m);
            let lcm = n / g * m;
            for h in 1..=lcm {
                let d = h as f64 / lcm as f64;
                let a = ks_2samp_exact_sf(n, m, d);
                let b = enumerate_sf(n, m, d);
                assert!((a - b).abs() < 1e-14, "n={n} m={m} d={d}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn miller_branch_agrees_with_the_durbin_matrix() {
        // n <= 140 and n x^2 > 4: 2 P(D+ >= x) differs from the exact tail by less
        // than the square of the tail.
        for (n, x) in [(50usize, 0.3), (100, 0.21), (140, 0.2)] {
            let exact = 1.0 - durbin_cdf(n, x);
            let miller = kolmogorov_sf(n, x);
            assert!(
                (exact - miller).abs() < exact * exact + 1e-15,
                "{n} {x}: {exact} {miller}"
            );
        }
    }

    #[test]
    fn branches_agree_at_their_boundaries() {
        // n > 140: the sf switches from 1 - Durbin to 2 x Smirnov at n x^2 = 2.2, where
        // the two differ by less than the square of the tail (about 1.5e-3 here).
        for n in [141usize, 1000, 5000] {
            let x = (2.2 / n as f64).sqrt();
            let durbin = 1.0 - durbin_cdf(n, x);
            let miller = 2.0 * smirnov_sf(n, x);
            assert!(
                (durbin - miller).abs() < durbin * durbin,
                "{n}: {durbin} {miller}"
            );
        }
    }
}
