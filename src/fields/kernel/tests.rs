//! The vectorised power-law, Gaussian and generic radial kernels against the scalar
//! reference path, and the dispatched (AVX-512 / FMA) paths against the portable ones.

use super::power::{power_rows, HalfPow};
use super::*;
use crate::fields::noise::Profile;
use ndarray::Array2;
use rand::Rng as _;
use rand_distr::StandardNormal;

struct Eval {
    f: Vec<f64>,
    lp: Vec<f64>,
    div: Vec<f64>,
}

/// `mode`: 0 the dispatched path, 1 the scalar reference path, 2 the portable
/// vectorised path (what CPUs without AVX-512 run).
fn run(kernel: &Noise, src: &Source, s: &[f64], x: &[f64], mode: u8) -> Eval {
    let (n, d) = (s.len(), src.dim());
    let mut e = Eval {
        f: vec![0.0; n * d],
        lp: vec![0.0; n],
        div: vec![0.0; n],
    };
    let out = Out {
        f: &mut e.f,
        log_p: Some(&mut e.lp),
        div: Some(&mut e.div),
    };
    match mode {
        0 => eval_points(kernel, Schedule::Ray, src, s, x, out),
        1 => {
            let ratio = |r2: f64, r2_ref: f64| kernel.ratio(r2, r2_ref);
            eval_points_with(kernel, ratio, Schedule::Ray, src, s, x, out);
        }
        _ => {
            let n2 = fast_power_exponent(kernel, Schedule::Ray).unwrap();
            let p = HalfPow {
                half: n2 / 2,
                odd: n2 % 2 == 1,
            };
            let rows = Rows {
                s,
                x,
                f: out.f,
                log_p: out.log_p,
                div: out.div,
                log_norm: kernel.log_norm() + src.soa().ln_pi_max,
            };
            power_rows::<false>(p, src.soa(), src.means(), src.projection(), d, rows);
        }
    }
    e
}

fn kernel_exponent(k: &Noise) -> f64 {
    match k.kind() {
        NoiseKind::PowerLaw { exponent } => exponent,
        _ => unreachable!(),
    }
}

/// What differs between CPUs: the dispatched path (on a CPU with AVX-512 it takes
/// `1/sqrt(t)` from the 14-bit estimate refined by two Newton steps with fused
/// multiply-adds) against the portable path (correctly rounded division and square
/// root, what a CPU without AVX-512 runs), for `d = 2, 16, 64`, PFGM++ with `D`
/// from 1 to 2048, levels from 1e-3 to 1e3 and rows at 0 to 10 `s` from the data.
/// Errors are measured on the scale of the terms that cancel: `s |df| / (|x| + |y|)`
/// for the velocity `f = (x - m)/s` (so, the relative error of the weighted mean
/// `m`), `|d ln p| / max(1, |ln p|)`, `s |d div| / (d + 4e)`. Measured on an
/// AVX-512 machine (2026-11, printed by the test): at most 2.2e-14, 6.8e-14 and
/// 7.0e-15 in that order, growing with the exponent `e = (d + D)/2` (the weights
/// are `q^e`, so a relative error of one ulp in `q` becomes `e` ulp in a weight).
/// Counted in ulp of a velocity component itself the difference reaches 3.3e4 ulp
/// where `x - m` cancels. Asserted bounds: 1e-13, 3e-13 and 3e-14. On a CPU
/// without AVX-512 the dispatched path is the portable one and they agree exactly.
#[test]
fn dispatched_and_portable_paths_agree_to_a_stated_bound() {
    let mut rng = crate::rng::seeded(29);
    let (mut ef, mut elp, mut ediv) = (0.0f64, 0.0f64, 0.0f64);
    for d in [2usize, 16, 64] {
        let m = 200;
        let data = Array2::from_shape_fn((m, d), |_| rng.sample::<f64, _>(StandardNormal));
        let src = Source::points(data.view(), None).unwrap();
        let ymax = data.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        for aug in [1.0, 8.0, 64.0, 512.0, 2048.0] {
            let kernel = Noise::pfgmpp(d, aug).unwrap();
            let e = kernel_exponent(&kernel);
            let n = 64;
            let s: Vec<f64> = (0..n)
                .map(|i| 1e-3 * 1e6f64.powf(i as f64 / (n - 1) as f64))
                .collect();
            let mut x = vec![0.0; n * d];
            for r in 0..n {
                let y = &data.as_slice().unwrap()[(r % m) * d..(r % m + 1) * d];
                let far = 10.0 * (r % 5) as f64 / 4.0;
                for j in 0..d {
                    let z: f64 = rng.sample(StandardNormal);
                    x[r * d + j] = y[j] + far * s[r] * z / (d as f64).sqrt();
                }
            }
            let a = run(&kernel, &src, &s, &x, 0);
            let c = run(&kernel, &src, &s, &x, 2);
            let (mut cf, mut clp, mut cdiv, mut ulp) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
            for r in 0..n {
                let xmax = x[r * d..(r + 1) * d]
                    .iter()
                    .fold(0.0f64, |a, v| a.max(v.abs()));
                for j in 0..d {
                    let (u, v) = (a.f[r * d + j], c.f[r * d + j]);
                    cf = cf.max((u - v).abs() * s[r] / (xmax + ymax));
                    ulp = ulp.max((u - v).abs() / (v.abs() * f64::EPSILON));
                }
                let (u, v) = (a.lp[r], c.lp[r]);
                clp = clp.max((u - v).abs() / v.abs().max(1.0));
                let (u, v) = (a.div[r], c.div[r]);
                cdiv = cdiv.max((u - v).abs() * s[r] / (d as f64 + 4.0 * e));
            }
            println!(
                "d = {d}, D = {aug}: f {cf:.1e} ({ulp:.0} ulp), ln p {clp:.1e}, div {cdiv:.1e}"
            );
            (ef, elp, ediv) = (ef.max(cf), elp.max(clp), ediv.max(cdiv));
        }
    }
    println!("dispatched vs portable: velocity {ef:.2e}, ln p {elp:.2e}, div {ediv:.2e}");
    assert!(ef <= 1e-13, "velocity {ef:e}");
    assert!(elp <= 3e-13, "ln p {elp:e}");
    assert!(ediv <= 3e-14, "divergence {ediv:e}");
}

/// The vectorised power-law path agrees with the scalar reference path to rounding
/// (1e-12 of the scale `(|x| + |y|)/s` of the terms that cancel in a velocity,
/// 1e-11 of `(d + 4e)/s` in a divergence, relative 1e-12 on `ln p`) for
/// every specialised dimension and the general one, odd and even `2e`, weighted
/// and uniform sources, `M` not a multiple of the lane count, and levels from
/// 1e-3 to 40; a velocity alone (no `ln p`, no divergence) has the same bits as
/// with them.
#[test]
fn vectorised_power_path_matches_the_scalar_path() {
    let mut rng = crate::rng::seeded(11);
    for d in [1usize, 2, 3, 4, 5, 16] {
        for m in [1usize, 7, 8, 13, 301] {
            let data = Array2::from_shape_fn((m, d), |_| rng.sample::<f64, _>(StandardNormal));
            let wts: Vec<f64> = (0..m).map(|_| rng.random_range(0.5..2.0)).collect();
            for weighted in [false, true] {
                let w = weighted.then_some(&wts[..]);
                let src = Source::points(data.view(), w).unwrap();
                // D = 200: high exponents make far rows take the two-pass reference
                for aug in [1.0, 2.0, 5.0, 200.0] {
                    let kernel = Noise::pfgmpp(d, aug).unwrap();
                    let n = 45;
                    let s: Vec<f64> = (0..n)
                        .map(|i| 1e-3 * 40_000f64.powf(i as f64 / (n - 1) as f64))
                        .collect();
                    let mut x = vec![0.0; n * d];
                    for (i, v) in x.iter_mut().enumerate() {
                        let z: f64 = rng.sample(StandardNormal);
                        *v = z * (1.0 + s[i / d]);
                    }
                    // one row exactly on a data point
                    x[..d].copy_from_slice(&data.as_slice().unwrap()[..d]);
                    let a = run(&kernel, &src, &s, &x, 0);
                    let b = run(&kernel, &src, &s, &x, 1);
                    let c = run(&kernel, &src, &s, &x, 2);
                    let ctx = format!("d={d} m={m} weighted={weighted} D={aug}");
                    // tolerances on the scale of the terms that cancel:
                    // |x| + |y| over s for f, (d + 4e)/s for div f
                    let ymax = data.iter().fold(0.0f64, |a, v| a.max(v.abs()));
                    let e = kernel_exponent(&kernel);
                    for r in 0..n {
                        let xmax = x[r * d..(r + 1) * d]
                            .iter()
                            .fold(0.0f64, |a, v| a.max(v.abs()));
                        let fs = (xmax + ymax) / s[r];
                        for j in 0..d {
                            let (u, v) = (a.f[r * d + j], b.f[r * d + j]);
                            assert!((u - v).abs() <= 1e-12 * fs, "{ctx} row {r}: f {u} vs {v}");
                        }
                        let ds = (d as f64 + 4.0 * e) / s[r];
                        let (u, v) = (a.div[r], b.div[r]);
                        assert!((u - v).abs() <= 1e-11 * ds, "{ctx} row {r}: div {u} vs {v}");
                        let (u, v) = (a.lp[r], b.lp[r]);
                        assert!(
                            (u - v).abs() <= 1e-12 * v.abs().max(1.0),
                            "{ctx} row {r}: ln p {u} vs {v}"
                        );
                        for j in 0..d {
                            let (u, v) = (c.f[r * d + j], b.f[r * d + j]);
                            assert!(
                                (u - v).abs() <= 1e-12 * fs,
                                "{ctx} row {r}: portable f {u} vs {v}"
                            );
                        }
                        let (u, v) = (c.div[r], b.div[r]);
                        assert!(
                            (u - v).abs() <= 1e-11 * ds,
                            "{ctx} row {r}: portable div {u} vs {v}"
                        );
                    }
                    let mut f = vec![0.0; n * d];
                    let out = Out {
                        f: &mut f,
                        log_p: None,
                        div: None,
                    };
                    eval_points(&kernel, Schedule::Ray, &src, &s, &x, out);
                    assert!(f.iter().zip(&a.f).all(|(u, v)| u.to_bits() == v.to_bits()));
                }
            }
        }
    }
}

/// Gaussian kernel: `mode` 0 the dispatched path, 1 the scalar reference path, 2 the
/// portable vectorised code.
fn run_gauss(src: &Source, sch: Schedule, s: &[f64], x: &[f64], mode: u8, full: bool) -> Eval {
    let kernel = Noise::gaussian(src.dim()).unwrap();
    let (n, d) = (s.len(), src.dim());
    let mut e = Eval {
        f: vec![0.0; n * d],
        lp: vec![0.0; n],
        div: vec![0.0; n],
    };
    let out = Out {
        f: &mut e.f,
        log_p: full.then_some(&mut e.lp[..]),
        div: full.then_some(&mut e.div[..]),
    };
    match mode {
        0 => eval_points(&kernel, sch, src, s, x, out),
        1 => {
            let ratio = |r2: f64, r2_ref: f64| kernel.ratio(r2, r2_ref);
            eval_points_with(&kernel, ratio, sch, src, s, x, out);
        }
        _ => {
            let soa = src.soa();
            let rows = super::gauss::GaussRows::new(&kernel, soa, sch, s, x, out);
            super::gauss::gauss_rows::<super::laws::Gauss, false>(super::laws::Gauss, soa, d, rows);
        }
    }
    e
}

/// Levels and rows for the Gaussian comparisons: `n` levels log-spaced over
/// `[lo, hi]`, rows exactly on a data point, near one (offsets `0.3 .. 10` times
/// `sigma`), and far (`|x| ~ 3 (1 + s)`).
fn gauss_rows_for(
    data: &Array2<f64>,
    lo: f64,
    hi: f64,
    n: usize,
    rng: &mut impl rand::Rng,
) -> (Vec<f64>, Vec<f64>) {
    let (m, d) = data.dim();
    let s: Vec<f64> = (0..n)
        .map(|i| lo * (hi / lo).powf(i as f64 / (n - 1) as f64))
        .collect();
    let mut x = vec![0.0; n * d];
    for r in 0..n {
        let y = data.row((r * 7) % m);
        let kind = r % 6;
        for j in 0..d {
            let z: f64 = rng.sample(StandardNormal);
            x[r * d + j] = match kind {
                0 => y[j],
                5 => 3.0 * z * (1.0 + s[r]),
                _ => y[j] + [0.3, 1.0, 3.0, 10.0][kind - 1] * s[r] * z / (d as f64).sqrt(),
            };
        }
    }
    (s, x)
}

/// The vectorised Gaussian kernel (EDM under the ray schedule, and the linear path
/// with Gaussian noise) against the scalar path (one `f64::exp` per pair), for
/// `d = 1, 2, 3, 5, 16, 64`, `M = 1, 13, 301` (one point, fewer and not a multiple of
/// the lane count), uniform and random weights, 60 levels from `1e-6` to `1e4` (ray)
/// or `1e-6` to `1` (linear, where `alpha = 1 - s` reaches 0), rows on, near and far
/// from the data. Errors on the scale of the terms that cancel (module docs of
/// `gauss`): velocity `|df| / ((|x|_inf + |alpha| ymax)/sigma + |alpha'| ymax)`,
/// `|d ln p| / max(1, |ln p|)`, divergence `|d div| / D` with
/// `D = d/sigma + (|alpha'| Y + X/sigma) X/sigma^2 + |alpha' - alpha/sigma| alpha Y^2/sigma^2`,
/// `X = |x| + |alpha| Y`, `Y = max |y_i|` (the scalar path's and the vectorised
/// path's cancelling terms). The two paths round `d2 / (2 sigma^2)` differently, so a
/// weight far down the tail (argument near -600) can differ by `600 eps` relative.
/// The same bounds hold between the dispatched code (fused multiply-adds in the
/// exponential on CPUs with FMA) and the portable, unfused code. Measured maxima over
/// both comparisons are printed; asserted bounds: 1e-13, 1e-13 and 1e-13. Also: below
/// `GAUSS_GEMM_MIN_D` a velocity alone has the bits of a velocity with `ln p` and
/// divergence.
#[test]
fn vectorised_gaussian_path_matches_the_scalar_path() {
    let mut rng = crate::rng::seeded(17);
    let (mut ef, mut elp, mut ediv) = (0.0f64, 0.0f64, 0.0f64);
    for d in [1usize, 2, 3, 5, 16, 64] {
        for m in [1usize, 13, 301] {
            let data = Array2::from_shape_fn((m, d), |_| rng.sample::<f64, _>(StandardNormal));
            let wts: Vec<f64> = (0..m).map(|_| rng.random_range(0.1..2.0)).collect();
            let ymax = data.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            let ymax2 = data
                .rows()
                .into_iter()
                .map(|r| r.dot(&r).sqrt())
                .fold(0.0f64, f64::max);
            for weighted in [false, true] {
                let src = Source::points(data.view(), weighted.then_some(&wts[..])).unwrap();
                for (sch, hi) in [(Schedule::Ray, 1e4), (Schedule::Linear, 1.0)] {
                    let (s, x) = gauss_rows_for(&data, 1e-6, hi, 60, &mut rng);
                    let a = run_gauss(&src, sch, &s, &x, 0, true);
                    let b = run_gauss(&src, sch, &s, &x, 1, true);
                    let c = run_gauss(&src, sch, &s, &x, 2, true);
                    let v = run_gauss(&src, sch, &s, &x, 0, false);
                    let ctx = format!("d={d} m={m} weighted={weighted} {sch:?}");
                    // from GAUSS_GEMM_MIN_D on a velocity alone takes the product path
                    // (tested against this kernel in the `gemm` module)
                    assert!(
                        d >= super::GAUSS_GEMM_MIN_D
                            || a.f
                                .iter()
                                .zip(&v.f)
                                .all(|(u, v)| u.to_bits() == v.to_bits())
                    );
                    for r in 0..s.len() {
                        let (al, da, sg) = (sch.alpha(s[r]), sch.dalpha(s[r]), sch.sigma(s[r]));
                        let xr = &x[r * d..(r + 1) * d];
                        let xmax = xr.iter().fold(0.0f64, |a, v| a.max(v.abs()));
                        let x2 = xr.iter().map(|v| v * v).sum::<f64>().sqrt();
                        let fs = (xmax + al.abs() * ymax) / sg + da.abs() * ymax;
                        for j in 0..d {
                            for (u, w) in [
                                (a.f[r * d + j], b.f[r * d + j]),
                                (c.f[r * d + j], a.f[r * d + j]),
                            ] {
                                let e = (u - w).abs() / fs;
                                assert!(e <= 1e-13, "{ctx} row {r} s {}: f {u} vs {w}", s[r]);
                                ef = ef.max(e);
                            }
                        }
                        for (u, w) in [(a.lp[r], b.lp[r]), (c.lp[r], a.lp[r])] {
                            let e = (u - w).abs() / w.abs().max(1.0);
                            assert!(e <= 1e-13, "{ctx} row {r} s {}: ln p {u} vs {w}", s[r]);
                            elp = elp.max(e);
                        }
                        let big = x2 + al.abs() * ymax2;
                        let ds = d as f64 / sg
                            + (da.abs() * ymax2 + big / sg) * big / (sg * sg)
                            + (da - al / sg).abs() * al.abs() * ymax2 * ymax2 / (sg * sg);
                        for (u, w) in [(a.div[r], b.div[r]), (c.div[r], a.div[r])] {
                            let e = (u - w).abs() / ds;
                            assert!(e <= 1e-13, "{ctx} row {r} s {}: div {u} vs {w}", s[r]);
                            ediv = ediv.max(e);
                        }
                    }
                }
            }
        }
    }
    println!("gaussian vectorised vs scalar: velocity {ef:.2e}, ln p {elp:.2e}, div {ediv:.2e}");
}

/// A row's bits do not depend on the other rows evaluated with it (block size,
/// thread count, finished particles dropped from a block).
#[test]
fn gaussian_rows_are_independent_of_the_block() {
    let mut rng = crate::rng::seeded(19);
    for d in [2usize, 16] {
        let data = Array2::from_shape_fn((101, d), |_| rng.sample::<f64, _>(StandardNormal));
        let src = Source::points(data.view(), None).unwrap();
        let (s, x) = gauss_rows_for(&data, 1e-3, 1e2, 70, &mut rng);
        let all = run_gauss(&src, Schedule::Ray, &s, &x, 0, true);
        for (r0, r1) in [(0, 1), (3, 4), (5, 37), (33, 70), (1, 66)] {
            let part = run_gauss(&src, Schedule::Ray, &s[r0..r1], &x[r0 * d..r1 * d], 0, true);
            for r in r0..r1 {
                for j in 0..d {
                    let (u, v) = (all.f[r * d + j], part.f[(r - r0) * d + j]);
                    assert_eq!(u.to_bits(), v.to_bits(), "row {r} in {r0}..{r1}");
                }
                assert_eq!(all.lp[r].to_bits(), part.lp[r - r0].to_bits());
                assert_eq!(all.div[r].to_bits(), part.div[r - r0].to_bits());
            }
        }
    }
}

/// Any radial law: `mode` 0 the dispatched path, 1 the scalar reference path, 2 the
/// portable generic vectorised code (no fused multiply-adds).
fn run_law(kernel: &Noise, src: &Source, sch: Schedule, s: &[f64], x: &[f64], mode: u8) -> Eval {
    let (n, d) = (s.len(), src.dim());
    let mut e = Eval {
        f: vec![0.0; n * d],
        lp: vec![0.0; n],
        div: vec![0.0; n],
    };
    let out = Out {
        f: &mut e.f,
        log_p: Some(&mut e.lp),
        div: Some(&mut e.div),
    };
    match mode {
        0 => eval_points(kernel, sch, src, s, x, out),
        1 => {
            let ratio = |r2: f64, r2_ref: f64| kernel.ratio(r2, r2_ref);
            eval_points_with(kernel, ratio, sch, src, s, x, out);
        }
        _ => {
            let soa = src.soa();
            let rows = super::gauss::GaussRows::new(kernel, soa, sch, s, x, out);
            match kernel.kind() {
                NoiseKind::PowerLaw { exponent } => {
                    let law = super::laws::Power {
                        kernel,
                        e: exponent,
                    };
                    super::gauss::gauss_rows::<_, false>(law, soa, d, rows);
                }
                NoiseKind::Radial(p) => {
                    let law = super::laws::Radial::new(kernel, p);
                    super::gauss::gauss_rows::<_, false>(law, soa, d, rows);
                }
                _ => unreachable!(),
            }
        }
    }
    e
}

/// The generic vectorised radial path (lane-wise `exp` and `ln`, one code for every
/// law) against the scalar path (one `powf` or `exp`/`ln`/`ln_1p` per pair) for the
/// laws it serves: power laws with non-integer `2e` (PFGM++ with `D = 2.7` and
/// `10.5`), a power law under the linear schedule (`D = 1`, `alpha = 1 - s`), and
/// Su's radial profiles (tanh, exp); `d = 1, 2, 3, 5, 16, 64`, `M = 1, 13, 301`,
/// uniform and random weights, 60 levels from `1e-6` to `1e4` (ray) or to `1`
/// (linear), rows on, near and far from the data. The dispatched code (fused
/// multiply-adds) is also compared with the portable code. Errors are measured on the
/// scale of the terms that cancel: velocity as in the Gaussian test, `ln p` relative
/// to `max(1, |ln p|)`, divergence relative to
/// `d/sigma + |alpha' - alpha/sigma| sum_i w_i |c_i| (|y_i| + |m|)(|x| + |alpha| |y_i|) / (W sigma)`
/// (`c_i = 2 h'(r2_i)/sigma`, the magnitude of the summands of
/// `sum w c (y - m).(x - alpha y)`), computed here pair by pair. The weights of the
/// two paths differ by `e` ulp (power laws: a relative error of the quotient
/// becomes `e` times larger in `q^e`) or by the rounding of `h - h_ref` (profiles).
/// Measured maxima are printed; asserted: 1e-13 (velocity), 1e-13 (`ln p`), 1e-12
/// (divergence).
#[test]
#[allow(clippy::float_cmp)] // equal results (also infinite ln p) have no error
fn generic_radial_path_matches_the_scalar_path() {
    let mut rng = crate::rng::seeded(37);
    let (mut ef, mut elp, mut ediv) = (0.0f64, 0.0f64, 0.0f64);
    for d in [1usize, 2, 3, 5, 16, 64] {
        let laws = [
            (Noise::pfgmpp(d, 2.7).unwrap(), Schedule::Ray, 1e4),
            (Noise::pfgmpp(d, 10.5).unwrap(), Schedule::Ray, 1e4),
            (Noise::pfgmpp(d, 1.0).unwrap(), Schedule::Linear, 1.0),
            (Noise::radial(d, Profile::Tanh).unwrap(), Schedule::Ray, 1e4),
            (Noise::radial(d, Profile::Exp).unwrap(), Schedule::Ray, 1e4),
        ];
        for m in [1usize, 13, 301] {
            let data = Array2::from_shape_fn((m, d), |_| rng.sample::<f64, _>(StandardNormal));
            let wts: Vec<f64> = (0..m).map(|_| rng.random_range(0.1..2.0)).collect();
            let ymax = data.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            let ys = data.as_slice().unwrap();
            for weighted in [false, true] {
                let src = Source::points(data.view(), weighted.then_some(&wts[..])).unwrap();
                let pis = src.weights().to_vec();
                for (kernel, sch, hi) in &laws {
                    let (sch, hi) = (*sch, *hi);
                    let (s, x) = gauss_rows_for(&data, 1e-6, hi, 60, &mut rng);
                    let a = run_law(kernel, &src, sch, &s, &x, 0);
                    let b = run_law(kernel, &src, sch, &s, &x, 1);
                    let c = run_law(kernel, &src, sch, &s, &x, 2);
                    let ctx = format!(
                        "d={d} m={m} weighted={weighted} {:?} {sch:?}",
                        kernel.kind()
                    );
                    for r in 0..s.len() {
                        let (al, da, sg) = (sch.alpha(s[r]), sch.dalpha(s[r]), sch.sigma(s[r]));
                        let xr = &x[r * d..(r + 1) * d];
                        let xmax = xr.iter().fold(0.0f64, |a, v| a.max(v.abs()));
                        let xn = xr.iter().map(|v| v * v).sum::<f64>().sqrt();
                        let fs = (xmax + al.abs() * ymax) / sg + da.abs() * ymax;
                        for j in 0..d {
                            for (u, w) in [
                                (a.f[r * d + j], b.f[r * d + j]),
                                (c.f[r * d + j], a.f[r * d + j]),
                            ] {
                                let e = (u - w).abs() / fs;
                                assert!(e <= 1e-13, "{ctx} row {r} s {}: f {u} vs {w}", s[r]);
                                ef = ef.max(e);
                            }
                        }
                        for (u, w) in [(a.lp[r], b.lp[r]), (c.lp[r], a.lp[r])] {
                            let e = if u == w {
                                0.0
                            } else {
                                (u - w).abs() / w.abs().max(1.0)
                            };
                            assert!(e <= 1e-13, "{ctx} row {r} s {}: ln p {u} vs {w}", s[r]);
                            elp = elp.max(e);
                        }
                        // the scale of the divergence's summands, pair by pair
                        let d2: Vec<f64> = ys
                            .chunks_exact(d)
                            .map(|y| xr.iter().zip(y).map(|(p, q)| (p - al * q).powi(2)).sum())
                            .collect();
                        let iref = (0..m).fold(0, |i, k| if d2[k] < d2[i] { k } else { i });
                        let r2r = d2[iref] / (sg * sg);
                        let (mut wsum, mut big) = (0.0, 0.0);
                        let mut mvec = vec![0.0; d];
                        for (k, y) in ys.chunks_exact(d).enumerate() {
                            let w = pis[k] / pis[iref] * kernel.ratio(d2[k] / (sg * sg), r2r);
                            wsum += w;
                            for j in 0..d {
                                mvec[j] += w * y[j];
                            }
                        }
                        let mn = mvec.iter().map(|v| v * v).sum::<f64>().sqrt() / wsum;
                        for (k, y) in ys.chunks_exact(d).enumerate() {
                            let w = pis[k] / pis[iref] * kernel.ratio(d2[k] / (sg * sg), r2r);
                            let ck = (2.0 * kernel.dh(d2[k] / (sg * sg)) / sg).abs();
                            let yn = y.iter().map(|v| v * v).sum::<f64>().sqrt();
                            if w > 0.0 {
                                big += w * ck * (yn + mn) * (xn + al.abs() * yn);
                            }
                        }
                        let ds = d as f64 / sg + (da - al / sg).abs() * big / (wsum * sg);
                        for (u, w) in [(a.div[r], b.div[r]), (c.div[r], a.div[r])] {
                            let e = if u == w { 0.0 } else { (u - w).abs() / ds };
                            assert!(
                                e <= 1e-12,
                                "{ctx} row {r} s {}: div {u} vs {w} (scale {ds:e})",
                                s[r]
                            );
                            ediv = ediv.max(e);
                        }
                    }
                }
            }
        }
    }
    println!("generic radial vs scalar: velocity {ef:.2e}, ln p {elp:.2e}, div {ediv:.2e}");
}
