//! `run::train` and `run::sample_model`, the library side of `fieldflow train` and
//! `fieldflow sample --model`: the wrappers give the bits of the underlying calls
//! (`learn::train` on the seeded split, `Flow::generate` / the few-step sampler on the
//! model's far-field prior), `run::encode_model` gives `fieldflow encode --model`'s
//! bits, the cancel flag stops training and encoding, what does not apply to a model
//! is refused, and so are training sizes that cannot fit in memory (with the command
//! line's message). Tiny models (hidden 8, 20 steps).
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

use crate::support::cli;

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

#[test]
fn encode_model_gives_the_command_lines_bits_and_can_be_cancelled() {
    let dir = cli::tmpdir("run-learned-encode");
    let x = data();
    let mp = dir.join("m.safetensors");
    run::train(x.view(), HeldOut::None, &cfg(), |_, _| {}, None)
        .unwrap()
        .report
        .model
        .save(&mp, false)
        .unwrap();
    let model = LearnedField::load(&mp).unwrap();
    let pts = Dataset::Moons.try_sample_seeded(30, 7).unwrap();
    let (pp, out) = (dir.join("p.npy"), dir.join("z.npy"));
    fieldflow::io::write_points(&pp, pts.view(), false).unwrap();
    for (flags, req) in [
        (vec![], SampleRequest::default()),
        (
            vec!["--method", "rk4", "--steps", "12", "--s-start", "0.01"],
            SampleRequest {
                method: "rk4".into(),
                steps: Some(12),
                s_min: Some(0.01),
                ..SampleRequest::default()
            },
        ),
    ] {
        let mut args = vec!["encode", "--model", cli::s(&mp), "--points", cli::s(&pp)];
        args.extend(flags);
        args.extend(["--log-likelihood", "--force", "--out", cli::s(&out)]);
        cli::ok(&cli::run(&args));
        let table = fieldflow::io::read_points(&out).unwrap();
        let enc = run::encode_model(&model, pts.view(), &req, true, Hooks::default()).unwrap();
        let lp = enc.log_p.unwrap();
        assert_eq!(table.ncols(), 3);
        for i in 0..30 {
            assert_eq!(table[[i, 0]].to_bits(), enc.z[[i, 0]].to_bits(), "row {i}");
            assert_eq!(table[[i, 1]].to_bits(), enc.z[[i, 1]].to_bits(), "row {i}");
            assert_eq!(table[[i, 2]].to_bits(), lp[i].to_bits(), "row {i}");
        }
        assert!(lp.iter().all(|v| v.is_finite()));
    }
    let stop = AtomicBool::new(true);
    let hooks = Hooks {
        progress: None,
        cancel: Some(&stop),
    };
    let r = run::encode_model(&model, pts.view(), &SampleRequest::default(), true, hooks);
    assert_eq!(r.unwrap_err(), Error::Cancelled);
    let msg = |req: SampleRequest, p: &Array2<f64>| {
        run::encode_model(&model, p.view(), &req, false, Hooks::default())
            .unwrap_err()
            .to_string()
    };
    let few = SampleRequest {
        method: "edm-euler".into(),
        steps: Some(4),
        ..SampleRequest::default()
    };
    assert!(msg(few, &pts).starts_with("encode integrates the ODE"));
    let exact = SampleRequest {
        prior: "exact".into(),
        ..SampleRequest::default()
    };
    assert!(msg(exact, &pts).contains("prior exact does not apply to a learned model"));
    let wide = Array2::zeros((3, 5));
    assert!(msg(SampleRequest::default(), &wide).contains("points to encode"));
}

#[test]
fn training_sizes_that_cannot_fit_are_refused_as_the_command_line_refuses_them() {
    let x = data();
    for (hidden, batch, what) in [
        (
            1usize << 40,
            32usize,
            "a network of hidden 1099511627776 and layers 2 needs about",
        ),
        (
            8,
            1 << 60,
            "batch 1152921504606846976 at hidden 8 needs about",
        ),
    ] {
        let big = TrainConfig {
            hidden,
            batch,
            ..cfg()
        };
        let err = run::check_train_sizes(&big).unwrap_err().to_string();
        assert!(err.starts_with(what), "{err}");
        assert!(err.contains("of memory, more than the"), "{err}");
        // run::train refuses it before any work, with the same message up to the
        // available memory, which can change between two calls
        let head = |m: &str| m.split(", more than").next().unwrap().to_string();
        let e2 = run::train(x.view(), HeldOut::None, &big, |_, _| {}, None).unwrap_err();
        assert_eq!(head(&e2.to_string()), head(&err));
        // the command line gives the same message
        let dir = cli::tmpdir("run-learned-sizes");
        let dp = dir.join("d.npy");
        fieldflow::io::write_points(&dp, x.view(), false).unwrap();
        let (h, b) = (hidden.to_string(), batch.to_string());
        let out = cli::run(&[
            "train",
            "--field",
            "gaussian",
            "--data",
            cli::s(&dp),
            "--layers",
            "2",
            "--hidden",
            &h,
            "--batch",
            &b,
            "--out",
            cli::s(&dir.join("m.safetensors")),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        let line = stderr.trim_end().trim_start_matches("fieldflow: error: ");
        assert_eq!(head(line), head(&err));
    }
    let zero = TrainConfig { hidden: 0, ..cfg() };
    assert_eq!(
        run::check_train_sizes(&zero).unwrap_err().to_string(),
        "steps, batch, hidden and layers must be at least 1"
    );
}
