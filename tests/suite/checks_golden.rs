//! Golden values of docs/REFERENCE-VALUES.md, section 4 (scipy 1.17), to 1e-6, and closed forms.

use fieldflow::checks::kolmogorov::{kolmogorov_sf, ks_2samp_exact_sf, smirnov_sf};
use fieldflow::checks::one_sample::{ad_1samp, anderson_darling_sf, ks_1samp};
use fieldflow::checks::pairwise::{
    energy_statistic, median_pairwise_distance, mmd2_biased, mmd2_unbiased,
};
use fieldflow::checks::univariate::{anderson_darling_2samp, ks_2samp, wasserstein1, wasserstein2};
use ndarray::Array2;
use statrs::distribution::{ContinuousCDF, Normal};

const X: [f64; 7] = [0.1, 0.5, 0.9, 1.3, 2.0, 2.2, 3.1];
const Y: [f64; 6] = [0.0, 0.3, 0.35, 0.8, 1.0, 1.1];
const TOL: f64 = 1e-6;

fn col(v: &[f64]) -> Array2<f64> {
    Array2::from_shape_vec((v.len(), 1), v.to_vec()).unwrap()
}

fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!(
        (a - b).abs() <= tol,
        "{what}: got {a:.12}, expected {b:.12}"
    );
}

#[test]
fn two_sample_ks_exact_and_asymptotic() {
    let r = ks_2samp(&X, &Y).unwrap();
    assert!(r.exact);
    close(r.statistic, 0.5714285714, 1e-10, "D");
    close(r.pvalue, 0.146853, TOL, "exact p");
    // scipy's asymptotic p: kstwo.sf(D, round(n m / (n + m))) = kstwo.sf(D, 3)
    close(kolmogorov_sf(3, r.statistic), 0.188533, TOL, "asymptotic p");
}

#[test]
fn one_sample_ks_against_normal() {
    let nrm = Normal::new(1.0, 1.0).unwrap();
    let r = ks_1samp(&X, |t| nrm.cdf(t)).unwrap();
    close(r.statistic, 0.269916, TOL, "D");
    close(r.pvalue, 0.595580, TOL, "p");
}

#[test]
fn anderson_darling_k_sample() {
    close(anderson_darling_2samp(&X, &Y).unwrap(), 0.914647, TOL, "AD");
}

#[test]
fn energy_w1_mmd_and_median() {
    let (x, y) = (col(&X), col(&Y));
    let e = energy_statistic(x.view(), y.view()).unwrap();
    // scipy's energy_distance is sqrt(2 int (F-G)^2) = sqrt of the V-statistic in 1-D
    close(e.sqrt(), 0.778138, TOL, "energy");
    close(wasserstein1(&X, &Y).unwrap(), 0.851190, TOL, "W1");
    close(
        mmd2_biased(x.view(), y.view(), 1.0).unwrap(),
        0.247947,
        TOL,
        "MMD biased",
    );
    close(
        mmd2_unbiased(x.view(), y.view(), 1.0).unwrap(),
        0.149420,
        TOL,
        "MMD unbiased",
    );
    close(
        median_pairwise_distance(x.view(), y.view()).unwrap(),
        0.9,
        1e-12,
        "median",
    );
}

#[test]
fn energy_is_twice_biased_mmd_with_distance_kernel() {
    // E = 2 MMD^2_biased with k(x, y) = (|x| + |y| - |x - y|)/2, computed directly.
    let k = |a: f64, b: f64| (a.abs() + b.abs() - (a - b).abs()) / 2.0;
    let mean = |u: &[f64], v: &[f64]| {
        u.iter()
            .map(|&a| v.iter().map(|&b| k(a, b)).sum::<f64>())
            .sum::<f64>()
            / (u.len() * v.len()) as f64
    };
    let mmd = mean(&X, &X) + mean(&Y, &Y) - 2.0 * mean(&X, &Y);
    let e = energy_statistic(col(&X).view(), col(&Y).view()).unwrap();
    close(e, 2.0 * mmd, 1e-12, "energy vs 2 MMD");
}

#[test]
fn wasserstein_closed_forms() {
    // a shift by c moves every quantile by c: W1 = W2 = c.
    let y: Vec<f64> = X.iter().map(|v| v + 0.25).collect();
    close(wasserstein1(&X, &y).unwrap(), 0.25, 1e-12, "W1 shift");
    close(wasserstein2(&X, &y).unwrap(), 0.25, 1e-12, "W2 shift");
    // {0} vs {0, 1}: W1 = 1/2, W2 = sqrt(1/2)
    close(
        wasserstein2(&[0.0], &[0.0, 1.0]).unwrap(),
        0.5f64.sqrt(),
        1e-15,
        "W2 two points",
    );
}

#[test]
fn kolmogorov_laws_closed_forms() {
    // Birnbaum-Tingey by hand. n = 1: P(D_1^+ >= x) = 1 - x. n = 2, x = 0.6: only
    // j = 0 contributes, x (1 - x)^2 x^-1 = 0.16. For x >= 1/2 the two one-sided
    // events are disjoint, so P(D_n >= x) = 2 P(D_n^+ >= x).
    close(smirnov_sf(1, 0.3), 0.7, 1e-15, "smirnov n=1");
    close(smirnov_sf(2, 0.6), 0.16, 1e-15, "smirnov n=2");
    close(kolmogorov_sf(2, 0.6), 0.32, 1e-15, "kolmogorov n=2");
    // the two-sample law for n = m: P(D >= 1) = 2 / C(2n, n)
    close(
        ks_2samp_exact_sf(5, 5, 1.0),
        2.0 / 252.0,
        1e-15,
        "n=m=5, D=1",
    );
}

#[test]
fn one_sample_anderson_darling_reference_points() {
    // Marsaglia & Marsaglia's law at the tabulated asymptotic critical values
    // (docs/REFERENCE-VALUES.md, section 4: 1.933, 2.492, 3.857 for 10%, 5%, 1%); at
    // n = 1000 the finite-n correction is negligible. The table has 3 decimals: at the 1% point a change of
    // 0.02 in the statistic moves p by about 2.5e-4, so that point gets 5e-4.
    close(anderson_darling_sf(1000, 1.933), 0.10, 2e-4, "AD 10%");
    close(anderson_darling_sf(1000, 2.492), 0.05, 2e-4, "AD 5%");
    close(anderson_darling_sf(1000, 3.857), 0.01, 5e-4, "AD 1%");
    // the statistic of a perfect-looking sample u_i = (i - 1/2)/n is minimal
    let n = 50;
    let u: Vec<f64> = (0..n).map(|i| (i as f64 + 0.5) / n as f64).collect();
    let r = ad_1samp(&u, |t| t).unwrap();
    assert!(r.pvalue > 0.999, "{r:?}");
}

#[test]
fn chi_square_closed_forms() {
    use fieldflow::checks::contingency::{chi2_contingency, chi2_gof, chi2_two_sample};
    // 2 x 2 table [[10, 20], [20, 10]]: every expected count is 15, X^2 = 4 * 25/15 =
    // 20/3, and the chi2_1 tail is erfc(sqrt(X^2 / 2)).
    let t = ndarray::array![[10u64, 20], [20, 10]];
    let r = chi2_contingency(t.view()).unwrap();
    close(r.statistic, 20.0 / 3.0, 1e-12, "X^2");
    let tail = statrs::function::erf::erfc((10.0f64 / 3.0).sqrt());
    close(r.pvalue, tail, 1e-12, "p");
    // the two-sample form drops categories empty in both samples
    let r2 = chi2_two_sample(&[10, 0, 20], &[20, 0, 10]).unwrap();
    close(r2.statistic, r.statistic, 1e-12, "two-sample X^2");
    // goodness of fit: counts (30, 10) against (1/2, 1/2): X^2 = 10, chi2_1 tail
    let g = chi2_gof("g", &[30, 10], &[0.5, 0.5]).unwrap();
    close(g.statistic, 10.0, 1e-12, "gof X^2");
    close(
        g.pvalue,
        statrs::function::erf::erfc(5f64.sqrt()),
        1e-12,
        "gof p",
    );
}

#[test]
fn bad_input_is_an_error() {
    let x = col(&X);
    let empty = Array2::<f64>::zeros((0, 1));
    assert!(energy_statistic(x.view(), empty.view()).is_err());
    let two_d = Array2::<f64>::zeros((4, 2));
    assert!(energy_statistic(x.view(), two_d.view()).is_err());
    let mut nan = col(&Y);
    nan[[2, 0]] = f64::NAN;
    let e = energy_statistic(x.view(), nan.view()).unwrap_err();
    assert!(e.to_string().contains("non-finite"), "{e}");
    assert!(ks_2samp(&[], &Y).is_err());
    assert!(ks_1samp(&[f64::INFINITY], |t| t).is_err());
}
