//! The vectorised power-law kernel (PFGM and PFGM++ under the ray schedule).
//!
//! An empirical source, the ray schedule (`alpha = 1`, `sigma = s`) and the law
//! `(1 + |u|^2)^{-e}` with `2e` a whole number: the hot loop of PFGM sampling. The
//! weight of point `i` is `(pi_i / pi_ref) (c / t_i)^e` with `t_i = s^2 + |x - y_i|^2`
//! and `c` the row's reference (`s^2` when that is safe, else the nearest point's
//! `t`), so every kernel ratio is at most one; `q^e` is a square root (odd `2e`) and
//! repeated squaring, with no `exp` or `log` per pair. `d <= 4` keeps every sum of a
//! row in registers; any other `d` goes through a weight buffer per tile, and from
//! [`super::GEMM_MIN_D`] on (without the divergence) through the matrix-product path
//! of the `gemm` module. The code is compiled for AVX-512, AVX2 and portable and
//! chosen at run time (see the parent module for the bounds between them).

// Lane loops `for l in 0..LANES` index several fixed-size arrays at once on purpose:
// that is the form the vectoriser turns into SIMD instructions.
#![allow(clippy::needless_range_loop)]

use super::lanes::*;
use super::prune::Projection;
use super::ROWS;
use crate::fields::noise::{Noise, NoiseKind};
use crate::fields::schedule::Schedule;
use crate::fields::source::Source;

/// `q^(n2/2)` as `q^half` by repeated squaring, times `sqrt(q)` when `n2` is odd.
#[derive(Debug, Clone, Copy)]
pub(super) struct HalfPow {
    pub(super) half: u32,
    pub(super) odd: bool,
}

impl HalfPow {
    /// The exponent `e = n2 / 2`.
    pub(super) fn exponent(self) -> f64 {
        0.5 * (2 * self.half + u32::from(self.odd)) as f64
    }

    /// `q^e` for one number (the same operations as [`half_pow`]).
    pub(super) fn pow_scalar(self, q: f64) -> f64 {
        half_pow(self, [q; LANES], &[q.sqrt(); LANES])[0]
    }
}

/// What the rows of a vectorised evaluation need besides the data.
pub(super) struct Rows<'a> {
    pub(super) s: &'a [f64],
    pub(super) x: &'a [f64],
    pub(super) f: &'a mut [f64],
    pub(super) log_p: Option<&'a mut [f64]>,
    pub(super) div: Option<&'a mut [f64]>,
    /// `ln` of the kernel's normalising constant.
    pub(super) log_norm: f64,
}

/// The exponent `2e` when the vectorised power-law path applies: an empirical
/// source under the ray schedule and the law `(1 + r^2)^{-e}` with `2e` a whole
/// number (PFGM, and PFGM++ with a whole `D`).
pub(super) fn fast_power_exponent(kernel: &Noise, sch: Schedule) -> Option<u32> {
    if sch != Schedule::Ray {
        return None;
    }
    match kernel.kind() {
        NoiseKind::PowerLaw { exponent } => {
            let n2 = 2.0 * exponent;
            #[allow(clippy::float_cmp)] // exactly whole exponents only
            let whole = n2 == n2.round();
            (whole && (1.0..=4096.0).contains(&n2)).then_some(n2 as u32)
        }
        _ => None,
    }
}

/// The vectorised power-law path: dispatches at run time to code compiled for
/// AVX-512 or AVX2 when the CPU has them. The AVX2 and portable paths perform the
/// same IEEE operations in the same order (no fused multiply-add) and give the same
/// bits; the AVX-512 path computes `1/sqrt(t)` from a hardware estimate with Newton
/// steps and fused multiply-adds, and differs from them by rounding (bounds in the
/// module docs).
pub(super) fn eval_power(n2: u32, src: &Source, rows: Rows) {
    let p = HalfPow {
        half: n2 / 2,
        odd: n2 % 2 == 1,
    };
    let soa = src.soa();
    let d = src.dim();
    // the pruning index, where the product path may run
    let proj = if d >= super::GEMM_MIN_D && rows.div.is_none() {
        src.projection()
    } else {
        None
    };
    // the stored weights are relative to the largest one
    let rows = Rows {
        log_norm: rows.log_norm + soa.ln_pi_max,
        ..rows
    };
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked just above).
            unsafe { power_avx512(p, soa, src.means(), proj, d, rows) };
            return;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            unsafe { power_avx2(p, soa, src.means(), proj, d, rows) };
            return;
        }
    }
    power_rows::<false>(p, soa, src.means(), proj, d, rows);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn power_avx512(
    p: HalfPow,
    soa: &Soa,
    ys: &[f64],
    proj: Option<&Projection>,
    d: usize,
    rows: Rows,
) {
    power_rows::<true>(p, soa, ys, proj, d, rows);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn power_avx2(
    p: HalfPow,
    soa: &Soa,
    ys: &[f64],
    proj: Option<&Projection>,
    d: usize,
    rows: Rows,
) {
    power_rows::<false>(p, soa, ys, proj, d, rows);
}

#[inline(always)]
pub(super) fn power_rows<const R: bool>(
    p: HalfPow,
    soa: &Soa,
    ys: &[f64],
    proj: Option<&Projection>,
    d: usize,
    rows: Rows,
) {
    let dv = rows.div.is_some();
    macro_rules! small {
        ($d:literal) => {
            match (soa.uniform, dv) {
                (true, false) => power_small::<$d, false, false, R>(p, soa, rows),
                (false, false) => power_small::<$d, true, false, R>(p, soa, rows),
                (true, true) => power_small::<$d, false, true, R>(p, soa, rows),
                (false, true) => power_small::<$d, true, true, R>(p, soa, rows),
            }
        };
    }
    match d {
        1 => small!(1),
        2 => small!(2),
        3 => small!(3),
        4 => small!(4),
        _ if d >= super::GEMM_MIN_D && !dv => {
            if soa.uniform {
                super::gemm::power_gemm::<false, R>(p, soa, ys, proj, d, rows)
            } else {
                super::gemm::power_gemm::<true, R>(p, soa, ys, proj, d, rows)
            }
        }
        _ => match (soa.uniform, dv) {
            (true, false) => power_general::<false, false, R>(p, soa, d, rows),
            (false, false) => power_general::<true, false, R>(p, soa, d, rows),
            (true, true) => power_general::<false, true, R>(p, soa, d, rows),
            (false, true) => power_general::<true, true, R>(p, soa, d, rows),
        },
    }
}

/// `q^(n2/2)` lane by lane (`sq = sqrt(q)`, used when `n2` is odd).
#[inline(always)]
pub(super) fn half_pow(p: HalfPow, q: V, sq: &V) -> V {
    if p.half == 1 && p.odd {
        // PFGM in d = 2 (and PFGM++ with d + D = 3)
        let mut w = [0.0; LANES];
        for l in 0..LANES {
            w[l] = q[l] * sq[l];
        }
        return w;
    }
    let mut acc = if p.odd { *sq } else { [1.0; LANES] };
    let mut base = q;
    let mut e = p.half;
    while e > 0 {
        if e & 1 == 1 {
            for l in 0..LANES {
                acc[l] *= base[l];
            }
        }
        e >>= 1;
        if e > 0 {
            for l in 0..LANES {
                base[l] *= base[l];
            }
        }
    }
    acc
}

/// The AVX-512 branch of [`chunk_weights`]: `q = c / t` into `q` and `q^e` returned,
/// through [`ratio_zmm`] and [`half_pow_zmm`]. Only instantiated in the AVX-512 path
/// (`R = true`, reached from `power_avx512` after the CPU was checked for AVX-512F).
#[inline(always)]
fn ratio_pow_avx512(p: HalfPow, t: &V, c: f64, q: &mut V) -> V {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm512_loadu_pd, _mm512_set1_pd, _mm512_storeu_pd};
        let mut w = [0.0; LANES];
        // SAFETY: see above (the CPU has AVX-512F); the pointers are those of arrays
        // of exactly 8 `f64`.
        unsafe {
            let (cz, scz) = (_mm512_set1_pd(c), _mm512_set1_pd(c.sqrt()));
            let (qz, sqz) = ratio_zmm(cz, scz, _mm512_loadu_pd(t.as_ptr()));
            _mm512_storeu_pd(q.as_mut_ptr(), qz);
            _mm512_storeu_pd(w.as_mut_ptr(), half_pow_zmm(p, qz, sqz));
        }
        w
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        // never reached (no AVX-512 path off x86-64); the portable operations
        let mut sq = [0.0; LANES];
        for l in 0..LANES {
            q[l] = c / t[l];
            sq[l] = q[l].sqrt();
        }
        half_pow(p, *q, &sq)
    }
}

/// `q = c / t` and `sqrt(q)` on one AVX-512 register with no division or square root
/// per lane: `y = 1/sqrt(t)` from the 14-bit hardware estimate (`vrsqrt14pd`) refined
/// by two Newton steps with fused multiply-adds, then `q = (c y) y` and
/// `sqrt(q) = sqrt(c) y`; `c` and `sqrt(c)` come broadcast. For code that runs only
/// on CPUs with AVX-512F (the bounds on its rounding: module docs of `kernel`).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(super) fn ratio_zmm(
    c: std::arch::x86_64::__m512d,
    sqrt_c: std::arch::x86_64::__m512d,
    t: std::arch::x86_64::__m512d,
) -> (std::arch::x86_64::__m512d, std::arch::x86_64::__m512d) {
    use std::arch::x86_64::{
        _mm512_fmadd_pd, _mm512_fnmadd_pd, _mm512_mul_pd, _mm512_rsqrt14_pd, _mm512_set1_pd,
    };
    // SAFETY: the callers run only on CPUs with AVX-512F (see above)
    unsafe {
        let (one, half) = (_mm512_set1_pd(1.0), _mm512_set1_pd(0.5));
        let mut y = _mm512_rsqrt14_pd(t);
        for _ in 0..2 {
            let h = _mm512_mul_pd(t, y);
            let r = _mm512_fnmadd_pd(h, y, one);
            y = _mm512_fmadd_pd(_mm512_mul_pd(half, y), r, y);
        }
        (
            _mm512_mul_pd(_mm512_mul_pd(c, y), y),
            _mm512_mul_pd(sqrt_c, y),
        )
    }
}

/// [`half_pow`] on one AVX-512 register (`sq = sqrt(q)`); for code that runs only on
/// CPUs with AVX-512F.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(super) fn half_pow_zmm(
    p: HalfPow,
    q: std::arch::x86_64::__m512d,
    sq: std::arch::x86_64::__m512d,
) -> std::arch::x86_64::__m512d {
    use std::arch::x86_64::{_mm512_mul_pd, _mm512_set1_pd};
    // SAFETY: the callers run only on CPUs with AVX-512F (see above)
    unsafe {
        if p.half == 1 && p.odd {
            return _mm512_mul_pd(q, sq);
        }
        let mut acc = if p.odd { sq } else { _mm512_set1_pd(1.0) };
        let (mut base, mut e) = (q, p.half);
        while e > 0 {
            if e & 1 == 1 {
                acc = _mm512_mul_pd(acc, base);
            }
            e >>= 1;
            if e > 0 {
                base = _mm512_mul_pd(base, base);
            }
        }
        acc
    }
}

/// The ratios `q_i = c / t_i` and weights `(pi_i / pi_ref) q_i^e` of one chunk;
/// lanes at or past `valid` get weight zero.
#[inline(always)]
pub(super) fn chunk_weights<const W: bool, const R: bool>(
    p: HalfPow,
    t: &V,
    c: f64,
    pi: &[f64],
    inv_pi_ref: f64,
    valid: usize,
) -> (V, V) {
    let mut q = [0.0; LANES];
    let mut w = if R {
        ratio_pow_avx512(p, t, c, &mut q)
    } else {
        let mut sq = [0.0; LANES];
        for l in 0..LANES {
            q[l] = c / t[l];
        }
        if p.odd {
            for l in 0..LANES {
                sq[l] = q[l].sqrt();
            }
        }
        half_pow(p, q, &sq)
    };
    if W {
        for l in 0..LANES {
            w[l] *= pi[l] * inv_pi_ref;
        }
    }
    if valid < LANES {
        for wl in &mut w[valid..] {
            *wl = 0.0;
        }
    }
    (q, w)
}

/// Whether a row may use `c = s^2` as its reference (weights `(s^2 / t_i)^e <= 1`,
/// one pass): true when even the first data point, at `t_probe = s^2 + d2_0`, has a
/// kernel value `(s^2 / t_probe)^e >= e^{-600}`. The largest term is at least that
/// (the nearest point is at most as far), so the sum neither overflows (every term is
/// at most 1) nor loses its leading terms to underflow. Rows that fail (far rows in
/// high dimension) find their nearest data point first (pass 1).
#[inline(always)]
pub(super) fn reference_is_level(p: HalfPow, s2: f64, t_probe: f64) -> bool {
    p.exponent() * (t_probe / s2).ln() < 600.0
}

/// Lane sums of one row.
pub(super) struct RowSums<'a> {
    /// `sum w_i`.
    pub(super) w: &'a V,
    /// `sum w_i y_i`, per coordinate.
    pub(super) m: &'a [V],
    /// `sum w_i q_i (x - y_i)`, per coordinate (with the divergence).
    pub(super) g: &'a [V],
    /// `sum w_i q_i |x - y_i|^2` (with the divergence).
    pub(super) fg: &'a V,
}

/// Velocity, `ln p` and divergence of one row from its lane sums (ray schedule:
/// `f = (x - m) / s`). With `g_i = -2e (x - y_i) / t_i` the score of term `i` and
/// `1 / t_i = q_i / c`, the divergence is
/// `d / s + (sum w_i f_i . g_i - f . sum w_i g_i) / sum w_i` with `f_i = u_i`.
#[inline(always)]
pub(super) fn finish_row(
    p: HalfPow,
    d: usize,
    r: usize,
    c: f64,
    pi_ref: f64,
    sums: RowSums,
    rows: &mut Rows,
) {
    let sr = rows.s[r];
    let w = hsum(sums.w);
    let k = 1.0 / sr;
    for j in 0..d {
        let mj = hsum(&sums.m[j]) / w;
        rows.f[r * d + j] = k * (rows.x[r * d + j] - mj);
    }
    let e = p.exponent();
    if let Some(lp) = rows.log_p.as_deref_mut() {
        lp[r] =
            pi_ref.ln() + rows.log_norm - e * (c / (sr * sr)).ln() - d as f64 * sr.ln() + w.ln();
    }
    if let Some(dv) = rows.div.as_deref_mut() {
        let cg = -2.0 * e / c;
        let mut fgbar = 0.0;
        for j in 0..d {
            fgbar += rows.f[r * d + j] * (cg * hsum(&sums.g[j]));
        }
        let fg = cg * k * hsum(sums.fg);
        dv[r] = d as f64 * k + (fg - fgbar) / w;
    }
}

/// Accumulators of one row in the small-`d` kernel (passed by value so that they
/// stay in registers).
#[derive(Clone, Copy)]
pub(super) struct SmallAcc<const D: usize> {
    pub(super) w: V,
    pub(super) m: [V; D],
    pub(super) g: [V; D],
    pub(super) fg: V,
}

impl<const D: usize> SmallAcc<D> {
    const ZERO: Self = Self {
        w: [0.0; LANES],
        m: [[0.0; LANES]; D],
        g: [[0.0; LANES]; D],
        fg: [0.0; LANES],
    };
}

/// Pass two of the small-`d` kernel over the `LANES` points starting at `k`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) fn small_chunk<const D: usize, const W: bool, const DV: bool, const R: bool>(
    p: HalfPow,
    xr: &[f64; D],
    s2: f64,
    c: f64,
    inv_pi_ref: f64,
    ys: &[&[f64]; D],
    pi: &[f64],
    k: usize,
    valid: usize,
    mut acc: SmallAcc<D>,
) -> SmallAcc<D> {
    let d2 = d2_small::<D>(xr, ys, k);
    let t = plus(s2, &d2);
    let (q, w) = chunk_weights::<W, R>(p, &t, c, &pi[k..k + LANES], inv_pi_ref, valid);
    for l in 0..LANES {
        acc.w[l] += w[l];
    }
    for j in 0..D {
        let y = &ys[j][k..k + LANES];
        for l in 0..LANES {
            acc.m[j][l] += w[l] * y[l];
        }
    }
    if DV {
        let mut wq = [0.0; LANES];
        for l in 0..LANES {
            wq[l] = w[l] * q[l];
            acc.fg[l] += wq[l] * d2[l];
        }
        for j in 0..D {
            let y = &ys[j][k..k + LANES];
            for l in 0..LANES {
                acc.g[j][l] += wq[l] * (xr[j] - y[l]);
            }
        }
    }
    acc
}

/// The vectorised kernel for `d <= 4`: all of a row's sums stay in registers.
#[inline(always)]
pub(super) fn power_small<const D: usize, const W: bool, const DV: bool, const R: bool>(
    p: HalfPow,
    soa: &Soa,
    mut rows: Rows,
) {
    let n = rows.s.len();
    let (m, stride) = (soa.m, soa.stride);
    let ys: [&[f64]; D] = std::array::from_fn(|j| &soa.coords[j * stride..(j + 1) * stride]);
    let m_full = m / LANES * LANES;
    let tile = (TILE_BYTES / (8 * D)) / LANES * LANES;
    let mut xs = [[0.0; D]; ROWS];
    let mut s2 = [0.0; ROWS];
    let mut best = [[0.0; LANES]; ROWS];
    let mut ib = [[0usize; LANES]; ROWS];
    let mut cref = [0.0; ROWS];
    let mut inv_pi_ref = [1.0; ROWS];
    let mut pi_ref = [0.0; ROWS];
    let mut accs = [SmallAcc::<D>::ZERO; ROWS];
    for r0 in (0..n).step_by(ROWS) {
        let nb = ROWS.min(n - r0);
        for b in 0..nb {
            let r = r0 + b;
            xs[b].copy_from_slice(&rows.x[r * D..(r + 1) * D]);
            s2[b] = rows.s[r] * rows.s[r];
            best[b] = [f64::INFINITY; LANES];
            ib[b] = [0; LANES];
            accs[b] = SmallAcc::ZERO;
        }
        // the reference of every row: s^2 when that is safe, else pass 1
        let mut skip = [false; ROWS];
        for b in 0..nb {
            let t = plus(s2[b], &d2_small::<D>(&xs[b], &ys, 0));
            skip[b] = reference_is_level(p, s2[b], t[0]);
        }
        // pass 1: the nearest data point of the other rows (smallest t = s^2 + d2)
        for t0 in (0..m_full).step_by(tile) {
            let t1 = (t0 + tile).min(m_full);
            for b in 0..nb {
                if skip[b] {
                    continue;
                }
                let (mut bb, mut ii) = (best[b], ib[b]);
                for k in (t0..t1).step_by(LANES) {
                    let t = plus(s2[b], &d2_small::<D>(&xs[b], &ys, k));
                    lane_min::<W>(&t, k, LANES, &mut bb, &mut ii);
                }
                best[b] = bb;
                ib[b] = ii;
            }
        }
        for b in 0..nb {
            if skip[b] {
                (cref[b], pi_ref[b], inv_pi_ref[b]) = (s2[b], soa.pi[0], 1.0 / soa.pi[0]);
                continue;
            }
            if m_full < m {
                let t = plus(s2[b], &d2_small::<D>(&xs[b], &ys, m_full));
                lane_min::<W>(&t, m_full, m - m_full, &mut best[b], &mut ib[b]);
            }
            let (c, i) = lane_argmin(&best[b], &ib[b]);
            cref[b] = c;
            pi_ref[b] = soa.pi[if W { i } else { 0 }];
            inv_pi_ref[b] = 1.0 / pi_ref[b];
        }
        // pass 2: the ratio-weighted sums
        macro_rules! run {
            ($b:expr, $k:expr, $valid:expr, $acc:expr) => {{
                let b = $b;
                small_chunk::<D, W, DV, R>(
                    p,
                    &xs[b],
                    s2[b],
                    cref[b],
                    inv_pi_ref[b],
                    &ys,
                    &soa.pi,
                    $k,
                    $valid,
                    $acc,
                )
            }};
        }
        for t0 in (0..m_full).step_by(tile) {
            let t1 = (t0 + tile).min(m_full);
            for b in 0..nb {
                let mut acc = accs[b];
                for k in (t0..t1).step_by(LANES) {
                    acc = run!(b, k, LANES, acc);
                }
                accs[b] = acc;
            }
        }
        if m_full < m {
            for b in 0..nb {
                accs[b] = run!(b, m_full, m - m_full, accs[b]);
            }
        }
        for b in 0..nb {
            let sums = RowSums {
                w: &accs[b].w,
                m: &accs[b].m,
                g: &accs[b].g,
                fg: &accs[b].fg,
            };
            finish_row(p, D, r0 + b, cref[b], pi_ref[b], sums, &mut rows);
        }
    }
}

/// Accumulators of one row in the general kernel, with the tile's weight buffers.
pub(super) struct GeneralAcc<'a> {
    pub(super) w: &'a mut V,
    pub(super) fg: &'a mut V,
    pub(super) m: &'a mut [V],
    pub(super) g: &'a mut [V],
    pub(super) wbuf: &'a mut [f64],
    pub(super) wqbuf: &'a mut [f64],
}

/// Pass two of the general kernel over the points `t0..t1` (the last chunk has
/// `valid_last` real points).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) fn general_tile<const W: bool, const DV: bool, const R: bool>(
    p: HalfPow,
    xr: &[f64],
    s2: f64,
    c: f64,
    inv_pi_ref: f64,
    soa: &Soa,
    t0: usize,
    t1: usize,
    valid_last: usize,
    acc: GeneralAcc,
) {
    let (coords, stride) = (&soa.coords[..], soa.stride);
    let len = t1 - t0;
    for k in (t0..t1).step_by(LANES) {
        let valid = if k + LANES == t1 { valid_last } else { LANES };
        let d2 = d2_dyn(xr, coords, stride, k);
        let t = plus(s2, &d2);
        let (q, w) = chunk_weights::<W, R>(p, &t, c, &soa.pi[k..k + LANES], inv_pi_ref, valid);
        for l in 0..LANES {
            acc.w[l] += w[l];
        }
        acc.wbuf[k - t0..k - t0 + LANES].copy_from_slice(&w);
        if DV {
            let wq = &mut acc.wqbuf[k - t0..k - t0 + LANES];
            for l in 0..LANES {
                wq[l] = w[l] * q[l];
                acc.fg[l] += wq[l] * d2[l];
            }
        }
    }
    for (j, &xj) in xr.iter().enumerate() {
        let yj = &coords[j * stride + t0..j * stride + t1];
        let m = dot4(&acc.wbuf[..len], yj, |y| y);
        for l in 0..LANES {
            acc.m[j][l] += m[l];
        }
        if DV {
            let g = dot4(&acc.wqbuf[..len], yj, |y| xj - y);
            for l in 0..LANES {
                acc.g[j][l] += g[l];
            }
        }
    }
}

/// The vectorised kernel for any `d`: the weights of a tile go to a buffer, then
/// each coordinate's weighted sums run over it.
#[inline(always)]
pub(super) fn power_general<const W: bool, const DV: bool, const R: bool>(
    p: HalfPow,
    soa: &Soa,
    d: usize,
    mut rows: Rows,
) {
    let n = rows.s.len();
    let (m, stride) = (soa.m, soa.stride);
    let coords = &soa.coords[..];
    let m_full = m / LANES * LANES;
    let tile = ((4 * TILE_BYTES / (8 * d)) / LANES * LANES).max(LANES);
    let mut s2 = [0.0; ROWS];
    let mut best = [[0.0; LANES]; ROWS];
    let mut ib = [[0usize; LANES]; ROWS];
    let mut cref = [0.0; ROWS];
    let mut inv_pi_ref = [1.0; ROWS];
    let mut pi_ref = [0.0; ROWS];
    let mut aw = [[0.0; LANES]; ROWS];
    let mut afg = [[0.0; LANES]; ROWS];
    let mut am = vec![[0.0; LANES]; ROWS * d];
    let mut ag = vec![[0.0; LANES]; if DV { ROWS * d } else { 0 }];
    let mut wbuf = vec![0.0; tile];
    let mut wqbuf = vec![0.0; tile];
    for r0 in (0..n).step_by(ROWS) {
        let nb = ROWS.min(n - r0);
        let xb = &rows.x[r0 * d..(r0 + nb) * d];
        for b in 0..nb {
            let sr = rows.s[r0 + b];
            s2[b] = sr * sr;
            best[b] = [f64::INFINITY; LANES];
            ib[b] = [0; LANES];
            aw[b] = [0.0; LANES];
            afg[b] = [0.0; LANES];
        }
        am.fill([0.0; LANES]);
        ag.fill([0.0; LANES]);
        // the reference of every row: s^2 when that is safe, else pass 1
        let mut skip = [false; ROWS];
        for b in 0..nb {
            let t = plus(s2[b], &d2_dyn(&xb[b * d..(b + 1) * d], coords, stride, 0));
            skip[b] = reference_is_level(p, s2[b], t[0]);
        }
        // pass 1: the nearest data point of the other rows
        for t0 in (0..m_full).step_by(tile) {
            let t1 = (t0 + tile).min(m_full);
            for b in 0..nb {
                if skip[b] {
                    continue;
                }
                let xr = &xb[b * d..(b + 1) * d];
                let (mut bb, mut ii) = (best[b], ib[b]);
                for k in (t0..t1).step_by(LANES) {
                    let t = plus(s2[b], &d2_dyn(xr, coords, stride, k));
                    lane_min::<W>(&t, k, LANES, &mut bb, &mut ii);
                }
                best[b] = bb;
                ib[b] = ii;
            }
        }
        for b in 0..nb {
            if skip[b] {
                (cref[b], pi_ref[b], inv_pi_ref[b]) = (s2[b], soa.pi[0], 1.0 / soa.pi[0]);
                continue;
            }
            if m_full < m {
                let xr = &xb[b * d..(b + 1) * d];
                let t = plus(s2[b], &d2_dyn(xr, coords, stride, m_full));
                lane_min::<W>(&t, m_full, m - m_full, &mut best[b], &mut ib[b]);
            }
            let (c, i) = lane_argmin(&best[b], &ib[b]);
            cref[b] = c;
            pi_ref[b] = soa.pi[if W { i } else { 0 }];
            inv_pi_ref[b] = 1.0 / pi_ref[b];
        }
        // pass 2
        macro_rules! tile_sums {
            ($b:expr, $t0:expr, $t1:expr, $valid_last:expr) => {{
                let b = $b;
                let acc = GeneralAcc {
                    w: &mut aw[b],
                    fg: &mut afg[b],
                    m: &mut am[b * d..(b + 1) * d],
                    g: if DV {
                        &mut ag[b * d..(b + 1) * d]
                    } else {
                        &mut []
                    },
                    wbuf: &mut wbuf,
                    wqbuf: &mut wqbuf,
                };
                let xr = &xb[b * d..(b + 1) * d];
                general_tile::<W, DV, R>(
                    p,
                    xr,
                    s2[b],
                    cref[b],
                    inv_pi_ref[b],
                    soa,
                    $t0,
                    $t1,
                    $valid_last,
                    acc,
                );
            }};
        }
        for t0 in (0..m_full).step_by(tile) {
            let t1 = (t0 + tile).min(m_full);
            for b in 0..nb {
                tile_sums!(b, t0, t1, LANES);
            }
        }
        if m_full < m {
            for b in 0..nb {
                tile_sums!(b, m_full, m_full + LANES, m - m_full);
            }
        }
        for b in 0..nb {
            let sums = RowSums {
                w: &aw[b],
                m: &am[b * d..(b + 1) * d],
                g: if DV { &ag[b * d..(b + 1) * d] } else { &[] },
                fg: &afg[b],
            };
            finish_row(p, d, r0 + b, cref[b], pi_ref[b], sums, &mut rows);
        }
    }
}
