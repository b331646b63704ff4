//! Calibration: under the null, each test rejects at alpha = 0.05 at its nominal
//! rate. Every test is run on R = 400 seeded null replicates (replicate r draws its
//! data from `rng::stream(SEED, r)`); the number of rejections must lie in the
//! central 99.9% interval of Binomial(R, 0.05), computed with statrs. A correct test
//! fails this check with probability about 0.1% (for each of the ~20 tests here), and
//! the seeds are fixed, so the outcome is reproducible. Discrete tests (exact KS)
//! are conservative; their rate must still lie in the interval.
//!
//! Sizes are modest to keep the whole file within a few seconds: n = 40 and m = 50
//! points in 2-D (8gaussians), n = 30 and m = 45 in 1-D, B = 99 permutations (then
//! P(p <= 0.05) = 5/100 exactly for a continuous statistic).

use fieldflow::checks::battery::TwoSampleTest;
use fieldflow::checks::contingency::{chi2_contingency, chi2_gof, multinomial_gof_mc};
use fieldflow::checks::one_sample::{
    ad_1samp, ks_1samp, landing_test, mixture_tests, GaussianTarget, PfgmPrior,
};
use fieldflow::checks::{TestResult, TwoSampleConfig};
use fieldflow::data::GaussianMixture;
use fieldflow::rng::stream;
use ndarray::{array, Array2};
use rand::Rng;
use rand_distr::{ChiSquared as ChiSq, Distribution, StandardNormal};
use rayon::prelude::*;
use statrs::distribution::{Binomial, ContinuousCDF, DiscreteCDF, Normal};

const REPS: u64 = 400;
const ALPHA: f64 = 0.05;
const B: usize = 99;

/// Runs `f(r)` for every replicate (in parallel) and checks, for each named test in
/// the output, that its rejection count lies in the binomial 99.9% interval.
fn calibrate(seed: u64, f: impl Fn(u64) -> Vec<TestResult> + Sync) {
    let runs: Vec<Vec<TestResult>> = (0..REPS)
        .into_par_iter()
        .map(|r| f(seed + 1000 * r))
        .collect();
    let law = Binomial::new(ALPHA, REPS).unwrap();
    let lo = law.inverse_cdf(0.0005);
    let hi = law.inverse_cdf(0.9995);
    for (k, first) in runs[0].iter().enumerate() {
        let count = runs.iter().filter(|rs| rs[k].pvalue <= ALPHA).count() as u64;
        // the calibration table of the closing note (shown with --nocapture)
        eprintln!(
            "calibration {:<22} {count:>4}/{REPS}  interval [{lo}, {hi}]",
            first.name
        );
        assert!(
            (lo..=hi).contains(&count),
            "{}: {count}/{REPS} rejections, outside [{lo}, {hi}]",
            first.name
        );
        // pvalues are probabilities
        assert!(runs
            .iter()
            .all(|rs| rs[k].pvalue > 0.0 && rs[k].pvalue <= 1.0));
    }
}

fn normal_sample(rng: &mut impl Rng, n: usize, d: usize) -> Array2<f64> {
    Array2::from_shape_fn((n, d), |_| rng.sample(StandardNormal))
}

fn cfg(seed: u64) -> TwoSampleConfig<'static> {
    TwoSampleConfig {
        permutations: B,
        seed,
        ..TwoSampleConfig::default()
    }
}

#[test]
fn two_sample_tests_in_2d() {
    let mix = GaussianMixture::eight_gaussians();
    calibrate(11, |s| {
        let mut rng = stream(s, 1);
        let x = mix.sample(40, &mut rng);
        let y = mix.sample(50, &mut rng);
        TwoSampleTest::ALL
            .iter()
            .filter(|t| t.applies(2))
            .map(|t| t.run(x.view(), y.view(), &cfg(s)).unwrap())
            .collect()
    });
}

#[test]
fn two_sample_tests_in_1d_and_3d() {
    calibrate(12, |s| {
        let mut rng = stream(s, 1);
        let x = normal_sample(&mut rng, 30, 1);
        let y = normal_sample(&mut rng, 45, 1);
        let mut out: Vec<TestResult> = TwoSampleTest::ALL
            .iter()
            .filter(|t| t.applies(1))
            .map(|t| t.run(x.view(), y.view(), &cfg(s)).unwrap())
            .collect();
        let x3 = normal_sample(&mut rng, 30, 3);
        let y3 = normal_sample(&mut rng, 35, 3);
        for t in [TwoSampleTest::Ks, TwoSampleTest::Ad, TwoSampleTest::Mmd] {
            let mut r = t.run(x3.view(), y3.view(), &cfg(s)).unwrap();
            r.name.push_str("_3d");
            out.push(r);
        }
        out
    });
}

#[test]
fn one_sample_tests() {
    let nrm = Normal::standard();
    let cov = array![[2.0, 0.6, 0.0], [0.6, 1.0, -0.3], [0.0, -0.3, 0.5]];
    let gauss = GaussianTarget::new(vec![1.0, -2.0, 0.5], cov.view()).unwrap();
    // Cholesky factor of cov, by hand, to draw exact samples
    let l11 = 2f64.sqrt();
    let l21 = 0.6 / l11;
    let l22 = (1.0 - l21 * l21).sqrt();
    let l32 = -0.3 / l22;
    let l33 = (0.5 - l32 * l32).sqrt();
    let prior1 = PfgmPrior::new(2, 1.0, 40.0, Some(vec![0.5, -0.5])).unwrap();
    let prior2 = PfgmPrior::new(3, 4.0, 10.0, None).unwrap();
    let prior3 = PfgmPrior::new(1, 1.0, 5.0, None).unwrap();
    let mix = GaussianMixture::eight_gaussians();
    calibrate(13, |s| {
        let mut rng = stream(s, 1);
        let mut out = Vec::new();
        let u: Vec<f64> = (0..50).map(|_| rng.sample(StandardNormal)).collect();
        out.push(ks_1samp(&u, |t| nrm.cdf(t)).unwrap());
        out.push(ad_1samp(&u, |t| nrm.cdf(t)).unwrap());
        // Gaussian whitening
        let z = normal_sample(&mut rng, 60, 3);
        let mut x = Array2::zeros((60, 3));
        for i in 0..60 {
            x[[i, 0]] = 1.0 + l11 * z[[i, 0]];
            x[[i, 1]] = -2.0 + l21 * z[[i, 0]] + l22 * z[[i, 1]];
            x[[i, 2]] = 0.5 + l32 * z[[i, 1]] + l33 * z[[i, 2]];
        }
        out.extend(gauss.tests(x.view()).unwrap());
        // PFGM prior, drawn as U = g / sqrt(W), W ~ chi2_D (independent of the Beta form
        // that the test uses: docs/MATHEMATICS.md, section 4, exact samplers)
        for (p, d, big_d, smax, c) in [
            (&prior1, 2, 1.0, 40.0, [0.5, -0.5, 0.0]),
            (&prior2, 3, 4.0, 10.0, [0.0; 3]),
            (&prior3, 1, 1.0, 5.0, [0.0; 3]),
        ] {
            let chi = ChiSq::new(big_d).unwrap();
            let mut x = Array2::zeros((70, d));
            for i in 0..70 {
                let w: f64 = chi.sample(&mut rng);
                for k in 0..d {
                    let g: f64 = rng.sample(StandardNormal);
                    x[[i, k]] = c[k] + smax * g / w.sqrt();
                }
            }
            let mut r = p.tests(x.view()).unwrap();
            for t in &mut r {
                t.name.push_str(&format!("_d{d}"));
            }
            out.extend(r);
        }
        // mixture: mode counts and residuals (expected 25 per mode)
        let xm = mix.sample(200, &mut rng);
        out.extend(mixture_tests(xm.view(), &mix, B, s).unwrap());
        out
    });
}

#[test]
fn count_tests() {
    let probs = [0.5, 0.3, 0.15, 0.05];
    let data = Array2::from_shape_fn((6, 2), |(i, j)| (i * 2 + j) as f64);
    let w = [3.0, 1.0, 1.0, 2.0, 0.5, 0.5];
    let wsum: f64 = w.iter().sum();
    calibrate(14, |s| {
        let mut rng = stream(s, 1);
        let draw = |rng: &mut fieldflow::rng::Rng, p: &[f64]| -> usize {
            let mut u: f64 = rng.random();
            for (k, &pk) in p.iter().enumerate() {
                if u < pk {
                    return k;
                }
                u -= pk;
            }
            p.len() - 1
        };
        let mut counts = [0u64; 4];
        for _ in 0..200 {
            counts[draw(&mut rng, &probs)] += 1;
        }
        let mut table = Array2::<u64>::zeros((2, 4));
        for r in 0..2 {
            for _ in 0..150 {
                table[[r, draw(&mut rng, &probs)]] += 1;
            }
        }
        // landing: samples at (near) data points chosen with the weights
        let wn: Vec<f64> = w.iter().map(|v| v / wsum).collect();
        let mut x = Array2::zeros((30, 2));
        for i in 0..30 {
            let k = draw(&mut rng, &wn);
            for j in 0..2 {
                let e: f64 = rng.sample(StandardNormal);
                x[[i, j]] = data[[k, j]] + 1e-3 * e;
            }
        }
        vec![
            chi2_gof("gof", &counts, &probs).unwrap(),
            multinomial_gof_mc("gof_mc", &counts[..], &probs, B, s).unwrap(),
            chi2_contingency(table.view()).unwrap(),
            landing_test(x.view(), data.view(), Some(&w), B, s)
                .unwrap()
                .result,
        ]
    });
}
