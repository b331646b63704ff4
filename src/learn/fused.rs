//! The layers' elementwise work as fused candle operations for `f32` tensors on the
//! CPU: `silu(z + b)` for the hidden layers and `z + b` for the last, with the bias
//! `b` broadcast over the rows and SiLU `x sigma(x)`, `sigma(x) = 1 / (1 + e^{-x})`.
//!
//! candle's own path (a broadcast add, then `silu`) calls the C library's `expf` once
//! per element, builds SiLU's derivative from six further tensor operations (each a
//! full pass over the activations and an allocation), and sums the bias gradient over
//! the rows with a strided reduction; in the small MLPs of this crate these cost more
//! than the matrix products. Here each forward pass is one loop, and the backward
//! pass is one loop for `g silu'(z + b)`, `silu'(x) = sigma(x) (1 + x e^{-x} sigma(x))`
//! (the form of `1 - sigma` that does not cancel for large `x`), and one for the
//! column sums of the bias gradient, in row order. The exponential is written so
//! that the compiler turns it into SIMD instructions (Cody-Waite range reduction
//! `x = k ln 2 + r`, `|r| <= ln 2 / 2`, a degree-7 Taylor polynomial for `e^r`, and
//! `2^k` put into the exponent bits). Autodiff stays candle's: only the derivatives
//! of these elementwise functions are written out. No result depends on the thread
//! count or on another row, and no fused multiply-add is used, so the AVX2 loops give
//! the same bits as the portable ones.
//!
//! Accuracy (tested against `f64`): `e^x` within 2 ulp of the correctly rounded value
//! for `x` in `[-87, 88]`; outside, the argument is clamped, so `sigma(x)` is exact
//! to `f32` precision for `x > 87` (it rounds to 1) and is below `1e-37` instead of
//! `e^x` for `x < -88`, an absolute error of SiLU below `|x| 1e-37`.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, CustomOp3, Layout, Shape, Tensor};

/// Clamp of the exponential's argument: `2^k` stays a normal `f32` for
/// `k = round(x / ln 2)` in `[-126, 127]`.
const EXP_LO: f32 = -87.0;
const EXP_HI: f32 = 88.0;

/// `e^x` for `f32`, without branches (see the module doc for its accuracy).
#[inline(always)]
fn exp(x: f32) -> f32 {
    // 1.5 * 2^23: adding and subtracting it rounds to the nearest integer (ties to
    // even) for |v| < 2^22, in plain SSE2 instructions.
    const ROUND: f32 = 12_582_912.0;
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split so that k * LN2_HI is exact for |k| < 2^9.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.clamp(EXP_LO, EXP_HI);
    let v = x * LOG2E + ROUND;
    let k = v - ROUND;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0
                        + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    // k as an integer from the low bits of v (no float-to-int conversion, which
    // would not vectorise): bits(v) - bits(ROUND) = k for |k| < 2^22.
    let ki = (v.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let scale = f32::from_bits((ki.wrapping_add(127) as u32) << 23);
    p * scale
}

#[inline(always)]
fn silu_loop(v: &mut [f32]) {
    for v in v.iter_mut() {
        let x = *v;
        *v = x / (1.0 + exp(-x));
    }
}

#[inline(always)]
fn silu_grad_loop(v: &mut [f32], g: &[f32]) {
    for (v, &g) in v.iter_mut().zip(g) {
        let x = *v;
        // 1 - sigma(x) = e^{-x} sigma(x), without the cancellation of 1 - s.
        let e = exp(-x);
        let s = 1.0 / (1.0 + e);
        *v = g * (s * (1.0 + x * (e * s)));
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn silu_avx2(v: &mut [f32]) {
    silu_loop(v)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn silu_grad_avx2(v: &mut [f32], g: &[f32]) {
    silu_grad_loop(v, g)
}

/// `v <- silu(v)` elementwise.
pub fn silu_in_place(v: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above).
        return unsafe { silu_avx2(v) };
    }
    silu_loop(v)
}

/// `v <- g silu'(v)` elementwise (`g` as long as `v`).
pub fn silu_grad_in_place(v: &mut [f32], g: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above).
        return unsafe { silu_grad_avx2(v, g) };
    }
    silu_grad_loop(v, g)
}

/// The contiguous `f32` values of a storage, or an error naming the operation.
fn f32_slice<'a>(op: &str, s: &'a CpuStorage, l: &Layout) -> candle_core::Result<&'a [f32]> {
    let CpuStorage::F32(v) = s else {
        candle_core::bail!("{op}: only f32 tensors are supported");
    };
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&v[a..b]),
        None => candle_core::bail!("{op}: the input must be contiguous"),
    }
}

/// The width of an `n x w` activation whose bias has `b_len` entries.
fn width(op: &str, z: &Layout, b_len: usize) -> candle_core::Result<usize> {
    match z.shape().dims() {
        [_, w] if *w == b_len && *w > 0 => Ok(*w),
        dims => candle_core::bail!("{op}: activations {dims:?} do not match a bias of {b_len}"),
    }
}

/// `z + b`, the bias added to every row.
fn add_bias(z: &[f32], b: &[f32], w: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(z.len());
    for row in z.chunks_exact(w) {
        out.extend(row.iter().zip(b).map(|(&z, &b)| z + b));
    }
    out
}

/// The forward pass `silu(z + b)` (`ACT`) or `z + b`; arguments `z` (`n x w`) and
/// `b` (`w`).
struct BiasAct<const ACT: bool>;

impl<const ACT: bool> CustomOp2 for BiasAct<ACT> {
    fn name(&self) -> &'static str {
        if ACT {
            "bias-silu"
        } else {
            "bias-add"
        }
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (z, b) = (
            f32_slice(self.name(), s1, l1)?,
            f32_slice(self.name(), s2, l2)?,
        );
        let w = width(self.name(), l1, b.len())?;
        let mut out = add_bias(z, b, w);
        if ACT {
            silu_in_place(&mut out);
        }
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        z: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let gz = if ACT {
            z.contiguous()?
                .apply_op3_no_bwd(&b.contiguous()?, &grad, &BiasSiluGrad)?
        } else {
            grad
        };
        let gb = gz.apply_op1_no_bwd(&ColumnSums)?;
        Ok((Some(gz), Some(gb)))
    }
}

/// `g silu'(z + b)`: arguments `z`, `b`, `g`.
struct BiasSiluGrad;

impl CustomOp3 for BiasSiluGrad {
    fn name(&self) -> &'static str {
        "bias-silu-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (z, b, g) = (
            f32_slice(self.name(), s1, l1)?,
            f32_slice(self.name(), s2, l2)?,
            f32_slice(self.name(), s3, l3)?,
        );
        let w = width(self.name(), l1, b.len())?;
        if l3.shape() != l1.shape() {
            candle_core::bail!("{}: gradient shape {:?}", self.name(), l3.shape());
        }
        let mut out = add_bias(z, b, w);
        silu_grad_in_place(&mut out, g);
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// The sums over the rows of an `n x w` tensor, accumulated in row order.
struct ColumnSums;

impl CustomOp1 for ColumnSums {
    fn name(&self) -> &'static str {
        "column-sums"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = f32_slice(self.name(), s, l)?;
        let &[_, w] = l.shape().dims() else {
            candle_core::bail!("{}: expected a matrix, got {:?}", self.name(), l.shape());
        };
        let mut acc = vec![0.0f32; w];
        for row in g.chunks_exact(w.max(1)) {
            for (a, v) in acc.iter_mut().zip(row) {
                *a += v;
            }
        }
        Ok((CpuStorage::F32(acc), Shape::from(w)))
    }
}

/// `silu(z + b)` for `z` of shape `n x w` and a bias `b` of length `w`,
/// differentiable in both by candle's autodiff.
pub fn bias_silu(z: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
    z.contiguous()?.apply_op2(&b.contiguous()?, BiasAct::<true>)
}

/// `z + b` (the bias broadcast over the rows), differentiable in both.
pub fn bias_add(z: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
    z.contiguous()?
        .apply_op2(&b.contiguous()?, BiasAct::<false>)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    /// Distance in units in the last place between two finite `f32` of one sign.
    fn ulps(a: f32, b: f32) -> u32 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
    }

    #[test]
    fn exp_is_within_two_ulp_on_its_range() {
        let n = 200_001;
        let mut worst = 0;
        for i in 0..n {
            let x = EXP_LO + (EXP_HI - EXP_LO) * i as f32 / (n - 1) as f32;
            let want = (f64::from(x)).exp() as f32;
            worst = worst.max(ulps(exp(x), want));
        }
        for x in [-1e-30f32, 0.0, 1e-30, 0.5, -0.5, 1.0, -1.0] {
            worst = worst.max(ulps(exp(x), (f64::from(x)).exp() as f32));
        }
        assert!(worst <= 2, "worst error {worst} ulp");
        assert!(exp(-1000.0) > 0.0 && exp(-1000.0) < 1e-37);
        assert!(exp(1000.0).is_finite());
        assert!(exp(f32::NAN).is_nan());
    }

    /// SiLU and `g silu'` against `f64` closed forms, and the dispatched (AVX2) loops
    /// against the portable ones bit for bit.
    #[test]
    fn silu_and_its_derivative_match_closed_forms() {
        let xs: Vec<f32> = (0..4001)
            .map(|i| -40.0 + 80.0 * i as f32 / 4000.0)
            .chain([0.0, -0.0, 1e-20, -1e-20, 87.5, -87.5, 200.0, -200.0])
            .collect();
        let gs: Vec<f32> = xs.iter().map(|x| 0.25 + (x * 0.37).sin()).collect();
        let (mut y, mut dy) = (xs.clone(), xs.clone());
        silu_in_place(&mut y);
        silu_grad_in_place(&mut dy, &gs);
        for ((&x, &g), (&y, &dy)) in xs.iter().zip(&gs).zip(y.iter().zip(&dy)) {
            let (x, g) = (f64::from(x), f64::from(g));
            let s = 1.0 / (1.0 + (-x).exp());
            let want = x * s;
            let dwant = g * s * (1.0 + x * (1.0 - s));
            let tol = |w: f64| 4.0 * f64::from(f32::EPSILON) * w.abs() + 1e-35;
            assert!(
                (f64::from(y) - want).abs() <= tol(want),
                "silu({x}) = {y}, want {want}"
            );
            // near silu's minimum (x = -1.278) `1 + x (1 - s)` cancels: the bound
            // is on the scale of its terms
            let scale = g * s * (1.0 + x.abs() * (1.0 - s));
            assert!(
                (f64::from(dy) - dwant).abs() <= tol(scale),
                "silu'({x}) g = {dy}, want {dwant}"
            );
        }
        let (mut y2, mut dy2) = (xs.clone(), xs.clone());
        silu_loop(&mut y2);
        silu_grad_loop(&mut dy2, &gs);
        assert!(y.iter().zip(&y2).all(|(a, b)| a.to_bits() == b.to_bits()));
        assert!(dy.iter().zip(&dy2).all(|(a, b)| a.to_bits() == b.to_bits()));
    }

    /// The gradients through candle's autodiff of
    /// `sum(c1 silu(z + b)) + sum(c2 (z + b))` equal central finite differences of
    /// the `f64` closed form, for `z` and `b`; the forward passes equal candle's own
    /// broadcast add and `silu`.
    #[test]
    fn autodiff_through_the_fused_ops_matches_finite_differences() {
        let dev = Device::Cpu;
        let (n, w) = (5, 7);
        let zv: Vec<f32> = (0..n * w).map(|i| -6.0 + 12.0 * i as f32 / 34.0).collect();
        let bv: Vec<f32> = (0..w).map(|j| 0.3 * j as f32 - 1.0).collect();
        let c1: Vec<f32> = (0..n * w).map(|i| 1.0 + 0.01 * i as f32).collect();
        let c2: Vec<f32> = (0..n * w).map(|i| 0.5 - 0.02 * i as f32).collect();
        let z = Var::from_vec(zv.clone(), (n, w), &dev).unwrap();
        let b = Var::from_vec(bv.clone(), w, &dev).unwrap();
        let t = |v: &[f32]| Tensor::from_vec(v.to_vec(), (n, w), &dev).unwrap();
        let act = bias_silu(z.as_tensor(), b.as_tensor()).unwrap();
        let lin = bias_add(z.as_tensor(), b.as_tensor()).unwrap();
        let plain = z.as_tensor().broadcast_add(b.as_tensor()).unwrap();
        let flat = |x: &Tensor| -> Vec<f32> { x.flatten_all().unwrap().to_vec1().unwrap() };
        assert_eq!(flat(&lin), flat(&plain));
        for (a, b) in flat(&act).iter().zip(&flat(&plain.silu().unwrap())) {
            assert!(
                (a - b).abs() <= 4.0 * f32::EPSILON * b.abs().max(1e-30),
                "{a} vs {b}"
            );
        }
        let loss = ((act * t(&c1)).unwrap().sum_all().unwrap()
            + (lin * t(&c2)).unwrap().sum_all().unwrap())
        .unwrap();
        let grads = loss.backward().unwrap();
        let gz = flat(grads.get(z.as_tensor()).unwrap());
        let gb = flat(grads.get(b.as_tensor()).unwrap());
        // d/dv of c1 silu(v) + c2 v by a central difference in f64
        let dterm = |i: usize, v: f64| {
            let f = |v: f64| f64::from(c1[i]) * v / (1.0 + (-v).exp()) + f64::from(c2[i]) * v;
            let h = 1e-5;
            (f(v + h) - f(v - h)) / (2.0 * h)
        };
        let close =
            |got: f32, want: f64| (f64::from(got) - want).abs() <= 1e-5 * want.abs().max(1.0);
        let mut gb_want = vec![0.0; w];
        for r in 0..n {
            for j in 0..w {
                let i = r * w + j;
                let d = dterm(i, f64::from(zv[i] + bv[j]));
                assert!(close(gz[i], d), "dz[{r},{j}] = {} vs {d}", gz[i]);
                gb_want[j] += d;
            }
        }
        for j in 0..w {
            assert!(
                close(gb[j], gb_want[j]),
                "db[{j}] = {} vs {}",
                gb[j],
                gb_want[j]
            );
        }
    }

    #[test]
    fn mismatched_shapes_and_types_are_errors() {
        let dev = Device::Cpu;
        let z = Tensor::zeros((3, 4), candle_core::DType::F32, &dev).unwrap();
        let b = Tensor::zeros(5, candle_core::DType::F32, &dev).unwrap();
        assert!(bias_silu(&z, &b).is_err());
        let z64 = Tensor::zeros((3, 5), candle_core::DType::F64, &dev).unwrap();
        assert!(bias_add(&z64, &b).is_err());
    }
}
