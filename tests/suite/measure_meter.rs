//! The memorisation meter and the generalisation report against closed forms.
//!
//! Calibration: around a point where the training law is smooth, the training set
//! looks like a Poisson process; the volumes `V1 <= V2` of the balls reaching the
//! nearest and second-nearest points satisfy `V1 / V2 ~ Uniform(0, 1)`, so
//! `P(d1 / d2 < t) = P(U < t^d) = t^d` (1/3, 1/9, 1/27 for `t = 1/3` in d = 1, 2, 3).

use fieldflow::measure::{generalisation, memorisation, nearest_ratios, Config};
use ndarray::Array2;
use rand::Rng;

/// `n` uniform points on the cube `[lo, hi]^d`.
fn uniform(n: usize, d: usize, lo: f64, hi: f64, seed: u64) -> Array2<f64> {
    let mut rng = fieldflow::rng::seeded(seed);
    Array2::from_shape_fn((n, d), |_| lo + (hi - lo) * rng.random::<f64>())
}

/// n = 4000 fresh samples on the inner cube [0.2, 0.8]^d against M = 20000 training
/// points uniform on [0, 1]^d (the inner cube keeps the second neighbour away from
/// the edges, so the training set is locally a homogeneous process): the memorised
/// fraction is within 4 binomial standard errors of t^d. Under the Poisson limit the
/// false-failure rate is about 6e-5 per dimension (two-sided normal tail at 4 sigma;
/// the corrections from a finite M, of order 1/M, are far below one standard error).
#[test]
fn fresh_samples_are_memorised_at_rate_t_to_the_d() {
    let t = 1.0 / 3.0;
    let (n, m) = (4000, 20000);
    for d in 1..=3 {
        let train = uniform(m, d, 0.0, 1.0, 10 + d as u64);
        let x = uniform(n, d, 0.2, 0.8, 20 + d as u64);
        let meter = memorisation(x.view(), train.view(), t).unwrap();
        let p = t.powi(d as i32);
        let se = (p * (1.0 - p) / n as f64).sqrt();
        let f = meter.memorised.fraction;
        eprintln!("d = {d}: memorised {f:.4} (t^d = {p:.4}, se {se:.4})");
        assert!(
            (f - p).abs() < 4.0 * se,
            "d = {d}: memorised {f} vs t^d = {p} (se {se})"
        );
        assert_eq!(meter.ratios.len(), n);
        assert!(meter.ratios.iter().all(|r| (0.0..=1.0).contains(r)));
        // the whole law, not only one threshold: P(ratio < u) = u^d at u = 1/2 too
        let half = meter.ratios.iter().filter(|&&r| r < 0.5).count() as f64 / n as f64;
        let q = 0.5f64.powi(d as i32);
        let se = (q * (1.0 - q) / n as f64).sqrt();
        assert!((half - q).abs() < 4.0 * se, "d = {d}: {half} vs {q}");
    }
}

/// Copies of training points with noise 1e-6 (far below the spacing ~1e-2) are all
/// memorised; exact copies have ratio 0 even against duplicated training points.
#[test]
fn copies_are_memorised() {
    let train = uniform(5000, 2, 0.0, 1.0, 1);
    let noise = uniform(1000, 2, -1e-6, 1e-6, 2);
    let x = &train.slice(ndarray::s![..1000, ..]) + &noise;
    let meter = memorisation(x.view(), train.view(), 1.0 / 3.0).unwrap();
    assert_eq!(meter.memorised.count, 1000);
    let mut dup = train.clone();
    dup.append(ndarray::Axis(0), train.view()).unwrap();
    let r = nearest_ratios(train.view(), dup.view()).unwrap();
    assert!(r.iter().all(|&r| r == 0.0));
}

/// Same ratios, bit for bit, with 1 and 2 worker threads.
#[test]
fn bit_identical_for_any_thread_count() {
    let train = uniform(3000, 3, 0.0, 1.0, 3);
    let x = uniform(1000, 3, 0.0, 1.0, 4);
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| nearest_ratios(x.view(), train.view()).unwrap())
    };
    let bits = |v: Vec<f64>| v.into_iter().map(f64::to_bits).collect::<Vec<_>>();
    assert_eq!(bits(run(1)), bits(run(2)));
}

/// A sampler that returns its training set: memorised fraction 1, W2 to the
/// training set 0 (m = all points), W2 to held-out points within a factor 2 of the
/// noise floor (both are W2 between independent 400-point uniform draws).
#[test]
fn a_copying_sampler_is_caught() {
    let train = uniform(400, 2, 0.0, 1.0, 5);
    let test = uniform(800, 2, 0.0, 1.0, 6);
    let cfg = Config {
        w2_points: Some(400),
        ..Config::default()
    };
    let g = generalisation(train.view(), train.view(), Some(test.view()), None, &cfg).unwrap();
    assert_eq!(g.samples.memorised.count, 400);
    let w = g.w2.as_ref().unwrap();
    assert_eq!(w.m, 400);
    assert_eq!(w.samples_train.to_bits(), 0.0f64.to_bits());
    assert!(w.samples_test > 0.5 * w.noise_floor && w.samples_test < 2.0 * w.noise_floor);
    let json = g.to_json().unwrap();
    assert!(json.contains("\"noise_floor\""));
    // a second held-out draw is used for the floor when given
    let second = uniform(300, 2, 0.0, 1.0, 7);
    let g = generalisation(
        train.view(),
        train.view(),
        Some(test.view()),
        Some(second.view()),
        &cfg,
    )
    .unwrap();
    assert_eq!(g.w2.as_ref().unwrap().m, 300);
    assert_eq!(g.w2.unwrap().floor_from, "second held-out draw");
    // no W2 requested
    let cfg = Config {
        w2_points: None,
        ..Config::default()
    };
    let g = generalisation(train.view(), train.view(), Some(test.view()), None, &cfg).unwrap();
    assert!(g.w2.is_none());
}
