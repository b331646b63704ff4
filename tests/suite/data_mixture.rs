//! `GaussianMixture`: density against direct formulas and quadrature, score against
//! finite differences, convolution against numerical convolution, sampling moments.
//!
//! Statistical checks: fixed seeds, `N = 200_000` samples, 5 standard errors
//! (false-failure rate about 6e-7 per check) and chi-square at p < 1e-4.

use fieldflow::data::{Dataset, GaussianMixture};
use fieldflow::Error;
use ndarray::{array, Array2};
use statrs::distribution::{ChiSquared, Continuous, ContinuousCDF, Normal};
use std::f64::consts::PI;

fn three_2d() -> GaussianMixture {
    GaussianMixture::new(
        vec![0.2, 0.5, 0.3],
        array![[-1.0, 0.5], [2.0, 1.0], [0.0, -1.5]],
        vec![0.7, 1.3, 0.4],
    )
    .unwrap()
}

/// The density written out term by term, without logs.
fn direct_pdf(w: &[f64], mu: &[[f64; 2]], c: &[f64], x: [f64; 2]) -> f64 {
    let total: f64 = w.iter().sum();
    (0..w.len())
        .map(|k| {
            let r2 = (x[0] - mu[k][0]).powi(2) + (x[1] - mu[k][1]).powi(2);
            w[k] / total / (2.0 * PI * c[k] * c[k]) * (-r2 / (2.0 * c[k] * c[k])).exp()
        })
        .sum()
}

#[test]
fn log_pdf_reference_values() {
    // Standard normal: log phi(0) = -log(2 pi) / 2 = -0.918938533204672741780...,
    // log phi(1) = -1.418938533204672741780...
    let g = GaussianMixture::new(vec![1.0], array![[0.0]], vec![1.0]).unwrap();
    assert!((g.log_pdf(&[0.0]).unwrap() - -0.918_938_533_204_672_8).abs() < 1e-15);
    assert!((g.log_pdf(&[1.0]).unwrap() - -1.418_938_533_204_673).abs() < 1e-15);
    // Far from all mass, log-sum-exp keeps it finite: log phi(1000) = -500000.9189...
    let far = g.log_pdf(&[1000.0]).unwrap();
    assert!((far - (-500_000.0 - 0.918_938_533_204_672_8)).abs() < 1e-9);

    // 1-D two-component mixture against statrs' normal pdf.
    let gm = GaussianMixture::new(vec![1.0, 3.0], array![[-1.0], [2.0]], vec![0.5, 1.5]).unwrap();
    let n1 = Normal::new(-1.0, 0.5).unwrap();
    let n2 = Normal::new(2.0, 1.5).unwrap();
    for x in [-3.0, -1.0, 0.0, 0.37, 2.0, 5.5] {
        let direct = (0.25 * n1.pdf(x) + 0.75 * n2.pdf(x)).ln();
        let got = gm.log_pdf(&[x]).unwrap();
        assert!(
            (got - direct).abs() < 1e-14 * direct.abs().max(1.0),
            "x = {x}"
        );
    }

    // 2-D three-component mixture against the direct formula.
    let gm = three_2d();
    let (w, mu, c) = (
        [0.2, 0.5, 0.3],
        [[-1.0, 0.5], [2.0, 1.0], [0.0, -1.5]],
        [0.7, 1.3, 0.4],
    );
    for x in [[0.0, 0.0], [-1.0, 0.5], [3.0, -2.0], [0.1, -1.4]] {
        let direct = direct_pdf(&w, &mu, &c, x).ln();
        let got = gm.log_pdf(&x).unwrap();
        assert!((got - direct).abs() < 1e-13, "x = {x:?}: {got} vs {direct}");
    }
    // Far away, where every density underflows: a two-pass log-sum-exp written out.
    for x in [[60.0, -40.0], [-300.0, 500.0], [1e5, 1e5]] {
        let terms: Vec<f64> = (0..3)
            .map(|k| {
                let r2 = (x[0] - mu[k][0]).powi(2) + (x[1] - mu[k][1]).powi(2);
                w[k].ln() - (2.0 * PI * c[k] * c[k]).ln() - r2 / (2.0 * c[k] * c[k])
            })
            .collect();
        let m = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let lse = m + terms.iter().map(|t| (t - m).exp()).sum::<f64>().ln();
        let got = gm.log_pdf(&x).unwrap();
        assert!(got.is_finite());
        assert!(
            (got - lse).abs() < 1e-12 * lse.abs(),
            "x = {x:?}: {got} vs {lse}"
        );
        let g = gm.score(&x).unwrap();
        assert!(g.iter().all(|v| v.is_finite()));
    }
    let pts = array![[0.0, 0.0], [3.0, -2.0]];
    let rows = gm.log_pdf_rows(pts.view()).unwrap();
    assert_eq!(
        rows[1].to_bits(),
        gm.log_pdf(&[3.0, -2.0]).unwrap().to_bits()
    );
}

#[test]
fn density_integrates_to_one() {
    // 1-D: trapezoid on [-20, 20], h = 1e-3 (exponentially accurate for a smooth,
    // rapidly decaying integrand).
    let gm = GaussianMixture::new(
        vec![1.0, 2.0, 1.0],
        array![[-2.0], [0.5], [3.0]],
        vec![0.3, 1.0, 0.6],
    )
    .unwrap();
    let h = 1e-3;
    let total: f64 = (0..=40_000)
        .map(|i| {
            let x = -20.0 + i as f64 * h;
            let w = if i == 0 || i == 40_000 { 0.5 } else { 1.0 };
            w * gm.log_pdf(&[x]).unwrap().exp()
        })
        .sum::<f64>()
        * h;
    assert!((total - 1.0).abs() < 1e-12, "1-D integral {total}");

    // 2-D: trapezoid on [-14, 14]^2 (at least 9 standard deviations from every
    // mean), h = 0.035.
    let gm = three_2d();
    let h = 0.035;
    let m = 800;
    let mut total = 0.0;
    for i in 0..=m {
        for j in 0..=m {
            let x = [-14.0 + i as f64 * h, -14.0 + j as f64 * h];
            total += gm.log_pdf(&x).unwrap().exp();
        }
    }
    total *= h * h;
    assert!((total - 1.0).abs() < 1e-12, "2-D integral {total}");
}

#[test]
fn score_matches_finite_differences() {
    let gm = three_2d();
    let h = 1e-5;
    for x in [
        [0.0, 0.0],
        [-1.2, 0.4],
        [2.5, 3.0],
        [0.0, -1.5],
        [6.0, -6.0],
    ] {
        let g = gm.score(&x).unwrap();
        for j in 0..2 {
            let (mut xp, mut xm) = (x, x);
            xp[j] += h;
            xm[j] -= h;
            let fd = (gm.log_pdf(&xp).unwrap() - gm.log_pdf(&xm).unwrap()) / (2.0 * h);
            // Central difference error ~ h^2 f''' / 6 plus rounding ~ 1e-16 |f| / h.
            assert!((g[j] - fd).abs() < 1e-7 * g[j].abs().max(1.0), "{x:?} {j}");
        }
    }
    let mut out = [0.0; 2];
    gm.score_into(&[0.3, 0.4], &mut out).unwrap();
    assert_eq!(out.to_vec(), gm.score(&[0.3, 0.4]).unwrap());
    assert!(gm.score_into(&[0.3, 0.4], &mut [0.0; 3]).is_err());
    // One Gaussian: score (mu - x) / c^2 exactly.
    let g = GaussianMixture::new(vec![1.0], array![[1.0, -2.0]], vec![0.5]).unwrap();
    assert_eq!(g.score(&[0.0, 0.0]).unwrap(), vec![4.0, -8.0]);
}

#[test]
fn convolution_matches_numerical_convolution() {
    let gm = GaussianMixture::new(vec![1.0, 1.0], array![[-1.0], [1.5]], vec![0.2, 0.0]).unwrap();
    assert!(gm.has_point_masses());
    let sigma = 0.6;
    let conv = gm.convolved(sigma).unwrap();
    assert!(!conv.has_point_masses());
    assert!((conv.stds()[0] - (0.04f64 + 0.36).sqrt()).abs() < 1e-15);
    assert!((conv.stds()[1] - 0.6).abs() < 1e-15);
    // p_sigma(x) = sum_k pi_k int N(y; mu_k, c_k^2) N(x - y; 0, sigma^2) dy; the point
    // mass gives pi_k N(x; mu_k, sigma^2). Quadrature for the smooth component.
    let noise = Normal::new(0.0, sigma).unwrap();
    let comp = Normal::new(-1.0, 0.2).unwrap();
    for x in [-2.0, -0.5, 0.3, 1.5, 2.7] {
        let h = 1e-3;
        let smooth: f64 = (0..=4000)
            .map(|i| {
                let y = -3.0 + i as f64 * h;
                comp.pdf(y) * noise.pdf(x - y)
            })
            .sum::<f64>()
            * h;
        let direct = 0.5 * smooth + 0.5 * noise.pdf(x - 1.5);
        let got = conv.log_pdf(&[x]).unwrap().exp();
        assert!((got - direct).abs() < 1e-12, "x = {x}: {got} vs {direct}");
    }
    assert!(gm.convolved(-1.0).is_err());
    assert!(gm.convolved(f64::NAN).is_err());
}

#[test]
fn invalid_inputs_are_errors() {
    let m = array![[0.0], [1.0]];
    assert!(matches!(
        GaussianMixture::new(vec![1.0], m.clone(), vec![1.0, 1.0]),
        Err(Error::DimensionMismatch { .. })
    ));
    assert!(matches!(
        GaussianMixture::new(vec![1.0, 1.0], m.clone(), vec![1.0]),
        Err(Error::DimensionMismatch { .. })
    ));
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            GaussianMixture::new(vec![1.0, bad], m.clone(), vec![1.0, 1.0]),
            Err(Error::InvalidParameter { .. })
        ));
    }
    for bad in [-0.1, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            GaussianMixture::new(vec![1.0, 1.0], m.clone(), vec![1.0, bad]),
            Err(Error::InvalidParameter { .. })
        ));
    }
    assert!(matches!(
        GaussianMixture::new(vec![1.0, 1.0], array![[0.0], [f64::NAN]], vec![1.0, 1.0]),
        Err(Error::NonFinite { row: 1, col: 0, .. })
    ));
    assert!(matches!(
        GaussianMixture::new(vec![], Array2::zeros((0, 2)), vec![]),
        Err(Error::Empty { .. })
    ));
    assert!(GaussianMixture::new(vec![1.0], Array2::zeros((1, 0)), vec![1.0]).is_err());
    assert!(GaussianMixture::new(vec![f64::MAX, f64::MAX], m.clone(), vec![1.0, 1.0]).is_err());

    let gm = GaussianMixture::new(vec![1.0, 1.0], m, vec![1.0, 0.0]).unwrap();
    assert!(matches!(gm.log_pdf(&[0.0]), Err(Error::Invalid(_))));
    assert!(gm.score(&[0.0]).is_err());
    let gm = three_2d();
    assert!(matches!(
        gm.log_pdf(&[0.0]),
        Err(Error::DimensionMismatch {
            expected: 2,
            got: 1,
            ..
        })
    ));
    assert!(gm.log_pdf_rows(Array2::zeros((3, 3)).view()).is_err());
}

#[test]
fn accessors() {
    let gm = three_2d();
    assert_eq!(gm.dim(), 2);
    assert_eq!(gm.n_components(), 3);
    let w = gm.weights();
    assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-15);
    assert!((w[1] - 0.5).abs() < 1e-15);
    assert_eq!(gm.means().row(2).to_vec(), vec![0.0, -1.5]);
    assert_eq!(gm.stds(), &[0.7, 1.3, 0.4]);
    let e = GaussianMixture::eight_gaussians();
    assert_eq!((e.n_components(), e.dim()), (8, 2));
    for k in 0..8 {
        let r = e.means().row(k).iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!((r - 4.0 / 1.414).abs() < 1e-14);
        assert!((e.stds()[k] - 0.5 / 1.414).abs() < 1e-16);
    }
}

#[test]
fn sampling_moments_and_labels() {
    // Mean sum pi_k mu_k, per-coordinate second moment sum pi_k (mu_kj^2 + c_k^2),
    // cross moment sum pi_k mu_k0 mu_k1.
    let gm = three_2d();
    let n = 200_000;
    let (x, labels) = gm.sample_with_labels(n, &mut fieldflow::rng::seeded(11));
    assert_eq!(x.dim(), (n, 2));
    let w = [0.2, 0.5, 0.3];
    let mu = [[-1.0, 0.5], [2.0, 1.0], [0.0, -1.5]];
    let c = [0.7, 1.3, 0.4];
    let e = |f: &dyn Fn(usize) -> f64| (0..3).map(|k| w[k] * f(k)).sum::<f64>();
    let check = |vals: Vec<f64>, exact: f64, what: &str| {
        let m = vals.len() as f64;
        let mean = vals.iter().sum::<f64>() / m;
        let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (m - 1.0);
        let se = (var / m).sqrt();
        assert!((mean - exact).abs() < 5.0 * se, "{what}: {mean} vs {exact}");
    };
    check(x.column(0).to_vec(), e(&|k| mu[k][0]), "E x");
    check(x.column(1).to_vec(), e(&|k| mu[k][1]), "E y");
    check(
        x.column(0).mapv(|v| v * v).to_vec(),
        e(&|k| mu[k][0] * mu[k][0] + c[k] * c[k]),
        "E x^2",
    );
    check(
        x.column(1).mapv(|v| v * v).to_vec(),
        e(&|k| mu[k][1] * mu[k][1] + c[k] * c[k]),
        "E y^2",
    );
    check(
        x.rows().into_iter().map(|r| r[0] * r[1]).collect(),
        e(&|k| mu[k][0] * mu[k][1]),
        "E xy",
    );
    // Label frequencies: chi-square with 2 degrees of freedom.
    let mut counts = [0usize; 3];
    labels.iter().for_each(|&k| counts[k] += 1);
    let stat: f64 = (0..3)
        .map(|k| {
            let ek = w[k] * n as f64;
            (counts[k] as f64 - ek).powi(2) / ek
        })
        .sum();
    let p = ChiSquared::new(2.0).unwrap().sf(stat);
    assert!(p > 1e-4, "label counts {counts:?}, p = {p}");
    // Points conditioned on their label: the standardised residual of component 1
    // has mean 0 and variance 1 per coordinate.
    let z: Vec<f64> = x
        .rows()
        .into_iter()
        .zip(&labels)
        .filter(|(_, &k)| k == 1)
        .map(|(r, _)| (r[0] - 2.0) / 1.3)
        .collect();
    check(
        z.iter().map(|v| v * v).collect(),
        1.0,
        "component 1 variance",
    );

    // Point masses sample exactly their mean.
    let pm = GaussianMixture::new(
        vec![1.0, 1.0],
        array![[0.25, -3.0], [1.0, 1.0]],
        vec![0.0, 0.0],
    )
    .unwrap();
    let (y, lab) = pm.sample_with_labels(100, &mut fieldflow::rng::seeded(3));
    for (r, &k) in y.rows().into_iter().zip(&lab) {
        assert_eq!(r.to_vec(), pm.means().row(k).to_vec());
    }
}

#[test]
fn eight_gaussians_is_the_data_set() {
    let a = GaussianMixture::eight_gaussians().sample(500, &mut fieldflow::rng::seeded(5));
    let b = Dataset::EightGaussians.sample(500, &mut fieldflow::rng::seeded(5));
    assert_eq!(a, b);
    let c = GaussianMixture::eight_gaussians().sample(500, &mut fieldflow::rng::seeded(5));
    assert_eq!(a, c);
}

#[test]
fn spec_parse_and_display() {
    let gm: GaussianMixture = "1@-2,0~0.5 / 3@ 2, 1e-3 ~0".parse().unwrap();
    assert_eq!(gm.weights(), &[0.25, 0.75]);
    assert_eq!(gm.means(), array![[-2.0, 0.0], [2.0, 1e-3]]);
    assert_eq!(gm.stds(), &[0.5, 0.0]);
    assert_eq!(gm.to_string(), "0.25@-2.0,0.0~0.5/0.75@2.0,0.001~0.0");
    let back: GaussianMixture = gm.to_string().parse().unwrap();
    assert_eq!(back.to_string(), gm.to_string());
    let three: GaussianMixture = "2@0.1,-0.2,1e-300~1".parse().unwrap();
    assert_eq!((three.dim(), three.n_components()), (3, 1));
    assert_eq!(three.means()[[0, 2]].to_bits(), 1e-300f64.to_bits());
    let e: GaussianMixture = "8gaussians".parse().unwrap();
    let e2 = GaussianMixture::eight_gaussians();
    assert_eq!(e.means(), e2.means());
    // The displayed spec reproduces 8gaussians' means and stds bit for bit.
    let e3: GaussianMixture = e2.to_string().parse().unwrap();
    assert_eq!(e3.means(), e2.means());
    assert_eq!(e3.stds(), e2.stds());
    for bad in [
        "",
        "1@0",
        "1~0",
        "x@0~1",
        "1@0,y~1",
        "1@0~z",
        "1@0~1/1@0,0~1",
        "0@0~1",
        "1@0~-1",
        "1@nan~1",
        "1@0~1/",
    ] {
        assert!(bad.parse::<GaussianMixture>().is_err(), "accepted {bad:?}");
    }
    let msg = "1@0~1/1@0,0~1"
        .parse::<GaussianMixture>()
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("component 2: 2 coordinates, expected 1"),
        "{msg}"
    );
}
