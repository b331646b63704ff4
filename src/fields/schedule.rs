//! The schedules `alpha(s)`, `sigma(s)` of the affine family `x_s = alpha y + sigma U`.
//!
//! Two schedules cover every field of the project: the "ray" schedule `alpha = 1`,
//! `sigma = s` (PFGM, PFGM++, Gaussian/VE, radial profiles, power laws), whose
//! conditional paths are straight rays out of each data point, and the linear
//! (rectified-flow) schedule `alpha = 1 - s`, `sigma = s` on `s in (0, 1]`.

/// A schedule `alpha(s)`, `sigma(s)` with its derivatives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// `alpha = 1`, `sigma = s`, `s > 0`.
    Ray,
    /// `alpha = 1 - s`, `sigma = s`, `s in (0, 1]`.
    Linear,
}

impl Schedule {
    /// `alpha(s)`.
    #[inline]
    pub fn alpha(self, s: f64) -> f64 {
        match self {
            Schedule::Ray => 1.0,
            Schedule::Linear => 1.0 - s,
        }
    }

    /// `1 - alpha(s)`, exactly (`0` or `s`; `1 - alpha(s)` in floating point loses
    /// the digits of a small `s`).
    #[inline]
    pub fn one_minus_alpha(self, s: f64) -> f64 {
        match self {
            Schedule::Ray => 0.0,
            Schedule::Linear => s,
        }
    }

    /// `alpha'(s)`.
    #[inline]
    pub fn dalpha(self, _s: f64) -> f64 {
        match self {
            Schedule::Ray => 0.0,
            Schedule::Linear => -1.0,
        }
    }

    /// `sigma(s)`.
    #[inline]
    pub fn sigma(self, s: f64) -> f64 {
        s
    }

    /// `sigma'(s)`.
    #[inline]
    pub fn dsigma(self, _s: f64) -> f64 {
        1.0
    }

    /// The largest allowed `s` (`1` for the linear path).
    pub fn s_upper(self) -> f64 {
        match self {
            Schedule::Ray => f64::INFINITY,
            Schedule::Linear => 1.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivatives_match_finite_differences() {
        for sch in [Schedule::Ray, Schedule::Linear] {
            for s in [0.1, 0.5, 0.9] {
                let e = 1e-6;
                let da = (sch.alpha(s + e) - sch.alpha(s - e)) / (2.0 * e);
                let ds = (sch.sigma(s + e) - sch.sigma(s - e)) / (2.0 * e);
                assert!((da - sch.dalpha(s)).abs() < 1e-9);
                assert!((ds - sch.dsigma(s)).abs() < 1e-9);
            }
        }
    }
}
