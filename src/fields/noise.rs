//! The noise laws `nu` of the affine family and the kernels that weight data points.
//!
//! A law is a probability density on `R^d`. Every law used by a named field except the
//! uniform box is radially symmetric, `nu(u) = exp(log_norm + h(|u|^2))`, so the code
//! works with the unnormalised profile `h` of the squared radius and its derivative
//! `h'`: the gradient of `log nu` is `2 h'(|u|^2) u`. The power-law profile
//! `h(r2) = -e ln(1 + r2)` covers PFGM (`e = (d + 1)/2`), PFGM++ (`e = (d + D)/2`) and,
//! as a bare weight kernel without a normalisation, the `power` field's point-source
//! law (`e = K/2`). Each law has an exact sampler (docs/MATHEMATICS.md, section 4).

use crate::rng::Rng;
use crate::{Error, Result};
use rand::Rng as _;
use rand_distr::{Beta, ChiSquared, Distribution, StandardNormal};
use statrs::function::gamma::ln_gamma;
use std::f64::consts::PI;

/// The radial cumulative profile `g(rho) = P(|U| <= rho)` of Su's construction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Profile {
    /// `g(rho) = tanh(rho)`.
    Tanh,
    /// `g(rho) = 1 - exp(-rho)`.
    Exp,
}

impl Profile {
    /// The radial CDF `g(rho)`.
    pub fn cdf(self, rho: f64) -> f64 {
        match self {
            Profile::Tanh => rho.tanh(),
            Profile::Exp => -(-rho).exp_m1(),
        }
    }

    /// The inverse `g^{-1}(v)` for `v` in `[0, 1)`.
    pub fn quantile(self, v: f64) -> f64 {
        match self {
            Profile::Tanh => v.atanh(),
            Profile::Exp => -(-v).ln_1p(),
        }
    }

    /// `ln g'(rho)`, the log of the radius density.
    pub fn ln_dcdf(self, rho: f64) -> f64 {
        match self {
            // ln sech^2 = -2 ln cosh = -2 (rho + ln(1 + e^{-2 rho}) - ln 2)
            Profile::Tanh => -2.0 * (rho + (-2.0 * rho).exp().ln_1p() - std::f64::consts::LN_2),
            Profile::Exp => -rho,
        }
    }

    /// `g''(rho) / g'(rho)`, the derivative of `ln g'`.
    pub fn dln_dcdf(self, rho: f64) -> f64 {
        match self {
            Profile::Tanh => -2.0 * rho.tanh(),
            Profile::Exp => -1.0,
        }
    }
}

/// Which law: the shape without the dimension.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NoiseKind {
    /// Standard normal `N(0, I_d)`.
    Gaussian,
    /// `(1 + |u|^2)^{-exponent}`; the PFGM++ law with `D` extra dimensions when
    /// `exponent = (d + D)/2` (normalisable only when `exponent > d/2`).
    PowerLaw {
        /// The exponent `e` of `(1 + |u|^2)^{-e}`.
        exponent: f64,
    },
    /// Su's radial construction: `|U|` has CDF `g`, the direction is uniform.
    Radial(Profile),
    /// Uniform on the box `[lo, hi]^d` (not radially symmetric).
    UniformBox {
        /// Lower edge in every coordinate.
        lo: f64,
        /// Upper edge in every coordinate.
        hi: f64,
    },
}

/// A noise law on `R^d` (or a bare weight kernel, see [`Noise::kernel_power`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Noise {
    kind: NoiseKind,
    d: usize,
    /// `ln` of the normalising constant (NaN for a non-normalisable kernel).
    log_norm: f64,
    /// `D` for a PFGM++ law (for the exact samplers), NaN otherwise.
    aug_dim: f64,
}

fn check_dim(d: usize) -> Result<()> {
    if d == 0 {
        return Err(Error::InvalidParameter {
            name: "dimension",
            value: 0.0,
            reason: "must be at least 1",
        });
    }
    Ok(())
}

/// `ln Omega_n`, the log area of the unit sphere in `R^n`.
pub fn ln_sphere_area(n: f64) -> f64 {
    std::f64::consts::LN_2 + 0.5 * n * PI.ln() - ln_gamma(0.5 * n)
}

impl Noise {
    /// The standard normal law on `R^d`.
    pub fn gaussian(d: usize) -> Result<Self> {
        check_dim(d)?;
        Ok(Self {
            kind: NoiseKind::Gaussian,
            d,
            log_norm: -0.5 * d as f64 * (2.0 * PI).ln(),
            aug_dim: f64::NAN,
        })
    }

    /// The PFGM++ law with `D = aug_dim > 0` extra dimensions:
    /// `Gamma((d+D)/2) / (pi^{d/2} Gamma(D/2)) (1 + |u|^2)^{-(d+D)/2}`. `D = 1` is PFGM.
    pub fn pfgmpp(d: usize, aug_dim: f64) -> Result<Self> {
        check_dim(d)?;
        if !(aug_dim.is_finite() && aug_dim > 0.0) {
            return Err(Error::InvalidParameter {
                name: "aug-dim",
                value: aug_dim,
                reason: "must be finite and > 0",
            });
        }
        let df = d as f64;
        Ok(Self {
            kind: NoiseKind::PowerLaw {
                exponent: 0.5 * (df + aug_dim),
            },
            d,
            log_norm: ln_gamma(0.5 * (df + aug_dim)) - 0.5 * df * PI.ln() - ln_gamma(0.5 * aug_dim),
            aug_dim,
        })
    }

    /// The bare point-source kernel `(1 + |u|^2)^{-K/2}` of the `power` field: it only
    /// weights data points (it need not be normalisable) and has no sampler.
    pub fn kernel_power(d: usize, k: f64) -> Result<Self> {
        check_dim(d)?;
        if !(k.is_finite() && k > 0.0) {
            return Err(Error::InvalidParameter {
                name: "power",
                value: k,
                reason: "must be finite and > 0",
            });
        }
        Ok(Self {
            kind: NoiseKind::PowerLaw { exponent: 0.5 * k },
            d,
            log_norm: f64::NAN,
            aug_dim: f64::NAN,
        })
    }

    /// Su's radial law with radial CDF `profile`.
    pub fn radial(d: usize, profile: Profile) -> Result<Self> {
        check_dim(d)?;
        Ok(Self {
            kind: NoiseKind::Radial(profile),
            d,
            log_norm: -ln_sphere_area(d as f64),
            aug_dim: f64::NAN,
        })
    }

    /// The uniform law on the box `[lo, hi]^d`.
    pub fn uniform_box(d: usize, lo: f64, hi: f64) -> Result<Self> {
        check_dim(d)?;
        if !(lo.is_finite() && hi.is_finite() && hi > lo) {
            return Err(Error::Invalid(format!(
                "uniform box needs finite lo < hi, got [{lo}, {hi}]"
            )));
        }
        Ok(Self {
            kind: NoiseKind::UniformBox { lo, hi },
            d,
            log_norm: -(d as f64) * (hi - lo).ln(),
            aug_dim: f64::NAN,
        })
    }

    /// The shape of the law.
    pub fn kind(&self) -> NoiseKind {
        self.kind
    }

    /// The dimension `d`.
    pub fn dim(&self) -> usize {
        self.d
    }

    /// `ln` of the normalising constant (NaN for a bare kernel).
    pub fn log_norm(&self) -> f64 {
        self.log_norm
    }

    /// Whether the law is radially symmetric (all but the uniform box).
    pub fn is_radial(&self) -> bool {
        !matches!(self.kind, NoiseKind::UniformBox { .. })
    }

    /// The unnormalised radial log-profile `h(r2)`: `ln nu(u) = log_norm + h(|u|^2)`.
    /// Not meaningful for the uniform box.
    #[inline]
    pub fn h(&self, r2: f64) -> f64 {
        match self.kind {
            NoiseKind::Gaussian => -0.5 * r2,
            NoiseKind::PowerLaw { exponent } => -exponent * r2.ln_1p(),
            NoiseKind::Radial(p) => {
                let rho = r2.sqrt();
                if self.d == 1 {
                    p.ln_dcdf(rho)
                } else {
                    p.ln_dcdf(rho) - (self.d as f64 - 1.0) * rho.ln()
                }
            }
            NoiseKind::UniformBox { .. } => 0.0,
        }
    }

    /// The derivative `h'(r2)`; `grad ln nu(u) = 2 h'(|u|^2) u`. At `u = 0` the radial
    /// profiles give their limit (tanh in `d = 1`) or 0 where there is none.
    #[inline]
    pub fn dh(&self, r2: f64) -> f64 {
        match self.kind {
            NoiseKind::Gaussian => -0.5,
            NoiseKind::PowerLaw { exponent } => -exponent / (1.0 + r2),
            NoiseKind::Radial(p) => {
                let rho = r2.sqrt();
                if rho > 0.0 {
                    (p.dln_dcdf(rho) - (self.d as f64 - 1.0) / rho) / (2.0 * rho)
                } else if self.d == 1 && p == Profile::Tanh {
                    -1.0 // the limit of -tanh(rho)/rho
                } else {
                    // the density has a kink (exp, d = 1) or a pole (d >= 2) at the
                    // origin: no gradient; 0 is the symmetric choice and avoids NaN
                    0.0
                }
            }
            NoiseKind::UniformBox { .. } => 0.0,
        }
    }

    /// The kernel ratio `nu(u_i) / nu(u_ref)` for radial laws, from the squared radii;
    /// exact, and at most 1 when `r2 >= r2_ref` (all radial laws here decrease).
    #[inline]
    #[allow(clippy::float_cmp)] // exact tie: the reference term itself (also at r2 = 0)
    pub fn ratio(&self, r2: f64, r2_ref: f64) -> f64 {
        if r2 == r2_ref {
            return 1.0;
        }
        match self.kind {
            NoiseKind::Gaussian => (-0.5 * (r2 - r2_ref)).exp(),
            NoiseKind::PowerLaw { exponent } => {
                let q = (1.0 + r2_ref) / (1.0 + r2);
                pow_ratio(q, exponent)
            }
            NoiseKind::Radial(p) => {
                // h(r2) - h(r2_ref) as differences of like terms (nothing large cancels)
                let (rho, rho_ref) = (r2.sqrt(), r2_ref.sqrt());
                let mut hd = match p {
                    Profile::Tanh => {
                        let l = |r: f64| (-2.0 * r).exp().ln_1p();
                        -2.0 * ((rho - rho_ref) + (l(rho) - l(rho_ref)))
                    }
                    Profile::Exp => -(rho - rho_ref),
                };
                if self.d > 1 {
                    hd -= 0.5 * (self.d as f64 - 1.0) * (r2 / r2_ref).ln();
                }
                hd.exp()
            }
            NoiseKind::UniformBox { .. } => 1.0,
        }
    }

    /// `ln nu(u)`.
    pub fn log_density(&self, u: &[f64]) -> f64 {
        debug_assert_eq!(u.len(), self.d);
        match self.kind {
            NoiseKind::UniformBox { lo, hi } => {
                if u.iter().all(|&v| v >= lo && v <= hi) {
                    self.log_norm
                } else {
                    f64::NEG_INFINITY
                }
            }
            _ => self.log_norm + self.h(norm2(u)),
        }
    }

    /// `grad ln nu(u)` into `out` (zero inside the uniform box).
    pub fn grad_log_density(&self, u: &[f64], out: &mut [f64]) {
        let c = 2.0 * self.dh(norm2(u));
        for (o, &v) in out.iter_mut().zip(u) {
            *o = c * v;
        }
    }

    /// The squared distance from `u` to the support (0 for radial laws).
    pub fn dist2_to_support(&self, u: &[f64]) -> f64 {
        match self.kind {
            NoiseKind::UniformBox { lo, hi } => u
                .iter()
                .map(|&v| {
                    let e = (lo - v).max(v - hi).max(0.0);
                    e * e
                })
                .sum(),
            _ => 0.0,
        }
    }

    /// `P(|U| > rho)`, the tail mass of the radius (NaN for the uniform box and the
    /// bare `power` kernel).
    pub fn tail_prob(&self, rho: f64) -> f64 {
        use statrs::distribution::{Beta as SBeta, ChiSquared as SChi, ContinuousCDF};
        let df = self.d as f64;
        match self.kind {
            NoiseKind::Gaussian => SChi::new(df).map_or(f64::NAN, |c| c.sf(rho * rho)),
            NoiseKind::PowerLaw { .. } if self.can_sample() => {
                SBeta::new(0.5 * df, 0.5 * self.aug_dim)
                    .map_or(f64::NAN, |b| b.sf(rho * rho / (1.0 + rho * rho)))
            }
            NoiseKind::Radial(p) => 1.0 - p.cdf(rho),
            _ => f64::NAN,
        }
    }

    /// Whether [`Noise::sample`] is available (not for the bare `power` kernel).
    pub fn can_sample(&self) -> bool {
        self.log_norm.is_finite()
    }

    /// Draws `U ~ nu` into `out` (length `d`). For the PFGM++ law this is the
    /// Beta construction (docs/MATHEMATICS.md, section 4): `B ~ Beta(d/2, D/2)`,
    /// `R = sqrt(B / (1 - B))`, uniform direction. Panics if the law is the bare `power` kernel (checked by
    /// the constructors of the callers).
    pub fn sample(&self, rng: &mut Rng, out: &mut [f64]) {
        debug_assert_eq!(out.len(), self.d);
        match self.kind {
            NoiseKind::Gaussian => {
                for o in out.iter_mut() {
                    *o = rng.sample(StandardNormal);
                }
            }
            NoiseKind::PowerLaw { .. } => {
                assert!(self.can_sample(), "the bare power kernel has no sampler");
                sample_pfgmpp_beta(self.d, self.aug_dim, rng, out);
            }
            NoiseKind::Radial(p) => {
                let v: f64 = rng.random();
                let rho = p.quantile(v);
                uniform_direction(rng, out);
                for o in out.iter_mut() {
                    *o *= rho;
                }
            }
            NoiseKind::UniformBox { lo, hi } => {
                for o in out.iter_mut() {
                    let v: f64 = rng.random();
                    *o = lo + (hi - lo) * v;
                }
            }
        }
    }
}

/// `q^e` for `0 < q <= 1`, by `powi`/`sqrt` when `2e` is a small integer (the common
/// PFGM cases) and `powf` otherwise.
#[inline]
#[allow(clippy::float_cmp)] // exact test for an integer 2e
pub(crate) fn pow_ratio(q: f64, e: f64) -> f64 {
    let two_e = 2.0 * e;
    if two_e == two_e.round() && two_e <= 64.0 {
        let n = two_e as i32;
        if n % 2 == 0 {
            q.powi(n / 2)
        } else {
            q.powi(n / 2) * q.sqrt()
        }
    } else {
        q.powf(e)
    }
}

#[inline]
pub(crate) fn norm2(u: &[f64]) -> f64 {
    u.iter().map(|v| v * v).sum()
}

/// A uniform direction on the unit sphere of `R^{out.len()}`.
pub fn uniform_direction(rng: &mut Rng, out: &mut [f64]) {
    loop {
        for o in out.iter_mut() {
            *o = rng.sample(StandardNormal);
        }
        let n = norm2(out).sqrt();
        if n > 0.0 {
            for o in out.iter_mut() {
                *o /= n;
            }
            return;
        }
    }
}

/// PFGM++ law, first exact sampler: `B ~ Beta(d/2, D/2)`, `R = sqrt(B / (1 - B))`,
/// `U = R * (uniform direction)`.
pub fn sample_pfgmpp_beta(d: usize, aug_dim: f64, rng: &mut Rng, out: &mut [f64]) {
    let beta = Beta::new(0.5 * d as f64, 0.5 * aug_dim).expect("validated parameters");
    let b: f64 = beta.sample(rng);
    // R^2 = B / (1 - B); for B rounding to 1 the radius is +inf in floating point:
    // keep the exact draw, the caller counts such particles as unconverged.
    let r = (b / (1.0 - b)).sqrt();
    uniform_direction(rng, out);
    for o in out.iter_mut() {
        *o *= r;
    }
}

/// PFGM++ law, second exact sampler: `U = g / sqrt(W)`, `g ~ N(0, I_d)`, `W ~ chi2_D`.
pub fn sample_pfgmpp_chi2(aug_dim: f64, rng: &mut Rng, out: &mut [f64]) {
    let chi = ChiSquared::new(aug_dim).expect("validated parameters");
    let w: f64 = chi.sample(rng);
    let k = 1.0 / w.sqrt();
    for o in out.iter_mut() {
        let g: f64 = rng.sample(StandardNormal);
        *o = g * k;
    }
}

/// PFGM (`D = 1`), third exact sampler: `U = g / |w|`, `g ~ N(0, I_d)`, `w ~ N(0, 1)`.
pub fn sample_pfgm_normal_ratio(rng: &mut Rng, out: &mut [f64]) {
    let w: f64 = rng.sample(StandardNormal);
    let k = 1.0 / w.abs();
    for o in out.iter_mut() {
        let g: f64 = rng.sample(StandardNormal);
        *o = g * k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `int_0^inf Omega_d rho^{d-1} nu(rho) drho` by the substitution rho = tan(t).
    fn radial_mass(n: &Noise) -> f64 {
        let d = n.dim() as f64;
        let m = 200_000;
        let h = 0.5 * PI / m as f64;
        let mut acc = 0.0;
        for k in 0..m {
            let t = (k as f64 + 0.5) * h;
            let rho = t.tan();
            let jac = 1.0 / (t.cos() * t.cos());
            let ln = ln_sphere_area(d) + (d - 1.0) * rho.ln() + n.log_norm() + n.h(rho * rho);
            acc += ln.exp() * jac;
        }
        acc * h
    }

    #[test]
    fn every_radial_law_is_normalised() {
        // Midpoint rule on (0, pi/2) with 2e5 nodes; tolerance 1e-6 covers the
        // endpoint singularity of the radial profiles at d = 1 (tested integrands are
        // bounded; error measured ~1e-9 or below).
        for d in [1usize, 2, 3, 5] {
            let mut laws = vec![
                Noise::gaussian(d).unwrap(),
                Noise::radial(d, Profile::Tanh).unwrap(),
                Noise::radial(d, Profile::Exp).unwrap(),
            ];
            for dd in [1.0, 2.0, 3.5, 10.0] {
                laws.push(Noise::pfgmpp(d, dd).unwrap());
            }
            for law in &laws {
                let m = radial_mass(law);
                assert!((m - 1.0).abs() < 1e-6, "{law:?}: mass {m}");
            }
        }
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let u = [0.3, -0.7, 1.1];
        let laws = [
            Noise::gaussian(3).unwrap(),
            Noise::pfgmpp(3, 1.0).unwrap(),
            Noise::pfgmpp(3, 7.3).unwrap(),
            Noise::radial(3, Profile::Tanh).unwrap(),
            Noise::radial(3, Profile::Exp).unwrap(),
        ];
        for law in &laws {
            let mut g = [0.0; 3];
            law.grad_log_density(&u, &mut g);
            for j in 0..3 {
                let e = 1e-5;
                let mut up = u;
                let mut dn = u;
                up[j] += e;
                dn[j] -= e;
                let fd = (law.log_density(&up) - law.log_density(&dn)) / (2.0 * e);
                assert!((fd - g[j]).abs() < 1e-8, "{law:?} j={j}: {fd} vs {}", g[j]);
            }
        }
    }

    #[test]
    fn pfgm_constant_in_d2_is_one_over_two_pi() {
        // Gamma(3/2) / (pi Gamma(1/2)) = 1 / (2 pi)
        let n = Noise::pfgmpp(2, 1.0).unwrap();
        assert!((n.log_norm() - (1.0 / (2.0 * PI)).ln()).abs() < 1e-14);
        // Cauchy in d = 1: 1/pi
        let n = Noise::pfgmpp(1, 1.0).unwrap();
        assert!((n.log_norm() + PI.ln()).abs() < 1e-14);
    }

    #[test]
    fn ratio_is_exact() {
        for law in [
            Noise::gaussian(2).unwrap(),
            Noise::pfgmpp(2, 1.0).unwrap(),
            Noise::pfgmpp(2, 2.7).unwrap(),
            Noise::radial(2, Profile::Tanh).unwrap(),
        ] {
            let (a, b) = (0.4, 2.9);
            let want = (law.h(b) - law.h(a)).exp();
            let got = law.ratio(b, a);
            assert!((got / want - 1.0).abs() < 1e-14, "{law:?}");
        }
    }

    /// The radial profiles' ratio in difference form against `exp(h - h_ref)` where
    /// that is exact enough (moderate radii, 1e-14), and at radii `1e6` apart by
    /// `1e-3`, where `h` itself is `-2e6` and its difference loses 9 digits: the ratio
    /// equals the closed form `exp(-k delta) (rho_ref / rho)^(d - 1)` (k = 2 for tanh,
    /// whose `ln(1 + e^{-2 rho})` terms vanish there) to 1e-14.
    #[test]
    fn radial_ratio_is_exact_far_out() {
        for d in [1usize, 2, 5] {
            for (p, k) in [(Profile::Tanh, 2.0), (Profile::Exp, 1.0)] {
                let law = Noise::radial(d, p).unwrap();
                let (a, b) = (0.3f64, 1.7f64);
                let want = (law.h(b) - law.h(a)).exp();
                assert!((law.ratio(b, a) / want - 1.0).abs() < 1e-14, "{p:?} d={d}");
                let (rr, r) = (1e6f64, 1e6f64 + 1e-3);
                let want = (-k * (r - rr)).exp() * (rr / r).powi(d as i32 - 1);
                let got = law.ratio(r * r, rr * rr);
                assert!(
                    (got / want - 1.0).abs() < 1e-14,
                    "{p:?} d={d}: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn radial_laws_are_finite_at_the_origin_in_1d() {
        let t = Noise::radial(1, Profile::Tanh).unwrap();
        let e = Noise::radial(1, Profile::Exp).unwrap();
        // sech^2(0) / 2 = 1/2 and e^0 / 2 = 1/2
        assert!((t.log_density(&[0.0]) - 0.5f64.ln()).abs() < 1e-15);
        assert!((e.log_density(&[0.0]) - 0.5f64.ln()).abs() < 1e-15);
        assert!((t.dh(0.0) + 1.0).abs() < 1e-15 && (t.dh(1e-12) + 1.0).abs() < 1e-9);
        assert!(e.dh(0.0).is_finite());
        let t2 = Noise::radial(2, Profile::Tanh).unwrap();
        assert!(t2.dh(0.0).is_finite());
    }

    #[test]
    fn bad_parameters_are_errors() {
        assert!(Noise::gaussian(0).is_err());
        assert!(Noise::pfgmpp(2, 0.0).is_err());
        assert!(Noise::pfgmpp(2, f64::NAN).is_err());
        assert!(Noise::kernel_power(2, -1.0).is_err());
        assert!(Noise::uniform_box(1, 2.0, 0.0).is_err());
    }
}
