//! Explicit Runge-Kutta integration for batches of particles.
//!
//! A method is a Butcher tableau ([`Tableau`]), stored as data and run by one
//! generic stepper. Adaptive pairs estimate the local error from an embedded
//! solution; each trajectory keeps its own step size, chosen by Hairer's PI
//! controller on the RMS error norm with scale `atol + rtol * max(|y0|, |y1|)`. A
//! batch of particles is cut into fixed chunks that rayon integrates in parallel;
//! within a chunk all running particles advance in lockstep (one block evaluation of
//! the right-hand side per stage) while each keeps its own time and step, and
//! finished particles leave the active set. Because a row's arithmetic never depends
//! on the other rows, results are bit-identical for any thread count.
//!
//! ```
//! use fieldflow::ode::{solve, FnSystem, Method, SolverOptions};
//! // y' = -y from t = 0 to 1: y(1) = e^{-1}.
//! let sys = FnSystem::new(1, |_t: f64, y: &[f64], dy: &mut [f64]| dy[0] = -y[0]);
//! let opts = SolverOptions::new(Method::Dopri5).tol(1e-10);
//! let sol = solve(&sys, 0.0, 1.0, &[1.0], &opts, &[0.5]).unwrap();
//! assert!((sol.y[0] - (-1.0f64).exp()).abs() < 1e-9);
//! assert!((sol.dense[[0, 0]] - (-0.5f64).exp()).abs() < 1e-8);
//! ```

pub mod problems;
mod solver;
mod system;
mod tableau;

pub use solver::{
    solve, solve_batch, solve_batch_cancellable, solve_batch_with_progress, BatchSolution,
    BatchStats, Controller, Solution, SolverOptions, Status, TrajectoryStats,
};
pub use system::{FnSystem, OdeSystem};
pub use tableau::{Method, Tableau};
