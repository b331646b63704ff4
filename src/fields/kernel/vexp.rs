//! `exp` on a chunk of [`LANES`] numbers, in a form the vectoriser turns into SIMD
//! instructions (no table, no branch, no division, no integer conversion that AVX2
//! lacks).
//!
//! The classical range reduction (Cody and Waite; Muller, *Elementary Functions*,
//! 3rd ed., ch. 11): `x = k ln 2 + r` with `k = round(x / ln 2)` and `|r| <= ln 2 / 2`,
//! `ln 2` split into a head with 21 trailing zero bits (so `k ln2_hi` is exact for
//! `|k| < 2^21`) and a tail, the constants of fdlibm's `e_exp.c`. `e^r` is its Taylor
//! polynomial of degree 13 (the first omitted term is below `0.347^14 / 14! = 4e-18`,
//! a thirtieth of an ulp), evaluated by Estrin's scheme, and `2^k` is built in the
//! exponent bits as two factors `2^k1 2^k2`, `k1 = round(k / 2)`, so that results
//! down to the smallest subnormal are reached with a single rounding. `k` is
//! obtained by the round-to-nearest shift `(y + 1.5 * 2^52) - 1.5 * 2^52`, whose
//! bits also carry `k` as an integer.
//!
//! Domain: every `f64`. Arguments are clamped to `[-746, 710]`: below about
//! `-745.13` the result is 0 as for `f64::exp`, above about `709.78` it is `inf`;
//! `-inf` gives 0 and a NaN argument gives 0 (never a NaN: the kernels rely on it,
//! masked lanes may hold anything). Accuracy, measured against the C library's
//! `exp` by the tests below: within 2 ulp (relative `2 eps`) for normal results, and
//! within one unit of the smallest subnormal beyond that in the subnormal range.
//! With fused multiply-adds (`F = true`, what CPUs with FMA run) the bits differ from the
//! unfused form by rounding; each form gives the same bits on every CPU.

use super::lanes::{madd, LANES, V};

const LOG2E: f64 = std::f64::consts::LOG2_E;
/// `ln 2`, head: the upper 32 bits of its significand (fdlibm `ln2HI`).
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000); // 6.93147180369123816490e-01
/// `ln 2 - LN2_HI` (fdlibm `ln2LO`).
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76); // 1.90821492927058770002e-10
/// `1.5 * 2^52`: adding it rounds to an integer, kept in the low significand bits.
const SHIFT: f64 = 6_755_399_441_055_744.0;
/// Clamp of the arguments (beyond them the result is 0 or `inf` anyway).
const X_MIN: f64 = -746.0;
const X_MAX: f64 = 710.0;

/// `1 / i!` for `i = 0..=13`.
const C: [f64; 14] = [
    1.0,
    1.0,
    0.5,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5040.0,
    1.0 / 40320.0,
    1.0 / 362_880.0,
    1.0 / 3_628_800.0,
    1.0 / 39_916_800.0,
    1.0 / 479_001_600.0,
    1.0 / 6_227_020_800.0,
];

/// `2^k` for a whole `k` in `[-1022, 1023]` given as an `f64`, through the bits of
/// `k + 1023 + SHIFT` (whose low 12 bits are `k + 1023`).
#[inline(always)]
fn pow2(k: f64) -> f64 {
    f64::from_bits((k + (SHIFT + 1023.0)).to_bits() << 52)
}

/// `x = k ln 2 + r` and `p = e^r` (module docs) for a clamped argument `xc`: `k` as a
/// whole `f64` and the polynomial by Estrin's scheme.
#[inline(always)]
fn reduce<const F: bool>(xc: f64) -> (f64, f64) {
    let k = madd::<F>(xc, LOG2E, SHIFT) - SHIFT;
    let r = madd::<F>(-k, LN2_LO, madd::<F>(-k, LN2_HI, xc));
    // Estrin's scheme for sum C[i] r^i
    let r2 = r * r;
    let r4 = r2 * r2;
    let r8 = r4 * r4;
    let a0 = madd::<F>(C[1], r, C[0]);
    let a1 = madd::<F>(C[3], r, C[2]);
    let a2 = madd::<F>(C[5], r, C[4]);
    let a3 = madd::<F>(C[7], r, C[6]);
    let a4 = madd::<F>(C[9], r, C[8]);
    let a5 = madd::<F>(C[11], r, C[10]);
    let a6 = madd::<F>(C[13], r, C[12]);
    let b0 = madd::<F>(a1, r2, a0);
    let b1 = madd::<F>(a3, r2, a2);
    let b2 = madd::<F>(a5, r2, a4);
    let c0 = madd::<F>(b1, r4, b0);
    let c1 = madd::<F>(a6, r4, b2);
    (k, madd::<F>(c1, r8, c0))
}

/// `e^x` lane by lane (see the module docs for domain and accuracy); `F`: with fused
/// multiply-adds (for CPUs that have them; slow in software elsewhere).
#[inline(always)]
pub(super) fn exp_lanes<const F: bool>(x: &V) -> V {
    let mut out = [0.0; LANES];
    for l in 0..LANES {
        // written as the `maxpd`/`minpd` instructions read (one instruction each):
        // a NaN argument fails both comparisons and becomes `X_MIN` (result 0)
        let lo = if x[l] > X_MIN { x[l] } else { X_MIN };
        let xc = if lo < X_MAX { lo } else { X_MAX };
        let (k, p) = reduce::<F>(xc);
        let k1 = madd::<F>(k, 0.5, SHIFT) - SHIFT;
        let k2 = k - k1;
        out[l] = (p * pow2(k1)) * pow2(k2);
    }
    out
}

/// Clamp of the arguments of [`exp_weight_lanes`] from below: its `k` is `-1023`, whose
/// `2^k` built in the exponent bits is exactly 0.
const X_FLUSH: f64 = -709.0;

/// [`exp_lanes`] for kernel weights, `x <= 0` (a ratio to the row's reference term):
/// the same bits down to `x` of about `-708.74` (where `k = round(x / ln 2)` reaches
/// `-1023`), 0 below, where [`exp_lanes`] gives a subnormal under `1.6e-308`. Next to
/// the reference term, which is exactly one, a weight that small never changes a sum;
/// in exchange `2^k` is one factor instead of two (four operations fewer per lane),
/// and the flush costs nothing: `k = -1023` builds `2^k = 0`. NaN and `-inf` give 0.
/// (Above `709.43` the single factor overflows: `inf`, where `exp_lanes` is finite
/// up to `709.78`; weights never get there.)
#[inline(always)]
pub(super) fn exp_weight_lanes<const F: bool>(x: &V) -> V {
    let mut out = [0.0; LANES];
    for l in 0..LANES {
        // `maxpd`/`minpd` as in `exp_lanes`; NaN becomes X_FLUSH (result 0)
        let lo = if x[l] > X_FLUSH { x[l] } else { X_FLUSH };
        let xc = if lo < X_MAX { lo } else { X_MAX };
        let (k, p) = reduce::<F>(xc);
        out[l] = p * pow2(k);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng as _;

    fn exp1(x: f64) -> f64 {
        let (a, b) = (
            exp_lanes::<false>(&[x; LANES])[0],
            exp_lanes::<true>(&[x; LANES])[0],
        );
        assert!(a.to_bits() == b.to_bits() || (a - b).abs() <= 2.0 * f64::EPSILON * a);
        a
    }

    /// Distance in ulp between two finite non-negative numbers (their bit patterns are
    /// ordered like the numbers).
    fn ulps(a: f64, b: f64) -> u64 {
        a.to_bits().abs_diff(b.to_bits())
    }

    /// Against `f64::exp` (the C library's, correctly rounded in practice) on 4e6
    /// arguments: uniform on `[-750, 0]` (the kernels' range, from total underflow to
    /// 1), on `[-1, 1]`, and on `[0, 710]`, plus 2e5 around the underflow threshold and
    /// the normal/subnormal boundary. Asserted: at most 2 ulp for normal results
    /// (measured maximum printed), at most 1 ulp of the smallest subnormal plus the
    /// same relative error for subnormal ones, 0 exactly where `f64::exp` gives 0,
    /// never a NaN. Deterministic (seeded), so a failure is a real regression.
    #[test]
    fn matches_std_exp_over_the_whole_range() {
        let mut rng = crate::rng::seeded(5);
        let mut worst_normal = 0u64;
        let mut worst_sub = 0.0f64;
        let mut args: Vec<f64> = Vec::new();
        for _ in 0..2_000_000 {
            args.push(rng.random_range(-750.0..0.0));
        }
        for _ in 0..1_000_000 {
            args.push(rng.random_range(-1.0..1.0));
        }
        for _ in 0..1_000_000 {
            args.push(rng.random_range(0.0..710.0));
        }
        for _ in 0..100_000 {
            args.push(rng.random_range(-746.0..-744.0));
            args.push(rng.random_range(-709.5..-707.5));
        }
        for (i, chunk) in args.chunks_exact(LANES).enumerate() {
            let lanes = chunk.try_into().unwrap();
            // both forms, alternately
            let got = if i % 2 == 0 {
                exp_lanes::<false>(lanes)
            } else {
                exp_lanes::<true>(lanes)
            };
            for (&x, &g) in chunk.iter().zip(&got) {
                let want = x.exp();
                assert!(!g.is_nan(), "exp({x}) gave NaN");
                if want.to_bits() == 0 {
                    assert_eq!(g.to_bits(), 0, "exp({x}) = {g}, want 0");
                } else if want >= f64::MIN_POSITIVE {
                    worst_normal = worst_normal.max(ulps(g, want));
                } else {
                    let err = (g - want).abs() - 2.0 * f64::EPSILON * want;
                    worst_sub = worst_sub.max(err / 4.9e-324);
                }
            }
        }
        println!("vexp: worst {worst_normal} ulp (normal), {worst_sub:.2} x 4.9e-324 (subnormal)");
        assert!(worst_normal <= 2, "{worst_normal} ulp");
        assert!(worst_sub <= 1.0, "subnormal error {worst_sub}");
    }

    /// [`exp_weight_lanes`] gives [`exp_lanes`]'s bits wherever the result is at least
    /// `1.6e-308`, and those bits or 0 below (0 for NaN and `-inf`), on 2e6 arguments
    /// uniform on `[-750, 0]` and 2e5 around the threshold, both forms (with and
    /// without FMA).
    #[test]
    fn weight_exp_is_exp_without_the_smallest_subnormals() {
        let mut rng = crate::rng::seeded(11);
        let mut args: Vec<f64> = (0..2_000_000)
            .map(|_| rng.random_range(-750.0..0.0))
            .collect();
        args.extend((0..200_000).map(|_| rng.random_range(-709.5..-707.8)));
        args.extend([
            X_FLUSH,
            -0.0,
            0.0,
            -1e-300,
            f64::NAN,
            f64::NEG_INFINITY,
            -1e300,
            -745.2,
        ]);
        while !args.len().is_multiple_of(LANES) {
            args.push(-1.0);
        }
        let (mut same, mut flushed) = (0usize, 0usize);
        for chunk in args.chunks_exact(LANES) {
            let lanes: &V = chunk.try_into().unwrap();
            for (a, b) in [
                (exp_lanes::<false>(lanes), exp_weight_lanes::<false>(lanes)),
                (exp_lanes::<true>(lanes), exp_weight_lanes::<true>(lanes)),
            ] {
                for ((&x, &want), &got) in chunk.iter().zip(&a).zip(&b) {
                    if got.to_bits() == want.to_bits() {
                        same += 1;
                    } else {
                        assert!(
                            got == 0.0 && want < 1.6e-308,
                            "exp({x}) = {got:e}, want {want:e}"
                        );
                        flushed += 1;
                    }
                }
            }
        }
        assert!(same > 3_000_000 && flushed > 10_000, "{same} {flushed}");
    }

    /// Exact values and the edges: `e^0 = 1` exactly (the reference term of every
    /// kernel row is exactly one), `e^{-0} = 1`, the tiny arguments round to 1, `-inf`
    /// and NaN give 0, 1000 gives `inf`, and the thresholds agree with `f64::exp`.
    #[test]
    fn exact_points_and_edges() {
        assert_eq!(exp1(0.0).to_bits(), 1.0f64.to_bits());
        assert_eq!(exp1(-0.0).to_bits(), 1.0f64.to_bits());
        assert_eq!(exp1(-1e-300).to_bits(), 1.0f64.to_bits());
        assert_eq!(exp1(-1e-17).to_bits(), 1.0f64.to_bits());
        assert_eq!(exp1(f64::NEG_INFINITY).to_bits(), 0.0f64.to_bits());
        assert_eq!(exp1(f64::NAN).to_bits(), 0.0f64.to_bits());
        assert_eq!(exp1(-1e300).to_bits(), 0.0f64.to_bits());
        assert_eq!(exp1(1000.0).to_bits(), f64::INFINITY.to_bits());
        for x in [
            -745.2, -745.1, -745.0, -744.5, -708.4, -708.39, 709.7, 709.8,
        ] {
            let (g, w) = (exp1(x), x.exp());
            assert!(
                (g - w).abs() <= 2.0 * f64::EPSILON * w + 4.9e-324 || g.to_bits() == w.to_bits(),
                "exp({x}) = {g:e}, want {w:e}"
            );
        }
        assert!((exp1(1.0) - std::f64::consts::E).abs() <= 2.0 * f64::EPSILON * 3.0);
    }
}
