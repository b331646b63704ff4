//! The power-law kernel in high dimension: distances from matrix products.
//!
//! For a block of particles `X` (`n_b x d`) and a tile of data points `Y_T`
//! (`T x d`), the squared distances are `|x|^2 + |y|^2 - 2 x . y`, the cross terms
//! one matrix product `X Y_T^T` (the `gemm` crate, single-threaded inside a block so
//! that the bits do not depend on the thread count; blocks run in parallel as
//! before). The weights `w_i = (pi_i / pi_max) (c / t_i)^e`, `t_i = s^2 + d2_i`, are
//! formed in place over that `n_b x T` buffer while it is in cache, and the weighted
//! sum `m = sum_i w_i y_i` is a second product `W Y_T` accumulated over the tiles.
//! The reference `c` of a row is the smallest `t` seen so far: when a tile brings a
//! smaller one, the row's sums are rescaled by `(c_new / c_old)^e <= 1`, so every
//! kernel ratio stays in `(0, 1]` as in the other kernels.
//!
//! Cancellation: the product form loses digits when `d2` is small next to
//! `|x|^2 + |y|^2` (near a data point at small `s`). The error of a computed `d2` is
//! at most `(d + 2) eps (|x|^2 + |y|^2)` (the classical bound on a dot product,
//! with `2|x||y| <= |x|^2 + |y|^2`), so the relative error of a weight is at most
//! `e (d + 2) eps (|x|^2 + max |y|^2) / t_min`. A row whose bound exceeds
//! [`WEIGHT_RTOL`] is evaluated again by the coordinate-wise kernel, which forms every
//! `x - y_i` exactly; the others agree with that kernel to about this bound.

// Lane loops index several fixed-size arrays at once on purpose (see `lanes`).
#![allow(clippy::needless_range_loop)]

use super::lanes::{hsum, Soa, LANES};
use super::power::{chunk_weights, finish_row, power_general, HalfPow, RowSums, Rows};

/// Bound on the relative error of any weight that the product form accepts; rows
/// above it are recomputed coordinate by coordinate.
pub const WEIGHT_RTOL: f64 = 1e-6;

/// Particles per block of the product path.
const BLOCK_ROWS: usize = 64;

/// Data points per tile of the product path (the `n_b x T` weights stay in L2).
const TILE_POINTS: usize = 256;

/// The product path for the rows of `rows` (no divergence; the caller routes
/// divergence requests to the coordinate-wise kernel). `ys` is the data, row-major.
#[inline(always)]
pub(super) fn power_gemm<const W: bool, const R: bool>(
    p: HalfPow,
    soa: &Soa,
    ys: &[f64],
    d: usize,
    mut rows: Rows,
) {
    debug_assert!(rows.div.is_none());
    let n = rows.s.len();
    let m = soa.m;
    let e = p.exponent();
    let tile = TILE_POINTS;
    let mut dbuf = vec![0.0; BLOCK_ROWS * tile];
    let mut macc = vec![0.0; BLOCK_ROWS * d];
    let mut wacc = [0.0; BLOCK_ROWS];
    let mut cref = [0.0; BLOCK_ROWS];
    let mut x2 = [0.0; BLOCK_ROWS];
    let mut s2 = [0.0; BLOCK_ROWS];
    let eps = f64::EPSILON;
    // the products always see a full block (rows past the end are zero): the gemm
    // crate picks its kernels by shape, and a row's bits must not depend on how many
    // other rows share its block
    let mut xpad = vec![0.0; BLOCK_ROWS * d];
    for r0 in (0..n).step_by(BLOCK_ROWS) {
        let nb = BLOCK_ROWS.min(n - r0);
        xpad[..nb * d].copy_from_slice(&rows.x[r0 * d..(r0 + nb) * d]);
        xpad[nb * d..].fill(0.0);
        let xb = &xpad[..];
        for b in 0..nb {
            let xr = &xb[b * d..(b + 1) * d];
            x2[b] = xr.iter().map(|v| v * v).sum();
            s2[b] = rows.s[r0 + b] * rows.s[r0 + b];
            cref[b] = f64::INFINITY;
            wacc[b] = 0.0;
        }
        macc.fill(0.0);
        for t0 in (0..m).step_by(tile) {
            let tl = tile.min(m - t0);
            let tp = tl.div_ceil(LANES) * LANES;
            let g = &mut dbuf[..BLOCK_ROWS * tp];
            // G = X Y_T^T (BLOCK_ROWS x tl, row stride tp)
            // SAFETY: the pointers and strides describe `nb x d`, `d x tl` and
            // `nb x tl` views inside `xb`, `ys` and `g`, all in bounds.
            unsafe {
                gemm::gemm(
                    BLOCK_ROWS,
                    tl,
                    d,
                    g.as_mut_ptr(),
                    1,
                    tp as isize,
                    false,
                    xb.as_ptr(),
                    1,
                    d as isize,
                    ys[t0 * d..].as_ptr(),
                    d as isize,
                    1,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
            let y2 = &soa.norm2[t0..t0 + tp];
            for b in 0..nb {
                let row = &mut g[b * tp..(b + 1) * tp];
                // t_i = s^2 + max(0, |x|^2 + |y_i|^2 - 2 x.y_i); padding gets +inf
                let mut tmin = f64::INFINITY;
                for k in 0..tp {
                    let t = if k < tl {
                        s2[b] + (x2[b] + y2[k] - 2.0 * row[k]).max(0.0)
                    } else {
                        f64::INFINITY
                    };
                    row[k] = t;
                    tmin = tmin.min(t);
                }
                if tmin < cref[b] {
                    let f = HalfPow::pow_scalar(p, tmin / cref[b]);
                    wacc[b] *= f;
                    for v in &mut macc[b * d..(b + 1) * d] {
                        *v *= f;
                    }
                    cref[b] = tmin;
                }
                let c = cref[b];
                let mut ws = [0.0; LANES];
                for k in (0..tp).step_by(LANES) {
                    let valid = (tl.saturating_sub(k)).min(LANES);
                    let t: [f64; LANES] = row[k..k + LANES].try_into().unwrap();
                    let (_, w) = chunk_weights::<W, R>(p, &t, c, &soa.pi[t0 + k..], 1.0, valid);
                    row[k..k + LANES].copy_from_slice(&w);
                    for l in 0..LANES {
                        ws[l] += w[l];
                    }
                }
                wacc[b] += hsum(&ws);
            }
            // M += W Y_T (BLOCK_ROWS x d; the rows past `nb` are ignored)
            // SAFETY: as above; `g` now holds the weights, padding columns unused.
            unsafe {
                gemm::gemm(
                    BLOCK_ROWS,
                    d,
                    tl,
                    macc.as_mut_ptr(),
                    1,
                    d as isize,
                    true,
                    g.as_ptr(),
                    1,
                    tp as isize,
                    ys[t0 * d..].as_ptr(),
                    1,
                    d as isize,
                    1.0,
                    1.0,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
        }
        for b in 0..nb {
            let r = r0 + b;
            let bound = e * (d + 2) as f64 * eps * (x2[b] + soa.norm2_max) / cref[b];
            if bound > WEIGHT_RTOL || bound.is_nan() {
                // cancellation: this row goes to the coordinate-wise kernel
                let one = Rows {
                    s: &rows.s[r..r + 1],
                    x: &rows.x[r * d..(r + 1) * d],
                    f: &mut rows.f[r * d..(r + 1) * d],
                    log_p: rows.log_p.as_deref_mut().map(|l| &mut l[r..r + 1]),
                    div: None,
                    log_norm: rows.log_norm,
                };
                power_general::<W, false, R>(p, soa, d, one);
                continue;
            }
            let mut w = [0.0; LANES];
            w[0] = wacc[b];
            let mv: Vec<[f64; LANES]> = macc[b * d..(b + 1) * d]
                .iter()
                .map(|&v| {
                    let mut a = [0.0; LANES];
                    a[0] = v;
                    a
                })
                .collect();
            let sums = RowSums {
                w: &w,
                m: &mv,
                g: &[],
                fg: &[0.0; LANES],
            };
            finish_row(p, d, r, cref[b], 1.0, sums, &mut rows);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::lanes::LANES;
    use super::super::power::{power_general, HalfPow, Rows};
    use super::{power_gemm, WEIGHT_RTOL};
    use crate::fields::noise::{Noise, NoiseKind};
    use crate::fields::source::Source;
    use ndarray::Array2;
    use rand::Rng as _;
    use rand_distr::StandardNormal;

    struct Eval {
        f: Vec<f64>,
        lp: Vec<f64>,
    }

    /// `gemm`: the product path, else the coordinate-wise kernel (both portable).
    fn run(kernel: &Noise, src: &Source, s: &[f64], x: &[f64], gemm: bool) -> Eval {
        let (n, d) = (s.len(), src.dim());
        let mut e = Eval {
            f: vec![0.0; n * d],
            lp: vec![0.0; n],
        };
        let NoiseKind::PowerLaw { exponent } = kernel.kind() else {
            unreachable!()
        };
        let n2 = (2.0 * exponent) as u32;
        let p = HalfPow {
            half: n2 / 2,
            odd: n2 % 2 == 1,
        };
        let soa = src.soa();
        let rows = Rows {
            s,
            x,
            f: &mut e.f,
            log_p: Some(&mut e.lp),
            div: None,
            log_norm: kernel.log_norm() + soa.ln_pi_max,
        };
        match (gemm, soa.uniform) {
            (true, true) => power_gemm::<false, false>(p, soa, src.means(), d, rows),
            (true, false) => power_gemm::<true, false>(p, soa, src.means(), d, rows),
            (false, true) => power_general::<false, false, false>(p, soa, d, rows),
            (false, false) => power_general::<true, false, false>(p, soa, d, rows),
        }
        e
    }

    /// Rows: random (far from the data), near a data point (offset `s z / sqrt(d)`),
    /// and exactly on one; levels from 1e-3 to 10.
    fn rows_for(data: &Array2<f64>, n: usize, rng: &mut impl rand::Rng) -> (Vec<f64>, Vec<f64>) {
        let (m, d) = data.dim();
        let levels = [1e-3, 3e-2, 0.3, 1.0, 10.0];
        let mut s = vec![0.0; n];
        let mut x = vec![0.0; n * d];
        for r in 0..n {
            s[r] = levels[r % levels.len()];
            let kind = (r / levels.len()) % 3;
            let y = data.row((r * 7) % m);
            for j in 0..d {
                let z: f64 = rng.sample(StandardNormal);
                x[r * d + j] = match kind {
                    0 => 3.0 * z,
                    1 => y[j] + s[r] * z / (d as f64).sqrt(),
                    _ => y[j],
                };
            }
        }
        (s, x)
    }

    /// The product path against the coordinate-wise kernel, for `d = 16, 64, 784`,
    /// PFGM and PFGM++ (`D = 128`), uniform and random weights, `M = 600` (three
    /// tiles, the last partial), 75 rows (a full and a partial block). Stated
    /// tolerance: with every weight within [`WEIGHT_RTOL`] = `1e-6` relative, the
    /// posterior mean `m = x - s f` agrees to `2 WEIGHT_RTOL` of the row's coordinate
    /// scale `max(|x|_inf, max |y|_inf)` and `ln p` to `WEIGHT_RTOL` absolute; the
    /// bound is a worst case, the measured errors are far below it. Rows on a data point at
    /// `s = 1e-3` must be the coordinate-wise kernel's bits (routed there).
    #[test]
    fn product_path_matches_the_coordinatewise_kernel() {
        let mut rng = crate::rng::seeded(41);
        let mut worst = (0.0f64, 0.0f64);
        let mut routed = 0;
        for d in [16usize, 64, 784] {
            let m = 600;
            let data = Array2::from_shape_fn((m, d), |_| rng.sample::<f64, _>(StandardNormal));
            let wts: Vec<f64> = (0..m).map(|_| rng.random_range(0.1..1.0)).collect();
            let ymax = data.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            for weights in [None, Some(&wts[..])] {
                let src = Source::points(data.view(), weights).unwrap();
                for aug in [1.0, 128.0] {
                    let kernel = Noise::pfgmpp(d, aug).unwrap();
                    let (s, x) = rows_for(&data, 75, &mut rng);
                    let a = run(&kernel, &src, &s, &x, true);
                    let b = run(&kernel, &src, &s, &x, false);
                    for r in 0..s.len() {
                        let xr = &x[r * d..(r + 1) * d];
                        let scale = xr.iter().fold(ymax, |a, v| a.max(v.abs()));
                        for j in 0..d {
                            let ma = xr[j] - s[r] * a.f[r * d + j];
                            let mb = xr[j] - s[r] * b.f[r * d + j];
                            worst.0 = worst.0.max((ma - mb).abs() / scale);
                        }
                        worst.1 = worst.1.max((a.lp[r] - b.lp[r]).abs());
                        let on_point = (r / 5) % 3 == 2 && s[r] < 1e-2;
                        if on_point {
                            let same = a.f[r * d..(r + 1) * d] == b.f[r * d..(r + 1) * d]
                                && a.lp[r].to_bits() == b.lp[r].to_bits();
                            assert!(same, "d {d} row {r}: not routed to the exact kernel");
                            routed += 1;
                        }
                    }
                }
            }
        }
        eprintln!(
            "worst mean error {:e}, ln p error {:e}, routed {routed}",
            worst.0, worst.1
        );
        assert!(routed > 0);
        assert!(worst.0 < 2.0 * WEIGHT_RTOL, "mean error {:e}", worst.0);
        assert!(worst.1 < WEIGHT_RTOL, "ln p error {:e}", worst.1);
    }

    /// A row's bits do not depend on the other rows of its block (the sampler drops
    /// finished particles from a block, and the thread count changes nothing).
    #[test]
    fn product_path_rows_are_independent_of_the_block() {
        let mut rng = crate::rng::seeded(43);
        let (m, d) = (300, 64);
        let data = Array2::from_shape_fn((m, d), |_| rng.sample::<f64, _>(StandardNormal));
        let src = Source::points(data.view(), None).unwrap();
        let kernel = Noise::pfgmpp(d, 1.0).unwrap();
        let (s, x) = rows_for(&data, 70, &mut rng);
        let all = run(&kernel, &src, &s, &x, true);
        for (r0, r1) in [(0, 1), (3, 4), (5, 37), (64, 70), (1, 66)] {
            let part = run(&kernel, &src, &s[r0..r1], &x[r0 * d..r1 * d], true);
            for r in r0..r1 {
                for j in 0..d {
                    let (u, v) = (all.f[r * d + j], part.f[(r - r0) * d + j]);
                    assert_eq!(u.to_bits(), v.to_bits(), "row {r} in {r0}..{r1}");
                }
                assert_eq!(all.lp[r].to_bits(), part.lp[r - r0].to_bits());
            }
        }
        let _ = LANES;
    }
}
