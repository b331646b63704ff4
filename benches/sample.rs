#![allow(missing_docs)] // criterion_group! generates undocumented functions
//! End-to-end sampling: 2,000 PFGM samples from a 2,000-point moons set, dopri5 with
//! `rtol = atol = 1e-4`, `s` from 40 down to `1e-3` (the setting of
//! `benches/compare/run.sh`).
//!
//! `cargo bench --bench sample`

use criterion::{criterion_group, criterion_main, Criterion};
use fieldflow::data::Dataset;
use fieldflow::fields::{FieldKind, MarginalField, Source};
use fieldflow::sampling::{generate, SampleOptions};
use std::hint::black_box;
use std::time::Duration;

fn bench_sample(c: &mut Criterion) {
    let data = Dataset::Moons.sample_seeded(2_000, 0);
    let src = Source::points(data.view(), None).unwrap();
    let mf = MarginalField::new(FieldKind::Poisson, src).unwrap();
    let mut opts = SampleOptions::new(&mf);
    opts.solver = opts.solver.tol(1e-4);
    opts.s_max = 40.0;
    opts.s_min = 1e-3;
    let mut group = c.benchmark_group("sample");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
    group.bench_function("moons_2000x2000_pfgm_tol1e-4", |b| {
        b.iter(|| black_box(generate(&mf, 2_000, 1, &opts).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, bench_sample);
criterion_main!(benches);
