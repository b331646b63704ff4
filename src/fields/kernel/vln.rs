//! `ln` and `ln(1 + v)` on a chunk of [`LANES`] numbers, in a form the vectoriser turns
//! into SIMD instructions (no table, no branch; integer operations only on the bits).
//!
//! The algorithm is fdlibm's `e_log.c` (Sun Microsystems, 1993; Muller, *Elementary
//! Functions*, 3rd ed., ch. 11), written lane by lane. Range reduction: `x = 2^k z`
//! with `z` in `[sqrt(1/2), sqrt(2))`, read off the bits: with
//! `u = bits(x) + (bits(1) - bits(sqrt(1/2)))`, the biased exponent of `x` is
//! `u >> 52` and `z` has the bits `(u & (2^52 - 1)) + bits(sqrt(1/2))`, so `z` and `k`
//! come from one integer addition, a mask and a shift (subnormal `x` are first scaled
//! by `2^54`). With `f = z - 1` (exact) and `s = f / (2 + f)`, `|s| <= 0.1716`,
//! `ln z = 2 atanh(s) = f - f^2/2 + s (f^2/2 + R(s^2))`, `R` fdlibm's minimax
//! polynomial of degree 7 in `s^2` (`|R - (2 atanh(s) - 2 s)/s| < 2^-58.45`), and
//! `ln x = k ln2_hi + (f - (f^2/2 - (s (f^2/2 + R) + k ln2_lo)))` with `ln 2` split
//! as in the `vexp` module. fdlibm states an error below one ulp; the tests below
//! measure it against `f64::ln` over the whole range.
//!
//! Domain: every `f64`. `ln(+0) = ln(-0) = -inf`, `ln(+inf) = +inf`, a negative
//! number or a NaN gives NaN, subnormal numbers are exact inputs like any other.
//! `ln1p_lanes(v)` is `ln(u) + (v - (u - 1)) / u` with `u = 1 + v` rounded (the
//! classical correction for the rounding of `1 + v`, exact to first order), for
//! `v >= 0` (the only use here: `ln(1 + e^{-2 rho})`).

// Lane loops `for l in 0..LANES` index several fixed-size arrays at once on purpose.
#![allow(clippy::needless_range_loop)]

use super::lanes::{madd, LANES, V};

/// `ln 2`, head and tail (fdlibm `ln2_hi`, `ln2_lo`).
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
/// fdlibm's `Lg1 .. Lg7`: `R(z) = z (Lg1 + z (Lg2 + ... + z Lg7))`, `z = s^2`.
const LG: [f64; 7] = [
    f64::from_bits(0x3fe5_5555_5555_5593), // 6.666666666666735130e-01
    f64::from_bits(0x3fd9_9999_9997_fa04), // 3.999999999940941908e-01
    f64::from_bits(0x3fd2_4924_9422_9359), // 2.857142874366239149e-01
    f64::from_bits(0x3fcc_71c5_1d8e_78af), // 2.222219843214978396e-01
    f64::from_bits(0x3fc7_4664_96cb_03de), // 1.818357216161805012e-01
    f64::from_bits(0x3fc3_9a09_d078_c69f), // 1.531383769920937332e-01
    f64::from_bits(0x3fc2_f112_df3e_5244), // 1.479819860511658591e-01
];
/// The bits of `sqrt(1/2)` (rounded down: `z` stays below `sqrt(2)`).
const SQRT_HALF_BITS: u64 = 0x3fe6_a09e_667f_3bcd;
/// `bits(1) - bits(sqrt(1/2))`.
const DELTA: u64 = 0x3ff0_0000_0000_0000 - SQRT_HALF_BITS;
const MANT: u64 = (1 << 52) - 1;
/// `2^52`: its bits or-ed with a small integer `n` give `2^52 + n`.
const TWO52: f64 = 4_503_599_627_370_496.0;
/// `2^54`, the scale of subnormal arguments.
const TWO54: f64 = 18_014_398_509_481_984.0;

/// `ln x` lane by lane (module docs: domain and accuracy); `F`: with fused
/// multiply-adds in the polynomial (for CPUs that have them).
#[inline(always)]
#[allow(clippy::float_cmp)] // the exact special values 0 and inf
pub(super) fn ln_lanes<const F: bool>(x: &V) -> V {
    let mut out = [0.0; LANES];
    for l in 0..LANES {
        let xl = x[l];
        // subnormal (and zero) arguments scaled into the normal range
        let sub = xl < f64::MIN_POSITIVE;
        let xs = if sub { xl * TWO54 } else { xl };
        let u = xs.to_bits().wrapping_add(DELTA);
        let z = f64::from_bits((u & MANT) + SQRT_HALF_BITS);
        // k = (u >> 52) - 1023 (- 54), through the bits of 2^52 + (u >> 52)
        let kb = f64::from_bits(TWO52.to_bits() | ((u >> 52) & 0x7ff)) - TWO52;
        let k = kb - if sub { 1023.0 + 54.0 } else { 1023.0 };
        let f = z - 1.0;
        let s = f / (2.0 + f);
        let zz = s * s;
        let w = zz * zz;
        // fdlibm's split into odd and even terms (two independent chains)
        let t1 = w * madd::<F>(w, madd::<F>(w, LG[5], LG[3]), LG[1]);
        let t2 = zz * madd::<F>(w, madd::<F>(w, madd::<F>(w, LG[6], LG[4]), LG[2]), LG[0]);
        let r = t2 + t1;
        let hfsq = 0.5 * f * f;
        let v = k * LN2_HI - ((hfsq - madd::<F>(s, hfsq + r, k * LN2_LO)) - f);
        out[l] = if xl > 0.0 && xl < f64::INFINITY {
            v
        } else if xl == 0.0 {
            f64::NEG_INFINITY
        } else if xl == f64::INFINITY {
            f64::INFINITY
        } else {
            f64::NAN
        };
    }
    out
}

/// `ln(1 + v)` lane by lane for `v >= 0` (or `+inf`; NaN gives NaN).
#[inline(always)]
pub(super) fn ln1p_lanes<const F: bool>(v: &V) -> V {
    let mut u = [0.0; LANES];
    for l in 0..LANES {
        u[l] = 1.0 + v[l];
    }
    let mut out = ln_lanes::<F>(&u);
    for l in 0..LANES {
        // v - (u - 1) is exact; a finite correction only where u is finite
        let c = (v[l] - (u[l] - 1.0)) / u[l];
        if u[l] < f64::INFINITY {
            out[l] += c;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng as _;

    fn ln1(x: f64) -> f64 {
        let (a, b) = (
            ln_lanes::<false>(&[x; LANES])[0],
            ln_lanes::<true>(&[x; LANES])[0],
        );
        assert!(a.to_bits() == b.to_bits() || (a - b).abs() <= 2.0 * f64::EPSILON * a.abs());
        a
    }

    /// Distance in ulp between two finite numbers of the same sign.
    #[allow(clippy::float_cmp)]
    fn ulps(a: f64, b: f64) -> u64 {
        if a == b {
            return 0;
        }
        assert_eq!(a.is_sign_negative(), b.is_sign_negative(), "{a} vs {b}");
        a.to_bits().abs_diff(b.to_bits())
    }

    /// Against `f64::ln` (the C library's, correctly rounded in practice) on 6.2e6
    /// arguments: 2e6 with uniformly random bits over all positive finite numbers
    /// (every exponent, subnormals included), 2e6 uniform on `[0.5, 2]` (where
    /// `ln x` is near 0 and the relative error matters most), 1e6 uniform on
    /// `[1 - 1e-6, 1 + 1e-6]`, 1e6 log-uniform on `[1e-300, 1e300]`, 2e5 subnormal.
    /// Both forms (with and without fused multiply-adds) alternately. Asserted: at
    /// most 1 ulp everywhere (measured maximum printed). Deterministic (seeded).
    #[test]
    fn matches_std_ln_over_the_whole_range() {
        let mut rng = crate::rng::seeded(23);
        let mut args: Vec<f64> = Vec::new();
        while args.len() < 2_000_000 {
            let b: u64 = rng.random::<u64>() >> 1; // positive
            let x = f64::from_bits(b);
            if x.is_finite() && x > 0.0 {
                args.push(x);
            }
        }
        for _ in 0..2_000_000 {
            args.push(rng.random_range(0.5..2.0));
        }
        for _ in 0..1_000_000 {
            args.push(1.0 + rng.random_range(-1e-6..1e-6));
        }
        for _ in 0..1_000_000 {
            args.push(10f64.powf(rng.random_range(-300.0..300.0)));
        }
        for _ in 0..200_000 {
            args.push(f64::from_bits(rng.random_range(1..(1u64 << 52))));
        }
        let mut worst = 0u64;
        for (i, chunk) in args.chunks_exact(LANES).enumerate() {
            let lanes = chunk.try_into().unwrap();
            let got = if i % 2 == 0 {
                ln_lanes::<false>(lanes)
            } else {
                ln_lanes::<true>(lanes)
            };
            for (&x, &g) in chunk.iter().zip(&got) {
                let u = ulps(g, x.ln());
                assert!(u <= 1, "ln({x:e}) = {g:e}, want {:e} ({u} ulp)", x.ln());
                worst = worst.max(u);
            }
        }
        println!("vln: worst {worst} ulp over {} arguments", args.len());
    }

    /// Exact values and the edges: `ln 1 = 0` exactly, `ln 2^k = k ln 2` to an ulp,
    /// zero and negative zero give `-inf`, `+inf` gives `+inf`, negative numbers,
    /// `-inf` and NaN give NaN, the smallest subnormal and the largest finite number
    /// agree with `f64::ln`.
    #[test]
    #[allow(clippy::float_cmp)] // exact special values
    fn exact_points_and_edges() {
        assert_eq!(ln1(1.0).to_bits(), 0.0f64.to_bits());
        assert_eq!(ln1(0.0), f64::NEG_INFINITY);
        assert_eq!(ln1(-0.0), f64::NEG_INFINITY);
        assert_eq!(ln1(f64::INFINITY), f64::INFINITY);
        for x in [
            -1.0,
            -1e-300,
            f64::NEG_INFINITY,
            f64::NAN,
            -f64::MIN_POSITIVE,
        ] {
            assert!(ln1(x).is_nan(), "ln({x})");
        }
        for x in [
            f64::from_bits(1),
            f64::MIN_POSITIVE,
            f64::MAX,
            std::f64::consts::E,
            0.5,
            2.0,
            1024.0,
        ] {
            assert!(ulps(ln1(x), x.ln()) <= 1, "ln({x:e}) = {:e}", ln1(x));
        }
        for k in -1074..=1023 {
            let x = 2f64.powi(k);
            assert!(ulps(ln1(x), x.ln()) <= 1, "ln(2^{k})");
        }
    }

    /// `ln(1 + v)` against `f64::ln_1p` for `v` log-uniform on `[1e-320, 1e3]`
    /// (1e6 arguments) and uniform on `[0, 1]` (1e6, the range of `e^{-2 rho}`):
    /// asserted at most 2 ulp (the correction term adds its rounding to that of
    /// `ln`), `ln1p(0) = 0`, `ln1p(inf) = inf`.
    #[test]
    #[allow(clippy::float_cmp)] // exact special values
    fn ln1p_matches_std() {
        let mut rng = crate::rng::seeded(31);
        let mut args: Vec<f64> = Vec::new();
        for _ in 0..1_000_000 {
            args.push(10f64.powf(rng.random_range(-320.0..3.0)));
        }
        for _ in 0..1_000_000 {
            args.push(rng.random_range(0.0..1.0));
        }
        let mut worst = 0u64;
        for chunk in args.chunks_exact(LANES) {
            let got = ln1p_lanes::<true>(chunk.try_into().unwrap());
            for (&v, &g) in chunk.iter().zip(&got) {
                let u = ulps(g, v.ln_1p());
                assert!(u <= 2, "ln1p({v:e}) = {g:e}, want {:e}", v.ln_1p());
                worst = worst.max(u);
            }
        }
        println!("vln: ln1p worst {worst} ulp");
        assert_eq!(ln1p_lanes::<false>(&[0.0; LANES])[0].to_bits(), 0);
        assert_eq!(
            ln1p_lanes::<false>(&[f64::INFINITY; LANES])[0],
            f64::INFINITY
        );
    }
}
