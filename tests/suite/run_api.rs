//! The library's run API (`fieldflow::run`): the same bits as the command line for
//! the same arguments, the offset property (rows `k..k+n` of one seeded run equal a
//! run at offset `k`, whatever the chunking), cancellation, and clear errors for bad
//! specs.

use fieldflow::run::{datasets, sample, FieldSpec, Hooks, SampleRequest};
use fieldflow::Error;
use ndarray::{s, Array2};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::support::cli;
use cli::{bits, ok, run, tmpdir};

fn req(n: usize, seed: u64) -> SampleRequest {
    SampleRequest {
        n: Some(n),
        seed,
        ..SampleRequest::default()
    }
}

fn x_of(mf: &fieldflow::fields::MarginalField, r: &SampleRequest) -> Array2<f64> {
    sample(mf, r, None, Hooks::default()).unwrap().x().clone()
}

/// Rows `k..k+n` of one run of `total` particles equal the run at offset `k`, for
/// `k` = 0, 1000, 1024 (a batch boundary of the prior draws) and 1500 (inside a
/// batch, and not on a solver chunk boundary).
fn check_offsets(mf: &fieldflow::fields::MarginalField, base: SampleRequest) {
    let (n, total) = (100, 1600);
    let whole = x_of(
        mf,
        &SampleRequest {
            n: Some(total),
            ..base.clone()
        },
    );
    for k in [0usize, 1000, 1024, 1500] {
        let part = x_of(
            mf,
            &SampleRequest {
                n: Some(n),
                offset: k,
                ..base.clone()
            },
        );
        assert!(part.iter().all(|v| v.is_finite()));
        assert_eq!(
            bits(&part),
            bits(&whole.slice(s![k..k + n, ..]).to_owned()),
            "method {} offset {k} d {}",
            base.method,
            mf.dim()
        );
    }
}

#[test]
fn offset_rows_are_the_rows_of_one_run_in_2d() {
    let data = datasets("8gaussians", Some(200), 0).unwrap();
    let mf = FieldSpec::new("poisson").build(data.view(), None).unwrap();
    check_offsets(&mf, req(0, 7));
    let few = SampleRequest {
        method: "dpmpp-2m".into(),
        steps: Some(8),
        ..req(0, 7)
    };
    check_offsets(&mf, few);
}

/// d = 64 takes the matrix-product kernel path (d >= 32 without divergence), whose
/// blocks of particles differ between the runs.
#[test]
fn offset_rows_are_the_rows_of_one_run_for_digits() {
    let data = datasets("digits", Some(150), 0).unwrap();
    assert_eq!(data.ncols(), 64);
    let mf = FieldSpec {
        aug_dim: Some(64.0),
        ..FieldSpec::new("pfgmpp")
    }
    .build(data.view(), None)
    .unwrap();
    let ode = SampleRequest {
        rtol: 1e-3,
        atol: 1e-3,
        ..req(0, 3)
    };
    check_offsets(&mf, ode);
    let few = SampleRequest {
        method: "dpmpp-2m".into(),
        steps: Some(6),
        ..req(0, 3)
    };
    check_offsets(&mf, few);
}

#[test]
fn prior_sample_range_equals_rows_of_sample() {
    use fieldflow::fields::PriorKind;
    use fieldflow::sampling::Prior;
    let data = datasets("moons", Some(50), 1).unwrap();
    let mf = FieldSpec::new("gaussian").build(data.view(), None).unwrap();
    for kind in [PriorKind::FarField, PriorKind::Exact] {
        let p = mf.prior(30.0, kind).unwrap();
        let all = p.sample(3000, 9).unwrap();
        for (k, n) in [(0, 3000), (1, 5), (1023, 2), (1024, 1024), (2047, 953)] {
            let r = p.sample_range(k, n, 9).unwrap();
            assert_eq!(
                bits(&r),
                bits(&all.slice(s![k..k + n, ..]).to_owned()),
                "{kind:?} {k} {n}"
            );
        }
        assert_eq!(p.sample_range(5, 0, 9).unwrap().nrows(), 0);
    }
}

#[test]
fn the_library_gives_the_command_lines_bits() {
    let dir = tmpdir("run-api-cli");
    let data = datasets("8gaussians", Some(200), 0).unwrap();
    let mf = FieldSpec::new("poisson").build(data.view(), None).unwrap();
    let cases: Vec<(Vec<&str>, SampleRequest)> = vec![
        (vec!["--n", "300", "--seed", "3"], req(300, 3)),
        (
            vec!["--n", "100", "--seed", "3", "--offset", "200"],
            SampleRequest {
                offset: 200,
                ..req(100, 3)
            },
        ),
        (
            vec!["--n", "50", "--method", "rk4", "--steps", "40", "--denoise"],
            SampleRequest {
                method: "rk4".into(),
                steps: Some(40),
                denoise: true,
                ..req(50, 0)
            },
        ),
        (
            vec![
                "--n", "120", "--seed", "5", "--method", "edm-heun", "--steps", "10", "--rho", "5",
            ],
            SampleRequest {
                method: "edm-heun".into(),
                steps: Some(10),
                rho: Some(5.0),
                ..req(120, 5)
            },
        ),
    ];
    for (i, (flags, r)) in cases.into_iter().enumerate() {
        let out = dir.join(format!("x{i}.npy"));
        let mut args = vec![
            "sample",
            "--field",
            "poisson",
            "--dataset",
            "8gaussians",
            "--data-n",
            "200",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(flags.iter());
        ok(&run(&args));
        let cli_x = fieldflow::io::read_points(&out).unwrap();
        assert_eq!(bits(&cli_x), bits(&x_of(&mf, &r)), "case {i}: {flags:?}");
    }
}

#[test]
fn datasets_match_the_command_line() {
    let dir = tmpdir("run-api-datasets");
    for (name, n) in [
        ("moons", Some("300")),
        ("digits", Some("40")),
        ("mixture:1@-2,0~0.5/1@2,0~0.5", Some("77")),
    ] {
        let out = dir.join("d.npy");
        let mut args = vec![
            "datasets",
            name,
            "--seed",
            "4",
            "--force",
            "--out",
            out.to_str().unwrap(),
        ];
        if let Some(n) = n {
            args.extend(["--n", n]);
        }
        ok(&run(&args));
        let lib = datasets(name, n.map(|v| v.parse().unwrap()), 4).unwrap();
        assert_eq!(
            bits(&fieldflow::io::read_points(&out).unwrap()),
            bits(&lib),
            "{name}"
        );
    }
}

#[test]
fn a_run_cancelled_from_another_thread_returns_cancelled() {
    let data = datasets("8gaussians", Some(500), 0).unwrap();
    let mf = FieldSpec::new("poisson").build(data.view(), None).unwrap();
    // far more work than can finish before the flag is set (10^6 particles at a
    // tight tolerance take minutes); the test asserts only that it returns Cancelled
    let r = SampleRequest {
        rtol: 1e-9,
        atol: 1e-9,
        ..req(1_000_000, 0)
    };
    let few = SampleRequest {
        method: "edm-heun".into(),
        steps: Some(100_000),
        ..req(1_000_000, 0)
    };
    for r in [r, few] {
        let flag = AtomicBool::new(false);
        let done = AtomicUsize::new(0);
        let tick = |k: usize| {
            done.fetch_add(k, Ordering::Relaxed);
        };
        let res = std::thread::scope(|sc| {
            sc.spawn(|| {
                std::thread::sleep(std::time::Duration::from_millis(50));
                flag.store(true, Ordering::Relaxed);
            });
            sample(
                &mf,
                &r,
                None,
                Hooks {
                    progress: Some(&tick),
                    cancel: Some(&flag),
                },
            )
        });
        assert_eq!(res.unwrap_err(), Error::Cancelled, "{}", r.method);
        assert!(done.load(Ordering::Relaxed) < 1_000_000);
    }
}

#[test]
fn progress_counts_every_particle_once() {
    let data = datasets("moons", Some(100), 0).unwrap();
    let mf = FieldSpec::new("poisson").build(data.view(), None).unwrap();
    for method in ["dopri5", "dpmpp-3m"] {
        let done = AtomicUsize::new(0);
        let tick = |k: usize| {
            done.fetch_add(k, Ordering::Relaxed);
        };
        let r = SampleRequest {
            method: method.into(),
            steps: (method != "dopri5").then_some(5),
            ..req(333, 1)
        };
        let h = Hooks {
            progress: Some(&tick),
            cancel: None,
        };
        let out = sample(&mf, &r, None, h).unwrap();
        assert_eq!(out.x().nrows(), 333);
        assert_eq!(done.load(Ordering::Relaxed), 333, "{method}");
        // the hooks do not change the bits
        assert_eq!(bits(out.x()), bits(&x_of(&mf, &r)));
    }
}

#[test]
fn bad_specs_give_clear_errors() {
    let data = datasets("moons", Some(20), 0).unwrap();
    let mf = FieldSpec::new("poisson").build(data.view(), None).unwrap();
    let msg = |e: Error| e.to_string();
    let bad_field = FieldSpec {
        aug_dim: Some(2.0),
        ..FieldSpec::new("poisson")
    };
    assert_eq!(
        msg(bad_field.kind().unwrap_err()),
        "aug_dim is used by field pfgmpp only, not by poisson"
    );
    assert!(msg(FieldSpec::new("magnetic").kind().unwrap_err()).contains("unknown field"));
    let w = [1.0, 2.0];
    assert!(matches!(
        FieldSpec::new("poisson").build(data.view(), Some(&w)),
        Err(Error::DimensionMismatch { .. })
    ));
    assert!(msg(datasets("nope", Some(3), 0).unwrap_err()).contains("unknown"));
    assert_eq!(
        msg(datasets("moons", None, 0).unwrap_err()),
        "give the number of points n for data set moons"
    );
    let fail = |r: SampleRequest| msg(sample(&mf, &r, None, Hooks::default()).unwrap_err());
    assert_eq!(
        fail(SampleRequest {
            steps: Some(0),
            ..req(5, 0)
        }),
        "steps must be at least 1"
    );
    assert_eq!(fail(req(0, 0)), "n must be at least 1");
    assert!(fail(SampleRequest {
        method: "rk5".into(),
        ..req(5, 0)
    })
    .contains("unknown"));
    assert!(fail(SampleRequest {
        rho: Some(7.0),
        ..req(5, 0)
    })
    .starts_with("rho applies to the few-step samplers"));
    assert_eq!(
        fail(SampleRequest {
            method: "dpmpp-2m".into(),
            ..req(5, 0)
        }),
        "the method dpmpp-2m needs the number of levels steps"
    );
    assert!(fail(SampleRequest {
        rtol: -1.0,
        ..req(5, 0)
    })
    .contains("rtol"));
    assert!(fail(SampleRequest {
        s_max: Some(0.5),
        ..req(5, 0)
    })
    .starts_with("s_max = 0.5 leaves the far-field prior"));
    assert_eq!(
        fail(SampleRequest {
            start_level: Some(3.0),
            ..req(5, 0)
        }),
        "start_level applies to start points only"
    );
    let x0 = Array2::<f64>::zeros((5, 2));
    let with_start =
        |r: SampleRequest| msg(sample(&mf, &r, Some(x0.view()), Hooks::default()).unwrap_err());
    assert_eq!(
        with_start(req(5, 0)),
        "start points need their level start_level"
    );
    assert_eq!(
        with_start(SampleRequest {
            offset: 3,
            start_level: Some(2.0),
            ..req(5, 0)
        }),
        "offset applies to prior draws, not to start points"
    );
    assert_eq!(
        with_start(SampleRequest {
            start_level: Some(2.0),
            ..req(4, 0)
        }),
        "n = 4 but the start points are 5 rows"
    );
}

#[test]
fn check_gives_the_command_lines_report() {
    use fieldflow::run::{check, CheckRequest};
    let dir = tmpdir("run-api-check");
    let x = datasets("8gaussians", Some(150), 1).unwrap();
    let y = datasets("8gaussians", Some(150), 2).unwrap();
    let (xp, yp) = (dir.join("x.npy"), dir.join("y.npy"));
    fieldflow::io::write_points(&xp, x.view(), false).unwrap();
    fieldflow::io::write_points(&yp, y.view(), false).unwrap();
    let req = CheckRequest {
        permutations: 99,
        seed: 4,
        tests: Some(vec!["energy".into(), "ks".into()]),
        ..CheckRequest::default()
    };
    let report = check(x.view(), Some(y.view()), None, &req, None).unwrap();
    let out = run(&[
        "check",
        "--samples",
        xp.to_str().unwrap(),
        "--reference",
        yp.to_str().unwrap(),
        "--permutations",
        "99",
        "--seed",
        "4",
        "--tests",
        "energy,ks",
    ]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(text.trim_end(), report.to_string().trim_end());
    assert_eq!(out.status.code(), Some(i32::from(report.reject)));
    let p = report.pvalue("energy").unwrap();
    assert!((0.0..=1.0).contains(&p));
    assert_eq!(report.pvalue("nope"), None);
    // a target instead of a reference sample
    let t = check(
        x.view(),
        None,
        Some("mixture:8gaussians"),
        &CheckRequest::default(),
        None,
    )
    .unwrap();
    assert!(!t.tests.is_empty());
    let msg = |r: &CheckRequest, reference: bool| {
        let y = reference.then(|| y.view());
        let target = (!reference).then_some("mixture:8gaussians");
        check(x.view(), y, target, r, None).unwrap_err().to_string()
    };
    let zero = CheckRequest {
        permutations: 0,
        ..CheckRequest::default()
    };
    assert_eq!(msg(&zero, true), "permutations must be at least 1");
    assert_eq!(
        msg(&req, false),
        "tests selects two-sample tests; it cannot be used with a target"
    );
    assert_eq!(
        check(x.view(), None, None, &req, None)
            .unwrap_err()
            .to_string(),
        "give exactly one of a reference sample and a target"
    );
}

#[test]
fn encode_gives_the_command_lines_codes_and_can_be_cancelled() {
    use fieldflow::run::encode;
    let dir = tmpdir("run-api-encode");
    let data = datasets("8gaussians", Some(200), 0).unwrap();
    let mf = FieldSpec::new("poisson").build(data.view(), None).unwrap();
    let pts = datasets("8gaussians", Some(30), 9).unwrap();
    let (pp, out) = (dir.join("p.npy"), dir.join("z.csv"));
    fieldflow::io::write_points(&pp, pts.view(), false).unwrap();
    ok(&run(&[
        "encode",
        "--field",
        "poisson",
        "--dataset",
        "8gaussians",
        "--data-n",
        "200",
        "--points",
        pp.to_str().unwrap(),
        "--s-start",
        "0.01",
        "--log-likelihood",
        "--out",
        out.to_str().unwrap(),
    ]));
    let r = SampleRequest {
        s_min: Some(0.01),
        ..SampleRequest::default()
    };
    let enc = encode(&mf, pts.view(), &r, true, Hooks::default()).unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    let lib_lp = enc.log_p.unwrap();
    for (i, line) in text.lines().skip(1).enumerate() {
        let v: Vec<f64> = line.split(',').map(|t| t.parse().unwrap()).collect();
        assert_eq!(v[0].to_bits(), enc.z[[i, 0]].to_bits(), "row {i}");
        assert_eq!(v[1].to_bits(), enc.z[[i, 1]].to_bits(), "row {i}");
        assert_eq!(v[2].to_bits(), lib_lp[i].to_bits(), "row {i}");
    }
    let flag = AtomicBool::new(true);
    let h = Hooks {
        progress: None,
        cancel: Some(&flag),
    };
    assert_eq!(
        encode(&mf, pts.view(), &r, false, h).unwrap_err(),
        Error::Cancelled
    );
    let few = SampleRequest {
        method: "edm-euler".into(),
        ..SampleRequest::default()
    };
    assert!(encode(&mf, pts.view(), &few, false, Hooks::default())
        .unwrap_err()
        .to_string()
        .starts_with("encode integrates the ODE"));
}

/// A cancel flag already set stops both batteries with `Error::Cancelled`; a flag
/// left clear changes nothing (same report as without one).
#[test]
fn check_cancel_flag() {
    use fieldflow::run::{check, CheckRequest};
    use std::sync::atomic::AtomicBool;
    static SET: AtomicBool = AtomicBool::new(true);
    static CLEAR: AtomicBool = AtomicBool::new(false);
    let x = fieldflow::run::datasets("moons", Some(200), 1).unwrap();
    let y = fieldflow::run::datasets("moons", Some(200), 2).unwrap();
    let req = CheckRequest {
        permutations: 99,
        ..CheckRequest::default()
    };
    let two = check(x.view(), Some(y.view()), None, &req, Some(&SET));
    assert!(matches!(two, Err(fieldflow::Error::Cancelled)), "{two:?}");
    let one = check(x.view(), None, Some("mixture:8gaussians"), &req, Some(&SET));
    assert!(matches!(one, Err(fieldflow::Error::Cancelled)), "{one:?}");
    let plain = check(x.view(), Some(y.view()), None, &req, None).unwrap();
    let clear = check(x.view(), Some(y.view()), None, &req, Some(&CLEAR)).unwrap();
    assert_eq!(plain.to_json().unwrap(), clear.to_json().unwrap());
}

/// `run::marginal` gives the bits `fieldflow marginal` writes (poisson and pfgmpp
/// on 200 draws of 8gaussians), and its kept and dropped rows add up to `n`.
#[test]
fn marginal_gives_the_command_lines_bits() {
    let dir = tmpdir("run-api-marginal");
    let data = datasets("8gaussians", Some(200), 0).unwrap();
    for (field, aug) in [("poisson", None), ("pfgmpp", Some("4"))] {
        let out = dir.join(format!("m-{field}.npy"));
        let mut args = vec![
            "marginal",
            "--field",
            field,
            "--dataset",
            "8gaussians",
            "--data-n",
            "200",
            "--s",
            "0.7",
            "--n",
            "500",
            "--seed",
            "9",
            "--out",
            out.to_str().unwrap(),
        ];
        if let Some(d) = aug {
            args.extend(["--aug-dim", d]);
        }
        ok(&run(&args));
        let spec = FieldSpec {
            aug_dim: aug.map(|d| d.parse().unwrap()),
            ..FieldSpec::new(field)
        };
        let mf = spec.build(data.view(), None).unwrap();
        let m = fieldflow::run::marginal(&mf, 0.7, 500, 9).unwrap();
        assert_eq!(m.x.nrows() + m.dropped, 500);
        assert_eq!(
            bits(&fieldflow::io::read_points(&out).unwrap()),
            bits(&m.x),
            "{field}"
        );
    }
}

/// Runs `work` while another thread sets `flag` after 100 ms.
fn with_flag_set_later<T: Send>(flag: &AtomicBool, work: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|sc| {
        sc.spawn(|| {
            std::thread::sleep(std::time::Duration::from_millis(100));
            flag.store(true, Ordering::Relaxed);
        });
        work()
    })
}

#[test]
fn a_per_call_flag_cancels_the_check_battery() {
    use fieldflow::checks::battery::{Battery, OneSampleTarget};
    use fieldflow::run::{check, CheckRequest};
    let x = datasets("8gaussians", Some(400), 1).unwrap();
    let y = datasets("8gaussians", Some(400), 2).unwrap();
    // each run below does far more work than fits in the 100 ms before the flag is
    // set (10^6 permutations of the energy test; 10^6 multinomial draws over 3000
    // cells for the landing test), so it returns Cancelled only if its loops poll the
    // flag (a local one: any lifetime works)
    let req = CheckRequest {
        permutations: 1_000_000,
        tests: Some(vec!["energy".into()]),
        ..CheckRequest::default()
    };
    let flag = AtomicBool::new(false);
    let r = with_flag_set_later(&flag, || {
        check(x.view(), Some(y.view()), None, &req, Some(&flag))
    });
    assert_eq!(r.unwrap_err(), Error::Cancelled);
    // set before the run: nothing runs
    let r = check(x.view(), Some(y.view()), None, &req, Some(&flag));
    assert_eq!(r.unwrap_err(), Error::Cancelled);

    // the one-sample Monte Carlo loop (landing: nearest points, multinomial draws)
    let data = datasets("8gaussians", Some(3000), 3).unwrap();
    let target = OneSampleTarget::Landing {
        data,
        weights: None,
    };
    let flag = AtomicBool::new(false);
    let mut battery = Battery::new(0.01).unwrap();
    battery.config.permutations = 1_000_000;
    battery.config.cancel = Some(&flag);
    let r = with_flag_set_later(&flag, || battery.one_sample(x.view(), &target));
    assert_eq!(r.unwrap_err(), Error::Cancelled);
    // the same battery without a flag set gives the result of one without a flag
    let quick = |cancel| {
        let mut b = Battery::new(0.01).unwrap();
        b.config.permutations = 99;
        b.config.cancel = cancel;
        b.one_sample(x.view(), &target).unwrap()
    };
    let unset = AtomicBool::new(false);
    assert_eq!(quick(Some(&unset)), quick(None));
}
