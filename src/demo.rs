//! `fieldflow demo`: what the project can do so far.
//!
//! Until the fields land, the demo runs the ODE core on its reference problem (the
//! Arenstorf orbit against Hairer's dopri5.f) and a batch of particles, and says
//! plainly what is still to come.

use fieldflow::ode::problems::{Arenstorf, Problem, VanDerPol};
use fieldflow::ode::{solve, solve_batch, Method, SolverOptions};
use ndarray::Array2;
use std::process::ExitCode;
use std::time::Instant;

/// Runs the demo.
pub fn run() -> anyhow::Result<ExitCode> {
    println!("fieldflow {} demo", env!("CARGO_PKG_VERSION"));
    println!();
    println!("1. Arenstorf orbit, one period, rtol = atol = 1e-7, h0 = 1e-4");
    println!("   (Hairer's dopri5.f: 238 steps, 217 accepted, 21 rejected)");
    println!(
        "   {:<7} {:>6} {:>9} {:>9} {:>7}  {:>12}",
        "method", "steps", "accepted", "rejected", "evals", "|y(T) - y(0)|"
    );
    let p = Arenstorf;
    for m in [Method::Bs3, Method::Dopri5, Method::Tsit5] {
        let opts = SolverOptions::new(m).tol(1e-7).h0(1e-4);
        let sol = solve(&p, p.t0(), p.t1(), &p.y0(), &opts, &[])?;
        let err = sol
            .y
            .iter()
            .zip(p.y0())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        let s = sol.stats;
        println!(
            "   {:<7} {:>6} {:>9} {:>9} {:>7}  {:>12.3e}",
            m.name(),
            s.steps,
            s.accepted,
            s.rejected,
            s.evals,
            err
        );
    }
    println!();
    let n = 20_000;
    println!(
        "2. {n} van der Pol oscillators (eps = 0.3), each with its own step size, t in [0, 10]"
    );
    let y0 = Array2::from_shape_fn((n, 2), |(i, j)| {
        if j == 0 {
            0.5 + 3.0 * (i as f64 / n as f64)
        } else {
            0.0
        }
    });
    let opts = SolverOptions::new(Method::Tsit5).tol(1e-8);
    let start = Instant::now();
    let sol = solve_batch(&VanDerPol { eps: 0.3 }, 0.0, 10.0, y0.view(), &opts, &[])?;
    let secs = start.elapsed().as_secs_f64();
    let t = sol.totals;
    println!(
        "   Tsit5, rtol = atol = 1e-8: {:.2} s on {} threads, {} evaluations, {} accepted, {} rejected, {} failed",
        secs,
        rayon::current_num_threads(),
        t.evals,
        t.accepted,
        t.rejected,
        t.failed
    );
    println!();
    println!("Still to come: force fields (PFGM, PFGM++, Gaussian, linear), samplers,");
    println!("statistical checks and figures; see the README.");
    Ok(ExitCode::SUCCESS)
}
