//! One field interface: what sampling needs to know about a velocity field.
//!
//! Sampling, encoding, likelihoods and the trajectory figures integrate a velocity
//! `f_s(x)` along the level `s`; they need nothing else from a field than its
//! dimension, its schedule (which time variable to integrate in) and a batch
//! evaluation, plus optionally the divergence `div f_s(x)` for likelihoods. The
//! [`Field`] trait is exactly that. The exact marginal field of a data set
//! ([`MarginalField`]) is one implementation (with the closed-form divergence), a
//! closure is another ([`FnField`]), and a learned network is a third; the ODE core
//! ([`crate::ode`]) knows none of them, only [`crate::ode::OdeSystem`], which
//! `crate::sampling::FieldOde` builds from any `Field`.
//!
//! The evaluation is batch-first, like a network's forward pass: one call takes a
//! block of rows, each at its own level. Rows must be independent (row `i` depends
//! only on `s[i]` and row `i` of `x`, computed in the same order whatever the other
//! rows are): the batch solvers rely on this for bit-identical results with any
//! number of threads.
//!
//! ```
//! use fieldflow::fields::{Divergence, Field, FnField, Schedule};
//! // the exact Gaussian (VE) field of the source N(0, c^2 I): f_s(x) = s x / (c^2 + s^2)
//! let c2 = 0.25;
//! let field = FnField::new(2, Schedule::Ray, move |s: f64, x: &[f64], f: &mut [f64]| {
//!     for (fj, xj) in f.iter_mut().zip(x) {
//!         *fj = s * xj / (c2 + s * s);
//!     }
//! })
//! .unwrap();
//! let mut f = [0.0; 4];
//! field.eval_block(&[1.0, 0.5], &[1.0, 0.0, 0.0, 2.0], &mut f, None);
//! assert!((f[0] - 0.8).abs() < 1e-15 && (f[3] - 2.0).abs() < 1e-15);
//! assert_eq!(field.divergence(), Divergence::None);
//! ```

use super::{MarginalField, Schedule};
use crate::{Error, Result};

/// What [`Field::eval_block`]'s `div` output is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Divergence {
    /// The field does not provide a divergence; likelihoods estimate it from
    /// velocities (see `crate::sampling::TraceEstimator`).
    None,
    /// The exact divergence (closed form or automatic differentiation), up to
    /// rounding.
    Exact,
    /// An estimate: stochastic (e.g. Hutchinson's estimator with fixed probes) or
    /// approximate (finite differences). The implementation documents which, with its
    /// error or variance.
    Estimated,
}

/// A velocity field `f_s(x)` on `R^d`, indexed by the level `s` (see the module docs).
///
/// Required: [`dim`](Field::dim), [`schedule`](Field::schedule),
/// [`eval_block`](Field::eval_block) and [`describe`](Field::describe); fields that
/// can compute their divergence also override [`divergence`](Field::divergence).
pub trait Field: Sync {
    /// The dimension `d` of the points.
    fn dim(&self) -> usize;

    /// [`Schedule::Ray`] (`alpha = 1`, `sigma = s`: integrated in `u = 1/s` towards the
    /// data and in `tau = ln s` away from it) or
    /// [`Schedule::Linear`] (`alpha = 1 - s`, `sigma = s`, `s in (0, 1]`: integrated
    /// in `s`).
    fn schedule(&self) -> Schedule;

    /// Velocity `f_s(x)` for a block of rows: `s[i]` is row `i`'s level, `x` holds
    /// `n x d` values row by row, `f` receives `n x d`; when `div` is `Some` and
    /// [`divergence`](Field::divergence) is not [`Divergence::None`], also
    /// `div f_s(x)` (`n` values; a field without divergence leaves `div` untouched).
    ///
    /// Rows are independent (row `i` depends only on `s[i]` and row `i`). Never
    /// panics on finite input with valid levels ([`check_level`](Field::check_level));
    /// a field that cannot evaluate a row writes NaN there (the solvers then end that
    /// trajectory with status `NonFinite`).
    fn eval_block(&self, s: &[f64], x: &[f64], f: &mut [f64], div: Option<&mut [f64]>);

    /// What [`eval_block`](Field::eval_block)'s `div` is (default: none).
    fn divergence(&self) -> Divergence {
        Divergence::None
    }

    /// A short description for reports and figure titles.
    fn describe(&self) -> String;

    /// Whether level `s` is valid: finite and `> 0`, and `<= 1` for the linear
    /// schedule (the default); a one-line error naming `s` otherwise.
    fn check_level(&self, s: f64) -> Result<()> {
        let linear = self.schedule() == Schedule::Linear;
        if !(s.is_finite() && s > 0.0 && s <= self.schedule().s_upper()) {
            return Err(Error::InvalidParameter {
                name: "s",
                value: s,
                reason: if linear {
                    "the linear path needs 0 < s <= 1"
                } else {
                    "must be finite and > 0"
                },
            });
        }
        Ok(())
    }
}

/// The exact marginal field: velocity and closed-form divergence
/// ([`Divergence::Exact`]) by [`MarginalField::eval_block`].
impl Field for MarginalField {
    fn dim(&self) -> usize {
        MarginalField::dim(self)
    }

    fn schedule(&self) -> Schedule {
        MarginalField::schedule(self)
    }

    fn eval_block(&self, s: &[f64], x: &[f64], f: &mut [f64], div: Option<&mut [f64]>) {
        MarginalField::eval_block(self, s, x, f, None, div);
    }

    fn divergence(&self) -> Divergence {
        Divergence::Exact
    }

    fn describe(&self) -> String {
        format!(
            "{} field of {} {} source component(s) in d = {}",
            self.kind(),
            self.source().len(),
            match self.source().kind() {
                super::SourceKind::Points => "point",
                super::SourceKind::Gaussian => "Gaussian",
                super::SourceKind::Cauchy => "Cauchy",
            },
            MarginalField::dim(self)
        )
    }

    fn check_level(&self, s: f64) -> Result<()> {
        MarginalField::check_level(self, s)
    }
}

/// The velocity closure of an [`FnField`]: `(s, x row, f row)`.
type VelocityFn<'a> = Box<dyn Fn(f64, &[f64], &mut [f64]) + Sync + Send + 'a>;
/// The divergence closure of an [`FnField`]: `(s, x row) -> div f_s(x)`.
type DivergenceFn<'a> = Box<dyn Fn(f64, &[f64]) -> f64 + Sync + Send + 'a>;

/// A [`Field`] made from a closure `v(s, x, f)` that writes the velocity of one row,
/// optionally with an exact divergence closure: the door for an own velocity into all
/// of `crate::sampling` (generation, encoding, trajectories, likelihoods).
///
/// Without [`with_divergence`](FnField::with_divergence) the field reports
/// [`Divergence::None`] and likelihoods estimate the divergence from velocities.
pub struct FnField<'a> {
    dim: usize,
    schedule: Schedule,
    velocity: VelocityFn<'a>,
    div: Option<DivergenceFn<'a>>,
    name: String,
}

impl std::fmt::Debug for FnField<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FnField")
            .field("dim", &self.dim)
            .field("schedule", &self.schedule)
            .field("divergence", &self.div.is_some())
            .field("name", &self.name)
            .finish()
    }
}

impl<'a> FnField<'a> {
    /// Wraps `velocity(s, x, f)` (one row: `x` and `f` have length `dim`) as a field of
    /// dimension `dim >= 1` on `schedule`.
    pub fn new<V>(dim: usize, schedule: Schedule, velocity: V) -> Result<Self>
    where
        V: Fn(f64, &[f64], &mut [f64]) + Sync + Send + 'a,
    {
        if dim == 0 {
            return Err(Error::InvalidParameter {
                name: "dimension",
                value: 0.0,
                reason: "a field needs at least one dimension",
            });
        }
        Ok(Self {
            dim,
            schedule,
            velocity: Box::new(velocity),
            div: None,
            name: format!("own field in d = {dim}"),
        })
    }

    /// Adds the exact divergence `div(s, x) = div f_s(x)` (one row); the field then
    /// reports [`Divergence::Exact`].
    pub fn with_divergence<G>(mut self, div: G) -> Self
    where
        G: Fn(f64, &[f64]) -> f64 + Sync + Send + 'a,
    {
        self.div = Some(Box::new(div));
        self
    }

    /// Sets the description returned by [`Field::describe`].
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
}

impl Field for FnField<'_> {
    fn dim(&self) -> usize {
        self.dim
    }

    fn schedule(&self) -> Schedule {
        self.schedule
    }

    fn eval_block(&self, s: &[f64], x: &[f64], f: &mut [f64], div: Option<&mut [f64]>) {
        let d = self.dim;
        for ((&si, xi), fi) in s.iter().zip(x.chunks_exact(d)).zip(f.chunks_exact_mut(d)) {
            (self.velocity)(si, xi, fi);
        }
        if let (Some(g), Some(dv)) = (&self.div, div) {
            for ((&si, xi), di) in s.iter().zip(x.chunks_exact(d)).zip(dv.iter_mut()) {
                *di = g(si, xi);
            }
        }
    }

    fn divergence(&self) -> Divergence {
        if self.div.is_some() {
            Divergence::Exact
        } else {
            Divergence::None
        }
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}
