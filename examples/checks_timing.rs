//! Time of the O(N^2) statistics at 10,000 x 10,000 points in d = 2 (8gaussians),
//! and of their permutation tests at a smaller B.
//!
//! Usage: `cargo run --release --example checks_timing -- [N] [B]` (defaults 10000
//! per side and B = 99). Memory: the statistics and the permutation engine store
//! nothing of size N^2; the pooled sample, one kernel row per task and the 32
//! label vectors of a batch take O((32 + K) N) doubles (about 6 MB at N = 20000).

use fieldflow::checks::pairwise::{
    energy_statistic, energy_test, median_pairwise_distance, mmd2_unbiased, mmd_test,
    DEFAULT_BANDWIDTH_FACTORS,
};
use fieldflow::data::GaussianMixture;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).map_or(10_000, |v| v.parse().unwrap());
    let b: usize = args.get(2).map_or(99, |v| v.parse().unwrap());
    let mix = GaussianMixture::eight_gaussians();
    let x = mix.sample(n, &mut fieldflow::rng::seeded(1));
    let y = mix.sample(n, &mut fieldflow::rng::seeded(2));
    println!(
        "n = m = {n}, d = 2, {} threads",
        rayon::current_num_threads()
    );

    let t = Instant::now();
    let e = energy_statistic(x.view(), y.view()).unwrap();
    println!(
        "energy statistic            {:>8.3} s  (E = {e:.3e})",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let med = median_pairwise_distance(x.view(), y.view()).unwrap();
    println!(
        "median heuristic            {:>8.3} s  (median = {med:.4})",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let m = mmd2_unbiased(x.view(), y.view(), med).unwrap();
    println!(
        "MMD^2, one bandwidth        {:>8.3} s  (MMD^2 = {m:.3e})",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let r = mmd_test(x.view(), y.view(), &DEFAULT_BANDWIDTH_FACTORS, 1, 0).unwrap();
    let one = t.elapsed().as_secs_f64();
    println!(
        "MMD^2, 5 bandwidths + 1 perm {:>7.3} s  (stats {:?})",
        one, r.statistics
    );

    let t = Instant::now();
    let et = energy_test(x.view(), y.view(), b, 0).unwrap();
    println!(
        "energy test, B = {b:<4}       {:>8.3} s  (p = {})",
        t.elapsed().as_secs_f64(),
        et.pvalue
    );

    let t = Instant::now();
    let mt = mmd_test(x.view(), y.view(), &DEFAULT_BANDWIDTH_FACTORS, b, 0).unwrap();
    println!(
        "MMD test, 5 bw, B = {b:<4}    {:>8.3} s  (p = {})",
        t.elapsed().as_secs_f64(),
        mt.pvalue
    );
}
