//! The right-hand side of an ODE: one small trait.

/// The right-hand side `y' = f(t, y)` of an ODE system of fixed dimension.
///
/// Implementors provide [`eval`](OdeSystem::eval) for one state and may override
/// [`eval_block`](OdeSystem::eval_block) to evaluate many particles at once (the
/// force fields do: their cost grows with particles x data points, and a block
/// amortises every pass over the data).
///
/// # Determinism contract
///
/// Row `i` of a block result must depend only on `t[i]` and row `i` of `y`, and be
/// computed in the same order of operations whatever the other rows are. The batch
/// solvers rely on this to give bit-identical results for any thread count and any
/// chunking of the particles.
pub trait OdeSystem: Sync {
    /// Number of components of one state.
    fn dim(&self) -> usize;

    /// Evaluates `dy = f(t, y)`; `y` and `dy` have length [`dim`](OdeSystem::dim).
    fn eval(&self, t: f64, y: &[f64], dy: &mut [f64]);

    /// Evaluates a block of `n = t.len()` states stored row by row: row `i` is
    /// `y[i * dim..(i + 1) * dim]` at time `t[i]`, and its derivative goes to the same
    /// rows of `dy`. The default calls [`eval`](OdeSystem::eval) row by row.
    fn eval_block(&self, t: &[f64], y: &[f64], dy: &mut [f64]) {
        let d = self.dim();
        debug_assert_eq!(y.len(), t.len() * d);
        debug_assert_eq!(dy.len(), t.len() * d);
        for ((&ti, yi), dyi) in t.iter().zip(y.chunks_exact(d)).zip(dy.chunks_exact_mut(d)) {
            self.eval(ti, yi, dyi);
        }
    }
}

/// An [`OdeSystem`] made from a closure `f(t, y, dy)` and a dimension.
///
/// ```
/// use fieldflow::ode::{FnSystem, OdeSystem};
/// let decay = FnSystem::new(1, |_t: f64, y: &[f64], dy: &mut [f64]| dy[0] = -y[0]);
/// let mut dy = [0.0];
/// decay.eval(0.0, &[2.0], &mut dy);
/// assert_eq!(dy[0], -2.0);
/// ```
#[derive(Clone)]
pub struct FnSystem<F> {
    dim: usize,
    f: F,
}

impl<F> FnSystem<F>
where
    F: Fn(f64, &[f64], &mut [f64]) + Sync,
{
    /// Wraps `f` as a system of dimension `dim`.
    pub fn new(dim: usize, f: F) -> Self {
        Self { dim, f }
    }
}

impl<F> OdeSystem for FnSystem<F>
where
    F: Fn(f64, &[f64], &mut [f64]) + Sync,
{
    fn dim(&self) -> usize {
        self.dim
    }

    fn eval(&self, t: f64, y: &[f64], dy: &mut [f64]) {
        (self.f)(t, y, dy)
    }
}
