//! The Gaussian law of EDM and the linear path on the product path: its [`Law`] and
//! the dispatch to AVX-512 or AVX2 code.

// Lane loops `for l in 0..LANES` index several fixed-size arrays at once on purpose.
#![allow(clippy::needless_range_loop)]

use super::{product, Law};
use crate::fields::kernel::gauss::{self, GaussRows, RowConst};
use crate::fields::kernel::lanes::V;
use crate::fields::kernel::laws::{Gauss, GaussRow, LaneLaw as _};
use crate::fields::kernel::prune::Projection;
use crate::fields::kernel::Out;
use crate::fields::noise::Noise;
use crate::fields::schedule::Schedule;
use crate::fields::source::Source;

/// The Gaussian law `exp(-(d2 - c) / (2 sigma^2))` under either schedule; `W`:
/// weighted data, `F`: fused multiply-adds in the exponential (see `vexp`).
struct GaussLaw<const W: bool, const F: bool>(Schedule);

impl<const W: bool, const F: bool> Law for GaussLaw<W, F> {
    type Row = RowConst<GaussRow>;
    #[inline(always)]
    fn row(&self, s: f64) -> RowConst<GaussRow> {
        let mut rc = RowConst::new(self.0, s, 1.0);
        rc.law = Gauss.row(rc.sg, 0.0);
        rc
    }
    #[inline(always)]
    fn alpha(rc: &RowConst<GaussRow>) -> f64 {
        rc.a
    }
    #[inline(always)]
    fn key(_: &RowConst<GaussRow>, d2: f64) -> f64 {
        d2
    }
    #[inline(always)]
    fn rescale(&self, rc: &RowConst<GaussRow>, new: f64, old: f64) -> f64 {
        ((new - old) * rc.law.inv2).exp()
    }
    #[inline(always)]
    fn weights(&self, rc: &RowConst<GaussRow>, key: &V, c: f64, pi: &[f64], valid: usize) -> V {
        let mut rc = *rc;
        rc.law = Gauss.row(rc.sg, c);
        rc.weights::<Gauss, W, false, F>(&Gauss, key, pi, valid).0
    }
    #[inline(always)]
    fn weight_error(&self, rc: &RowConst<GaussRow>, err: f64, _: f64) -> f64 {
        2.0 * err * rc.law.inv2
    }
    #[inline(always)]
    fn exact_below(&self, _: &RowConst<GaussRow>, _: f64) -> Option<f64> {
        None
    }
    #[inline(always)]
    fn negligible_key(&self, rc: &RowConst<GaussRow>, c: f64, ln_ratio: f64) -> f64 {
        // exp(-(t - c) / (2 sigma^2)) <= e^{-ln_ratio}
        c + ln_ratio / rc.law.inv2
    }
    #[inline(always)]
    fn weight_one(&self, rc: &RowConst<GaussRow>, key: f64, c: f64) -> f64 {
        ((c - key) * rc.law.inv2).exp()
    }
}

/// The product path of the Gaussian kernel (no divergence: the caller routes
/// divergence requests to the coordinate-wise kernel). Rows that fail the
/// cancellation test go to `coordinatewise` one by one. Dispatched at run time to
/// code compiled for AVX-512 or AVX2 with FMA, as the vectorised Gaussian kernel.
#[allow(clippy::too_many_arguments)]
pub(in crate::fields::kernel) fn gauss_gemm(
    kernel: &Noise,
    sch: Schedule,
    src: &Source,
    s: &[f64],
    x: &[f64],
    out: Out,
    coordinatewise: fn(&Noise, Schedule, &Source, &[f64], &[f64], Out),
    proj: Option<&Projection>,
) {
    debug_assert!(out.div.is_none());
    let rows = GaussRows::new(kernel, src.soa(), sch, s, x, out);
    let job = GaussJob {
        kernel,
        src,
        coordinatewise,
        proj,
    };
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx512f") && has!("fma") {
            // SAFETY: the CPU has AVX-512F and FMA (checked just above).
            unsafe { gauss_gemm_avx512(job, rows) };
            return;
        }
        if has!("avx2") && has!("fma") {
            // SAFETY: the CPU has AVX2 and FMA (checked just above).
            unsafe { gauss_gemm_avx2(job, rows) };
            return;
        }
    }
    gauss_gemm_rows::<false>(job, rows);
}

/// What the Gaussian product path needs besides the rows.
#[derive(Clone, Copy)]
struct GaussJob<'a> {
    kernel: &'a Noise,
    src: &'a Source,
    coordinatewise: fn(&Noise, Schedule, &Source, &[f64], &[f64], Out),
    proj: Option<&'a Projection>,
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn gauss_gemm_avx512(job: GaussJob, rows: GaussRows) {
    gauss_gemm_rows::<true>(job, rows);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn gauss_gemm_avx2(job: GaussJob, rows: GaussRows) {
    gauss_gemm_rows::<true>(job, rows);
}

#[inline(always)]
fn gauss_gemm_rows<const F: bool>(job: GaussJob, rows: GaussRows) {
    if job.src.soa().uniform {
        gauss_law::<false, F>(job, rows);
    } else {
        gauss_law::<true, F>(job, rows);
    }
}

#[inline(always)]
fn gauss_law<const W: bool, const F: bool>(job: GaussJob, mut rows: GaussRows) {
    let (src, d) = (job.src, job.src.dim());
    let (s, x) = (rows.s, rows.x);
    let law = GaussLaw::<W, F>(rows.sch);
    product(
        &law,
        src.soa(),
        src.means(),
        d,
        s,
        x,
        job.proj,
        |r, sums| match sums {
            Some(sums) => gauss::finish_sums(d, r, sums.c, sums.w, sums.m, &mut rows),
            None => {
                let out = Out {
                    f: &mut rows.out.f[r * d..(r + 1) * d],
                    log_p: rows.out.log_p.as_deref_mut().map(|l| &mut l[r..r + 1]),
                    div: None,
                };
                let (sr, xr) = (&s[r..r + 1], &x[r * d..(r + 1) * d]);
                (job.coordinatewise)(job.kernel, rows.sch, src, sr, xr, out);
            }
        },
    );
}
