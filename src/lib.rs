//! # fieldflow
//!
//! Generative ODEs that follow force fields. Put the data on the plane `s = 0` of a
//! space with one (or `D`) extra dimensions, let it act as a charge, and follow the
//! field lines from a large hemisphere back to the data: this is the Poisson Flow
//! Generative Model (PFGM). The same picture covers PFGM++ (`D` extra dimensions),
//! Gaussian diffusion (`D -> infinity`) and straight-line flows.
//!
//! The crate is organised by concept:
//!
//! * [`ode`]: exact explicit Runge-Kutta integrators (fixed and adaptive) for batches
//!   of independent particles, each with its own step size, run in parallel and
//!   bit-identical for any thread count.
//! * [`checks`]: two-sample and one-sample statistical tests (KS, Anderson-Darling,
//!   energy, MMD, sliced Wasserstein, ...) with calibrated p-values, and a battery
//!   that decides whether samples match their target.
//! * [`data`]: the eight FFJORD toy data sets and isotropic Gaussian mixtures with
//!   exact densities and scores.
//! * [`fields`]: the force fields as generative ODEs (PFGM, PFGM++, Gaussian, linear,
//!   radial profiles, point-source power laws): the affine family, sources, exact
//!   marginal densities, velocities, divergences and samplers, priors, and the
//!   validity diagnostics of the `(s, x)` field.
//! * [`sampling`]: generation, encoding and exact likelihoods by integrating any
//!   [`fields::Field`] (the exact `MarginalField`, a closure, a learned network) from
//!   a [`sampling::Prior`].
//! * [`samplers`]: few-step samplers on a level schedule (EDM's Euler and Heun,
//!   DPM-Solver++(2M), (3M)) and their measurement against the exact solution.
//! * [`field_error`]: the error of any field (a learned one) against the exact field
//!   of its training set, level by level, on exact draws of `p_s`.
//! * [`io`]: point files (`.csv`, `.npy`) read with line-precise errors and written
//!   atomically.
//! * [`plots`]: PNG + SVG figures with a bundled font (no system font libraries),
//!   scatter plots and colour maps.
//!
//! Errors are one [`Error`](enum@Error) enum; [`rng`] gives the seeded streams that make
//! every parallel computation reproducible. The mathematics is in the repository's
//! `docs/MATHEMATICS.md` (with the papers it comes from), what was derived beyond the
//! published formulas in `docs/FIELDS.md`, and the reference constants and runs the
//! tests use in `docs/REFERENCE-VALUES.md`; every
//! formula the code uses is tested against a closed form, a finite difference or a
//! published value.
#![deny(missing_docs)]

pub mod checks;
pub mod data;
pub mod error;
pub mod field_error;
pub mod fields;
pub mod io;
#[cfg(feature = "learn")]
pub mod learn;
pub mod limits;
pub mod measure;
pub mod ode;
pub mod plots;
pub mod rng;
pub mod run;
pub mod samplers;
pub mod sampling;

pub use error::{Error, Result};
