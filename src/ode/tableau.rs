//! Butcher tableaux as data.
//!
//! An explicit Runge-Kutta method with `s` stages is the lower-triangular matrix
//! `a`, the nodes `c` and the weights `b`:
//!
//! ```text
//! k_i = f(t + c_i h, y + h sum_{j<i} a_ij k_j),    y1 = y + h sum_i b_i k_i
//! ```
//!
//! An adaptive pair adds the error weights `e = b - bhat` of an embedded solution of
//! lower order. A continuous extension writes the state inside the step as
//! `y(t + theta h) = y + h sum_i b_i(theta) k_i` with polynomials `b_i`; it is stored
//! as the coefficients of `theta, theta^2, ...` per stage. Its stage list may have one
//! entry more than the method, standing for `f(t + h, y1)`, the first stage of the
//! next step (cubic Hermite interpolation of methods that are not FSAL).

use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// The integration methods of fieldflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// Forward Euler, order 1 (fixed step).
    Euler,
    /// Heun's method (explicit trapezoidal rule), order 2 (fixed step).
    Heun,
    /// The classic fourth-order Runge-Kutta method (fixed step).
    Rk4,
    /// Bogacki-Shampine 3(2), FSAL, with cubic Hermite dense output.
    Bs3,
    /// Dormand-Prince 5(4), FSAL, with Shampine's fourth-order dense output.
    Dopri5,
    /// Tsitouras 5(4), FSAL, with its own fourth-order interpolant.
    Tsit5,
}

impl Method {
    /// Every method, in order of increasing order.
    pub const ALL: [Method; 6] = [
        Method::Euler,
        Method::Heun,
        Method::Rk4,
        Method::Bs3,
        Method::Dopri5,
        Method::Tsit5,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Method::Euler => "euler",
            Method::Heun => "heun",
            Method::Rk4 => "rk4",
            Method::Bs3 => "bs3",
            Method::Dopri5 => "dopri5",
            Method::Tsit5 => "tsit5",
        }
    }

    /// The Butcher tableau of the method.
    pub fn tableau(self) -> Tableau {
        match self {
            Method::Euler => Tableau::euler(),
            Method::Heun => Tableau::heun(),
            Method::Rk4 => Tableau::rk4(),
            Method::Bs3 => Tableau::bs3(),
            Method::Dopri5 => Tableau::dopri5(),
            Method::Tsit5 => Tableau::tsit5(),
        }
    }

    /// Whether the method has an error estimate (and so can adapt its step).
    pub fn is_adaptive(self) -> bool {
        matches!(self, Method::Bs3 | Method::Dopri5 | Method::Tsit5)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Method {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Method::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| Error::UnknownName {
                kind: "method",
                name: s.to_string(),
                known: Method::ALL.map(Method::name).join(", "),
            })
    }
}

/// An explicit Runge-Kutta method as data.
#[derive(Debug, Clone)]
pub struct Tableau {
    /// Short name.
    pub name: &'static str,
    /// Nodes `c_i`, one per stage.
    pub c: Vec<f64>,
    /// Row `i` holds `a_i1 .. a_i(i-1)` (row 0 is empty).
    pub a: Vec<Vec<f64>>,
    /// Weights `b_i` of the propagated solution.
    pub b: Vec<f64>,
    /// Error weights `b_i - bhat_i`, for adaptive pairs.
    pub e: Option<Vec<f64>>,
    /// Order of the propagated solution.
    pub order: u32,
    /// Order of the embedded solution (the error estimate is `O(h^(q+1))`).
    pub error_order: Option<u32>,
    /// First same as last: the last stage is `f(t + h, y1)`.
    pub fsal: bool,
    /// Continuous extension: `interp[i][p]` is the coefficient of `theta^(p+1)` in
    /// `b_i(theta)`. Has `stages()` rows, or one more (then the extra row multiplies
    /// `f(t + h, y1)`).
    pub interp: Vec<Vec<f64>>,
}

impl Tableau {
    /// Number of stages.
    pub fn stages(&self) -> usize {
        self.c.len()
    }

    /// Whether dense output needs `f(t + h, y1)` as an extra evaluation.
    pub fn needs_end_derivative(&self) -> bool {
        self.interp.len() > self.stages()
    }

    /// The weights `b_i(theta)` of the continuous extension at `theta` in `[0, 1]`.
    pub fn interp_weights(&self, theta: f64, out: &mut [f64]) {
        for (w, coeffs) in out.iter_mut().zip(&self.interp) {
            // Horner in theta, then one more factor theta (no constant term).
            let mut acc = 0.0;
            for &cf in coeffs.iter().rev() {
                acc = acc * theta + cf;
            }
            *w = acc * theta;
        }
    }

    /// Cubic Hermite interpolation through `y0, f0, y1, f1` as stage polynomials:
    /// `y(theta) - y0 = h01 (y1 - y0) + h (h10 f0 + h11 f1)` with `y1 - y0 = h sum b_i k_i`,
    /// `f0 = k_1` and `f1` the stage with index `f1_index`.
    fn hermite(b: &[f64], f1_index: usize) -> Vec<Vec<f64>> {
        let rows = b.len().max(f1_index + 1);
        let mut interp = vec![vec![0.0; 3]; rows];
        // h01 = 3 theta^2 - 2 theta^3; h10 = theta - 2 theta^2 + theta^3; h11 = theta^3 - theta^2.
        for (row, &bi) in interp.iter_mut().zip(b) {
            row[1] += 3.0 * bi;
            row[2] += -2.0 * bi;
        }
        interp[0][0] += 1.0;
        interp[0][1] += -2.0;
        interp[0][2] += 1.0;
        interp[f1_index][1] += -1.0;
        interp[f1_index][2] += 1.0;
        interp
    }

    /// Forward Euler.
    pub fn euler() -> Self {
        let b = vec![1.0];
        Tableau {
            name: "euler",
            c: vec![0.0],
            a: vec![vec![]],
            interp: Self::hermite(&b, 1),
            b,
            e: None,
            order: 1,
            error_order: None,
            fsal: false,
        }
    }

    /// Heun's method: the explicit trapezoidal rule.
    pub fn heun() -> Self {
        let b = vec![0.5, 0.5];
        Tableau {
            name: "heun",
            c: vec![0.0, 1.0],
            a: vec![vec![], vec![1.0]],
            interp: Self::hermite(&b, 2),
            b,
            e: None,
            order: 2,
            error_order: None,
            fsal: false,
        }
    }

    /// The classic Runge-Kutta method of order 4.
    pub fn rk4() -> Self {
        let b = vec![1.0 / 6.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 6.0];
        Tableau {
            name: "rk4",
            c: vec![0.0, 0.5, 0.5, 1.0],
            a: vec![vec![], vec![0.5], vec![0.0, 0.5], vec![0.0, 0.0, 1.0]],
            interp: Self::hermite(&b, 4),
            b,
            e: None,
            order: 4,
            error_order: None,
            fsal: false,
        }
    }

    /// Bogacki & Shampine, "A 3(2) pair of Runge-Kutta formulas", Appl. Math. Lett.
    /// 2(4), 1989. FSAL; dense output by cubic Hermite interpolation (third order).
    pub fn bs3() -> Self {
        let b = vec![2.0 / 9.0, 1.0 / 3.0, 4.0 / 9.0, 0.0];
        // bhat = 7/24, 1/4, 1/3, 1/8.
        let e = vec![
            2.0 / 9.0 - 7.0 / 24.0,
            1.0 / 3.0 - 1.0 / 4.0,
            4.0 / 9.0 - 1.0 / 3.0,
            -1.0 / 8.0,
        ];
        Tableau {
            name: "bs3",
            c: vec![0.0, 0.5, 0.75, 1.0],
            a: vec![
                vec![],
                vec![0.5],
                vec![0.0, 0.75],
                vec![2.0 / 9.0, 1.0 / 3.0, 4.0 / 9.0],
            ],
            interp: Self::hermite(&b, 3),
            b,
            e: Some(e),
            order: 3,
            error_order: Some(2),
            fsal: true,
        }
    }

    /// Dormand & Prince, "A family of embedded Runge-Kutta formulae", J. Comput. Appl.
    /// Math. 6(1), 1980, with the coefficients of Hairer's `dopri5.f` and Shampine's
    /// (1986) fourth-order dense output as in Hairer's `CONTD5`.
    pub fn dopri5() -> Self {
        let b = vec![
            35.0 / 384.0,
            0.0,
            500.0 / 1113.0,
            125.0 / 192.0,
            -2187.0 / 6784.0,
            11.0 / 84.0,
            0.0,
        ];
        let e = vec![
            71.0 / 57600.0,
            0.0,
            -71.0 / 16695.0,
            71.0 / 1920.0,
            -17253.0 / 339200.0,
            22.0 / 525.0,
            -1.0 / 40.0,
        ];
        let d = [
            -12715105075.0 / 11282082432.0,
            0.0,
            87487479700.0 / 32700410799.0,
            -10690763975.0 / 1880347072.0,
            701980252875.0 / 199316789632.0,
            -1453857185.0 / 822651844.0,
            69997945.0 / 29380423.0,
        ];
        // Hairer's CONTD5: y(theta) = r1 + theta (r2 + (1 - theta)(r3 + theta (r4 + (1 - theta) r5)))
        // with r2 = h sum b k, r3 = h k1 - r2, r4 = r2 - h k7 - r3, r5 = h sum d k.
        // Expanded in powers of theta, stage i contributes
        //   theta:   [i = 1]
        //   theta^2: 3 b_i - 2 [i = 1] - [i = 7] + d_i
        //   theta^3: -2 b_i + [i = 1] + [i = 7] - 2 d_i
        //   theta^4: d_i
        let interp = (0..7)
            .map(|i| {
                let first = if i == 0 { 1.0 } else { 0.0 };
                let last = if i == 6 { 1.0 } else { 0.0 };
                vec![
                    first,
                    3.0 * b[i] - 2.0 * first - last + d[i],
                    -2.0 * b[i] + first + last - 2.0 * d[i],
                    d[i],
                ]
            })
            .collect();
        Tableau {
            name: "dopri5",
            c: vec![0.0, 0.2, 0.3, 0.8, 8.0 / 9.0, 1.0, 1.0],
            a: vec![
                vec![],
                vec![0.2],
                vec![3.0 / 40.0, 9.0 / 40.0],
                vec![44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0],
                vec![
                    19372.0 / 6561.0,
                    -25360.0 / 2187.0,
                    64448.0 / 6561.0,
                    -212.0 / 729.0,
                ],
                vec![
                    9017.0 / 3168.0,
                    -355.0 / 33.0,
                    46732.0 / 5247.0,
                    49.0 / 176.0,
                    -5103.0 / 18656.0,
                ],
                b[..6].to_vec(),
            ],
            interp,
            b,
            e: Some(e),
            order: 5,
            error_order: Some(4),
            fsal: true,
        }
    }

    /// Tsitouras, "Runge-Kutta pairs of order 5(4) satisfying only the first column
    /// simplifying assumption", Comput. Math. Appl. 62(2), 2011. Coefficients from the
    /// high-precision table distributed with OrdinaryDiffEq.jl and diffrax (rounded to
    /// f64); the interpolant is the one published with OrdinaryDiffEq.jl.
    pub fn tsit5() -> Self {
        // The 40-digit values parse to the correctly rounded f64.
        let p = |s: &str| -> f64 { s.parse().expect("valid literal") };
        let b = vec![
            p("0.09646076681806522951816731316512876333711995238157997181903"),
            0.01,
            p("0.4798896504144995747752495322905965199130404621990332488333"),
            p("1.379008574103741893192274821856872770756462643091360525935"),
            p("-3.290069515436080679901047585711363850115683290894936158531"),
            p("2.324710524099773982415355918398765796109060233222962411944"),
            0.0,
        ];
        let bhat = [
            p("0.09468075576583945807478876255758922856117527357724631226140"),
            p("0.009183565540343253096776363936645313759813746240984095238906"),
            p("0.4877705284247615707855642599631228241516691959761363774365"),
            p("1.234297566930478985655109673884237654035539930748192848315"),
            p("-2.707712349983525454881109975059321670689605166938197378764"),
            p("1.866628418170587035753719399566211498666255505244122593997"),
            1.0 / 66.0,
        ];
        let e = b.iter().zip(bhat).map(|(bi, bh)| bi - bh).collect();
        let interp = vec![
            vec![
                1.0,
                -2.763706197274826,
                2.9132554618219126,
                -1.0530884977290216,
            ],
            vec![0.0, 0.1317, -0.2234, 0.1017],
            vec![
                0.0,
                3.9302962368947516,
                -5.941033872131505,
                2.490627285651253,
            ],
            vec![
                0.0,
                -12.411077166933676,
                30.33818863028232,
                -16.548102889244902,
            ],
            vec![0.0, 37.50931341651104, -88.1789048947664, 47.37952196281928],
            vec![
                0.0,
                -27.896526289197286,
                65.09189467479366,
                -34.87065786149661,
            ],
            vec![0.0, 1.5, -4.0, 2.5],
        ];
        Tableau {
            name: "tsit5",
            c: vec![
                0.0,
                0.161,
                0.327,
                0.9,
                p("0.9800255409045096857298102862870245954942137979563024768855"),
                1.0,
                1.0,
            ],
            a: vec![
                vec![],
                vec![0.161],
                vec![
                    p("-0.008480655492356988544426874250230774675121177393430391537369"),
                    p("0.3354806554923569885444268742502307746751211773934303915374"),
                ],
                vec![
                    p("2.897153057105493432130432594192938764924887287701866490315"),
                    p("-6.359448489975074843148159912383825625952700647415626703306"),
                    p("4.362295432869581411017727318190886861027813359713760212991"),
                ],
                vec![
                    p("5.325864828439256604428877920840511317836476253097040101202"),
                    p("-11.74888356406282787774717033978577296188744178259862899289"),
                    p("7.495539342889836208304604784564358155658679161518186721010"),
                    p("-0.09249506636175524925650207933207191611349983406029535244035"),
                ],
                vec![
                    p("5.861455442946420028659251486982647890394337666164814434818"),
                    p("-12.92096931784710929170611868178335939541780751955743459166"),
                    p("8.159367898576158643180400794539253485181918321135053305748"),
                    p("-0.07158497328140099722453054252582973869127213147363544882721"),
                    p("-0.02826905039406838290900305721271224146717633626879770007618"),
                ],
                b[..6].to_vec(),
            ],
            interp,
            b,
            e: Some(e),
            order: 5,
            error_order: Some(4),
            fsal: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_sum_to_nodes_and_weights_to_one() {
        for m in Method::ALL {
            let tab = m.tableau();
            assert_eq!(tab.a.len(), tab.stages());
            for (i, row) in tab.a.iter().enumerate() {
                assert_eq!(row.len(), i);
                let s: f64 = row.iter().sum();
                assert!((s - tab.c[i]).abs() < 1e-14, "{} row {i}", tab.name);
            }
            let sb: f64 = tab.b.iter().sum();
            assert!((sb - 1.0).abs() < 1e-14, "{}", tab.name);
            if let Some(e) = &tab.e {
                let se: f64 = e.iter().sum();
                assert!(se.abs() < 1e-14, "{}", tab.name);
            }
        }
    }

    #[test]
    fn interpolant_matches_the_step_at_both_ends() {
        for m in Method::ALL {
            let tab = m.tableau();
            let mut w = vec![0.0; tab.interp.len()];
            tab.interp_weights(0.0, &mut w);
            assert!(w.iter().all(|&x| x == 0.0), "{}", tab.name);
            tab.interp_weights(1.0, &mut w);
            for (i, wi) in w.iter().enumerate() {
                let bi = tab.b.get(i).copied().unwrap_or(0.0);
                assert!(
                    (wi - bi).abs() < 1e-13,
                    "{} stage {i}: {wi} vs {bi}",
                    tab.name
                );
            }
        }
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_errors() {
        for m in Method::ALL {
            assert_eq!(m.name().parse::<Method>().unwrap(), m);
        }
        let err = "rk45".parse::<Method>().unwrap_err();
        assert!(err.to_string().contains("dopri5"));
    }
}
