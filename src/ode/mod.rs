//! Explicit Runge-Kutta integration for batches of particles.
//!
//! A method is a Butcher tableau ([`Tableau`]), stored as data and run by one
//! generic stepper. Adaptive pairs estimate the local error from an embedded
//! solution; each trajectory keeps its own step size, chosen by Hairer's PI
//! controller on the RMS error norm `atol + rtol * max(|y0|, |y1|)`. A batch of
//! particles is cut into fixed chunks that rayon integrates in parallel; within a
//! chunk all running particles advance in lockstep (one block evaluation of the
//! right-hand side per stage) while each keeps its own time and step, and finished
//! particles leave the active set. Because a row's arithmetic never depends on the
//! other rows, results are bit-identical for any thread count.

mod system;

pub use system::{FnSystem, OdeSystem};
