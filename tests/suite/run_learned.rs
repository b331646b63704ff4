//! `run::train` and `run::sample_model`, the library side of `fieldflow train` and
//! `fieldflow sample --model`: the wrappers give the bits of the underlying calls
//! (`learn::train` on the seeded split, `Flow::generate` / the few-step sampler on the
//! model's far-field prior), the cancel flag stops training, and what does not apply
//! to a model is refused. Tiny models (hidden 8, 20 steps).
#![cfg(feature = "learn")]

use fieldflow::data::Dataset;
use fieldflow::fields::{Field, FieldKind};
use fieldflow::learn::train::split;
use fieldflow::learn::{train as learn_train, LearnedField, TrainConfig};
use fieldflow::run::{self, HeldOut, Hooks, SampleRequest, Sampled};
use fieldflow::sampling::{Flow, SampleOptions};
use fieldflow::Error;
use ndarray::Array2;
use std::sync::atomic::AtomicBool;

fn data() -> Array2<f64> {
    Dataset::Moons.try_sample_seeded(200, 0).unwrap()
}

fn cfg() -> TrainConfig {
    TrainConfig {
        kind: FieldKind::Gaussian,
        steps: 20,
        batch: 32,
        hidden: 8,
        layers: 2,
        seed: 4,
        test_every: run::test_every(20),
        ..TrainConfig::default()
    }
}

fn bits(a: &Array2<f64>) -> Vec<u64> {
    a.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn train_with_a_split_is_learn_train_on_the_seeded_split() {
    let x = data();
    let got = run::train(x.view(), HeldOut::Split(0.25), &cfg(), |_, _| {}, None).unwrap();
    let (a, b) = split(x.view(), 0.25, 4).unwrap();
    let want = learn_train(&cfg(), a.view(), Some(b.view()), |_, _| {}).unwrap();
    assert_eq!(
        got.report.model.to_bytes().unwrap(),
        want.model.to_bytes().unwrap()
    );
    assert_eq!((got.n_train, got.n_test), (a.nrows(), b.nrows()));
    assert_eq!(got.n_train + got.n_test, 200);
    assert!(got.report.curve.last().unwrap().test.is_finite());
    assert_eq!(run::test_every(20), 1);
    assert_eq!(run::test_every(20_000), 200);
}

#[test]
fn a_set_cancel_flag_stops_training_and_bad_test_points_are_refused() {
    let x = data();
    let stop = AtomicBool::new(true);
    let err = run::train(x.view(), HeldOut::None, &cfg(), |_, _| {}, Some(&stop)).unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err}");
    let wrong = Array2::<f64>::zeros((5, 3));
    let err = run::train(
        x.view(),
        HeldOut::Points(wrong.view()),
        &cfg(),
        |_, _| {},
        None,
    )
    .unwrap_err();
    assert!(err.to_string().contains("held-out data"), "{err}");
}

#[test]
fn sample_model_gives_the_bits_of_the_flow_and_refuses_what_does_not_apply() {
    let x = data();
    let model = LearnedField::new(
        run::train(x.view(), HeldOut::None, &cfg(), |_, _| {}, None)
            .unwrap()
            .report
            .model,
    );
    let req = SampleRequest {
        n: Some(50),
        seed: 9,
        method: "rk4".into(),
        steps: Some(10),
        ..SampleRequest::default()
    };
    let got = run::sample_model(&model, &req, None, Hooks::default()).unwrap();
    let mut opts = SampleOptions::for_schedule(model.schedule());
    opts.s_max = model.default_s_max();
    opts.solver = opts.solver.rtol(1e-5).atol(1e-5);
    opts.solver.method = "rk4".parse().unwrap();
    opts.solver = opts.solver.fixed_steps(10);
    let prior = model.prior(opts.s_max).unwrap();
    let want = Flow::new(&model, &prior)
        .unwrap()
        .generate(50, 9, &opts)
        .unwrap();
    assert_eq!(bits(got.x()), bits(&want.x));
    assert!(matches!(got.sampled, Sampled::Ode(_)));
    assert!(got.prior_bound.is_none());
    assert_eq!(got.s_start.to_bits(), opts.s_max.to_bits());

    let few = SampleRequest {
        method: "edm-euler".into(),
        steps: Some(5),
        ..req.clone()
    };
    let run = run::sample_model(&model, &few, None, Hooks::default()).unwrap();
    assert_eq!(run.x().nrows(), 50);
    assert!(run.x().iter().all(|v| v.is_finite()));

    let refused = [
        SampleRequest {
            offset: 3,
            ..req.clone()
        },
        SampleRequest {
            prior: "exact".into(),
            ..req.clone()
        },
        SampleRequest {
            denoise: true,
            ..few.clone()
        },
        SampleRequest {
            rho: Some(5.0),
            ..req.clone()
        },
        SampleRequest {
            n: None,
            ..req.clone()
        },
    ];
    for bad in refused {
        let err = run::sample_model(&model, &bad, None, Hooks::default()).unwrap_err();
        assert!(matches!(err, Error::Invalid(_)), "{bad:?}: {err}");
    }
}
