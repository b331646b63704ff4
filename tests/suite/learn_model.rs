//! Learned fields: reproducible training, model files (round trip and every kind of
//! bad file), and a field the network can represent exactly learned to a stated error.
#![cfg(feature = "learn")]

use fieldflow::fields::{Field, FieldKind, MarginalField, Source};
use fieldflow::learn::model::TrainedModel;
use fieldflow::learn::train::split;
use fieldflow::learn::{train, LearnedField, Target, TrainConfig};
use fieldflow::rng::seeded;
use fieldflow::Error;
use ndarray::{Array2, ArrayView2};
use rand_distr::{Distribution, StandardNormal};
use std::path::PathBuf;

/// `n` draws of `N(mu, diag(c^2))`.
fn gaussian(n: usize, mu: &[f64], c: &[f64], seed: u64) -> Array2<f64> {
    let mut rng = seeded(seed);
    Array2::from_shape_fn((n, mu.len()), |(_, j)| {
        let z: f64 = StandardNormal.sample(&mut rng);
        mu[j] + c[j] * z
    })
}

fn small_cfg(kind: FieldKind, steps: usize) -> TrainConfig {
    TrainConfig {
        kind,
        steps,
        batch: 64,
        hidden: 16,
        layers: 2,
        seed: 3,
        ..TrainConfig::default()
    }
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fieldflow-learn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn weight_bits(m: &TrainedModel) -> Vec<u32> {
    m.mlp()
        .named_tensors()
        .iter()
        .flat_map(|(_, t)| t.flatten_all().unwrap().to_vec1::<f32>().unwrap())
        .map(f32::to_bits)
        .collect()
}

fn trained(kind: FieldKind, target: Target, data: ArrayView2<f64>) -> TrainedModel {
    let cfg = TrainConfig {
        target,
        ..small_cfg(kind, 30)
    };
    train(&cfg, data, None, |_, _| {}).unwrap().model
}

#[test]
fn same_seed_same_model_bits_other_seed_other_model() {
    let data = gaussian(200, &[0.0, 1.0], &[1.0, 0.5], 1);
    for kind in ["poisson", "pfgmpp:4", "gaussian", "linear"] {
        let kind: FieldKind = kind.parse().unwrap();
        for target in [Target::Conditional, Target::Exact] {
            let a = trained(kind, target, data.view());
            let b = trained(kind, target, data.view());
            assert_eq!(weight_bits(&a), weight_bits(&b), "{kind} {target}");
            let cfg = TrainConfig {
                target,
                seed: 4,
                ..small_cfg(kind, 30)
            };
            let c = train(&cfg, data.view(), None, |_, _| {}).unwrap().model;
            assert_ne!(weight_bits(&a), weight_bits(&c), "{kind} {target}");
        }
    }
}

#[test]
fn save_load_round_trip_is_bit_identical() {
    let data = gaussian(300, &[2.0, -1.0, 0.5], &[1.0, 0.5, 2.0], 2);
    let test = gaussian(50, &[2.0, -1.0, 0.5], &[1.0, 0.5, 2.0], 9);
    for kind in ["pfgmpp:8", "linear"] {
        let kind: FieldKind = kind.parse().unwrap();
        let rep = train(
            &small_cfg(kind, 40),
            data.view(),
            Some(test.view()),
            |_, _| {},
        )
        .unwrap();
        // the held-out loss is evaluated at the last step
        assert!(rep.curve.last().unwrap().test.is_finite());
        assert_eq!(rep.curve.len(), 40);
        let path = tmp(&format!("rt-{kind}.safetensors"));
        let _ = std::fs::remove_file(&path);
        rep.model.save(&path, false).unwrap();
        // no overwrite without asking
        assert!(matches!(
            rep.model.save(&path, false),
            Err(Error::FileExists { .. })
        ));
        let back = TrainedModel::load(&path).unwrap();
        assert_eq!(back.meta(), rep.model.meta());
        assert_eq!(weight_bits(&back), weight_bits(&rep.model));
        let (a, b) = (
            LearnedField::new(rep.model.clone()),
            LearnedField::new(back),
        );
        let s: Vec<f64> = (0..50).map(|i| 0.02 + 0.019 * i as f64).collect();
        let x: Vec<f64> = test.iter().copied().collect();
        let (mut fa, mut fb) = (vec![0.0; x.len()], vec![0.0; x.len()]);
        a.eval_block(&s, &x, &mut fa, None);
        b.eval_block(&s, &x, &mut fb, None);
        assert!(fa.iter().all(|v| v.is_finite()));
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&fa), bits(&fb));
        // f = (x - m)/s with m the network's posterior mean
        let mut m = vec![0.0; x.len()];
        rep.model.predict_mean(&s, &x, &mut m).unwrap();
        for k in 0..x.len() {
            let want = (x[k] - m[k]) / s[k / 3];
            assert!((fa[k] - want).abs() <= 1e-12 * want.abs().max(1.0));
        }
    }
}

fn load_err(bytes: &[u8]) -> String {
    match TrainedModel::from_bytes("m.safetensors", bytes) {
        Ok(_) => panic!("a bad model file was accepted"),
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.contains('\n'), "not one line: {msg}");
            msg
        }
    }
}

#[test]
fn bad_model_files_give_clear_errors() {
    let data = gaussian(100, &[0.0, 0.0], &[1.0, 1.0], 5);
    let model = trained(FieldKind::Gaussian, Target::Conditional, data.view());
    let good = model.to_bytes().unwrap();
    assert!(TrainedModel::from_bytes("m", &good).is_ok());

    // missing file
    let e = TrainedModel::load(tmp("no-such-model.safetensors")).unwrap_err();
    assert!(e.to_string().contains("cannot read"), "{e}");
    // truncated at several places, and not a safetensors file at all
    for cut in [0, 4, 8, 20, good.len() / 2, good.len() - 1] {
        let msg = load_err(&good[..cut]);
        assert!(
            msg.contains("not a safetensors model file or truncated"),
            "{cut}: {msg}"
        );
    }
    let msg = load_err(b"x,y\n1,2\n3,4\n");
    assert!(msg.contains("not a safetensors"), "{msg}");
    // a safetensors file without metadata
    let named = model.mlp().named_tensors();
    let bare = safetensors::serialize(named.iter().map(|(n, t)| (n.as_str(), t)), None).unwrap();
    assert!(load_err(&bare).contains("no metadata"));
    // a missing metadata key, and a bad value
    let mut meta = model.meta().to_map();
    meta.remove("sd");
    let no_sd =
        safetensors::serialize(named.iter().map(|(n, t)| (n.as_str(), t)), Some(meta)).unwrap();
    assert!(load_err(&no_sd).contains("lacks 'sd'"));
    let mut meta = model.meta().to_map();
    meta.insert("field".into(), "martian".into());
    let bad_field =
        safetensors::serialize(named.iter().map(|(n, t)| (n.as_str(), t)), Some(meta)).unwrap();
    assert!(load_err(&bad_field).contains("unknown field"));
    // tensor shapes that do not match the metadata: a wider network's tensors
    let wide = train(
        &TrainConfig {
            hidden: 24,
            ..small_cfg(FieldKind::Gaussian, 2)
        },
        data.view(),
        None,
        |_, _| {},
    )
    .unwrap()
    .model;
    let wn = wide.mlp().named_tensors();
    let mism = safetensors::serialize(
        wn.iter().map(|(n, t)| (n.as_str(), t)),
        Some(model.meta().to_map()),
    )
    .unwrap();
    assert!(load_err(&mism).contains("do not match the model metadata"));
    // a missing tensor
    let fewer = safetensors::serialize(
        named.iter().skip(1).map(|(n, t)| (n.as_str(), t)),
        Some(model.meta().to_map()),
    )
    .unwrap();
    assert!(load_err(&fewer).contains("tensor 'layers.0.weight' is missing"));
    // a model used with data of another dimension
    let x3 = Array2::<f64>::zeros((4, 3));
    assert!(matches!(
        model.check_data(x3.view()),
        Err(Error::DimensionMismatch {
            expected: 2,
            got: 3,
            ..
        })
    ));
    // and wrongly sized rows give NaN velocities, not a panic
    let f = LearnedField::new(model);
    let mut out = vec![0.0; 3];
    f.eval_block(&[0.5], &[1.0, 2.0, 3.0], &mut out, None);
    assert!(out.iter().all(|v| v.is_nan()));
}

#[test]
fn unlearnable_fields_and_bad_settings_are_refused() {
    let data = gaussian(50, &[0.0, 0.0], &[1.0, 1.0], 5);
    for kind in ["radial", "power:3"] {
        let cfg = small_cfg(kind.parse().unwrap(), 5);
        let e = train(&cfg, data.view(), None, |_, _| {}).unwrap_err();
        assert!(e.to_string().contains("cannot be learned"), "{e}");
    }
    let same = Array2::<f64>::ones((10, 2));
    let e = train(
        &small_cfg(FieldKind::Gaussian, 5),
        same.view(),
        None,
        |_, _| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("no spread"));
    let (tr, te) = split(data.view(), 0.2, 1).unwrap();
    assert_eq!((tr.nrows(), te.nrows()), (40, 10));
    assert!(split(data.view(), 1.0, 1).is_err());
}

/// `z` whitened (sample mean 0, sample covariance I, by the inverse Cholesky factor)
/// then scaled to mean `mu` and covariance `diag(c^2)` exactly: removes the sampling
/// error of the first two moments from the comparison with the closed form.
fn exact_moments(z: Array2<f64>, mu: &[f64], c: &[f64]) -> Array2<f64> {
    let n = z.nrows() as f64;
    let m = z.mean_axis(ndarray::Axis(0)).unwrap();
    let zc = &z - &m;
    let cov = zc.t().dot(&zc) / n;
    let l11 = cov[[0, 0]].sqrt();
    let l21 = cov[[1, 0]] / l11;
    let l22 = (cov[[1, 1]] - l21 * l21).sqrt();
    let mut out = zc.clone();
    for mut r in out.rows_mut() {
        let w0 = r[0] / l11;
        let w1 = (r[1] - l21 * w0) / l22;
        r[0] = mu[0] + c[0] * w0;
        r[1] = mu[1] + c[1] * w1;
    }
    out
}

/// A single Gaussian source `N(mu, diag(c^2))` under the Gaussian field has the
/// posterior mean `m_j(x, s) = mu_j + c_j^2 / (c_j^2 + s^2) (x_j - mu_j)`, affine in
/// `x` at each level, which the network can represent. Trained with the exact target
/// on 2048 points (with exactly these sample moments) for 1500 steps, the RMS error of `m` over 400 draws of `p_s` at
/// each of six levels in [0.3, 3] must stay below 0.1 (measured 0.02 to 0.07 on the six levels; a wrong preconditioning or target gives errors of order 1; see the assert
/// message; the data's own sampling error of the empirical posterior mean is part of it).
#[test]
fn a_gaussian_source_is_learned_to_a_stated_error() {
    let (mu, c) = ([1.0, -1.0], [0.5, 2.0]);
    let data = exact_moments(gaussian(2048, &[0.0, 0.0], &[1.0, 1.0], 11), &mu, &c);
    let cfg = TrainConfig {
        kind: FieldKind::Gaussian,
        steps: 1500,
        batch: 256,
        hidden: 64,
        layers: 3,
        lr: 2e-3,
        seed: 1,
        target: Target::Exact,
        ..TrainConfig::default()
    };
    let model = train(&cfg, data.view(), None, |_, _| {}).unwrap().model;
    let exact = MarginalField::new(
        FieldKind::Gaussian,
        Source::points(data.view(), None).unwrap(),
    )
    .unwrap();
    let mut worst: f64 = 0.0;
    let mut report = String::new();
    for (k, s) in [0.3, 0.5, 0.8, 1.2, 2.0, 3.0].into_iter().enumerate() {
        let n = 400;
        let sd = [(c[0] * c[0] + s * s).sqrt(), (c[1] * c[1] + s * s).sqrt()];
        let x = gaussian(n, &mu, &sd, 100 + k as u64);
        let xs: Vec<f64> = x.iter().copied().collect();
        let lv = vec![s; n];
        let mut m = vec![0.0; 2 * n];
        model.predict_mean(&lv, &xs, &mut m).unwrap();
        let mut fe = vec![0.0; 2 * n];
        exact.eval_block(&lv, &xs, &mut fe, None, None);
        let (mut e_true, mut e_emp) = (0.0, 0.0);
        for i in 0..n {
            for j in 0..2 {
                let want = mu[j] + c[j] * c[j] / (c[j] * c[j] + s * s) * (xs[2 * i + j] - mu[j]);
                let emp = xs[2 * i + j] - s * fe[2 * i + j];
                e_true += (m[2 * i + j] - want).powi(2);
                e_emp += (m[2 * i + j] - emp).powi(2);
            }
        }
        let (rt, re) = ((e_true / n as f64).sqrt(), (e_emp / n as f64).sqrt());
        report += &format!(" s={s}: {rt:.4} (vs training-set field {re:.4});");
        worst = worst.max(rt);
    }
    assert!(worst < 0.1, "RMS error of m:{report}");
    eprintln!("RMS error of m:{report}");
}

/// Moons (2000 points) under the linear field, 3000 steps of a 3 x 64 MLP (batch
/// 256): 1000 samples by RK4 (20 steps) are bit-identical with one and with two
/// threads, and land near the data: the 90% quantile of their distance to the
/// nearest training point must be below 0.65 times the prior's and below 4 times
/// that of 1000 fresh moons points (measured 0.215 against 0.393 and 0.076; 0.28 after
/// 1500 steps, 0.16 after 5000: the remaining gap is training length, not bias).
#[test]
fn a_learned_linear_field_samples_near_moons_whatever_the_thread_count() {
    use fieldflow::data::Dataset;
    use fieldflow::ode::{Method, SolverOptions};
    use fieldflow::sampling::{Flow, SampleOptions};
    let data = "moons".parse::<Dataset>().unwrap().sample_seeded(2000, 4);
    let cfg = TrainConfig {
        kind: "linear".parse().unwrap(),
        steps: 3000,
        batch: 256,
        seed: 2,
        ..TrainConfig::default()
    };
    let field = LearnedField::new(train(&cfg, data.view(), None, |_, _| {}).unwrap().model);
    let mut opts = SampleOptions::for_schedule(field.schedule());
    opts.solver = SolverOptions::new(Method::Rk4).fixed_steps(20);
    let prior = field.prior(1.0).unwrap();
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                Flow::new(&field, &prior)
                    .unwrap()
                    .generate(1000, 9, &opts)
                    .unwrap()
            })
    };
    let (a, b) = (run(1), run(2));
    let bits = |x: &Array2<f64>| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&a.x), bits(&b.x));
    let nearest = |x: &Array2<f64>| {
        let mut d: Vec<f64> = x
            .rows()
            .into_iter()
            .map(|r| {
                data.rows()
                    .into_iter()
                    .map(|y| ((r[0] - y[0]).powi(2) + (r[1] - y[1]).powi(2)).sqrt())
                    .fold(f64::INFINITY, f64::min)
            })
            .collect();
        d.sort_by(f64::total_cmp);
        d[d.len() * 9 / 10]
    };
    let prior = fieldflow::fields::par_rows(1000, 2, 9, |rng, row| {
        for v in row {
            *v = StandardNormal.sample(rng);
        }
    });
    let fresh = "moons".parse::<Dataset>().unwrap().sample_seeded(1000, 99);
    let (m_gen, m_prior, m_fresh) = (nearest(&a.x), nearest(&prior), nearest(&fresh));
    let msg = format!("90% quantile of the nearest distance: samples {m_gen}, fresh data {m_fresh}, prior {m_prior}");
    eprintln!("{msg}");
    assert!(m_gen < 0.65 * m_prior && m_gen < 4.0 * m_fresh, "{msg}");
}

/// The exact divergence (forward-mode Jacobian trace) against central finite
/// differences of the velocity (step 1e-3 on an f32 network: agreement to 2% of
/// max(1, |div|)), for a ray field and the linear path in d = 3.
#[test]
fn the_learned_divergence_matches_finite_differences() {
    let data = gaussian(300, &[2.0, -1.0, 0.5], &[1.0, 0.5, 2.0], 2);
    for kind in ["pfgmpp:8", "linear"] {
        let kind: FieldKind = kind.parse().unwrap();
        let model = train(&small_cfg(kind, 200), data.view(), None, |_, _| {})
            .unwrap()
            .model;
        let field = LearnedField::new(model);
        assert_eq!(field.divergence(), fieldflow::fields::Divergence::Exact);
        let pts = gaussian(20, &[2.0, -1.0, 0.5], &[1.5, 1.0, 2.0], 7);
        for (i, row) in pts.rows().into_iter().enumerate() {
            let s = 0.05 + 0.045 * i as f64;
            let x = row.to_vec();
            let (mut f, mut dv) = (vec![0.0; 3], vec![0.0; 1]);
            field.eval_block(&[s], &x, &mut f, Some(&mut dv));
            let h = 1e-3;
            let mut fd = 0.0;
            for j in 0..3 {
                let (mut xp, mut xm) = (x.clone(), x.clone());
                xp[j] += h;
                xm[j] -= h;
                let (mut fp, mut fm) = (vec![0.0; 3], vec![0.0; 3]);
                field.eval_block(&[s], &xp, &mut fp, None);
                field.eval_block(&[s], &xm, &mut fm, None);
                fd += (fp[j] - fm[j]) / (2.0 * h);
            }
            assert!(
                (dv[0] - fd).abs() < 2e-2 * fd.abs().max(1.0),
                "{kind} s={s}: exact {} vs finite differences {fd}",
                dv[0]
            );
        }
    }
}
