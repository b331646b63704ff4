#![allow(missing_docs)] // criterion_group! generates undocumented functions
//! Field evaluations per second: the PFGM (Poisson) and Gaussian (EDM) velocity of `N`
//! particles against `M` data points in `d` dimensions, the way the sampler calls it
//! (blocks of 64 rows, in parallel with rayon). Throughput is reported in
//! particle-data pairs.
//!
//! `cargo bench --bench field` (all cases), or a filter such as
//! `cargo bench --bench field -- field/d64/` for one dimension, or
//! `cargo bench --bench field -- 'M/10000' --measurement-time 3 --warm-up-time 1` for
//! the table of docs/FIELDS.md (`M = 1e4`, `d = 2, 16, 32, 64, 784, 3072`). The ids
//! `radial-tanh/d*/M/10000` and `pfgmpp-D2.5/d*/M/10000` measure the generic
//! vectorised radial path (Su's tanh profile, a power law with non-integer `2e`).
//! `gemm/d784` and `gemm/d3072` run the `gemm` crate alone on the products of the
//! field's matrix-product path, for the ratio field / GEMM:
//! `cargo bench --bench field -- '^(field|gaussian|gemm)/d784/M/10000$'`.
//! `digits/s/*` evaluate PFGM on the bundled 8x8 digits (d = 64) at levels 10 to 0.01
//! (`cargo bench --bench field -- digits/`).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use fieldflow::fields::{FieldKind, MarginalField, Profile, Source};
use ndarray::Array2;
use rand::Rng as _;
use rand_distr::StandardNormal;
use rayon::prelude::*;
use std::hint::black_box;
use std::time::Duration;

/// Rows per block, as in the sampler's default chunk.
const BLOCK: usize = 64;

fn gaussian_points(n: usize, d: usize, seed: u64) -> Array2<f64> {
    let mut rng = fieldflow::rng::seeded(seed);
    Array2::from_shape_fn((n, d), |_| rng.sample(StandardNormal))
}

/// Particles for `M` data points in `d` dimensions: enough that one evaluation is
/// about `4e8` coordinate-pairs of work, between 256 (four blocks, so that both
/// cores of a 2-core machine have work) and 4096.
fn particles_for(m: usize, d: usize) -> usize {
    (4e8 / (m as f64 * d as f64)).clamp(256.0, 4096.0) as usize
}

fn bench_field(c: &mut Criterion) {
    let cases = [
        (
            "field",
            FieldKind::Poisson,
            &[2usize, 16, 32, 64, 784, 3072][..],
        ),
        (
            "gaussian",
            FieldKind::Gaussian,
            &[2usize, 16, 32, 64, 256, 784, 3072][..],
        ),
    ];
    for (name, kind, dims) in cases {
        bench_kind(c, name, kind, dims, None);
    }
    // the laws of the generic vectorised radial path (M = 1e4 only): Su's tanh
    // profile and a power law with non-integer 2e (PFGM++, D = 2.5)
    let laws = [
        (
            "radial-tanh",
            FieldKind::Radial {
                profile: Profile::Tanh,
            },
        ),
        ("pfgmpp-D2.5", FieldKind::Pfgmpp { aug_dim: 2.5 }),
    ];
    for (name, kind) in laws {
        bench_kind(c, name, kind, &[2, 16, 64], Some(10_000));
    }
    for d in [784, 3072] {
        bench_gemm_alone(c, d);
    }
    bench_digits(c);
}

/// PFGM on the 1,797 bundled 8x8 digits (d = 64, standardised with one global mean and
/// standard deviation, as in benches/compare/digits.sh), 1,024 particles drawn from the
/// exact marginal at each level: `digits/s{level}`, in particle-image pairs per second
/// (at small levels most rows are settled on a few images by the pruning bound, so the
/// rate counts the pairs it proved negligible).
fn bench_digits(c: &mut Criterion) {
    let digits = fieldflow::data::digits::Digits::all().unwrap().images;
    let (mean, sd) = (digits.mean().unwrap(), digits.std(0.0));
    let data = digits.mapv(|v| (v - mean) / sd);
    let (m, d) = data.dim();
    let src = Source::points(data.view(), None).unwrap();
    let mf = MarginalField::new(FieldKind::Poisson, src).unwrap();
    let n = 1024;
    let mut group = c.benchmark_group("digits");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for s in [10.0, 1.0, 0.1, 0.01] {
        let xs: Vec<f64> = mf
            .sample_marginal(s, n, 3)
            .unwrap()
            .iter()
            .copied()
            .collect();
        group.throughput(Throughput::Elements((n * m) as u64));
        group.bench_function(BenchmarkId::new("s", s), |b| {
            let mut f = vec![0.0; n * d];
            b.iter(|| eval_all(&mf, s, &xs, &mut f))
        });
    }
    group.finish();
}

/// The `gemm` crate alone on exactly the products the field's product path performs
/// for `M = 10,000` points in `d` dimensions (the same particles per block, tiles,
/// strides and the second product accumulated over the tiles; no weights, no row
/// norms): `gemm/d{d}/M/10000`, in pairs per second, so that its ratio to
/// `field/d{d}` and `gaussian/d{d}` is what the kernel costs beyond the products.
fn bench_gemm_alone(c: &mut Criterion, d: usize) {
    use fieldflow::fields::kernel::{
        add_weighted_sums, cross_products, product_tile, PRODUCT_ROWS,
    };
    let m = 10_000;
    let data = gaussian_points(m, d, 1);
    let ys: Vec<f64> = data.iter().copied().collect();
    let n = particles_for(m, d);
    let xs: Vec<f64> = gaussian_points(n, d, 2).iter().copied().collect();
    let tile = product_tile(d);
    let mut group = c.benchmark_group(format!("gemm/d{d}"));
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements((n * m) as u64));
    group.bench_function(BenchmarkId::new("M", m), |b| {
        b.iter(|| {
            let sums: Vec<f64> = xs
                .par_chunks(PRODUCT_ROWS * d)
                .map(|xb| {
                    let mut xpad = vec![0.0; PRODUCT_ROWS * d];
                    xpad[..xb.len()].copy_from_slice(xb);
                    let mut g = vec![0.0; PRODUCT_ROWS * tile];
                    let mut acc = vec![0.0; PRODUCT_ROWS * d];
                    for t0 in (0..m).step_by(tile) {
                        let tl = tile.min(m - t0);
                        let tp = tl.div_ceil(8) * 8;
                        cross_products(PRODUCT_ROWS, &xpad, &ys[t0 * d..], &mut g, d, tl, tp);
                        add_weighted_sums(PRODUCT_ROWS, &g, &ys[t0 * d..], &mut acc, d, tl, tp);
                    }
                    acc[0]
                })
                .collect();
            black_box(sums);
        })
    });
    group.finish();
}

fn bench_kind(c: &mut Criterion, name: &str, kind: FieldKind, dims: &[usize], m: Option<usize>) {
    for &d in dims {
        let mut group = c.benchmark_group(format!("{name}/d{d}"));
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(3));
        let one = m.map(|m| [m]);
        let ms: &[usize] = if let Some(one) = &one {
            one
        } else if d <= 64 {
            &[1_000, 10_000, 100_000]
        } else {
            &[10_000]
        };
        for &m in ms {
            let data = gaussian_points(m, d, 1);
            let src = Source::points(data.view(), None).unwrap();
            let mf = MarginalField::new(kind, src).unwrap();
            let n = particles_for(m, d);
            // particles drawn from the exact marginal at s = 0.5: realistic distances
            let s = 0.5;
            let x = mf.sample_marginal(s, n, 2).unwrap();
            let xs: Vec<f64> = x.iter().copied().collect();
            group.throughput(Throughput::Elements((n * m) as u64));
            group.bench_function(BenchmarkId::new("M", m), |b| {
                let mut f = vec![0.0; n * d];
                b.iter(|| eval_all(&mf, s, &xs, &mut f))
            });
        }
        group.finish();
    }
}

/// The velocity of every row of `xs` at level `s`, the way the sampler calls the
/// field: blocks of [`BLOCK`] rows, in parallel.
fn eval_all(mf: &MarginalField, s: f64, xs: &[f64], f: &mut [f64]) {
    let d = mf.dim();
    let levels = vec![s; BLOCK];
    f.par_chunks_mut(BLOCK * d)
        .zip(xs.par_chunks(BLOCK * d))
        .for_each(|(fb, xb)| {
            let rows = xb.len() / d;
            mf.eval_block(&levels[..rows], xb, fb, None, None);
        });
    black_box(&f);
}

criterion_group!(benches, bench_field);
criterion_main!(benches);
