//! Standard test problems with exact or published answers.
//!
//! Shared by the tests, examples and benchmarks. Each problem gives its right-hand
//! side, its interval and initial state, and the reference solution: a closed form
//! where one exists, otherwise the published value quoted in full digits
//! (`docs/REFERENCE-VALUES.md`, section 3).

// Published constants are quoted in all their digits, as printed.
#![allow(clippy::excessive_precision)]
// Tabulated references exist only at their exact times, so `exact` compares times exactly.
#![allow(clippy::float_cmp)]

use super::system::OdeSystem;

/// A problem: right-hand side, time interval, initial state, reference final state.
pub trait Problem: OdeSystem {
    /// Short name.
    fn name(&self) -> &'static str;
    /// Start time.
    fn t0(&self) -> f64;
    /// End time.
    fn t1(&self) -> f64;
    /// Initial state.
    fn y0(&self) -> Vec<f64>;
    /// The reference solution at time `t`, where it is known.
    fn exact(&self, t: f64) -> Option<Vec<f64>>;
}

/// The restricted three-body problem of Arenstorf (Hairer, Norsett & Wanner, I.0):
/// a periodic orbit of a satellite around the earth and the moon, state
/// `(y1, y2, y1', y2')`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Arenstorf;

impl Arenstorf {
    /// Mass ratio of the moon.
    pub const MU: f64 = 0.012277471;
    /// The period.
    pub const PERIOD: f64 = 17.065_216_560_157_962_558_891_720_624_9;
    /// `y2'(0)`.
    pub const V0: f64 = -2.001_585_106_379_082_522_405_378_622_24;
}

impl OdeSystem for Arenstorf {
    fn dim(&self) -> usize {
        4
    }

    fn eval(&self, _t: f64, y: &[f64], dy: &mut [f64]) {
        let mu = Self::MU;
        let mup = 1.0 - mu;
        let d1 = ((y[0] + mu).powi(2) + y[1] * y[1]).powf(1.5);
        let d2 = ((y[0] - mup).powi(2) + y[1] * y[1]).powf(1.5);
        dy[0] = y[2];
        dy[1] = y[3];
        dy[2] = y[0] + 2.0 * y[3] - mup * (y[0] + mu) / d1 - mu * (y[0] - mup) / d2;
        dy[3] = y[1] - 2.0 * y[2] - mup * y[1] / d1 - mu * y[1] / d2;
    }
}

impl Problem for Arenstorf {
    fn name(&self) -> &'static str {
        "arenstorf"
    }
    fn t0(&self) -> f64 {
        0.0
    }
    fn t1(&self) -> f64 {
        Self::PERIOD
    }
    fn y0(&self) -> Vec<f64> {
        vec![0.994, 0.0, 0.0, Self::V0]
    }
    /// The orbit is periodic: `y(T) = y(0)`.
    fn exact(&self, t: f64) -> Option<Vec<f64>> {
        (t == 0.0 || t == Self::PERIOD).then(|| self.y0())
    }
}

/// DETEST class A problems on `[0, 20]`, scalar, each with a closed-form solution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetestA {
    /// `y' = -y`, `y = e^{-t}`.
    A1,
    /// `y' = -y^3 / 2`, `y(0) = 1`, `y = 1/sqrt(1 + t)`.
    A2,
    /// `y' = y cos t`, `y(0) = 1`, `y = e^{sin t}`.
    A3,
    /// `y' = y/4 (1 - y/20)`, `y(0) = 1`, `y = 20 / (1 + 19 e^{-t/4})`.
    A4,
}

impl DetestA {
    /// All four.
    pub const ALL: [DetestA; 4] = [DetestA::A1, DetestA::A2, DetestA::A3, DetestA::A4];
}

impl OdeSystem for DetestA {
    fn dim(&self) -> usize {
        1
    }
    fn eval(&self, t: f64, y: &[f64], dy: &mut [f64]) {
        let y = y[0];
        dy[0] = match self {
            DetestA::A1 => -y,
            DetestA::A2 => -0.5 * y * y * y,
            DetestA::A3 => y * t.cos(),
            DetestA::A4 => 0.25 * y * (1.0 - y / 20.0),
        };
    }
}

impl Problem for DetestA {
    fn name(&self) -> &'static str {
        match self {
            DetestA::A1 => "detest-a1",
            DetestA::A2 => "detest-a2",
            DetestA::A3 => "detest-a3",
            DetestA::A4 => "detest-a4",
        }
    }
    fn t0(&self) -> f64 {
        0.0
    }
    fn t1(&self) -> f64 {
        20.0
    }
    fn y0(&self) -> Vec<f64> {
        vec![1.0]
    }
    fn exact(&self, t: f64) -> Option<Vec<f64>> {
        Some(vec![match self {
            DetestA::A1 => (-t).exp(),
            DetestA::A2 => 1.0 / (1.0 + t).sqrt(),
            DetestA::A3 => t.sin().exp(),
            DetestA::A4 => 20.0 / (1.0 + 19.0 * (-t / 4.0).exp()),
        }])
    }
}

/// The mildly stiff check `y' = -50 (y - cos t)`, `y(0) = 0`, on `[0, 1.5]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct StiffCosine;

impl OdeSystem for StiffCosine {
    fn dim(&self) -> usize {
        1
    }
    fn eval(&self, t: f64, y: &[f64], dy: &mut [f64]) {
        dy[0] = -50.0 * (y[0] - t.cos());
    }
}

impl Problem for StiffCosine {
    fn name(&self) -> &'static str {
        "stiff-cosine"
    }
    fn t0(&self) -> f64 {
        0.0
    }
    fn t1(&self) -> f64 {
        1.5
    }
    fn y0(&self) -> Vec<f64> {
        vec![0.0]
    }
    /// `y = 50 (sin t + 50 cos t - 50 e^{-50 t}) / 2501`.
    fn exact(&self, t: f64) -> Option<Vec<f64>> {
        Some(vec![
            50.0 * (t.sin() + 50.0 * t.cos() - 50.0 * (-50.0 * t).exp()) / 2501.0,
        ])
    }
}

/// The Brusselator `y1' = 1 + y1^2 y2 - 4 y1`, `y2' = 3 y1 - y1^2 y2`,
/// `y(0) = (1.5, 3)`, on `[0, 20]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Brusselator;

impl OdeSystem for Brusselator {
    fn dim(&self) -> usize {
        2
    }
    fn eval(&self, _t: f64, y: &[f64], dy: &mut [f64]) {
        let q = y[0] * y[0] * y[1];
        dy[0] = 1.0 + q - 4.0 * y[0];
        dy[1] = 3.0 * y[0] - q;
    }
}

impl Problem for Brusselator {
    fn name(&self) -> &'static str {
        "brusselator"
    }
    fn t0(&self) -> f64 {
        0.0
    }
    fn t1(&self) -> f64 {
        20.0
    }
    fn y0(&self) -> Vec<f64> {
        vec![1.5, 3.0]
    }
    /// Published reference value at `t = 20`.
    fn exact(&self, t: f64) -> Option<Vec<f64>> {
        (t == 20.0).then(|| vec![0.498_637_071_268_347_8, 4.596_780_349_452_011])
    }
}

/// Van der Pol's oscillator `y1' = y2`, `y2' = ((1 - y1^2) y2 - y1) / eps`.
/// With `eps = 1` and the given start on the limit cycle, one period returns to it.
#[derive(Debug, Clone, Copy)]
pub struct VanDerPol {
    /// The stiffness parameter.
    pub eps: f64,
}

impl VanDerPol {
    /// `y1(0)` on the limit cycle for `eps = 1` (with `y2(0) = 0`).
    pub const CYCLE_Y0: f64 = 2.008_619_860_874_843_136_509_401_88;
    /// The period of the limit cycle for `eps = 1`.
    pub const CYCLE_PERIOD: f64 = 6.663_286_859_323_130_189_699_682_030_5;
}

impl OdeSystem for VanDerPol {
    fn dim(&self) -> usize {
        2
    }
    fn eval(&self, _t: f64, y: &[f64], dy: &mut [f64]) {
        dy[0] = y[1];
        dy[1] = ((1.0 - y[0] * y[0]) * y[1] - y[0]) / self.eps;
    }
}

impl Problem for VanDerPol {
    fn name(&self) -> &'static str {
        "van-der-pol"
    }
    fn t0(&self) -> f64 {
        0.0
    }
    fn t1(&self) -> f64 {
        Self::CYCLE_PERIOD
    }
    fn y0(&self) -> Vec<f64> {
        vec![Self::CYCLE_Y0, 0.0]
    }
    /// For `eps = 1`: the limit cycle is periodic, `y(T) = y(0)`.
    fn exact(&self, t: f64) -> Option<Vec<f64>> {
        let cycle = self.eps == 1.0;
        (cycle && (t == 0.0 || t == Self::CYCLE_PERIOD)).then(|| self.y0())
    }
}

/// A smooth non-autonomous linear system with a closed form, for convergence orders:
/// the rotation `y1' = -w y2 + cos t`, `y2' = w y1`, `y3' = -y3 (1 + sin t)` on
/// `[0, 2]`, from `(1, 0, 1)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SmoothLinear;

impl SmoothLinear {
    const W: f64 = 2.0;
}

impl OdeSystem for SmoothLinear {
    fn dim(&self) -> usize {
        3
    }
    fn eval(&self, t: f64, y: &[f64], dy: &mut [f64]) {
        let w = Self::W;
        dy[0] = -w * y[1] + t.cos();
        dy[1] = w * y[0];
        dy[2] = -y[2] * (1.0 + t.sin());
    }
}

impl Problem for SmoothLinear {
    fn name(&self) -> &'static str {
        "smooth-linear"
    }
    fn t0(&self) -> f64 {
        0.0
    }
    fn t1(&self) -> f64 {
        2.0
    }
    fn y0(&self) -> Vec<f64> {
        vec![1.0, 0.0, 1.0]
    }
    /// `y1 = cos wt + B sin wt - k sin t` with `k = 1/(w^2 - 1)`, `B = (1 + k)/w`;
    /// `y2` its integral times `w`; `y3 = exp(-(t + 1 - cos t))`.
    fn exact(&self, t: f64) -> Option<Vec<f64>> {
        // y1'' = -w^2 y1 - sin t with y1(0) = 1, y1'(0) = 1:
        // particular y1p = -sin t / (w^2 - 1); y1 = cos wt + B sin wt + y1p,
        // y1'(0) = w B - 1/(w^2 - 1) = 1  =>  B = (1 + 1/(w^2 - 1)) / w.
        let w = Self::W;
        let k = 1.0 / (w * w - 1.0);
        let bb = (1.0 + k) / w;
        let y1 = (w * t).cos() + bb * (w * t).sin() - k * t.sin();
        // y2' = w y1, y2(0) = 0.
        let y2 = (w * t).sin() + bb * (1.0 - (w * t).cos()) + (w * k) * (t.cos() - 1.0);
        let y3 = (-(t + 1.0 - t.cos())).exp();
        Some(vec![y1, y2, y3])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The closed forms satisfy their ODEs (central differences, h = 1e-5).
    #[test]
    fn closed_forms_satisfy_their_equations() {
        let probs: Vec<Box<dyn Problem>> = vec![
            Box::new(DetestA::A1),
            Box::new(DetestA::A2),
            Box::new(DetestA::A3),
            Box::new(DetestA::A4),
            Box::new(StiffCosine),
            Box::new(SmoothLinear),
        ];
        for p in &probs {
            let y0 = p.exact(p.t0()).unwrap();
            for (a, b) in y0.iter().zip(p.y0()) {
                assert!((a - b).abs() < 1e-14, "{} initial value", p.name());
            }
            for &t in &[0.3, 1.1, 1.4] {
                let h = 1e-5;
                let yp = p.exact(t + h).unwrap();
                let ym = p.exact(t - h).unwrap();
                let y = p.exact(t).unwrap();
                let mut f = vec![0.0; p.dim()];
                p.eval(t, &y, &mut f);
                for m in 0..p.dim() {
                    let fd = (yp[m] - ym[m]) / (2.0 * h);
                    assert!(
                        (fd - f[m]).abs() < 1e-7,
                        "{} at t = {t}: {fd} vs {}",
                        p.name(),
                        f[m]
                    );
                }
            }
        }
    }
}
