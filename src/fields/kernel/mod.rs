//! Tiled evaluation of the marginal field: velocity, log-density and divergence for a
//! block of particles against all components of a source.
//!
//! The posterior weights `w_k ∝ pi_k p_s(x | k)` are never formed as a particles x
//! data matrix. Four kernels share the work:
//!
//! * The vectorised power-law path, the hot loop of PFGM and PFGM++ sampling: an
//!   empirical source, the ray schedule (`alpha = 1`, `sigma = s`) and the law
//!   `(1 + |u|^2)^{-e}` with `2e` a whole number. The data are stored coordinate by
//!   coordinate ([`Soa`], built once with the source) and visited in chunks of
//!   [`LANES`] points, so that every operation of the pair loop is one SIMD
//!   instruction; `d <= 4` is specialised with every sum of a row in registers, any
//!   other `d` goes through a weight buffer per tile. With `t_i = s^2 + |x - y_i|^2`
//!   the weight of point `i` is `(pi_i / pi_ref) (c / t_i)^e`, `c` the row's
//!   reference: `c = s^2` (every term at most one, one pass over the data) when the
//!   first data point already has a kernel value above `e^{-600}`, which bounds the
//!   largest term from below; otherwise (far rows in high dimension) a first pass
//!   finds the nearest point and `c = t_min`. `q^e` is a square root (odd `2e`) and
//!   repeated squaring: no `exp` or `log` per pair. The code is compiled three times
//!   and chosen at run time: for AVX-512 (where `1/sqrt(t)` comes from the 14-bit
//!   hardware estimate and two Newton steps, so there is no division and no square
//!   root per pair), for AVX2 and portable (one division and one square root per
//!   pair, correctly rounded). The AVX-512 path also uses fused multiply-adds in the
//!   Newton steps, so it does not give the same bits as the other two. What holds:
//!   on one machine the results are bit-identical for any thread count and block
//!   size (a row's arithmetic never depends on the other rows). Between a CPU with
//!   AVX-512 and one without they differ by rounding amplified by the exponent: on the
//!   scale of the terms that cancel, at most 2.2e-14 (velocity), 6.8e-14 (`ln p`) and
//!   7e-15 (divergence) relative, measured for `d = 2, 16, 64` and `D` up to 2048
//!   (up to about 3e4 ulp of a velocity component where `x - m` cancels); the test
//!   `dispatched_and_portable_paths_agree_to_a_stated_bound` asserts 1e-13, 3e-13 and
//!   3e-14.
//!
//!   From `d = GEMM_MIN_D` (32) on, when the divergence is not asked for, the same
//!   weights are formed from matrix products instead (`gemm` submodule: distances as
//!   `|x|^2 + |y|^2 - 2 x.y`, weighted sums as a second product, rows whose distances
//!   may have lost digits to cancellation recomputed by the coordinate-wise code).
//!   The product path is generic over the weight law and serves the Gaussian kernel
//!   too (below).
//! * The vectorised radial path (`gauss` submodule): an empirical source, either
//!   schedule, and any other radial law, each monomorphised from one generic code
//!   over a lane-wise law (`laws` submodule): the Gaussian law (EDM / VE diffusion,
//!   and the linear path with Gaussian noise), power laws with any real exponent
//!   (non-integer `2e`, or the linear schedule) and Su's radial profiles (tanh, exp
//!   CDF). The same layout and chunks as the power-law path, the nearest data point
//!   as every row's reference, weights `nu(u_i) / nu(u_ref)` from a lane-wise
//!   exponential and logarithm (`vexp`, `vln` submodules: range reduction and a
//!   polynomial, within 2 and 1 ulp of `f64::exp` and `f64::ln`, no call per pair),
//!   the divergence from a few extra sums per row. For `d` above [`GAUSS_MAX_D`] the
//!   scalar path below. From `d = GAUSS_GEMM_MIN_D` on, when the divergence is not
//!   asked for, the Gaussian weights come from the matrix-product path of the `gemm`
//!   submodule (`|x - alpha y|^2 = |x|^2 + alpha^2 |y|^2 - 2 alpha x.y`, a running
//!   reference, rows that may have lost digits recomputed coordinate by coordinate).
//! * The scalar ratio path otherwise (`points` submodule, behind [`eval_points`]): for
//!   `d > GAUSS_MAX_D`, and as the reference the vectorised kernels are tested
//!   against. Pass one
//!   finds, for each row, the nearest data point (smallest `|x - alpha y_i|^2`; no
//!   transcendental function). Pass two sums the weights as exact ratios to that
//!   reference term, `(pi_i / pi_ref) nu(u_i) / nu(u_ref)`; for the power-law
//!   kernels the ratio is `((sigma^2 + d2_ref) / (sigma^2 + d2_i))^e`, a power of a
//!   number in `(0, 1]`, and for the Gaussian kernel it is
//!   `exp(-(d2_i - d2_ref) / (2 sigma^2))` with a non-positive argument. The kernel
//!   part of every ratio is at most one, so nothing overflows, and the reference
//!   term contributes exactly one, so the sum never underflows to zero.
//! * [`eval_components`], for mixtures with per-component scales (Gaussian and Cauchy
//!   sources) and the non-radial uniform box: log-space terms with a streaming
//!   (online) log-sum-exp that rescales the row's accumulators when its maximum grows.
//!
//! Data are visited in tiles (of [`TILE`] points in the scalar path, 32 KiB in the
//! vectorised one) and particles in sub-blocks of [`ROWS`] rows, so memory is
//! `O((N + M) d)` plus one tile of accumulators. The arithmetic of a row never
//! depends on the other rows (the determinism contract of
//! [`crate::ode::OdeSystem`]).
//!
//! With `alpha, sigma` the schedule at the row's `s`, `u_i = (x - alpha y_i)/sigma`
//! and `nu(u) ∝ exp(h(|u|^2))`:
//!
//! ```text
//! f      = alpha' m + (sigma'/sigma)(x - alpha m),       m = sum_i w_i y_i
//! ln p   = ln sum_i pi_i sigma^{-d} nu(u_i)
//! div f  = d sigma'/sigma + sum_i w_i f_i . g_i - f . sum_i w_i g_i,
//!          g_i = 2 h'(|u_i|^2) u_i / sigma,  f_i = alpha' y_i + sigma' u_i
//! ```

use super::noise::{Noise, NoiseKind};
use super::schedule::Schedule;
use super::source::{Source, SourceKind};

mod components;
mod gauss;
mod gemm;
mod lanes;
mod laws;
mod points;
mod power;
mod prune;
#[cfg(test)]
mod tests;
mod vexp;
mod vln;

pub use components::eval_components;
pub use gemm::{
    add_weighted_sums, block_rows, cross_products, cross_products_cols, product_tile, resident,
    PRODUCT_ROWS, RESIDENT_BYTES, WEIGHT_RTOL,
};
pub use lanes::{Soa, LANES};
use points::eval_points_with;
use power::{eval_power, fast_power_exponent, Rows};
pub(crate) use prune::{Projection, ProjectionCell};

/// Smallest `d` at which the power-law kernel takes the matrix-product path
/// (the `gemm` submodule) when the divergence is not requested (measured crossover, see
/// docs/FIELDS.md).
pub const GEMM_MIN_D: usize = 32;

/// Largest `d` at which the other radial laws, the coordinate-wise Gaussian kernel (the
/// divergence, and rows that the product path reroutes for cancellation) take the
/// vectorised path (`gauss` submodule). Above it the coordinate-major chunks touch one memory page per
/// coordinate and the scalar path over row-major data is faster (measured at `d = 784`:
/// 0.8e6 against 1.1e6 - 1.4e6 pairs per second; at `d = 64` the vectorised path is
/// 2.5 - 3.3 times faster; docs/FIELDS.md).
pub const GAUSS_MAX_D: usize = 256;

/// Smallest `d` at which the Gaussian kernel takes the matrix-product path (the
/// `gemm` submodule) when the divergence is not requested (measured: 1.6 times the
/// coordinate-wise kernel's pairs per second at `d = 16`, 2.3 at `d = 32`, 3.9 at
/// `d = 784`; docs/FIELDS.md).
pub const GAUSS_GEMM_MIN_D: usize = 16;

/// Data points per tile.
pub const TILE: usize = 256;
/// Particles per sub-block.
pub const ROWS: usize = 32;

/// Output slices of a block evaluation (rows of length `d`, or one value per row).
pub struct Out<'a> {
    /// Velocity `f_s(x)`, `n x d`.
    pub f: &'a mut [f64],
    /// `ln p_s(x)` (computed with the kernel's normalisation).
    pub log_p: Option<&'a mut [f64]>,
    /// `div f_s(x)`.
    pub div: Option<&'a mut [f64]>,
}

/// The fast path: empirical source, radially decreasing kernel, shared scale.
///
/// Preconditions (checked by [`super::MarginalField`], which picks the path): `src`
/// is made of points and `kernel` is radial; `s` has one level per row of `x`.
///
/// Dispatches once on the kernel so that the per-pair ratio is a monomorphised
/// closure (no branch on the law, and for half-integer power-law exponents only
/// `powi` and `sqrt`).
///
/// Rows at extreme levels (far below the size of the coordinates, or below `1e-90`)
/// go to the careful path of `src/fields/tiny.rs`; the others, in runs of consecutive
/// rows, to the fast kernels (a row never depends on the other rows, so the split
/// changes no bits).
pub fn eval_points(kernel: &Noise, sch: Schedule, src: &Source, s: &[f64], x: &[f64], out: Out) {
    let d = src.dim();
    let n = s.len();
    let ymax = src.max_abs();
    let tiny = |r: usize| super::tiny::is_tiny(s[r], &x[r * d..(r + 1) * d], ymax);
    if !(0..n).any(tiny) {
        eval_points_fast(kernel, sch, src, s, x, out);
        return;
    }
    let Out {
        f,
        mut log_p,
        mut div,
    } = out;
    let mut r = 0;
    while r < n {
        if tiny(r) {
            let row = super::tiny::RowOut {
                f: &mut f[r * d..(r + 1) * d],
                log_p: log_p.as_deref_mut().map(|l| &mut l[r]),
                div: div.as_deref_mut().map(|v| &mut v[r]),
            };
            super::tiny::eval_row(kernel, sch, src, s[r], &x[r * d..(r + 1) * d], row);
            r += 1;
            continue;
        }
        let mut e = r + 1;
        while e < n && !tiny(e) {
            e += 1;
        }
        let part = Out {
            f: &mut f[r * d..e * d],
            log_p: log_p.as_deref_mut().map(|l| &mut l[r..e]),
            div: div.as_deref_mut().map(|v| &mut v[r..e]),
        };
        eval_points_fast(kernel, sch, src, &s[r..e], &x[r * d..e * d], part);
        r = e;
    }
}

/// The Gaussian kernel coordinate by coordinate: the vectorised path up to
/// [`GAUSS_MAX_D`], the scalar one above.
fn gauss_coordinatewise(
    kernel: &Noise,
    sch: Schedule,
    src: &Source,
    s: &[f64],
    x: &[f64],
    out: Out,
) {
    debug_assert_eq!(kernel.kind(), NoiseKind::Gaussian);
    if src.dim() <= GAUSS_MAX_D {
        let soa = src.soa();
        let rows = gauss::GaussRows::new(kernel, soa, sch, s, x, out);
        gauss::eval_gauss(soa, src.dim(), rows);
    } else {
        eval_points_with(
            kernel,
            |r2: f64, r2_ref: f64| kernel.ratio(r2, r2_ref),
            sch,
            src,
            s,
            x,
            out,
        );
    }
}

/// [`eval_points`] for rows at ordinary levels.
fn eval_points_fast(kernel: &Noise, sch: Schedule, src: &Source, s: &[f64], x: &[f64], out: Out) {
    debug_assert_eq!(src.kind(), SourceKind::Points);
    debug_assert!(kernel.is_radial());
    if let Some(n2) = fast_power_exponent(kernel, sch) {
        let rows = Rows {
            s,
            x,
            f: out.f,
            log_p: out.log_p,
            div: out.div,
            log_norm: kernel.log_norm(),
        };
        eval_power(n2, src, rows);
        return;
    }
    if kernel.kind() == NoiseKind::Gaussian {
        if src.dim() >= GAUSS_GEMM_MIN_D && out.div.is_none() {
            let proj = src.projection();
            gemm::gauss_gemm(kernel, sch, src, s, x, out, gauss_coordinatewise, proj);
        } else {
            gauss_coordinatewise(kernel, sch, src, s, x, out);
        }
        return;
    }
    if src.dim() <= GAUSS_MAX_D {
        let soa = src.soa();
        let rows = gauss::GaussRows::new(kernel, soa, sch, s, x, out);
        match kernel.kind() {
            NoiseKind::PowerLaw { exponent } => {
                let law = laws::Power {
                    kernel,
                    e: exponent,
                };
                gauss::eval_radial(law, soa, src.dim(), rows);
            }
            NoiseKind::Radial(p) => {
                let law = laws::Radial::new(kernel, p);
                gauss::eval_radial(law, soa, src.dim(), rows);
            }
            _ => unreachable!("radial kernels only"),
        }
        return;
    }
    match kernel.kind() {
        NoiseKind::PowerLaw { exponent } => {
            let two_e = 2.0 * exponent;
            let n = two_e.round();
            if (two_e - n).abs() == 0.0 && n <= 64.0 {
                let n = n as i32;
                let half = n / 2;
                if n % 2 == 0 {
                    eval_points_with(
                        kernel,
                        move |r2: f64, r2_ref: f64| ((1.0 + r2_ref) / (1.0 + r2)).powi(half),
                        sch,
                        src,
                        s,
                        x,
                        out,
                    )
                } else {
                    eval_points_with(
                        kernel,
                        move |r2: f64, r2_ref: f64| {
                            let q = (1.0 + r2_ref) / (1.0 + r2);
                            q.powi(half) * q.sqrt()
                        },
                        sch,
                        src,
                        s,
                        x,
                        out,
                    )
                }
            } else {
                eval_points_with(
                    kernel,
                    move |r2: f64, r2_ref: f64| ((1.0 + r2_ref) / (1.0 + r2)).powf(exponent),
                    sch,
                    src,
                    s,
                    x,
                    out,
                )
            }
        }
        _ => eval_points_with(
            kernel,
            |r2: f64, r2_ref: f64| kernel.ratio(r2, r2_ref),
            sch,
            src,
            s,
            x,
            out,
        ),
    }
}
