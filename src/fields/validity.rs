//! Su's question, numerically: is a field in `(s, x)` space a valid generative ODE?
//!
//! A velocity `f_s` transports a density `p_s` exactly when the `(d+1)`-dimensional
//! field `u = (p_s, f_s p_s)` is divergence-free for `s > 0`; then its flux through
//! every plane `s = const` is the same (one), and the ODE `dx/ds = u_x / u_s` follows
//! its field lines (docs/MATHEMATICS.md, section 2). This module gives `u` for any field (also
//! for drawing field lines: in `d = 1` the data sit on the line `s = 0`), its
//! divergence by central finite differences, the closed-form divergence of the
//! `power` law `(x - y, s)/R^K`, which is `(d + 1 - K)/R^K` per data point, and the
//! flux through a plane by quadrature (`d = 1, 2`). The diagnostics take any
//! [`SxField`], so a user can plug in a law of their own ([`FnSxField`]) and see it
//! pass or fail.
//!
//! For the affine fields `u = (p_s, f p_s)`. For `power`,
//! `u = (2/Omega_{d+1}) sum_i pi_i (x - y_i, s)/R_i^K` with `R_i^2 = |x - y_i|^2 + s^2`;
//! with this normalisation `K = d + 1` gives exactly the Poisson `(p_s, f p_s)`.

use super::noise::ln_sphere_area;
use super::{FieldKind, MarginalField};
use crate::{Error, Result};

/// The `(s, x)` field `u(s, x)`: returns `u_s` and writes `u_x` (length `d`).
pub fn u_field(mf: &MarginalField, s: f64, x: &[f64], ux: &mut [f64]) -> f64 {
    let d = mf.dim();
    if let FieldKind::Power { k } = mf.kind() {
        let src = mf.source();
        let c = (std::f64::consts::LN_2 - ln_sphere_area(d as f64 + 1.0)).exp();
        ux.fill(0.0);
        let mut us = 0.0;
        for (i, &pi) in src.weights().iter().enumerate() {
            let y = src.mean_of(i);
            let r2: f64 = x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() + s * s;
            let w = c * pi * r2.powf(-0.5 * k);
            us += w * s;
            for j in 0..d {
                ux[j] += w * (x[j] - y[j]);
            }
        }
        return us;
    }
    let mut lp = [0.0];
    mf.eval_block(&[s], x, ux, Some(&mut lp), None);
    let p = lp[0].exp();
    for v in ux.iter_mut() {
        *v *= p;
    }
    p
}

/// A field `u(s, x)` in `(s, x)` space, for the validity diagnostics: any field can be
/// checked, not only the named ones (see [`FnSxField`] to plug in a law).
pub trait SxField {
    /// The dimension `d` of `x`.
    fn dim(&self) -> usize;
    /// Returns `u_s(s, x)` and writes `u_x(s, x)` (length `d`).
    fn u(&self, s: f64, x: &[f64], ux: &mut [f64]) -> f64;
    /// Centre of the quadrature of [`flux`] (default: the origin).
    fn center(&self) -> Vec<f64> {
        vec![0.0; self.dim()]
    }
    /// Length scale of the quadrature of [`flux`] besides `s` (default 1).
    fn spread(&self) -> f64 {
        1.0
    }
}

impl SxField for MarginalField {
    fn dim(&self) -> usize {
        MarginalField::dim(self)
    }
    fn u(&self, s: f64, x: &[f64], ux: &mut [f64]) -> f64 {
        u_field(self, s, x, ux)
    }
    fn center(&self) -> Vec<f64> {
        self.source().center()
    }
    fn spread(&self) -> f64 {
        let src = self.source();
        let c = src.center();
        let mut spread: f64 = 0.0;
        for k in 0..src.len() {
            for (m, cj) in src.mean_of(k).iter().zip(&c) {
                spread = spread.max((m - cj).abs());
            }
            spread = spread.max(src.scales()[k]);
        }
        spread
    }
}

/// A user-supplied `(s, x)` field from a closure `u(s, x, u_x) -> u_s`.
pub struct FnSxField<F> {
    d: usize,
    f: F,
    center: Vec<f64>,
    spread: f64,
}

impl<F: Fn(f64, &[f64], &mut [f64]) -> f64> FnSxField<F> {
    /// Wraps `f` as a field in dimension `d`, with the quadrature centre and scale
    /// used by [`flux`].
    pub fn new(d: usize, f: F, center: Vec<f64>, spread: f64) -> Result<Self> {
        if d == 0 || center.len() != d {
            return Err(Error::DimensionMismatch {
                what: "field centre",
                expected: d.max(1),
                got: center.len(),
            });
        }
        if !(spread.is_finite() && spread >= 0.0) {
            return Err(Error::InvalidParameter {
                name: "spread",
                value: spread,
                reason: "must be finite and >= 0",
            });
        }
        Ok(Self {
            d,
            f,
            center,
            spread,
        })
    }
}

impl<F: Fn(f64, &[f64], &mut [f64]) -> f64> SxField for FnSxField<F> {
    fn dim(&self) -> usize {
        self.d
    }
    fn u(&self, s: f64, x: &[f64], ux: &mut [f64]) -> f64 {
        (self.f)(s, x, ux)
    }
    fn center(&self) -> Vec<f64> {
        self.center.clone()
    }
    fn spread(&self) -> f64 {
        self.spread
    }
}

/// A finite-difference divergence and the size of the terms it sums.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DivergenceFd {
    /// `d u_s / ds + sum_j d u_{x_j} / dx_j` by central differences.
    pub div: f64,
    /// `|d u_s / ds| + sum_j |d u_{x_j} / dx_j|`, the scale to compare `div` with.
    pub scale: f64,
    /// `u_s` at the point (`u_s / s` is the natural size of `d u_s / ds`).
    pub us: f64,
}

/// The divergence of `u` at `(s, x)` by fourth-order central differences of step `h`
/// (`(-g(2h) + 8 g(h) - 8 g(-h) + g(-2h)) / (12 h)` per coordinate; needs `s > 2h`).
pub fn divergence_fd<F: SxField + ?Sized>(field: &F, s: f64, x: &[f64], h: f64) -> DivergenceFd {
    let d = field.dim();
    let mut ux = vec![0.0; d];
    let c = [(2.0, -1.0), (1.0, 8.0), (-1.0, -8.0), (-2.0, 1.0)];
    let mut dus = 0.0;
    for (k, w) in c {
        dus += w * field.u(s + k * h, x, &mut ux);
    }
    dus /= 12.0 * h;
    let us = field.u(s, x, &mut ux);
    let mut div = dus;
    let mut scale = dus.abs();
    let mut xp = x.to_vec();
    for j in 0..d {
        let mut t = 0.0;
        for (k, w) in c {
            xp[j] = x[j] + k * h;
            field.u(s, &xp, &mut ux);
            t += w * ux[j];
        }
        xp[j] = x[j];
        t /= 12.0 * h;
        div += t;
        scale += t.abs();
    }
    DivergenceFd { div, scale, us }
}

/// The closed-form `(s, x)` divergence of `u`: zero for the affine fields,
/// `(2/Omega_{d+1}) (d + 1 - K) sum_i pi_i / R_i^K` for `power`.
pub fn divergence_exact(mf: &MarginalField, s: f64, x: &[f64]) -> f64 {
    let FieldKind::Power { k } = mf.kind() else {
        return 0.0;
    };
    let d = mf.dim();
    let src = mf.source();
    let c = (std::f64::consts::LN_2 - ln_sphere_area(d as f64 + 1.0)).exp();
    let mut acc = 0.0;
    for (i, &pi) in src.weights().iter().enumerate() {
        let y = src.mean_of(i);
        let r2: f64 = x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() + s * s;
        acc += pi * r2.powf(-0.5 * k);
    }
    c * (d as f64 + 1.0 - k) * acc
}

/// The flux of `u` through the plane at level `s`, `int u_s(s, x) dx` over `R^d`
/// (`d = 1` or `2`), by the midpoint rule with `nodes` points per axis after the
/// substitution `x = c + L tan(theta)` in `d = 1` and, in `d = 2`, in polar
/// coordinates around `c` with `rho = L tan(t)` (`2 nodes` angles); `c` is the
/// field's [`SxField::center`] (the source centre for a [`MarginalField`]) and
/// `L = s +` its [`SxField::spread`]. The substitution maps the whole
/// space onto a bounded domain and keeps heavy tails inside the quadrature. For a valid field the result is 1 for every
/// `s`.
pub fn flux<F: SxField + ?Sized>(field: &F, s: f64, nodes: usize) -> Result<f64> {
    let d = field.dim();
    if d > 2 {
        return Err(Error::Invalid(format!(
            "flux quadrature is implemented for d = 1 and 2, not d = {d}"
        )));
    }
    if nodes < 2 {
        return Err(Error::InvalidParameter {
            name: "nodes",
            value: nodes as f64,
            reason: "need at least 2",
        });
    }
    if !(s.is_finite() && s > 0.0) {
        return Err(Error::InvalidParameter {
            name: "s",
            value: s,
            reason: "must be finite and > 0",
        });
    }
    let c = field.center();
    let l = s + field.spread();
    let h = std::f64::consts::PI / nodes as f64;
    let node = |k: usize| -> (f64, f64) {
        let t = -0.5 * std::f64::consts::PI + (k as f64 + 0.5) * h;
        (l * t.tan(), l / (t.cos() * t.cos()))
    };
    let mut ux = vec![0.0; d];
    let mut total = 0.0;
    if d == 1 {
        for a in 0..nodes {
            let (t, j) = node(a);
            total += field.u(s, &[c[0] + t], &mut ux) * j;
        }
        Ok(total * h)
    } else {
        // polar coordinates around c, rho = L tan(t), t in (0, pi/2), and 2 nodes
        // angles (periodic: the midpoint rule converges fast in phi)
        let ht = 0.5 * std::f64::consts::PI / nodes as f64;
        let hp = std::f64::consts::PI / nodes as f64;
        for a in 0..nodes {
            let t = (a as f64 + 0.5) * ht;
            let rho = l * t.tan();
            let jac = rho * l / (t.cos() * t.cos());
            let mut ring = 0.0;
            for b in 0..2 * nodes {
                let phi = (b as f64 + 0.5) * hp;
                let x = [c[0] + rho * phi.cos(), c[1] + rho * phi.sin()];
                ring += field.u(s, &x, &mut ux);
            }
            total += ring * jac;
        }
        Ok(total * ht * hp)
    }
}

/// The `(s, x)` field on a grid in `d = 1`, for field-line pictures (the data sit on
/// the line `s = 0`): one row `(s, x, u_s, u_x)` per pair, `s` varying slowest.
/// Field lines are the curves tangent to `(u_s, u_x)`; for a valid field they are the
/// sampling trajectories.
pub fn field_grid_1d(
    mf: &MarginalField,
    s_values: &[f64],
    x_values: &[f64],
) -> Result<ndarray::Array2<f64>> {
    if mf.dim() != 1 {
        return Err(Error::DimensionMismatch {
            what: "field grid (d = 1 only)",
            expected: 1,
            got: mf.dim(),
        });
    }
    for &s in s_values {
        mf.check_level(s)?;
    }
    if let Some(x) = x_values.iter().find(|x| !x.is_finite()) {
        return Err(Error::InvalidParameter {
            name: "x",
            value: *x,
            reason: "grid values must be finite",
        });
    }
    let mut out = ndarray::Array2::zeros((s_values.len() * x_values.len(), 4));
    let mut ux = [0.0];
    let mut r = 0;
    for &s in s_values {
        for &x in x_values {
            let us = u_field(mf, s, &[x], &mut ux);
            out[[r, 0]] = s;
            out[[r, 1]] = x;
            out[[r, 2]] = us;
            out[[r, 3]] = ux[0];
            r += 1;
        }
    }
    Ok(out)
}
