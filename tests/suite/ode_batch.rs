//! Batches: reverse time, bitwise determinism across thread counts and chunk sizes,
//! failing particles that do not stop the others, and bad input.

use fieldflow::ode::problems::{Arenstorf, DetestA, Problem, SmoothLinear, VanDerPol};
use fieldflow::ode::{solve, solve_batch, FnSystem, Method, SolverOptions, Status};
use fieldflow::Error;
use ndarray::Array2;
use std::sync::atomic::{AtomicUsize, Ordering};

#[test]
fn reverse_time_returns_to_the_start() {
    // A2 backward from its exact value at t = 20 to t = 0, with dense output on the way.
    // Backward, A2 is expanding (perturbations grow like y^3), so the global error is
    // about 100 x tol for BS3 (measured 1.0e-8) and less for the fifth-order pairs.
    let p = DetestA::A2;
    let y20 = p.exact(20.0).unwrap();
    let t_out = [15.0, 5.0, 0.0];
    for m in [Method::Bs3, Method::Dopri5, Method::Tsit5] {
        let opts = SolverOptions::new(m).tol(1e-10);
        let sol = solve(&p, 20.0, 0.0, &y20, &opts, &t_out).unwrap();
        assert!(sol.stats.status.is_success());
        assert!((sol.y[0] - 1.0).abs() < 3e-8, "{m}: y(0) = {}", sol.y[0]);
        for (j, &t) in t_out.iter().enumerate() {
            let exact = p.exact(t).unwrap()[0];
            assert!((sol.dense[[j, 0]] - exact).abs() < 3e-8, "{m} at t = {t}");
        }
        // The last step lands on the end time exactly.
        assert_eq!(sol.stats.t_final.to_bits(), 0f64.to_bits());
    }
    // Arenstorf backward over a full period: the orbit is periodic.
    let a = Arenstorf;
    let opts = SolverOptions::new(Method::Dopri5).tol(1e-11);
    let sol = solve(&a, a.t1(), 0.0, &a.y0(), &opts, &[]).unwrap();
    for (x, y) in sol.y.iter().zip(a.y0()) {
        assert!((x - y).abs() < 1e-6, "{x} vs {y}");
    }
    // A fixed-step method backward: SmoothLinear from its exact value at t = 2.
    let p = SmoothLinear;
    let opts = SolverOptions::new(Method::Rk4).fixed_steps(400);
    let sol = solve(&p, 2.0, 0.0, &p.exact(2.0).unwrap(), &opts, &[1.0]).unwrap();
    assert_eq!(sol.stats.accepted, 400);
    for (x, y) in sol.y.iter().zip(p.y0()) {
        assert!((x - y).abs() < 1e-9, "{x} vs {y}");
    }
    for (x, y) in sol.dense.row(0).iter().zip(p.exact(1.0).unwrap()) {
        assert!((x - y).abs() < 1e-9, "{x} vs {y}");
    }
}

/// 500 van der Pol oscillators from different starts: each trajectory takes its own
/// steps, so the lockstep chunks hold particles at different times.
fn vdp_batch() -> Array2<f64> {
    Array2::from_shape_fn((500, 2), |(i, j)| {
        let a = 0.5 + 3.0 * (i as f64 / 500.0);
        if j == 0 {
            a
        } else {
            (i as f64 * 0.37).sin()
        }
    })
}

fn run_with_threads(threads: usize, chunk: usize) -> fieldflow::ode::BatchSolution {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let sys = VanDerPol { eps: 0.3 };
    let y0 = vdp_batch();
    let opts = SolverOptions::new(Method::Tsit5).tol(1e-7).chunk(chunk);
    let t_out = [0.5, 1.0, 2.5];
    pool.install(|| solve_batch(&sys, 0.0, 3.0, y0.view(), &opts, &t_out).unwrap())
}

fn bits(a: &[f64]) -> Vec<u64> {
    a.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn batches_are_bit_identical_for_any_thread_count_and_chunk_size() {
    let base = run_with_threads(1, 64);
    assert_eq!(base.totals.succeeded, 500);
    // Different particles really took different numbers of steps.
    let steps: Vec<u64> = base.stats.iter().map(|s| s.steps).collect();
    assert!(steps.iter().min() < steps.iter().max());
    for (threads, chunk) in [(2, 64), (2, 7), (1, 1), (2, 500)] {
        let other = run_with_threads(threads, chunk);
        assert_eq!(
            bits(base.y.as_slice().unwrap()),
            bits(other.y.as_slice().unwrap())
        );
        assert_eq!(
            bits(base.dense.as_slice().unwrap()),
            bits(other.dense.as_slice().unwrap())
        );
        assert_eq!(base.stats, other.stats);
    }
    // And each row equals the same particle integrated on its own.
    let sys = VanDerPol { eps: 0.3 };
    let opts = SolverOptions::new(Method::Tsit5).tol(1e-7);
    let y0 = vdp_batch();
    for i in [0, 123, 499] {
        let one = solve(&sys, 0.0, 3.0, y0.row(i).as_slice().unwrap(), &opts, &[]).unwrap();
        assert_eq!(bits(&one.y), bits(base.y.row(i).as_slice().unwrap()));
        assert_eq!(one.stats, base.stats[i]);
    }
}

/// y' = y, but the right-hand side is NaN beyond y = 2 (outside its domain).
fn walled_growth() -> FnSystem<impl Fn(f64, &[f64], &mut [f64]) + Sync> {
    FnSystem::new(1, |_t: f64, y: &[f64], dy: &mut [f64]| {
        dy[0] = if y[0] > 2.0 { f64::NAN } else { y[0] }
    })
}

#[test]
fn a_failing_particle_gets_its_reason_and_the_others_finish() {
    let sys = walled_growth();
    // Particle 1 reaches the wall at t = ln 2; particle 3 starts beyond it.
    let y0 = Array2::from_shape_vec((4, 1), vec![0.1, 1.0, 0.5, 3.0]).unwrap();
    for m in [Method::Dopri5, Method::Bs3] {
        let opts = SolverOptions::new(m).tol(1e-8).chunk(2);
        let sol = solve_batch(&sys, 0.0, 1.0, y0.view(), &opts, &[0.5, 1.0]).unwrap();
        for i in [0, 2] {
            assert!(sol.stats[i].status.is_success());
            let exact = y0[[i, 0]] * 1f64.exp();
            assert!((sol.y[[i, 0]] - exact).abs() < 1e-7);
        }
        match sol.stats[1].status {
            Status::NonFinite { t } => {
                assert!((t - 2f64.ln()).abs() < 1e-3, "{m}: failed at t = {t}");
                assert!((sol.stats[1].t_final - t).abs() < 1e-15);
                // The last good state is kept, the output after it is NaN.
                assert!(sol.y[[1, 0]] <= 2.0 && sol.y[[1, 0]] > 1.99);
                assert!((sol.dense[[1, 0, 0]] - 0.5f64.exp()).abs() < 1e-7);
                assert!(sol.dense[[1, 1, 0]].is_nan());
            }
            other => panic!("{m}: expected NonFinite, got {other:?}"),
        }
        assert_eq!(sol.stats[3].status, Status::NonFinite { t: 0.0 });
        assert_eq!(sol.totals.failed, 2);
        assert_eq!(sol.totals.succeeded, 2);
    }
    // Fixed steps fail at once at the first non-finite stage.
    let opts = SolverOptions::new(Method::Rk4).fixed_steps(100);
    let sol = solve_batch(&sys, 0.0, 1.0, y0.view(), &opts, &[]).unwrap();
    assert!(matches!(sol.stats[1].status, Status::NonFinite { t } if (t - 0.69).abs() < 0.011));
    assert!(sol.stats[0].status.is_success());
}

#[test]
fn step_limit_and_step_size_underflow_end_a_trajectory_with_their_reason() {
    let a = Arenstorf;
    let opts = SolverOptions::new(Method::Dopri5).tol(1e-10).max_steps(50);
    let sol = solve(&a, 0.0, a.t1(), &a.y0(), &opts, &[]).unwrap();
    assert!(matches!(sol.stats.status, Status::MaxStepsReached { t } if t > 0.0 && t < a.t1()));
    assert_eq!(sol.stats.steps, 50);
    // y' = y^2 from y = 1 blows up at t = 1: the step size underflows there.
    let blow = FnSystem::new(1, |_t: f64, y: &[f64], dy: &mut [f64]| dy[0] = y[0] * y[0]);
    let opts = SolverOptions::new(Method::Dopri5).tol(1e-8);
    let sol = solve(&blow, 0.0, 2.0, &[1.0], &opts, &[]).unwrap();
    match sol.stats.status {
        Status::StepSizeTooSmall { t, .. } | Status::NonFinite { t } => {
            assert!((t - 1.0).abs() < 1e-3, "stopped at t = {t}")
        }
        other => panic!("expected a failure near t = 1, got {other:?}"),
    }
}

#[test]
fn the_progress_callback_counts_every_particle() {
    let sys = VanDerPol { eps: 1.0 };
    let y0 = vdp_batch();
    let done = AtomicUsize::new(0);
    let opts = SolverOptions::new(Method::Dopri5).chunk(33);
    fieldflow::ode::solve_batch_with_progress(&sys, 0.0, 1.0, y0.view(), &opts, &[], &|k| {
        done.fetch_add(k, Ordering::Relaxed);
    })
    .unwrap();
    assert_eq!(done.load(Ordering::Relaxed), 500);
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let sys = VanDerPol { eps: 1.0 };
    let y0 = Array2::from_elem((3, 2), 1.0);
    let ok = SolverOptions::new(Method::Dopri5);
    let cases: Vec<(SolverOptions, &str)> = vec![
        (ok.clone().rtol(0.0), "rtol"),
        (ok.clone().atol(-1.0), "atol"),
        (ok.clone().rtol(f64::NAN), "rtol"),
        (ok.clone().h0(0.0), "h0"),
        (ok.clone().max_steps(0), "max_steps"),
        (ok.clone().chunk(0), "chunk"),
        (SolverOptions::new(Method::Rk4), "fixed steps"),
        (
            SolverOptions::new(Method::Rk4).fixed_steps(0),
            "fixed_steps",
        ),
    ];
    for (opts, word) in cases {
        let err = solve_batch(&sys, 0.0, 1.0, y0.view(), &opts, &[]).unwrap_err();
        assert!(
            err.to_string().contains(word),
            "{err} should mention {word}"
        );
    }
    let wrong_dim = Array2::from_elem((3, 3), 1.0);
    assert!(matches!(
        solve_batch(&sys, 0.0, 1.0, wrong_dim.view(), &ok, &[]),
        Err(Error::DimensionMismatch {
            expected: 2,
            got: 3,
            ..
        })
    ));
    let mut nan = y0.clone();
    nan[[2, 1]] = f64::NAN;
    assert!(matches!(
        solve_batch(&sys, 0.0, 1.0, nan.view(), &ok, &[]),
        Err(Error::NonFinite { row: 2, col: 1, .. })
    ));
    assert!(solve_batch(&sys, 0.0, 1.0, y0.view(), &ok, &[2.0]).is_err());
    assert!(solve_batch(&sys, 0.0, 1.0, y0.view(), &ok, &[0.6, 0.5]).is_err());
    assert!(solve_batch(&sys, 1.0, 0.0, y0.view(), &ok, &[0.5, 0.6]).is_err());
    assert!(solve_batch(&sys, 0.0, f64::INFINITY, y0.view(), &ok, &[]).is_err());
    // An empty batch is fine and does nothing.
    let empty = Array2::<f64>::zeros((0, 2));
    let sol = solve_batch(&sys, 0.0, 1.0, empty.view(), &ok, &[0.5]).unwrap();
    assert_eq!(sol.y.nrows(), 0);
    assert_eq!(sol.totals.evals, 0);
}

/// Hairer's initial step in closed form for y' = -y, y(0) = 1 (RMS norm):
/// sc = atol + rtol, d0 = d1 = 1/sc, h0 = 0.01; the Euler probe gives d2 = 1/sc, so
/// h1 = (0.01 sc)^(1/5) and h = min(100 h0, h1). Giving that h0 explicitly must give
/// the same run (up to the rounding of f1 - f0 inside HINIT), with one evaluation less.
#[test]
fn automatic_initial_step_is_hairers_formula() {
    let p = DetestA::A1;
    for tol in [1e-3, 1e-6, 1e-9] {
        let sc: f64 = tol + tol;
        let h = (0.01 * sc).powf(0.2).min(1.0);
        let auto = solve(
            &p,
            0.0,
            20.0,
            &[1.0],
            &SolverOptions::new(Method::Dopri5).tol(tol),
            &[],
        )
        .unwrap();
        let given = solve(
            &p,
            0.0,
            20.0,
            &[1.0],
            &SolverOptions::new(Method::Dopri5).tol(tol).h0(h),
            &[],
        )
        .unwrap();
        let rel = (auto.y[0] - given.y[0]).abs() / given.y[0].abs();
        assert!(rel < 1e-9, "tol {tol}: {} vs {}", auto.y[0], given.y[0]);
        assert_eq!(auto.stats.steps, given.stats.steps);
        assert_eq!(auto.stats.evals, given.stats.evals + 1);
    }
}
