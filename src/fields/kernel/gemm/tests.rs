//! Tests of the product path: agreement with the coordinate-wise kernel, pruned and
//! exact rows, block independence, and the AVX-512 passes against the lane code.

use super::super::lanes::LANES;
use super::super::power::{power_general, HalfPow, Rows};
use super::{gauss_gemm, power_gemm, Projection, WEIGHT_RTOL};
use crate::fields::kernel::{gauss_coordinatewise, Out};
use crate::fields::noise::{Noise, NoiseKind};
use crate::fields::schedule::Schedule;
use crate::fields::source::Source;
use ndarray::Array2;
use rand::Rng as _;
use rand_distr::StandardNormal;

struct Eval {
    f: Vec<f64>,
    lp: Vec<f64>,
}

/// The largest difference of the posterior means `m = x - s f` of row `r` under
/// two evaluations `fa`, `fb`, on the row's coordinate scale `max(|x|_inf, ymax)`
/// (NaN differences passed over, as by `f64::max`).
fn mean_error(s: &[f64], x: &[f64], fa: &[f64], fb: &[f64], r: usize, ymax: f64) -> f64 {
    let d = x.len() / s.len();
    let xr = &x[r * d..(r + 1) * d];
    let scale = xr.iter().fold(ymax, |a, v| a.max(v.abs()));
    (0..d)
        .map(|j| {
            let ma = xr[j] - s[r] * fa[r * d + j];
            let mb = xr[j] - s[r] * fb[r * d + j];
            (ma - mb).abs() / scale
        })
        .fold(0.0, f64::max)
}

/// The exponent of a power-law kernel as the kernels take it.
fn half_pow(kernel: &Noise) -> HalfPow {
    let NoiseKind::PowerLaw { exponent } = kernel.kind() else {
        unreachable!()
    };
    let n2 = (2.0 * exponent) as u32;
    HalfPow {
        half: n2 / 2,
        odd: n2 % 2 == 1,
    }
}

/// `gemm`: the product path (with the source's pruning index), else the
/// coordinate-wise kernel (both portable).
fn run(kernel: &Noise, src: &Source, s: &[f64], x: &[f64], gemm: bool) -> Eval {
    run_with(kernel, src, s, x, gemm, src.projection())
}

/// [`run`] with the given pruning index (`None`: every row through the products).
fn run_with(
    kernel: &Noise,
    src: &Source,
    s: &[f64],
    x: &[f64],
    gemm: bool,
    proj: Option<&Projection>,
) -> Eval {
    let (n, d) = (s.len(), src.dim());
    let mut e = Eval {
        f: vec![0.0; n * d],
        lp: vec![0.0; n],
    };
    let p = half_pow(kernel);
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
        (true, true) => power_gemm::<false, false>(p, soa, src.means(), proj, d, rows),
        (true, false) => power_gemm::<true, false>(p, soa, src.means(), proj, d, rows),
        (false, true) => power_general::<false, false, false>(p, soa, d, rows),
        (false, false) => power_general::<true, false, false>(p, soa, d, rows),
    }
    e
}

/// Which rows the power-law product path keeps (true) rather than handing to the
/// coordinate-wise kernel.
fn kept_rows(kernel: &Noise, src: &Source, s: &[f64], x: &[f64]) -> Vec<bool> {
    let p = half_pow(kernel);
    let mut kept = kept_with::<false>(p, src, s, x);
    // the AVX-512 weights (reciprocal square root estimate) too, where the CPU has it
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F (checked just above).
        let fast = unsafe { kept_avx512(p, src, s, x) };
        for (k, f) in kept.iter_mut().zip(fast) {
            *k = *k && f;
        }
    }
    kept
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn kept_avx512(p: HalfPow, src: &Source, s: &[f64], x: &[f64]) -> Vec<bool> {
    kept_with::<true>(p, src, s, x)
}

/// [`kept_rows`] with the weights of `R` (the AVX-512 reciprocal square root or not).
#[inline(always)]
fn kept_with<const R: bool>(p: HalfPow, src: &Source, s: &[f64], x: &[f64]) -> Vec<bool> {
    let mut kept = vec![false; s.len()];
    let law = super::power_law::PowerLaw::<true, R>(p);
    super::product(
        &law,
        src.soa(),
        src.means(),
        src.dim(),
        s,
        x,
        None,
        |r, sums| {
            kept[r] = sums.is_some();
        },
    );
    kept
}

/// Rows: random (far from the data), near a data point (offset `s z / sqrt(d)`),
/// and exactly on one; levels from 1e-3 to 10.
fn rows_for(data: &Array2<f64>, n: usize, rng: &mut impl rand::Rng) -> (Vec<f64>, Vec<f64>) {
    rows_at(data, n, &[1e-3, 3e-2, 0.3, 1.0, 10.0], rng)
}

/// [`rows_for`] at the given five levels.
fn rows_at(
    data: &Array2<f64>,
    n: usize,
    levels: &[f64; 5],
    rng: &mut impl rand::Rng,
) -> (Vec<f64>, Vec<f64>) {
    let (m, d) = data.dim();
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
/// `s = 1e-3`, where the product form cannot resolve the nearest distance, must stay
/// in the product path with that point taken exactly, and agree to `1e-12`.
#[test]
fn product_path_matches_the_coordinatewise_kernel() {
    let mut rng = crate::rng::seeded(41);
    let mut worst = (0.0f64, 0.0f64);
    let mut worst_on = 0.0f64;
    let mut exact = 0;
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
                let kept = kept_rows(&kernel, &src, &s, &x);
                for r in 0..s.len() {
                    let e = mean_error(&s, &x, &a.f, &b.f, r, ymax);
                    worst.0 = worst.0.max(e);
                    worst.1 = worst.1.max((a.lp[r] - b.lp[r]).abs());
                    let on_point = (r / 5) % 3 == 2 && s[r] < 1e-2;
                    if on_point {
                        // the product form cannot resolve this row's nearest point:
                        // its distance is taken exactly, the row stays in the path
                        assert!(kept[r], "d {d} row {r}: routed, not taken exactly");
                        worst_on = worst_on.max(e);
                        exact += 1;
                    }
                }
            }
        }
    }
    eprintln!(
        "worst mean error {:e} (on a data point {worst_on:e}), ln p error {:e}, \
         exact rows {exact}",
        worst.0, worst.1
    );
    assert!(exact > 0);
    assert!(worst_on < 1e-12, "mean error on a data point {worst_on:e}");
    assert!(worst.0 < 2.0 * WEIGHT_RTOL, "mean error {:e}", worst.0);
    assert!(worst.1 < WEIGHT_RTOL, "ln p error {:e}", worst.1);
}

/// Pruning in the power-law product path (`prune` submodule): PFGM and PFGM++
/// (`D = 128`), `d = 16, 64, 784`, uniform and random weights, `M = 600` points of
/// rank 6 plus noise (most of the spread in a few directions, like images), rows
/// on and near data points at `s = 1e-3, 1e-2, 0.05` and anywhere at `s = 1, 10`.
/// Rows settled on their surviving points agree with the coordinate-wise kernel to
/// `1e-12` (posterior mean, of the coordinate scale; `ln p` relative), every row
/// with the unpruned product path bit for bit; at least half of the rows at
/// `s <= 1e-2` are settled on survivors, and some rows are not (for PFGM++ with
/// `d + D = 912` even rows at `s = 10` may be: `e = 456`).
#[test]
fn pruned_rows_match_the_exact_kernel() {
    let mut rng = crate::rng::seeded(59);
    let (mut worst, mut sparse_small, mut small, mut dense_rows) = (0.0f64, 0, 0, 0);
    for d in [16usize, 64, 784] {
        let m = 600;
        let basis = Array2::from_shape_fn((6, d), |_| rng.sample::<f64, _>(StandardNormal));
        let data = Array2::from_shape_fn((m, d), |_| 0.3 * rng.sample::<f64, _>(StandardNormal))
            + Array2::from_shape_fn((m, 6), |_| rng.sample::<f64, _>(StandardNormal)).dot(&basis);
        let ymax = data.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        let wts: Vec<f64> = (0..m).map(|_| rng.random_range(0.1..1.0)).collect();
        for weights in [None, Some(&wts[..])] {
            let src = Source::points(data.view(), weights).unwrap();
            let proj = src.projection().expect("an index for 600 points");
            for aug in [1.0, 128.0] {
                let kernel = Noise::pfgmpp(d, aug).unwrap();
                let (s, x) = rows_at(&data, 75, &[1e-3, 1e-2, 0.05, 1.0, 10.0], &mut rng);
                let pruned = run(&kernel, &src, &s, &x, true);
                let dense = run_with(&kernel, &src, &s, &x, true, None);
                let exact = run(&kernel, &src, &s, &x, false);
                let p = half_pow(&kernel);
                let law = super::power_law::PowerLaw::<true, false>(p);
                let mut sc = super::prune::Scratch::default();
                for r in 0..s.len() {
                    let xr = &x[r * d..(r + 1) * d];
                    let row = super::Law::row(&law, s[r]);
                    let ys = src.means();
                    let pi = &src.soa().pi;
                    let sparse =
                        super::prune::try_sparse(&law, &row, proj, ys, pi, xr, &mut sc, |_| {});
                    if sparse {
                        worst = worst.max(mean_error(&s, &x, &pruned.f, &exact.f, r, ymax));
                    } else {
                        let (u, v) = (&pruned.f[r * d..(r + 1) * d], &dense.f[r * d..(r + 1) * d]);
                        for (p, q) in u.iter().zip(v) {
                            assert_eq!(p.to_bits(), q.to_bits(), "d {d} row {r}");
                        }
                    }
                    if sparse {
                        let rel = (pruned.lp[r] - exact.lp[r]).abs() / exact.lp[r].abs().max(1.0);
                        worst = worst.max(rel);
                    }
                    if s[r] <= 1e-2 {
                        small += 1;
                        sparse_small += usize::from(sparse);
                    }
                    dense_rows += usize::from(!sparse);
                }
            }
        }
    }
    eprintln!(
        "pruned rows: worst error {worst:e}, {sparse_small} of {small} rows at s <= 1e-2 settled"
    );
    assert!(worst < 1e-12, "{worst:e}");
    assert!(2 * sparse_small >= small, "{sparse_small} of {small}");
    assert!(dense_rows > 0);
}

/// A row's bits do not depend on the other rows of its block (the sampler drops
/// finished particles from a block, and the thread count changes nothing).
/// The AVX-512 key and weight passes of the power law give the bits of the
/// lane-by-lane ones: keys, lane minima and the near flag (with NaN, negative and
/// -0 distances, a partial last chunk, keys on both sides of the cut), then the
/// weighted kernel values and their sum for odd, even and PFGM-at-d = 64
/// exponents, with and without points taken exactly.
#[test]
fn avx512_keys_and_weights_equal_the_lane_code() {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        #[target_feature(enable = "avx512f")]
        unsafe fn fast(
            s2: f64,
            g: &mut [f64],
            y2: &[f64],
            x2: f64,
            cut: f64,
            tl: usize,
            km: &mut V,
        ) -> bool {
            super::power_law::keys_avx512(s2, g, y2, x2, cut, tl, km)
        }
        #[target_feature(enable = "avx512f")]
        unsafe fn fast_w(
            p: HalfPow,
            g: &mut [f64],
            c: f64,
            pi: &[f64],
            tl: usize,
            ex: bool,
        ) -> f64 {
            super::power_law::weights_avx512::<true>(p, g, c, pi, tl, ex)
        }
        /// The lane code with the same reciprocal square root (R = true).
        #[target_feature(enable = "avx512f")]
        unsafe fn lanes_w(
            p: HalfPow,
            g: &mut [f64],
            c: f64,
            pi: &[f64],
            tl: usize,
            ex: bool,
        ) -> f64 {
            super::weights_lanes(&PowerLaw::<true, true>(p), &0.0, g, c, pi, tl, ex)
        }
        use super::super::lanes::V;
        use super::keys_lanes;
        use super::power_law::PowerLaw;
        let mut rng = crate::rng::stream(3, 0);
        for tl in [1usize, 7, 8, 13, 64] {
            let tp = tl.div_ceil(LANES) * LANES;
            let y2: Vec<f64> = (0..tp).map(|_| rng.random::<f64>() * 4.0).collect();
            let mut g: Vec<f64> = (0..tp).map(|_| rng.random::<f64>() * 3.0 - 0.5).collect();
            g[0] = f64::NAN;
            if tp > 2 {
                // |x|^2 + |y|^2 - 2 x.y exactly 0 and below 0
                g[1] = 0.5 * (1.5 + y2[1]);
                g[2] = 4.0 + y2[2];
            }
            for &(s2, cut) in &[(0.01, 0.5), (1.0, 0.0), (0.0, 2.0)] {
                let (mut a, mut b) = (g.clone(), g.clone());
                let (mut ka, mut kb) = ([f64::INFINITY; LANES], [f64::INFINITY; LANES]);
                let na =
                    keys_lanes::<PowerLaw<false, false>>(&s2, &mut a, &y2, 1.5, cut, tl, &mut ka);
                // SAFETY: the CPU has AVX-512F (checked above)
                let nb = unsafe { fast(s2, &mut b, &y2, 1.5, cut, tl, &mut kb) };
                assert_eq!(na, nb, "tl {tl}, s2 {s2}");
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&a), bits(&b), "tl {tl}, s2 {s2}");
                assert_eq!(bits(&ka), bits(&kb), "tl {tl}, s2 {s2}");
                // and the weights of those keys, some of them taken exactly (+inf)
                let c = ka.iter().fold(f64::INFINITY, |m, &v| m.min(v)).max(1e-3);
                let pi: Vec<f64> = (0..tp).map(|i| 0.25 + (i % 5) as f64 * 0.1).collect();
                let mut keys = a.clone();
                for n2 in [3u32, 4, 65] {
                    let p = HalfPow {
                        half: n2 / 2,
                        odd: n2 % 2 == 1,
                    };
                    for has_exact in [false, true] {
                        if has_exact {
                            keys[tl / 2] = f64::INFINITY;
                        }
                        let (mut wa, mut wb) = (keys.clone(), keys.clone());
                        // SAFETY: the CPU has AVX-512F (checked above)
                        let sa = unsafe { lanes_w(p, &mut wa, c, &pi, tl, has_exact) };
                        // SAFETY: as above
                        let sb = unsafe { fast_w(p, &mut wb, c, &pi, tl, has_exact) };
                        assert_eq!(sa.to_bits(), sb.to_bits(), "tl {tl}, n2 {n2}");
                        assert_eq!(bits(&wa), bits(&wb), "tl {tl}, n2 {n2}");
                    }
                }
            }
        }
    }
}

#[test]
fn product_path_rows_are_independent_of_the_block() {
    let mut rng = crate::rng::seeded(43);
    // 300 points: a last tile of 44 (products of the live rows' height); 270: of 14
    // (full height); rows settled on survivors in between. Both in cache (blocks of
    // 48 rows, the first product from the coordinate-major data); 4,200 points (2.05
    // MiB) are not (blocks of 64, from the row-major data)
    for m in [300, 270, 4200] {
        let d = 64;
        let data = Array2::from_shape_fn((m, d), |_| rng.sample::<f64, _>(StandardNormal));
        let src = Source::points(data.view(), None).unwrap();
        let kernel = Noise::pfgmpp(d, 1.0).unwrap();
        let (s, x) = rows_for(&data, 70, &mut rng);
        for proj in [None, src.projection()] {
            let all = run_with(&kernel, &src, &s, &x, true, proj);
            for (r0, r1) in [(0, 1), (3, 4), (5, 37), (64, 70), (1, 66), (2, 11)] {
                let (sp, xp) = (&s[r0..r1], &x[r0 * d..r1 * d]);
                let part = run_with(&kernel, &src, sp, xp, true, proj);
                for r in r0..r1 {
                    for j in 0..d {
                        let (u, v) = (all.f[r * d + j], part.f[(r - r0) * d + j]);
                        assert_eq!(u.to_bits(), v.to_bits(), "row {r} in {r0}..{r1}");
                    }
                    assert_eq!(all.lp[r].to_bits(), part.lp[r - r0].to_bits());
                }
            }
        }
    }
    let _ = LANES;
}

/// The first product from the coordinate-major data equals the one from the row-major
/// data bit for bit, so that which of the two a data set gets (`resident`) changes no
/// result: `d = 32, 64, 100, 784`, the heights of blocks of 48 and 64 rows
/// ([`product_height`]), full, partial and small tiles.
#[test]
fn both_layouts_of_the_first_product_give_the_same_bits() {
    use super::{cross_products, cross_products_cols, product_height, PRODUCT_ROWS};
    let mut rng = crate::rng::seeded(61);
    for d in [32, 64, 100, 784] {
        let m: usize = 700;
        let ys: Vec<f64> = (0..m * d).map(|_| rng.sample(StandardNormal)).collect();
        let stride = m.div_ceil(LANES) * LANES;
        let mut cols = vec![0.0; d * stride];
        for (i, y) in ys.chunks_exact(d).enumerate() {
            for (j, &v) in y.iter().enumerate() {
                cols[j * stride + i] = v;
            }
        }
        let x: Vec<f64> = (0..PRODUCT_ROWS * d)
            .map(|_| rng.sample(StandardNormal))
            .collect();
        // the heights the path uses: blocks of 48 or 64 rows, 8 to all of them live;
        // tiles: full (256), the last one of 700 (188), a small one (20)
        for (rows, live) in [(48, 8), (48, 16), (48, 48), (64, 8), (64, 40), (64, 64)] {
            for (t0, tl) in [(0usize, 256usize), (512, 188), (256, 20)] {
                let h = product_height(live, tl, rows);
                let tp = tl.div_ceil(LANES) * LANES;
                let mut a = vec![0.0; h * tp];
                let mut b = vec![0.0; h * tp];
                cross_products(h, &x, &ys[t0 * d..], &mut a, d, tl, tp);
                cross_products_cols(h, &x, &cols[t0..], stride, &mut b, d, tp);
                for r in 0..h {
                    for i in 0..tl {
                        let (u, v) = (a[r * tp + i], b[r * tp + i]);
                        assert_eq!(u.to_bits(), v.to_bits(), "d {d} h {h} tile {t0} row {r}");
                    }
                }
            }
        }
    }
}

/// `gemm`: the Gaussian product path, else the coordinate-wise Gaussian kernel
/// (vectorised up to `d = 256`, scalar above), both as dispatched on this CPU.
fn run_gauss(sch: Schedule, src: &Source, s: &[f64], x: &[f64], gemm: bool) -> Eval {
    run_gauss_with(sch, src, s, x, gemm, src.projection())
}

/// [`run_gauss`] with the given pruning index (`None`: every row through the
/// products).
fn run_gauss_with(
    sch: Schedule,
    src: &Source,
    s: &[f64],
    x: &[f64],
    gemm: bool,
    proj: Option<&Projection>,
) -> Eval {
    let (n, d) = (s.len(), src.dim());
    let kernel = Noise::gaussian(d).unwrap();
    let mut e = Eval {
        f: vec![0.0; n * d],
        lp: vec![0.0; n],
    };
    let out = Out {
        f: &mut e.f,
        log_p: Some(&mut e.lp),
        div: None,
    };
    if gemm {
        gauss_gemm(&kernel, sch, src, s, x, out, gauss_coordinatewise, proj);
    } else {
        gauss_coordinatewise(&kernel, sch, src, s, x, out);
    }
    e
}

/// The Gaussian product path against the coordinate-wise Gaussian kernel, for
/// `d = 16, 64, 784`, the ray (EDM / VE) and linear schedules, uniform and random
/// weights, `M = 600` (three tiles, the last partial: the nearest point of a row is
/// often in a later tile, so the rescaling is exercised), 75 rows (a full and a
/// partial block) far from the data, near a data point and on one, at levels
/// 1e-3 .. 10 (ray) and 1e-3 .. 0.9 (linear, `s <= 1`). Stated tolerance: every
/// accepted weight is within [`WEIGHT_RTOL`] relative, so the posterior mean
/// `m = x - s f` (both schedules) agrees to `2 WEIGHT_RTOL` of the row's coordinate
/// scale, and `ln p = ln W - d2_ref / (2 s^2) + const` to `1.5 WEIGHT_RTOL` (the
/// reference's own error is at most half the weight bound). Rows on a data point
/// at `s = 1e-3` for `d >= 64` (bound above the tolerance): without the pruning
/// index they must give the coordinate-wise kernel's bits; with it (as dispatched)
/// they are summed exactly on their surviving points and agree with that kernel to
/// `1e-12` (posterior mean, of the coordinate scale; `ln p`, relative).
#[test]
fn gaussian_product_path_matches_the_coordinatewise_kernel() {
    let mut rng = crate::rng::seeded(47);
    let mut worst = (0.0f64, 0.0f64);
    let mut worst_pruned = (0.0f64, 0.0f64);
    let mut routed = 0;
    for d in [16usize, 64, 784] {
        let m = 600;
        let data = Array2::from_shape_fn((m, d), |_| rng.sample::<f64, _>(StandardNormal));
        let wts: Vec<f64> = (0..m).map(|_| rng.random_range(0.1..1.0)).collect();
        let ymax = data.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        for weights in [None, Some(&wts[..])] {
            let src = Source::points(data.view(), weights).unwrap();
            for sch in [Schedule::Ray, Schedule::Linear] {
                let levels = match sch {
                    Schedule::Ray => [1e-3, 3e-2, 0.3, 1.0, 10.0],
                    Schedule::Linear => [1e-3, 3e-2, 0.3, 0.6, 0.9],
                };
                let (s, x) = rows_at(&data, 75, &levels, &mut rng);
                let a = run_gauss(sch, &src, &s, &x, true);
                let b = run_gauss(sch, &src, &s, &x, false);
                for r in 0..s.len() {
                    let e = mean_error(&s, &x, &a.f, &b.f, r, ymax);
                    worst.0 = worst.0.max(e);
                    worst.1 = worst.1.max((a.lp[r] - b.lp[r]).abs());
                    let on_point = (r / 5) % 3 == 2 && s[r] < 1e-2;
                    if on_point && d >= 64 {
                        // without the pruning index the product form cannot
                        // resolve these rows: they go to the coordinate-wise
                        // kernel; with it they are summed exactly on their
                        // survivors
                        let (sr, xr) = (&s[r..r + 1], &x[r * d..(r + 1) * d]);
                        let c = run_gauss_with(sch, &src, sr, xr, true, None);
                        let same = c.f == b.f[r * d..(r + 1) * d]
                            && c.lp[0].to_bits() == b.lp[r].to_bits();
                        assert!(same, "d {d} row {r}: not routed to the exact kernel");
                        routed += 1;
                        worst_pruned.0 = worst_pruned.0.max(e);
                        // ln p relative to its size (|ln p| ~ 5e3 at d = 784, s = 1e-3)
                        let rel = (a.lp[r] - b.lp[r]).abs() / b.lp[r].abs().max(1.0);
                        worst_pruned.1 = worst_pruned.1.max(rel);
                    }
                }
            }
        }
    }
    eprintln!(
        "gaussian: worst mean error {:e}, ln p error {:e}, routed {routed} (pruned: {:e}, {:e})",
        worst.0, worst.1, worst_pruned.0, worst_pruned.1
    );
    assert!(routed > 0);
    assert!(
        worst_pruned.0 < 1e-12 && worst_pruned.1 < 1e-12,
        "{worst_pruned:?}"
    );
    assert!(worst.0 < 2.0 * WEIGHT_RTOL, "mean error {:e}", worst.0);
    assert!(worst.1 < 1.5 * WEIGHT_RTOL, "ln p error {:e}", worst.1);
}

/// The Gaussian product path: a row's bits do not depend on the other rows of its
/// block (linear schedule, random weights).
#[test]
fn gaussian_product_path_rows_are_independent_of_the_block() {
    let mut rng = crate::rng::seeded(53);
    let (m, d) = (300, 64);
    let data = Array2::from_shape_fn((m, d), |_| rng.sample::<f64, _>(StandardNormal));
    let wts: Vec<f64> = (0..m).map(|_| rng.random_range(0.1..1.0)).collect();
    let src = Source::points(data.view(), Some(&wts)).unwrap();
    let levels = [1e-3, 3e-2, 0.3, 0.6, 0.9];
    let (s, x) = rows_at(&data, 70, &levels, &mut rng);
    let all = run_gauss(Schedule::Linear, &src, &s, &x, true);
    for (r0, r1) in [(0, 1), (3, 4), (5, 37), (64, 70), (1, 66)] {
        let part = run_gauss(Schedule::Linear, &src, &s[r0..r1], &x[r0 * d..r1 * d], true);
        for r in r0..r1 {
            for j in 0..d {
                let (u, v) = (all.f[r * d + j], part.f[(r - r0) * d + j]);
                assert_eq!(u.to_bits(), v.to_bits(), "row {r} in {r0}..{r1}");
            }
            assert_eq!(all.lp[r].to_bits(), part.lp[r - r0].to_bits());
        }
    }
}

/// A row with a NaN coordinate fails the cancellation test (its bound is NaN) and
/// gets the coordinate-wise kernel's bits; the other rows of its block stay finite.
#[test]
fn gaussian_product_path_routes_nan_rows() {
    let mut rng = crate::rng::seeded(59);
    let (m, d) = (300, 64);
    let data = Array2::from_shape_fn((m, d), |_| rng.sample::<f64, _>(StandardNormal));
    let src = Source::points(data.view(), None).unwrap();
    let (s, mut x) = rows_at(&data, 10, &[0.1, 0.3, 1.0, 3.0, 10.0], &mut rng);
    x[3 * d + 5] = f64::NAN;
    let a = run_gauss(Schedule::Ray, &src, &s, &x, true);
    let b = run_gauss(Schedule::Ray, &src, &s, &x, false);
    let row = |e: &Eval, r: usize| -> Vec<u64> {
        e.f[r * d..(r + 1) * d]
            .iter()
            .map(|v| v.to_bits())
            .collect()
    };
    assert_eq!(row(&a, 3), row(&b, 3));
    assert_eq!(a.lp[3].to_bits(), b.lp[3].to_bits());
    for r in (0..10).filter(|&r| r != 3) {
        assert!(
            a.f[r * d..(r + 1) * d].iter().all(|v| v.is_finite()),
            "row {r}"
        );
        assert!(a.lp[r].is_finite(), "row {r}");
    }
}
