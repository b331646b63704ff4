//! The general ratio path for an empirical source and any radially decreasing law.
//!
//! Pass one finds, for each row, the nearest data point (smallest
//! `|x - alpha y_i|^2`, no transcendental function); pass two sums the weights as exact
//! ratios to that reference term, `(pi_i / pi_ref) nu(u_i) / nu(u_ref)`, each at most
//! one, so nothing overflows and the sum never underflows to zero. One kernel
//! ratio (an `exp`, `powf` or profile evaluation) per pair, in a scalar loop: this is
//! the reference the vectorised kernels are tested against, and the path of the
//! non-power laws above `GAUSS_MAX_D` dimensions (where the coordinate-major layout
//! of the vectorised kernels is slower).

use super::{Out, ROWS, TILE};
use crate::fields::noise::Noise;
use crate::fields::schedule::Schedule;
use crate::fields::source::Source;

/// `|x - a y|^2` with four independent partial sums (breaks the add latency chain;
/// the order of operations is fixed, so results stay deterministic).
#[inline]
pub(super) fn dist2(xr: &[f64], y: &[f64], a: f64) -> f64 {
    let mut acc = [0.0f64; 4];
    let xc = xr.chunks_exact(4);
    let yc = y.chunks_exact(4);
    let (xt, yt) = (xc.remainder(), yc.remainder());
    for (p, q) in xc.zip(yc) {
        for k in 0..4 {
            let e = p[k] - a * q[k];
            acc[k] += e * e;
        }
    }
    let mut tail = 0.0;
    for (p, q) in xt.iter().zip(yt) {
        let e = p - a * q;
        tail += e * e;
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// [`eval_points`] with the kernel ratio `nu(u) / nu(u_ref)` as a function of the
/// squared radii (equal radii must give exactly 1).
pub(super) fn eval_points_with<R: Fn(f64, f64) -> f64>(
    kernel: &Noise,
    ratio_of: R,
    sch: Schedule,
    src: &Source,
    s: &[f64],
    x: &[f64],
    out: Out,
) {
    let d = src.dim();
    let n = s.len();
    let m = src.len();
    let ys = src.means();
    let pis = src.weights();
    let want_div = out.div.is_some();
    let Out {
        f,
        mut log_p,
        mut div,
    } = out;

    let mut d2min = [0.0f64; ROWS];
    let mut iref = [0usize; ROWS];
    let mut wsum = [0.0f64; ROWS];
    let mut fg = [0.0f64; ROWS];
    let mut ysum = vec![0.0f64; ROWS * d];
    let mut gsum = vec![0.0f64; ROWS * d];

    for r0 in (0..n).step_by(ROWS) {
        let nb = ROWS.min(n - r0);
        // pass 1: nearest data point of every row
        d2min[..nb].fill(f64::INFINITY);
        iref[..nb].fill(0);
        for t0 in (0..m).step_by(TILE) {
            let t1 = (t0 + TILE).min(m);
            for b in 0..nb {
                let r = r0 + b;
                let a = sch.alpha(s[r]);
                let xr = &x[r * d..(r + 1) * d];
                let mut best = d2min[b];
                let mut ib = iref[b];
                for (i, y) in (t0..t1).zip(ys[t0 * d..t1 * d].chunks_exact(d)) {
                    let d2 = dist2(xr, y, a);
                    if d2 < best {
                        best = d2;
                        ib = i;
                    }
                }
                d2min[b] = best;
                iref[b] = ib;
            }
        }
        // pass 2: ratio-weighted sums
        wsum[..nb].fill(0.0);
        fg[..nb].fill(0.0);
        ysum[..nb * d].fill(0.0);
        gsum[..nb * d].fill(0.0);
        for t0 in (0..m).step_by(TILE) {
            let t1 = (t0 + TILE).min(m);
            for b in 0..nb {
                let r = r0 + b;
                let sr = s[r];
                let a = sch.alpha(sr);
                let da = sch.dalpha(sr);
                let sg = sch.sigma(sr);
                let dsg = sch.dsigma(sr);
                let inv_s2 = 1.0 / (sg * sg);
                let r2_ref = d2min[b] * inv_s2;
                let inv_pi_ref = 1.0 / pis[iref[b]];
                let xr = &x[r * d..(r + 1) * d];
                let yb = &mut ysum[b * d..(b + 1) * d];
                let gb = &mut gsum[b * d..(b + 1) * d];
                let mut w_acc = wsum[b];
                let mut fg_acc = fg[b];
                for (y, &pi) in ys[t0 * d..t1 * d].chunks_exact(d).zip(&pis[t0..t1]) {
                    let d2 = dist2(xr, y, a);
                    let r2 = d2 * inv_s2;
                    // the reference point itself (and exact ties) get ratio 1
                    #[allow(clippy::float_cmp)]
                    let kr = if r2 == r2_ref {
                        1.0
                    } else {
                        ratio_of(r2, r2_ref)
                    };
                    let ratio = pi * inv_pi_ref * kr;
                    if ratio == 0.0 {
                        continue;
                    }
                    w_acc += ratio;
                    for (acc, &yj) in yb.iter_mut().zip(y) {
                        *acc += ratio * yj;
                    }
                    if want_div {
                        // g_i = c u_i, u_i = (x - alpha y_i) / sigma
                        let c = 2.0 * kernel.dh(r2) / sg;
                        let rc = ratio * c / sg;
                        let mut yu = 0.0;
                        for ((g, &xj), &yj) in gb.iter_mut().zip(xr).zip(y) {
                            let e = xj - a * yj;
                            *g += rc * e;
                            yu += yj * e;
                        }
                        fg_acc += ratio * c * (da * yu / sg + dsg * r2);
                    }
                }
                wsum[b] = w_acc;
                fg[b] = fg_acc;
            }
        }
        // finish the rows
        for b in 0..nb {
            let r = r0 + b;
            let sr = s[r];
            let a = sch.alpha(sr);
            let da = sch.dalpha(sr);
            let sg = sch.sigma(sr);
            let dsg = sch.dsigma(sr);
            let w = wsum[b];
            let xr = &x[r * d..(r + 1) * d];
            let fr = &mut f[r * d..(r + 1) * d];
            let k = dsg / sg;
            for j in 0..d {
                let mj = ysum[b * d + j] / w;
                fr[j] = da * mj + k * (xr[j] - a * mj);
            }
            if let Some(lp) = log_p.as_deref_mut() {
                let r2_ref = d2min[b] / (sg * sg);
                lp[r] = pis[iref[b]].ln() + kernel.log_norm() + kernel.h(r2_ref)
                    - d as f64 * sg.ln()
                    + w.ln();
            }
            if let Some(dv) = div.as_deref_mut() {
                let mut fgbar = 0.0;
                for j in 0..d {
                    fgbar += fr[j] * gsum[b * d + j];
                }
                dv[r] = d as f64 * k + (fg[b] - fgbar) / w;
            }
        }
    }
}
