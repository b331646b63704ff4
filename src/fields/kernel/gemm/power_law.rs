//! The power law of PFGM and PFGM++ on the product path: its [`Law`], the AVX-512
//! key and weight passes, and the row finish through the power-law kernel.

// Lane loops `for l in 0..LANES` index several fixed-size arrays at once on purpose.
#![allow(clippy::needless_range_loop)]

use super::{keys_lanes, product, weights_lanes, Law, WEIGHT_RTOL};
use crate::fields::kernel::lanes::{hsum, Soa, LANES, V};
use crate::fields::kernel::power::{
    chunk_weights, finish_row, power_general, HalfPow, RowSums, Rows,
};
use crate::fields::kernel::prune::Projection;

/// The power law `(c / t)^e` (ray schedule); `W`: weighted data, `R`: the AVX-512
/// reciprocal square root (see `power`).
pub(super) struct PowerLaw<const W: bool, const R: bool>(pub(super) HalfPow);

impl<const W: bool, const R: bool> Law for PowerLaw<W, R> {
    /// `s^2`.
    type Row = f64;
    #[inline(always)]
    fn row(&self, s: f64) -> f64 {
        s * s
    }
    #[inline(always)]
    fn alpha(_: &f64) -> f64 {
        1.0
    }
    #[inline(always)]
    fn key(s2: &f64, d2: f64) -> f64 {
        s2 + d2
    }
    #[inline(always)]
    fn rescale(&self, _: &f64, new: f64, old: f64) -> f64 {
        HalfPow::pow_scalar(self.0, new / old)
    }
    #[inline(always)]
    fn weights(&self, _: &f64, key: &V, c: f64, pi: &[f64], valid: usize) -> V {
        chunk_weights::<W, R>(self.0, key, c, pi, 1.0, valid).1
    }
    #[inline(always)]
    fn weight_error(&self, _: &f64, err: f64, c: f64) -> f64 {
        2.0 * self.0.exponent() * err / c
    }
    #[inline(always)]
    fn exact_below(&self, _: &f64, err: f64) -> Option<f64> {
        Some(self.0.exponent() * err / WEIGHT_RTOL)
    }
    #[inline(always)]
    fn negligible_key(&self, _: &f64, c: f64, ln_ratio: f64) -> f64 {
        // (c / t)^e <= e^{-ln_ratio}
        c * (ln_ratio / self.0.exponent()).exp()
    }
    #[inline(always)]
    fn weight_one(&self, _: &f64, key: f64, c: f64) -> f64 {
        HalfPow::pow_scalar(self.0, c / key)
    }
    #[inline(always)]
    fn weights_row(
        &self,
        s2: &f64,
        g: &mut [f64],
        c: f64,
        pi: &[f64],
        tl: usize,
        has_exact: bool,
    ) -> f64 {
        if R {
            weights_avx512::<W>(self.0, g, c, pi, tl, has_exact)
        } else {
            weights_lanes(self, s2, g, c, pi, tl, has_exact)
        }
    }
    #[inline(always)]
    fn keys(
        s2: &f64,
        g: &mut [f64],
        y2: &[f64],
        x2: f64,
        cut: f64,
        tl: usize,
        kmins: &mut V,
    ) -> bool {
        if R {
            keys_avx512(*s2, g, y2, x2, cut, tl, kmins)
        } else {
            keys_lanes::<Self>(s2, g, y2, x2, cut, tl, kmins)
        }
    }
}

/// [`Law::weights_row`] of the power law in AVX-512 registers: the operations of
/// `power::chunk_weights` (with the reciprocal square root) and [`weights_lanes`] in
/// the same order, so the same bits. Only called from the AVX-512 path (`R = true`).
#[inline(always)]
pub(super) fn weights_avx512<const W: bool>(
    p: HalfPow,
    g: &mut [f64],
    c: f64,
    pi: &[f64],
    tl: usize,
    has_exact: bool,
) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        use crate::fields::kernel::power::{half_pow_zmm, ratio_zmm};
        use std::arch::x86_64::*;
        assert!(pi.len() >= g.len() && g.len().is_multiple_of(LANES) && tl <= g.len());
        let mut ws = [0.0; LANES];
        // SAFETY: reached only from `power_avx512` (the CPU has AVX-512F); every load
        // and store is of 8 `f64` at `k < g.len() <= pi.len()` with `g.len()` a
        // multiple of 8 (asserted above).
        unsafe {
            let (vc, vsc) = (_mm512_set1_pd(c), _mm512_set1_pd(c.sqrt()));
            let inf = _mm512_set1_pd(f64::INFINITY);
            let abs = _mm512_castsi512_pd(_mm512_set1_epi64(i64::MAX));
            let mut lane_sums = _mm512_setzero_pd();
            for k in (0..g.len()).step_by(LANES) {
                let t = _mm512_loadu_pd(g.as_ptr().add(k));
                let (q, sq) = ratio_zmm(vc, vsc, t);
                let mut w = half_pow_zmm(p, q, sq);
                if W {
                    // times pi_i / pi_ref with pi_ref = 1 here
                    w = _mm512_mul_pd(w, _mm512_loadu_pd(pi.as_ptr().add(k)));
                }
                if k + LANES > tl {
                    let live: __mmask8 = ((1u32 << (tl - k)) - 1) as __mmask8;
                    w = _mm512_maskz_mov_pd(live, w);
                }
                if has_exact {
                    // keys +inf (points taken exactly) weigh nothing here
                    let exact = _mm512_cmp_pd_mask::<_CMP_EQ_OQ>(_mm512_and_pd(t, abs), inf);
                    w = _mm512_mask_mov_pd(w, exact, _mm512_setzero_pd());
                }
                _mm512_storeu_pd(g.as_mut_ptr().add(k), w);
                lane_sums = _mm512_add_pd(lane_sums, w);
            }
            _mm512_storeu_pd(ws.as_mut_ptr(), lane_sums);
        }
        hsum(&ws)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        weights_lanes(&PowerLaw::<W, false>(p), &0.0, g, c, pi, tl, has_exact)
    }
}

/// [`Law::keys`] of the power law (`alpha = 1`, key `s^2 + d2`) in AVX-512 registers,
/// with the operations of [`keys_lanes`] in the same order (the same bits): the
/// vectoriser compiled that loop into 256-bit halves joined by permutes and spilled
/// to the stack. Only called from the AVX-512 path (`R = true`).
#[inline(always)]
pub(super) fn keys_avx512(
    s2: f64,
    g: &mut [f64],
    y2: &[f64],
    x2: f64,
    cut: f64,
    tl: usize,
    kmins: &mut V,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        assert!(y2.len() >= g.len() && g.len().is_multiple_of(LANES) && tl <= g.len());
        // SAFETY: reached only from `power_avx512` (the CPU has AVX-512F); every load
        // and store is of 8 `f64` at `k < g.len() <= y2.len()` with `g.len()` a
        // multiple of 8 (asserted above).
        unsafe {
            let (vx2, vs2, vcut) = (_mm512_set1_pd(x2), _mm512_set1_pd(s2), _mm512_set1_pd(cut));
            let (two, zero, inf) = (
                _mm512_set1_pd(2.0),
                _mm512_setzero_pd(),
                _mm512_set1_pd(f64::INFINITY),
            );
            let mut vmin = _mm512_loadu_pd(kmins.as_ptr());
            let mut near: __mmask8 = 0;
            for k in (0..g.len()).step_by(LANES) {
                let yk = _mm512_loadu_pd(y2.as_ptr().add(k));
                let gk = _mm512_loadu_pd(g.as_ptr().add(k));
                // (|x|^2 + |y|^2) - 2 x.y; max(d2, 0) is 0 for NaN and -0
                let d2 = _mm512_sub_pd(_mm512_add_pd(vx2, yk), _mm512_mul_pd(two, gk));
                let mut key = _mm512_add_pd(vs2, _mm512_max_pd(d2, zero));
                if k + LANES > tl {
                    let live: __mmask8 = ((1u32 << (tl - k)) - 1) as __mmask8;
                    key = _mm512_mask_blend_pd(live, inf, key);
                }
                near |= _mm512_cmp_pd_mask::<_CMP_LT_OQ>(key, vcut);
                // the key where it is below the minimum, else the minimum (NaN too)
                vmin = _mm512_min_pd(key, vmin);
                _mm512_storeu_pd(g.as_mut_ptr().add(k), key);
            }
            _mm512_storeu_pd(kmins.as_mut_ptr(), vmin);
            near != 0
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        keys_lanes::<PowerLaw<false, false>>(&s2, g, y2, x2, cut, tl, kmins)
    }
}

/// The product path of the power-law kernel for the rows of `rows` (no divergence;
/// the caller routes divergence requests to the coordinate-wise kernel). `ys` is the
/// data, row-major.
#[inline(always)]
pub(in crate::fields::kernel) fn power_gemm<const W: bool, const R: bool>(
    p: HalfPow,
    soa: &Soa,
    ys: &[f64],
    proj: Option<&Projection>,
    d: usize,
    mut rows: Rows,
) {
    debug_assert!(rows.div.is_none());
    let (s, x) = (rows.s, rows.x);
    product(&PowerLaw::<W, R>(p), soa, ys, d, s, x, proj, |r, sums| {
        let Some(sums) = sums else {
            let one = Rows {
                s: &rows.s[r..r + 1],
                x: &rows.x[r * d..(r + 1) * d],
                f: &mut rows.f[r * d..(r + 1) * d],
                log_p: rows.log_p.as_deref_mut().map(|l| &mut l[r..r + 1]),
                div: None,
                log_norm: rows.log_norm,
            };
            power_general::<W, false, R>(p, soa, d, one);
            return;
        };
        let mut w = [0.0; LANES];
        w[0] = sums.w;
        let mv: Vec<V> = sums
            .m
            .iter()
            .map(|&v| {
                let mut a = [0.0; LANES];
                a[0] = v;
                a
            })
            .collect();
        let lanes = RowSums {
            w: &w,
            m: &mv,
            g: &[],
            fg: &[0.0; LANES],
        };
        finish_row(p, d, r, sums.c, 1.0, lanes, &mut rows);
    });
}
