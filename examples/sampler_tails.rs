//! Few-step sampler errors split by how far out each particle starts, for PFGM
//! (heavy-tailed prior) against the Gaussian field (light tails): the numbers behind
//! the "heavy tails" paragraph of docs/SAMPLERS.md.
//!
//! ```text
//! cargo run --release --example sampler_tails
//! ```
//!
//! For each field: `n` far-field prior draws at `s_max`, exact end points (DOPRI5 at
//! 1e-12 to `s_min`, then `x <- m(x)`), and for each sampler and `N` the share of
//! particles whose end point is off by more than 1e-2, split by the start radius
//! `u = |x - c| / s_max` (in units of the top level). Then, on a smooth PFGM problem
//! (a Cauchy mixture, the Poisson kernel at scale 0.1 around the 8gaussians centres,
//! whose field is smooth at `s = 0`) and on the Gaussian mixture, the RMS error for
//! `rho = 3, 7, 30` (no basin switches there: the error is the integration error).

use fieldflow::data::{Dataset, GaussianMixture};
use fieldflow::fields::{FieldKind, MarginalField, PriorKind, Source};
use fieldflow::samplers::bench::exact_end;
use fieldflow::samplers::{sample, Method, SamplerOptions};

fn main() -> anyhow::Result<()> {
    let pts = Dataset::EightGaussians.sample_seeded(1000, 0);
    let cases = [
        (
            "poisson, 1000 points, s 40 -> 0.001",
            MarginalField::new(FieldKind::Poisson, Source::points(pts.view(), None)?)?,
            40.0,
            0.001,
        ),
        (
            "gaussian, 8gaussians mixture, s 80 -> 0.002",
            MarginalField::new(
                FieldKind::Gaussian,
                Source::from_mixture(&GaussianMixture::eight_gaussians())?,
            )?,
            80.0,
            0.002,
        ),
    ];
    let n = 2000;
    let bins = [0.0, 1.0, 3.0, 10.0, 100.0, f64::INFINITY];
    for (title, mf, s_max, s_min) in cases {
        let x0 = mf.sample_prior(s_max, n, 7, PriorKind::FarField)?;
        let c = mf.source().center();
        let u: Vec<f64> = x0
            .rows()
            .into_iter()
            .map(|r| {
                r.iter()
                    .zip(&c)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f64>()
                    .sqrt()
                    / s_max
            })
            .collect();
        let (exact, _) = exact_end(&mf, x0.view(), s_max, s_min)?;
        println!("{title}: n = {n}; share of particles with error > 1e-2, by start radius u = |x - c|/s_max");
        let mut head = String::from("sampler      N  ");
        for w in bins.windows(2) {
            let count = u.iter().filter(|&&v| v >= w[0] && v < w[1]).count();
            head += &format!(" u in [{}, {}) ({count})", w[0], w[1]);
        }
        println!("{head}");
        for m in [Method::EdmHeun, Method::DpmPp2m, Method::DpmPp3m] {
            for steps in [16, 64, 256] {
                let out = sample(&mf, x0.view(), &SamplerOptions::new(m, steps, s_max, s_min))?;
                let mut line = format!("{:<10} {steps:>3}  ", m.name());
                for w in bins.windows(2) {
                    let idx: Vec<usize> = (0..n).filter(|&i| u[i] >= w[0] && u[i] < w[1]).collect();
                    let bad = idx
                        .iter()
                        .filter(|&&i| {
                            let e: f64 = out
                                .x
                                .row(i)
                                .iter()
                                .zip(exact.row(i).iter())
                                .map(|(a, b)| (a - b) * (a - b))
                                .sum::<f64>()
                                .sqrt();
                            e > 1e-2
                        })
                        .count();
                    let share = if idx.is_empty() {
                        f64::NAN
                    } else {
                        bad as f64 / idx.len() as f64
                    };
                    line += &format!(" {share:>18.3}");
                }
                println!("{line}");
            }
        }
    }
    let mix = GaussianMixture::eight_gaussians();
    let cauchy = MarginalField::new(
        FieldKind::Poisson,
        Source::cauchy_mixture(mix.means(), &[0.1; 8], None)?,
    )?;
    let gauss = MarginalField::new(FieldKind::Gaussian, Source::from_mixture(&mix)?)?;
    let n = 500;
    for (title, mf, s_max, s_min) in [
        (
            "poisson, Cauchy mixture (scale 0.1), s 40 -> 0.001",
            &cauchy,
            40.0,
            0.001,
        ),
        (
            "gaussian, 8gaussians mixture, s 80 -> 0.002",
            &gauss,
            80.0,
            0.002,
        ),
    ] {
        let x0 = mf.sample_prior(s_max, n, 9, PriorKind::FarField)?;
        let (exact, _) = exact_end(mf, x0.view(), s_max, s_min)?;
        println!("{title}: n = {n}; RMS error");
        println!("sampler      N    rho = 3    rho = 7   rho = 30");
        for m in [Method::EdmHeun, Method::DpmPp2m, Method::DpmPp3m] {
            for steps in [16, 32, 64, 128] {
                let mut line = format!("{:<10} {steps:>3}", m.name());
                for rho in [3.0, 7.0, 30.0] {
                    let o = SamplerOptions::new(m, steps, s_max, s_min).rho(rho);
                    let out = sample(mf, x0.view(), &o)?;
                    let (rms, _) = fieldflow::samplers::bench::errors(out.x.view(), exact.view());
                    line += &format!(" {rms:>10.2e}");
                }
                println!("{line}");
            }
        }
    }
    Ok(())
}
