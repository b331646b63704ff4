//! Lane-wise weight laws for the generic vectorised radial kernel (the `gauss`
//! module, whose first instance is the Gaussian law).
//!
//! A law gives, for a chunk of [`LANES`] squared distances `d2_i = |x - alpha y_i|^2`
//! of one row, the kernel ratios `nu(u_i) / nu(u_ref)` to the row's reference term
//! (the nearest data point, `d2_ref <= d2_i`, so every ratio is at most one up to
//! rounding and the reference itself is exactly one), and for the divergence the
//! coefficients `c_i = 2 h'(r2_i) / sigma` of the score `g_i = c_i u_i`
//! (`r2 = d2 / sigma^2`). No function call per pair: the exponential and the
//! logarithm are the lane-wise ones of the `vexp` and `vln` modules.
//!
//! * Gaussian, `h = -r2/2`: `exp(-(d2_i - d2_ref) / (2 sigma^2))`; `c` is the constant
//!   `-1/sigma`, so the divergence needs no per-pair coefficient (the `gauss` module
//!   forms it from three sums).
//! * Power law `(1 + r2)^{-e}` with any real `e` and either schedule:
//!   `exp(-e ln(t_i / t_ref))`, `t = sigma^2 + d2` (the quotient as a product with
//!   `1 / t_ref`, one rounding like the scalar path's division), `c = -2 e sigma / t`.
//! * Su's radial profiles, `h(r2) = ln g'(rho) - (d - 1) ln rho`, `rho = sqrt(r2)`,
//!   written as differences to the reference so that nothing large cancels:
//!   `h - h_ref = -k (rho - rho_ref) - k (L - L_ref) - ((d - 1)/2) ln(r2 / r2_ref)` with
//!   `k = 1, L = 0` for `g = 1 - e^{-rho}` and `k = 2`,
//!   `L = ln(1 + e^{-2 rho})` for `g = tanh` (from `ln cosh rho = rho + L - ln 2`).
//!   The score coefficient is `c = (ln g')'(rho) / (rho sigma) - (d - 1) / (r2 sigma)`
//!   with `(ln g')' = -1` or `-2 tanh rho`; `tanh(rho) / rho` comes from
//!   `(1 - e^{-2 rho}) / ((1 + e^{-2 rho}) rho)` for `rho >= 0.1` and from its Taylor
//!   series (terms to `rho^16`, remainder below `1e-19`) below, where `1 - e^{-2 rho}`
//!   would lose digits. At `rho = 0` the coefficient is the scalar path's choice
//!   (`-2 / sigma` for tanh in `d = 1`, else 0: a kink or a pole of the density).

// Lane loops `for l in 0..LANES` index several fixed-size arrays at once on purpose.
#![allow(clippy::needless_range_loop)]

use super::lanes::{LANES, V};
use super::vexp::{exp_lanes, exp_weight_lanes};
use super::vln::{ln1p_lanes, ln_lanes};
use crate::fields::noise::{Noise, Profile};

/// A radially decreasing law, lane by lane (module docs).
pub(super) trait LaneLaw: Copy {
    /// What a row needs besides the law (built once the reference is known).
    type Row: Copy + Default;
    /// The Gaussian law: `c = -1/sigma` for every pair (the divergence comes from
    /// the sums `sum w d2` and `sum w |y|^2`, no per-pair coefficient).
    const GAUSS: bool;
    /// The row constants at scale `sigma` and reference `d2_ref`.
    fn row(&self, sigma: f64, d2_ref: f64) -> Self::Row;
    /// Kernel ratios to the reference of a chunk with squared distances `d2`, and
    /// (with `DV`, and not for the Gaussian law) the coefficients `c_i`. `F`: fused
    /// multiply-adds in the exponential and logarithm.
    fn ratios<const DV: bool, const F: bool>(&self, row: &Self::Row, d2: &V) -> (V, V);
    /// `h(r2_ref)`, the reference term's log-profile (for `ln p`).
    fn h_ref(&self, row: &Self::Row) -> f64;
}

/// The Gaussian law.
#[derive(Clone, Copy)]
pub(super) struct Gauss;

/// A Gaussian row: the reference and `1 / (2 sigma^2)`.
#[derive(Clone, Copy, Default)]
pub(super) struct GaussRow {
    pub(super) d2r: f64,
    pub(super) inv2: f64,
}

impl LaneLaw for Gauss {
    type Row = GaussRow;
    const GAUSS: bool = true;

    fn row(&self, sigma: f64, d2_ref: f64) -> GaussRow {
        GaussRow {
            d2r: d2_ref,
            inv2: 0.5 / (sigma * sigma),
        }
    }

    #[inline(always)]
    fn ratios<const DV: bool, const F: bool>(&self, row: &GaussRow, d2: &V) -> (V, V) {
        let mut arg = [0.0; LANES];
        for l in 0..LANES {
            arg[l] = (row.d2r - d2[l]) * row.inv2;
        }
        // arguments <= 0: d2_ref is the smallest distance of the row
        (exp_weight_lanes::<F>(&arg), [0.0; LANES])
    }

    fn h_ref(&self, row: &GaussRow) -> f64 {
        -(row.d2r * row.inv2)
    }
}

/// The power law `(1 + r2)^{-e}` (any real `e > 0`).
#[derive(Clone, Copy)]
pub(super) struct Power<'a> {
    pub(super) kernel: &'a Noise,
    pub(super) e: f64,
}

/// A power-law row.
#[derive(Clone, Copy, Default)]
pub(super) struct PowerRow {
    d2r: f64,
    s2: f64,
    inv_tref: f64,
    /// `-2 e sigma`.
    c0: f64,
    r2_ref: f64,
}

impl LaneLaw for Power<'_> {
    type Row = PowerRow;
    const GAUSS: bool = false;

    fn row(&self, sigma: f64, d2_ref: f64) -> PowerRow {
        let s2 = sigma * sigma;
        PowerRow {
            d2r: d2_ref,
            s2,
            inv_tref: 1.0 / (s2 + d2_ref),
            c0: -2.0 * self.e * sigma,
            r2_ref: d2_ref / s2,
        }
    }

    #[inline(always)]
    #[allow(clippy::float_cmp)] // the reference term (and exact ties) is exactly one
    fn ratios<const DV: bool, const F: bool>(&self, row: &PowerRow, d2: &V) -> (V, V) {
        let mut t = [0.0; LANES];
        let mut q = [0.0; LANES];
        for l in 0..LANES {
            t[l] = row.s2 + d2[l];
            q[l] = t[l] * row.inv_tref;
        }
        let lq = ln_lanes::<F>(&q);
        let mut arg = [0.0; LANES];
        for l in 0..LANES {
            arg[l] = -self.e * lq[l];
        }
        let mut w = exp_lanes::<F>(&arg);
        for l in 0..LANES {
            if d2[l] == row.d2r {
                w[l] = 1.0;
            }
        }
        let mut c = [0.0; LANES];
        if DV {
            for l in 0..LANES {
                c[l] = row.c0 / t[l];
            }
        }
        (w, c)
    }

    fn h_ref(&self, row: &PowerRow) -> f64 {
        self.kernel.h(row.r2_ref)
    }
}

/// Su's radial profiles.
#[derive(Clone, Copy)]
pub(super) struct Radial<'a> {
    kernel: &'a Noise,
    tanh: bool,
    /// `d - 1`.
    dm1: f64,
}

impl<'a> Radial<'a> {
    pub(super) fn new(kernel: &'a Noise, profile: Profile) -> Self {
        Self {
            kernel,
            tanh: profile == Profile::Tanh,
            dm1: kernel.dim() as f64 - 1.0,
        }
    }
}

/// A radial-profile row.
#[derive(Clone, Copy, Default)]
pub(super) struct RadialRow {
    d2r: f64,
    sigma: f64,
    inv_s2: f64,
    r2_ref: f64,
    rho_ref: f64,
    inv_r2_ref: f64,
    /// `ln(1 + e^{-2 rho_ref})` (tanh).
    l_ref: f64,
}

/// `tanh(rho) / rho` as a series in `z = rho^2` (Taylor coefficients of `tanh`).
const TANH_SERIES: [f64; 9] = [
    1.0,
    -1.0 / 3.0,
    2.0 / 15.0,
    -17.0 / 315.0,
    62.0 / 2835.0,
    -1382.0 / 155_925.0,
    21844.0 / 6_081_075.0,
    -929_569.0 / 638_512_875.0,
    6_404_582.0 / 10_854_718_875.0,
];

impl LaneLaw for Radial<'_> {
    type Row = RadialRow;
    const GAUSS: bool = false;

    fn row(&self, sigma: f64, d2_ref: f64) -> RadialRow {
        let inv_s2 = 1.0 / (sigma * sigma);
        let r2_ref = d2_ref * inv_s2;
        let rho_ref = r2_ref.sqrt();
        RadialRow {
            d2r: d2_ref,
            sigma,
            inv_s2,
            r2_ref,
            rho_ref,
            inv_r2_ref: 1.0 / r2_ref,
            l_ref: if self.tanh {
                (-2.0 * rho_ref).exp().ln_1p()
            } else {
                0.0
            },
        }
    }

    #[inline(always)]
    #[allow(clippy::float_cmp)] // the reference term is exactly one; rho = 0 exactly
    fn ratios<const DV: bool, const F: bool>(&self, row: &RadialRow, d2: &V) -> (V, V) {
        let k = if self.tanh { 2.0 } else { 1.0 };
        let mut r2 = [0.0; LANES];
        let mut rho = [0.0; LANES];
        let mut hd = [0.0; LANES];
        for l in 0..LANES {
            r2[l] = d2[l] * row.inv_s2;
            rho[l] = r2[l].sqrt();
            hd[l] = -k * (rho[l] - row.rho_ref);
        }
        let mut v = [0.0; LANES];
        if self.tanh {
            let mut arg = [0.0; LANES];
            for l in 0..LANES {
                arg[l] = -2.0 * rho[l];
            }
            v = exp_lanes::<F>(&arg);
            let ll = ln1p_lanes::<F>(&v);
            for l in 0..LANES {
                hd[l] -= 2.0 * (ll[l] - row.l_ref);
            }
        }
        if self.dm1 != 0.0 {
            let mut q = [0.0; LANES];
            for l in 0..LANES {
                q[l] = r2[l] * row.inv_r2_ref;
            }
            let lq = ln_lanes::<F>(&q);
            let h = 0.5 * self.dm1;
            for l in 0..LANES {
                hd[l] -= h * lq[l];
            }
        }
        let mut w = exp_lanes::<F>(&hd);
        for l in 0..LANES {
            if d2[l] == row.d2r {
                w[l] = 1.0;
            }
        }
        let mut c = [0.0; LANES];
        if DV {
            let sg = row.sigma;
            let at0 = if self.tanh && self.dm1 == 0.0 {
                -2.0 / sg
            } else {
                0.0
            };
            for l in 0..LANES {
                let cl = if self.tanh {
                    let z = r2[l];
                    let (num, den) = if rho[l] < 0.1 {
                        let mut s = TANH_SERIES[8];
                        for i in (0..8).rev() {
                            s = s * z + TANH_SERIES[i];
                        }
                        (2.0 * z * s + self.dm1, z * sg)
                    } else {
                        let vp = 1.0 + v[l];
                        (2.0 * rho[l] * (1.0 - v[l]) + self.dm1 * vp, vp * z * sg)
                    };
                    -num / den
                } else {
                    -(rho[l] + self.dm1) / (r2[l] * sg)
                };
                c[l] = if r2[l] == 0.0 { at0 } else { cl };
            }
        }
        (w, c)
    }

    fn h_ref(&self, row: &RadialRow) -> f64 {
        self.kernel.h(row.r2_ref)
    }
}
