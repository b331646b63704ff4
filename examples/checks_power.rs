//! Power of the two-sample tests on 8gaussians: the rejection rate at level alpha of
//! each test against a dropped mode, a 20% spread error and a mean shift, over `R`
//! seeded replicates (reference and samples redrawn each time).
//!
//! Usage: `cargo run --release --example checks_power -- [N] [R] [B] [ALPHA] [ALTS]`
//! (defaults 2000, 5, 199, 0.01, all alternatives; ALTS is comma-separated).
//! The alternatives:
//! * `drop`: the first mode removed (7 modes, weights 1/7);
//! * `scale`: the whole distribution spread 20% wider (every point times 1.2; the
//!   mean is 0);
//! * `shift`: every point moved along x by 0.2 standard deviations of the data's
//!   x-marginal (0.2 x 2.031 = 0.406);
//! * `spread_mode`: each mode 20% wider (component std 0.354 -> 0.424), the
//!   centres unchanged;
//! * `shift_mode`: every point moved along x by 0.2 component standard deviations
//!   (0.071).

use fieldflow::checks::battery::TwoSampleTest;
use fieldflow::checks::TwoSampleConfig;
use fieldflow::data::GaussianMixture;
use ndarray::{s, Array2};
use std::time::Instant;

fn alternative(name: &str, n: usize, seed: u64) -> Array2<f64> {
    let base = GaussianMixture::eight_gaussians();
    let c = base.stds()[0];
    let mut rng = fieldflow::rng::seeded(seed);
    match name {
        "null" => base.sample(n, &mut rng),
        "drop" => {
            let means = base.means().slice(s![1.., ..]).to_owned();
            GaussianMixture::new(vec![1.0; 7], means, vec![c; 7])
                .unwrap()
                .sample(n, &mut rng)
        }
        "scale" => base.sample(n, &mut rng).mapv(|v| 1.2 * v),
        "spread_mode" => {
            GaussianMixture::new(vec![1.0; 8], base.means().to_owned(), vec![1.2 * c; 8])
                .unwrap()
                .sample(n, &mut rng)
        }
        "shift" | "shift_mode" => {
            let mut x = base.sample(n, &mut rng);
            let delta = if name == "shift_mode" {
                0.2 * c
            } else {
                let m = base.means();
                let var = m.column(0).iter().map(|v| v * v).sum::<f64>() / 8.0 + c * c;
                0.2 * var.sqrt()
            };
            x.column_mut(0).mapv_inplace(|v| v + delta);
            x
        }
        _ => panic!("unknown alternative {name}"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).map_or(2000, |v| v.parse().unwrap());
    let reps: u64 = args.get(2).map_or(5, |v| v.parse().unwrap());
    let b: usize = args.get(3).map_or(199, |v| v.parse().unwrap());
    let alpha: f64 = args.get(4).map_or(0.01, |v| v.parse().unwrap());
    let tests: Vec<TwoSampleTest> = TwoSampleTest::ALL
        .iter()
        .copied()
        .filter(|t| t.applies(2))
        .collect();
    println!("n = m = {n}, {reps} replicates, B = {b}, alpha = {alpha}");
    print!("{:<15}", "alternative");
    for t in &tests {
        print!("{:>11}", t.name());
    }
    println!();
    let alts: Vec<String> = match args.get(5) {
        Some(list) => list.split(',').map(String::from).collect(),
        None => [
            "null",
            "drop",
            "scale",
            "shift",
            "spread_mode",
            "shift_mode",
        ]
        .map(String::from)
        .to_vec(),
    };
    for alt in alts.iter().map(String::as_str) {
        let mut rejections = vec![0u64; tests.len()];
        let mut times = vec![0.0f64; tests.len()];
        let mut last_p = vec![0.0; tests.len()];
        for r in 0..reps {
            let y = alternative("null", n, 1000 + 2 * r);
            let x = alternative(alt, n, 1001 + 2 * r);
            let cfg = TwoSampleConfig {
                permutations: b,
                seed: 77 + r,
                ..TwoSampleConfig::default()
            };
            for (k, t) in tests.iter().enumerate() {
                let t0 = Instant::now();
                let res = t.run(x.view(), y.view(), &cfg).unwrap();
                times[k] += t0.elapsed().as_secs_f64();
                last_p[k] = res.pvalue;
                if res.pvalue <= alpha {
                    rejections[k] += 1;
                }
            }
        }
        print!("{alt:<15}");
        for r in &rejections {
            print!("{:>11}", format!("{r}/{reps}"));
        }
        println!();
        print!("{:<15}", "  last p");
        for p in &last_p {
            print!("{p:>11.4}");
        }
        println!();
        print!("{:<15}", "  s per run");
        for tm in &times {
            print!("{:>11.3}", tm / reps as f64);
        }
        println!();
    }
}
