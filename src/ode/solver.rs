//! The generic explicit Runge-Kutta stepper, its step control and the batch driver.

use super::system::OdeSystem;
use super::tableau::{Method, Tableau};
use crate::error::{ensure_cols, ensure_finite, Error, Result};
use ndarray::{Array2, Array3, ArrayView2};
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};

/// Parameters of Hairer's PI step-size controller (`dopri5.f`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Controller {
    /// Safety factor (0.9).
    pub safety: f64,
    /// Smallest step ratio `h_new / h` (Hairer's `fac1`, 0.2).
    pub fac_min: f64,
    /// Largest step ratio `h_new / h` (Hairer's `fac2`, 10).
    pub fac_max: f64,
    /// Weight of the previous error in the PI controller (Hairer's `beta`, 0.04).
    pub beta: f64,
}

impl Default for Controller {
    fn default() -> Self {
        Controller {
            safety: 0.9,
            fac_min: 0.2,
            fac_max: 10.0,
            beta: 0.04,
        }
    }
}

/// Options of a solve. Build with [`SolverOptions::new`] and the setters.
#[derive(Debug, Clone, PartialEq)]
pub struct SolverOptions {
    /// The Runge-Kutta method.
    pub method: Method,
    /// Relative tolerance (adaptive methods).
    pub rtol: f64,
    /// Absolute tolerance (adaptive methods).
    pub atol: f64,
    /// Initial step size; `None` selects it by Hairer's algorithm (`HINIT`).
    pub h0: Option<f64>,
    /// Largest step size; `None` means the whole interval.
    pub h_max: Option<f64>,
    /// Largest number of attempted steps per trajectory.
    pub max_steps: usize,
    /// `Some(n)`: `n` equal steps without error control (required for methods
    /// without an error estimate, allowed for all).
    pub fixed_steps: Option<usize>,
    /// Particles per parallel chunk. Results do not depend on it.
    pub chunk: usize,
    /// The step-size controller.
    pub controller: Controller,
}

impl SolverOptions {
    /// Defaults: `rtol = atol = 1e-6`, automatic initial step, 100,000 steps at most,
    /// chunks of 64 particles, Hairer's controller constants.
    pub fn new(method: Method) -> Self {
        SolverOptions {
            method,
            rtol: 1e-6,
            atol: 1e-6,
            h0: None,
            h_max: None,
            max_steps: 100_000,
            fixed_steps: None,
            chunk: 64,
            controller: Controller::default(),
        }
    }

    /// Sets the relative tolerance.
    pub fn rtol(mut self, rtol: f64) -> Self {
        self.rtol = rtol;
        self
    }

    /// Sets the absolute tolerance.
    pub fn atol(mut self, atol: f64) -> Self {
        self.atol = atol;
        self
    }

    /// Sets both tolerances.
    pub fn tol(self, tol: f64) -> Self {
        self.rtol(tol).atol(tol)
    }

    /// Sets the initial step size.
    pub fn h0(mut self, h0: f64) -> Self {
        self.h0 = Some(h0);
        self
    }

    /// Sets the largest step size.
    pub fn h_max(mut self, h_max: f64) -> Self {
        self.h_max = Some(h_max);
        self
    }

    /// Sets the step limit.
    pub fn max_steps(mut self, n: usize) -> Self {
        self.max_steps = n;
        self
    }

    /// Uses `n` equal steps without error control.
    pub fn fixed_steps(mut self, n: usize) -> Self {
        self.fixed_steps = Some(n);
        self
    }

    /// Sets the number of particles per parallel chunk.
    pub fn chunk(mut self, chunk: usize) -> Self {
        self.chunk = chunk;
        self
    }

    /// Checks every option; the solvers call it before they start.
    pub fn validate(&self) -> Result<()> {
        let positive = |name: &'static str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(Error::InvalidParameter {
                    name,
                    value: v,
                    reason: "must be finite and > 0",
                })
            }
        };
        match self.fixed_steps {
            Some(0) => {
                return Err(Error::InvalidParameter {
                    name: "fixed_steps",
                    value: 0.0,
                    reason: "must be at least 1",
                })
            }
            Some(n) if n > crate::limits::MAX_FIXED_STEPS => {
                return Err(Error::Invalid(format!(
                    "{n} fixed steps is more than the limit {} per trajectory",
                    crate::limits::MAX_FIXED_STEPS
                )))
            }
            Some(_) => {}
            None => {
                if !self.method.is_adaptive() {
                    return Err(Error::Invalid(format!(
                        "method {} has no error estimate: give a number of fixed steps",
                        self.method
                    )));
                }
                positive("rtol", self.rtol)?;
                positive("atol", self.atol)?;
                if self.rtol < 10.0 * f64::EPSILON {
                    return Err(Error::InvalidParameter {
                        name: "rtol",
                        value: self.rtol,
                        reason: "must be at least 10 machine epsilons",
                    });
                }
            }
        }
        if let Some(h0) = self.h0 {
            positive("h0", h0)?;
        }
        if let Some(h_max) = self.h_max {
            positive("h_max", h_max)?;
        }
        if self.max_steps == 0 {
            return Err(Error::InvalidParameter {
                name: "max_steps",
                value: 0.0,
                reason: "must be at least 1",
            });
        }
        if self.chunk == 0 {
            return Err(Error::InvalidParameter {
                name: "chunk",
                value: 0.0,
                reason: "must be at least 1",
            });
        }
        let c = &self.controller;
        let valid = c.safety > 0.0
            && c.safety <= 1.0
            && c.fac_min > 0.0
            && c.fac_min < 1.0
            && c.fac_max > 1.0
            && c.fac_max.is_finite()
            && (0.0..0.2).contains(&c.beta);
        if !valid {
            return Err(Error::Invalid(format!(
                "invalid controller constants {c:?}: need 0 < safety <= 1, 0 < fac_min < 1 < fac_max, 0 <= beta < 0.2"
            )));
        }
        Ok(())
    }
}

/// How a trajectory ended.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Status {
    /// Reached the end time.
    #[default]
    Success,
    /// Used up the step limit at time `t`.
    MaxStepsReached {
        /// Time reached.
        t: f64,
    },
    /// The step size fell below the resolution of `t` (`0.1 |h| <= eps |t|`).
    StepSizeTooSmall {
        /// Time reached.
        t: f64,
        /// The step size that was too small.
        h: f64,
    },
    /// The right-hand side returned NaN or infinity at an accepted state, or kept
    /// doing so in trial steps until the step size underflowed.
    NonFinite {
        /// Time of the last accepted state.
        t: f64,
    },
}

impl Status {
    /// Whether the trajectory reached its end time.
    pub fn is_success(&self) -> bool {
        matches!(self, Status::Success)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Success => write!(f, "success"),
            Status::MaxStepsReached { t } => write!(f, "step limit reached at t = {t}"),
            Status::StepSizeTooSmall { t, h } => {
                write!(f, "step size {h:e} too small at t = {t}")
            }
            Status::NonFinite { t } => write!(f, "non-finite right-hand side after t = {t}"),
        }
    }
}

/// Statistics of one trajectory.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TrajectoryStats {
    /// Right-hand-side evaluations spent on this trajectory.
    pub evals: u64,
    /// Attempted steps (accepted + rejected).
    pub steps: u64,
    /// Accepted steps.
    pub accepted: u64,
    /// Rejected steps (all of them; `dopri5.f` skips rejections before the first
    /// accepted step).
    pub rejected: u64,
    /// How the trajectory ended.
    pub status: Status,
    /// The time of the final state.
    pub t_final: f64,
}

/// Totals over a batch.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BatchStats {
    /// Total right-hand-side evaluations (per particle, summed).
    pub evals: u64,
    /// Total attempted steps.
    pub steps: u64,
    /// Total accepted steps.
    pub accepted: u64,
    /// Total rejected steps.
    pub rejected: u64,
    /// Trajectories that reached the end time.
    pub succeeded: usize,
    /// Trajectories that ended early (see their [`Status`]).
    pub failed: usize,
}

impl BatchStats {
    fn from_trajectories(stats: &[TrajectoryStats]) -> Self {
        let mut tot = BatchStats::default();
        for s in stats {
            tot.evals += s.evals;
            tot.steps += s.steps;
            tot.accepted += s.accepted;
            tot.rejected += s.rejected;
            if s.status.is_success() {
                tot.succeeded += 1;
            } else {
                tot.failed += 1;
            }
        }
        tot
    }
}

/// The result of [`solve_batch`].
#[derive(Debug, Clone)]
pub struct BatchSolution {
    /// Final states, `n x dim` (the last accepted state of a failed trajectory).
    pub y: Array2<f64>,
    /// Dense output, `n x t_out.len() x dim`; NaN where a trajectory failed first.
    pub dense: Array3<f64>,
    /// Per-trajectory statistics.
    pub stats: Vec<TrajectoryStats>,
    /// Totals.
    pub totals: BatchStats,
}

/// The result of [`solve`] for one trajectory.
#[derive(Debug, Clone)]
pub struct Solution {
    /// Final state.
    pub y: Vec<f64>,
    /// Dense output, `t_out.len() x dim`.
    pub dense: Array2<f64>,
    /// Statistics.
    pub stats: TrajectoryStats,
}

/// Integrates one trajectory from `t0` to `t1` (`t1 < t0` runs backward), with the
/// state at the times `t_out` taken from the dense output.
pub fn solve<S: OdeSystem + ?Sized>(
    sys: &S,
    t0: f64,
    t1: f64,
    y0: &[f64],
    opts: &SolverOptions,
    t_out: &[f64],
) -> Result<Solution> {
    let y0 = ArrayView2::from_shape((1, y0.len()), y0)
        .map_err(|e| Error::Invalid(format!("initial state: {e}")))?;
    let sol = solve_batch(sys, t0, t1, y0, opts, t_out)?;
    let dim = sol.y.ncols();
    let dense = sol
        .dense
        .into_shape_with_order((t_out.len(), dim))
        .map_err(|e| Error::Invalid(format!("dense output: {e}")))?;
    Ok(Solution {
        y: sol.y.into_raw_vec_and_offset().0,
        dense,
        stats: sol.stats[0],
    })
}

/// Integrates every row of `y0` (`n x dim`) from `t0` to `t1` independently, each
/// with its own step size, in parallel over fixed chunks of particles.
///
/// `t_out` lists times (in the direction of integration, within `[t0, t1]`) at which
/// the state of every particle is taken from the dense output. The result is
/// bit-identical for any number of threads.
pub fn solve_batch<S: OdeSystem + ?Sized>(
    sys: &S,
    t0: f64,
    t1: f64,
    y0: ArrayView2<f64>,
    opts: &SolverOptions,
    t_out: &[f64],
) -> Result<BatchSolution> {
    solve_batch_with_progress(sys, t0, t1, y0, opts, t_out, &|_| {})
}

/// [`solve_batch`] that calls `progress(k)` each time a chunk of `k` particles is done
/// (from worker threads; for progress bars).
pub fn solve_batch_with_progress<S: OdeSystem + ?Sized>(
    sys: &S,
    t0: f64,
    t1: f64,
    y0: ArrayView2<f64>,
    opts: &SolverOptions,
    t_out: &[f64],
    progress: &(dyn Fn(usize) + Sync),
) -> Result<BatchSolution> {
    solve_batch_cancellable(
        sys,
        t0,
        t1,
        y0,
        opts,
        t_out,
        progress,
        &AtomicBool::new(false),
    )
}

/// [`solve_batch_with_progress`] that stops when `cancel` is set: every chunk of
/// particles reads the flag once per step (one atomic load) and stops there, and the
/// call returns [`Error::Cancelled`]. Setting the flag from another thread (a signal
/// handler, a Python interrupt check) ends a long solve within one step of each
/// running chunk.
#[allow(clippy::too_many_arguments)]
pub fn solve_batch_cancellable<S: OdeSystem + ?Sized>(
    sys: &S,
    t0: f64,
    t1: f64,
    y0: ArrayView2<f64>,
    opts: &SolverOptions,
    t_out: &[f64],
    progress: &(dyn Fn(usize) + Sync),
    cancel: &AtomicBool,
) -> Result<BatchSolution> {
    opts.validate()?;
    let dim = sys.dim();
    ensure_cols("initial states (columns) vs system dimension", y0, dim)?;
    if dim == 0 {
        return Err(Error::Invalid("the system has dimension 0".into()));
    }
    if !t0.is_finite() || !t1.is_finite() {
        return Err(Error::Invalid(format!(
            "time interval [{t0}, {t1}] is not finite"
        )));
    }
    ensure_finite("initial states", y0)?;
    let dir = if t1 >= t0 { 1.0 } else { -1.0 };
    for (i, &t) in t_out.iter().enumerate() {
        if !t.is_finite() || (t - t0) * dir < 0.0 || (t - t1) * dir > 0.0 {
            return Err(Error::Invalid(format!(
                "output time t_out[{i}] = {t} is outside [{t0}, {t1}]"
            )));
        }
        if i > 0 && (t - t_out[i - 1]) * dir < 0.0 {
            return Err(Error::Invalid(format!(
                "output times must be ordered in the direction of integration (t_out[{i}] = {t})"
            )));
        }
    }

    let n = y0.nrows();
    let n_out = t_out.len();
    let y0 = y0.as_standard_layout();
    let y0 = y0.as_slice().expect("standard layout");
    let mut y = vec![0.0; n * dim];
    let mut dense = vec![f64::NAN; n * n_out * dim];
    let mut stats = vec![TrajectoryStats::default(); n];
    let tab = opts.method.tableau();
    let ctx = Context {
        sys,
        tab: &tab,
        opts,
        t0,
        t1,
        t_out,
        dim,
        cancel,
    };
    let chunk = opts.chunk;
    // One work item per chunk of particles, each owning disjoint slices of the outputs.
    type Work<'w> = (
        &'w [f64],
        &'w mut [f64],
        &'w mut [f64],
        &'w mut [TrajectoryStats],
    );
    let mut work: Vec<Work<'_>> = Vec::new();
    let mut dense_rest: &mut [f64] = &mut dense;
    for ((y0_c, y_c), stats_c) in y0
        .chunks(chunk * dim)
        .zip(y.chunks_mut(chunk * dim))
        .zip(stats.chunks_mut(chunk))
    {
        let (dense_c, rest) = dense_rest.split_at_mut(stats_c.len() * n_out * dim);
        dense_rest = rest;
        work.push((y0_c, y_c, dense_c, stats_c));
    }
    work.into_par_iter()
        .for_each(|(y0_c, y_c, dense_c, stats_c)| {
            let n_c = stats_c.len();
            if cancel.load(Ordering::Relaxed) {
                return;
            }
            Chunk::new(&ctx, y0_c, y_c, dense_c, stats_c).run();
            // a chunk stopped by the flag is not done
            if !cancel.load(Ordering::Relaxed) {
                progress(n_c);
            }
        });
    if cancel.load(Ordering::Relaxed) {
        return Err(Error::Cancelled);
    }
    let totals = BatchStats::from_trajectories(&stats);
    Ok(BatchSolution {
        y: Array2::from_shape_vec((n, dim), y).expect("shape"),
        dense: Array3::from_shape_vec((n, n_out, dim), dense).expect("shape"),
        stats,
        totals,
    })
}

struct Context<'a, S: ?Sized> {
    sys: &'a S,
    tab: &'a Tableau,
    opts: &'a SolverOptions,
    t0: f64,
    t1: f64,
    t_out: &'a [f64],
    dim: usize,
    cancel: &'a AtomicBool,
}

/// The controller state of one running particle.
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// Index of the particle in its chunk.
    id: usize,
    t: f64,
    h: f64,
    facold: f64,
    /// The previous attempt was rejected (the next step may not grow).
    reject: bool,
    /// The previous rejection came from a non-finite trial stage.
    nonfinite: bool,
    /// This step ends at `t1`.
    last: bool,
    /// Next dense-output time to fill.
    cursor: usize,
    done: bool,
}

/// One chunk of particles in flight. Running particles occupy the rows `0..n` of
/// every buffer, in a stable order; finished ones are retired (written to the
/// outputs) and compacted away, so that each stage is one block evaluation over
/// exactly the running particles.
struct Chunk<'a, 'c, S: ?Sized> {
    ctx: &'a Context<'c, S>,
    dir: f64,
    h_max: f64,
    /// Stage buffers in use: the tableau's stages, plus `f(t + h, y1)` for methods
    /// that are not FSAL (the next step's first stage; it also feeds the Hermite
    /// dense output).
    n_k: usize,
    slots: Vec<Slot>,
    y: Vec<f64>,
    /// `k[0]` is `f(t, y)` at each particle's current accepted state.
    k: Vec<Vec<f64>>,
    ystage: Vec<f64>,
    tstage: Vec<f64>,
    y1: Vec<f64>,
    w_interp: Vec<f64>,
    y_out: &'a mut [f64],
    dense_out: &'a mut [f64],
    stats: &'a mut [TrajectoryStats],
}

fn rms_scaled(e: impl Iterator<Item = (f64, f64)>, n: usize) -> f64 {
    let sum: f64 = e.map(|(v, sc)| (v / sc) * (v / sc)).sum();
    (sum / n as f64).sqrt()
}

fn all_finite(v: &[f64]) -> bool {
    v.iter().all(|x| x.is_finite())
}

/// Time of the end of step `k` of `n` equal steps from `t0` to `t1`.
fn grid(t0: f64, t1: f64, k: u64, n: usize) -> f64 {
    if k as usize >= n {
        t1
    } else {
        t0 + (t1 - t0) * (k as f64 / n as f64)
    }
}

/// `acc[m] = sum_l w[l] k[l][row m]` over the stages with a nonzero weight.
fn combine(w: &[f64], k: &[Vec<f64>], i: usize, dim: usize, out: &mut [f64]) {
    out.fill(0.0);
    for (l, &wl) in w.iter().enumerate() {
        if wl != 0.0 {
            let kl = &k[l][i * dim..(i + 1) * dim];
            for (o, &v) in out.iter_mut().zip(kl) {
                *o += wl * v;
            }
        }
    }
}

impl<'a, 'c, S: OdeSystem + ?Sized> Chunk<'a, 'c, S> {
    fn new(
        ctx: &'a Context<'c, S>,
        y0: &[f64],
        y_out: &'a mut [f64],
        dense_out: &'a mut [f64],
        stats: &'a mut [TrajectoryStats],
    ) -> Self {
        let (dim, n) = (ctx.dim, stats.len());
        let tab = ctx.tab;
        let span = (ctx.t1 - ctx.t0).abs();
        let n_k = if tab.fsal {
            tab.stages()
        } else {
            tab.stages() + 1
        };
        for st in stats.iter_mut() {
            *st = TrajectoryStats {
                t_final: ctx.t0,
                ..Default::default()
            };
        }
        y_out.copy_from_slice(y0);
        let slots = (0..n)
            .map(|id| Slot {
                id,
                t: ctx.t0,
                h: 0.0,
                facold: 1e-4,
                reject: false,
                nonfinite: false,
                last: false,
                cursor: 0,
                done: false,
            })
            .collect();
        Chunk {
            ctx,
            dir: if ctx.t1 >= ctx.t0 { 1.0 } else { -1.0 },
            h_max: ctx.opts.h_max.unwrap_or(span).min(span),
            n_k,
            slots,
            y: y0.to_vec(),
            k: vec![vec![0.0; n * dim]; n_k],
            ystage: vec![0.0; n * dim],
            tstage: vec![0.0; n],
            y1: vec![0.0; n * dim],
            w_interp: vec![0.0; tab.interp.len()],
            y_out,
            dense_out,
            stats,
        }
    }

    fn run(mut self) {
        self.start();
        while !self.slots.is_empty() {
            if self.ctx.cancel.load(Ordering::Relaxed) {
                return;
            }
            self.begin_step();
            self.retire();
            if self.slots.is_empty() {
                break;
            }
            self.eval_stages();
            self.end_step();
            self.retire();
        }
    }

    /// Outputs at `t0`, the first stage `f(t0, y0)` and the initial step sizes.
    fn start(&mut self) {
        let (dim, n) = (self.ctx.dim, self.slots.len());
        for i in 0..n {
            self.emit_dense(i, self.ctx.t0, 0.0);
        }
        for (i, slot) in self.slots.iter().enumerate() {
            self.tstage[i] = slot.t;
        }
        self.ctx.sys.eval_block(
            &self.tstage[..n],
            &self.y[..n * dim],
            &mut self.k[0][..n * dim],
        );
        for i in 0..n {
            let slot = &mut self.slots[i];
            self.stats[slot.id].evals += 1;
            if !all_finite(&self.k[0][i * dim..(i + 1) * dim]) {
                self.stats[slot.id].status = Status::NonFinite { t: slot.t };
                slot.done = true;
            }
        }
        self.retire();
        if self.ctx.opts.fixed_steps.is_none() {
            match self.ctx.opts.h0 {
                Some(h0) => {
                    let h = self.dir * h0.min(self.h_max);
                    self.slots.iter_mut().for_each(|s| s.h = h);
                }
                None => self.initial_steps(),
            }
        }
    }

    /// Step limits, step-size underflow and the shortened last step (dopri5.f's
    /// order of checks), or the next point of the fixed grid.
    fn begin_step(&mut self) {
        let ctx = self.ctx;
        let (t0, t1) = (ctx.t0, ctx.t1);
        for slot in self.slots.iter_mut() {
            let st = &mut self.stats[slot.id];
            if let Some(n_steps) = ctx.opts.fixed_steps {
                slot.h =
                    grid(t0, t1, st.accepted + 1, n_steps) - grid(t0, t1, st.accepted, n_steps);
                slot.last = st.accepted + 1 >= n_steps as u64;
                continue;
            }
            if st.steps >= ctx.opts.max_steps as u64 {
                st.status = Status::MaxStepsReached { t: slot.t };
                slot.done = true;
            } else if 0.1 * slot.h.abs() <= slot.t.abs() * f64::EPSILON || slot.h == 0.0 {
                st.status = if slot.nonfinite {
                    Status::NonFinite { t: slot.t }
                } else {
                    Status::StepSizeTooSmall {
                        t: slot.t,
                        h: slot.h,
                    }
                };
                slot.done = true;
            } else if (slot.t + 1.01 * slot.h - t1) * self.dir > 0.0 {
                slot.h = t1 - slot.t;
                slot.last = true;
            } else {
                slot.last = false;
            }
        }
    }

    /// Stages 2..s for every running particle (one block evaluation each), then
    /// `y1` (and `f(t + h, y1)` for methods that are not FSAL).
    fn eval_stages(&mut self) {
        let (dim, n) = (self.ctx.dim, self.slots.len());
        let tab = self.ctx.tab;
        let mut acc = vec![0.0; dim];
        for j in 1..tab.stages() {
            for (i, slot) in self.slots.iter().enumerate() {
                self.tstage[i] = slot.t + tab.c[j] * slot.h;
                combine(&tab.a[j], &self.k, i, dim, &mut acc);
                let row = i * dim..(i + 1) * dim;
                for ((o, &y), &a) in self.ystage[row.clone()]
                    .iter_mut()
                    .zip(&self.y[row])
                    .zip(&acc)
                {
                    *o = y + slot.h * a;
                }
            }
            self.ctx.sys.eval_block(
                &self.tstage[..n],
                &self.ystage[..n * dim],
                &mut self.k[j][..n * dim],
            );
        }
        if tab.fsal {
            // The last stage was evaluated at y1 itself.
            std::mem::swap(&mut self.y1, &mut self.ystage);
        } else {
            for (i, slot) in self.slots.iter().enumerate() {
                self.tstage[i] = slot.t + slot.h;
                combine(&tab.b, &self.k, i, dim, &mut acc);
                let row = i * dim..(i + 1) * dim;
                for ((o, &y), &a) in self.y1[row.clone()].iter_mut().zip(&self.y[row]).zip(&acc) {
                    *o = y + slot.h * a;
                }
            }
            let last = self.n_k - 1;
            self.ctx.sys.eval_block(
                &self.tstage[..n],
                &self.y1[..n * dim],
                &mut self.k[last][..n * dim],
            );
        }
    }

    /// Error estimates, acceptance or rejection, dense output, and the next step size.
    fn end_step(&mut self) {
        let dim = self.ctx.dim;
        let opts = self.ctx.opts;
        let last_k = self.n_k - 1;
        let mut err_vec = vec![0.0; dim];
        for i in 0..self.slots.len() {
            let id = self.slots[i].id;
            let h = self.slots[i].h;
            self.stats[id].evals += (self.n_k - 1) as u64;
            self.stats[id].steps += 1;
            let row = i * dim..(i + 1) * dim;
            let finite = all_finite(&self.y1[row.clone()]) && all_finite(&self.k[last_k][row]);
            let (accept, h_new) = match (&self.ctx.tab.e, opts.fixed_steps) {
                (Some(e), None) => {
                    let err = if finite {
                        combine(e, &self.k, i, dim, &mut err_vec);
                        let (y0, y1) = (&self.y[i * dim..], &self.y1[i * dim..]);
                        rms_scaled(
                            (0..dim).map(|m| {
                                let scale = opts.atol + opts.rtol * y0[m].abs().max(y1[m].abs());
                                (h * err_vec[m], scale)
                            }),
                            dim,
                        )
                    } else {
                        f64::NAN
                    };
                    self.control(i, err)
                }
                _ => {
                    if !finite {
                        let slot = &mut self.slots[i];
                        self.stats[id].status = Status::NonFinite { t: slot.t };
                        slot.done = true;
                        continue;
                    }
                    (true, h)
                }
            };
            if !accept {
                self.stats[id].rejected += 1;
                self.slots[i].h = h_new;
                continue;
            }
            self.stats[id].accepted += 1;
            let slot = self.slots[i];
            let t_new = if slot.last { self.ctx.t1 } else { slot.t + h };
            self.emit_dense(i, t_new, h);
            let row = i * dim..(i + 1) * dim;
            self.y[row.clone()].copy_from_slice(&self.y1[row.clone()]);
            let (k0, rest) = self.k.split_at_mut(1);
            k0[0][row.clone()].copy_from_slice(&rest[last_k - 1][row]);
            let slot = &mut self.slots[i];
            slot.t = t_new;
            slot.h = h_new;
            slot.done = slot.last;
        }
    }

    /// Hairer's PI controller for particle `i` with error norm `err`: whether the step
    /// is accepted, and the next step size. A non-finite error (a trial stage left the
    /// domain of f) rejects and shrinks the step by `fac_min`.
    fn control(&mut self, i: usize, err: f64) -> (bool, f64) {
        let ctl = self.ctx.opts.controller;
        let q = self.ctx.tab.error_order.unwrap_or(self.ctx.tab.order) as f64;
        let expo1 = 1.0 / (q + 1.0) - 0.75 * ctl.beta;
        let slot = &mut self.slots[i];
        let h = slot.h;
        if !err.is_finite() {
            slot.nonfinite = true;
            slot.reject = true;
            return (false, h * ctl.fac_min);
        }
        let fac11 = err.powf(expo1);
        let fac = (fac11 / slot.facold.powf(ctl.beta) / ctl.safety)
            .clamp(1.0 / ctl.fac_max, 1.0 / ctl.fac_min);
        if err <= 1.0 {
            slot.facold = err.max(1e-4);
            let mut h_new = h / fac;
            if h_new.abs() > self.h_max {
                h_new = self.dir * self.h_max;
            }
            if slot.reject {
                h_new = self.dir * h_new.abs().min(h.abs());
            }
            slot.reject = false;
            slot.nonfinite = false;
            (true, h_new)
        } else {
            slot.reject = true;
            (false, h / (1.0 / ctl.fac_min).min(fac11 / ctl.safety))
        }
    }

    /// Fills the requested outputs of particle `i` up to `t_new` from the step of size
    /// `h` that starts at its current state (`h = 0`: only outputs at the current time).
    // Output times that coincide with a step end are copied, not interpolated, so the
    // comparisons are exact on purpose.
    #[allow(clippy::float_cmp)]
    fn emit_dense(&mut self, i: usize, t_new: f64, h: f64) {
        let ctx = self.ctx;
        let (dim, n_out) = (ctx.dim, ctx.t_out.len());
        let slot = &mut self.slots[i];
        while slot.cursor < n_out && (ctx.t_out[slot.cursor] - t_new) * self.dir <= 0.0 {
            let tq = ctx.t_out[slot.cursor];
            let o = (slot.id * n_out + slot.cursor) * dim;
            let dst = &mut self.dense_out[o..o + dim];
            let y = &self.y[i * dim..(i + 1) * dim];
            if h == 0.0 || tq == slot.t {
                dst.copy_from_slice(y);
            } else if tq == t_new {
                dst.copy_from_slice(&self.y1[i * dim..(i + 1) * dim]);
            } else {
                let theta = ((tq - slot.t) / h).clamp(0.0, 1.0);
                ctx.tab.interp_weights(theta, &mut self.w_interp);
                combine(&self.w_interp, &self.k, i, dim, dst);
                for (d, &yv) in dst.iter_mut().zip(y) {
                    *d = yv + h * *d;
                }
            }
            slot.cursor += 1;
        }
    }

    /// Writes finished particles to the outputs and compacts the running ones to the
    /// front of every buffer, keeping their order.
    fn retire(&mut self) {
        let dim = self.ctx.dim;
        let mut w = 0;
        for r in 0..self.slots.len() {
            let slot = self.slots[r];
            if slot.done {
                self.y_out[slot.id * dim..(slot.id + 1) * dim]
                    .copy_from_slice(&self.y[r * dim..(r + 1) * dim]);
                self.stats[slot.id].t_final = slot.t;
                continue;
            }
            if w != r {
                self.slots[w] = slot;
                self.y.copy_within(r * dim..(r + 1) * dim, w * dim);
                self.k[0].copy_within(r * dim..(r + 1) * dim, w * dim);
            }
            w += 1;
        }
        self.slots.truncate(w);
    }

    /// Hairer's initial step (`HINIT`, Solving ODEs I, II.4) with the RMS norm, for
    /// every running particle at once (one extra block evaluation).
    fn initial_steps(&mut self) {
        let ctx = self.ctx;
        let (dim, n, opts) = (ctx.dim, self.slots.len(), ctx.opts);
        let iord = ctx.tab.error_order.unwrap_or(ctx.tab.order) as f64 + 1.0;
        let scale = |y: f64| opts.atol + opts.rtol * y.abs();
        let mut h0 = vec![0.0; n];
        for (i, slot) in self.slots.iter().enumerate() {
            let y = &self.y[i * dim..(i + 1) * dim];
            let f0 = &self.k[0][i * dim..(i + 1) * dim];
            let d0 = rms_scaled(y.iter().map(|&v| (v, scale(v))), dim);
            let d1 = rms_scaled(f0.iter().zip(y).map(|(&f, &v)| (f, scale(v))), dim);
            h0[i] = if d0 < 1e-5 || d1 < 1e-5 {
                1e-6
            } else {
                0.01 * d0 / d1
            }
            .min(self.h_max);
            self.tstage[i] = slot.t + self.dir * h0[i];
            for m in 0..dim {
                self.ystage[i * dim + m] = y[m] + self.dir * h0[i] * f0[m];
            }
        }
        // f(t0 + h0, y0 + h0 f0) goes to the spare buffer `y1`.
        ctx.sys.eval_block(
            &self.tstage[..n],
            &self.ystage[..n * dim],
            &mut self.y1[..n * dim],
        );
        for (i, slot) in self.slots.iter_mut().enumerate() {
            self.stats[slot.id].evals += 1;
            let y = &self.y[i * dim..(i + 1) * dim];
            let f0 = &self.k[0][i * dim..(i + 1) * dim];
            let f1 = &self.y1[i * dim..(i + 1) * dim];
            let d1 = rms_scaled(f0.iter().zip(y).map(|(&f, &v)| (f, scale(v))), dim);
            let d2 = rms_scaled((0..dim).map(|m| (f1[m] - f0[m], scale(y[m]))), dim) / h0[i];
            let der12 = d1.max(d2);
            let h1 = if !der12.is_finite() {
                // f is not finite near the start: begin small and let the control shrink.
                h0[i]
            } else if der12 <= 1e-15 {
                (h0[i] * 1e-3).max(1e-6)
            } else {
                (0.01 / der12).powf(1.0 / iord)
            };
            slot.h = self.dir * (100.0 * h0[i]).min(h1).min(self.h_max);
        }
    }
}
