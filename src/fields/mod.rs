//! Force fields as generative ODEs: the affine family, named fields, sources, exact
//! marginals and priors.
//!
//! Every valid field of the project is an instance of one construction (docs/MATHEMATICS.md,
//! section 3): a schedule `alpha(s), sigma(s)` and a noise law `nu` define the
//! conditional path `x_s = alpha(s) y + sigma(s) U` out of each data point `y`; the
//! marginal density `p_s` is the superposition over the source, and the marginal
//! velocity `f_s` is the posterior-weighted superposition of the conditional
//! velocities. The velocity transports `p_s` exactly (continuity equation), so
//! integrating `dx/ds = f_s(x)` from exact samples of `p_{s1}` gives exact samples of
//! `p_{s0}`, and the closed-form divergence gives exact likelihoods. The `power`
//! field is the one deliberate exception: it moves particles by the point-source law
//! `(x - y, s)/R^K`, which is divergence-free in `(s, x)` space only for `K = d + 1`;
//! its nominal marginal is the Poisson one, and for any other `K` it lands with the
//! wrong proportions ([`validity`] measures why).
//!
//! [`FieldKind`] names a field (the command line's names), [`Source`] is the data
//! distribution at `s = 0`, and [`MarginalField`] combines them: velocity,
//! log-density, divergence, exact samplers of `p_s` and the priors. Sampling does not
//! depend on `MarginalField` itself but on the [`Field`] trait ([`interface`]), which
//! `MarginalField` implements, as do closures ([`FnField`]) and learned fields.
//!
//! ```
//! use fieldflow::fields::{FieldKind, MarginalField, Source};
//! use ndarray::array;
//! let data = array![[-1.0, 0.0], [1.0, 0.5]];
//! let src = Source::points(data.view(), Some(&[3.0, 1.0])).unwrap();
//! let mf = MarginalField::new("pfgmpp:2".parse::<FieldKind>().unwrap(), src).unwrap();
//! let x = mf.sample_marginal(0.5, 100, 7).unwrap(); // exact draws of p_s at s = 0.5
//! assert_eq!(x.dim(), (100, 2));
//! // ray fields: f = (x - m(x)) / s, m a posterior-weighted mean of the data
//! let f = mf.velocity(0.5, &[-1.0, 0.1]);
//! let m: Vec<f64> = [-1.0, 0.1].iter().zip(&f).map(|(x, f)| x - 0.5 * f).collect();
//! assert!(m[0] > -1.0 && m[0] < 1.0);
//! ```

pub mod interface;
pub mod kernel;
pub mod noise;
pub mod prior_bound;
pub mod schedule;
pub mod source;
mod tiny;
pub mod validity;

pub use interface::{Divergence, Field, FnField};
pub use noise::{Noise, NoiseKind, Profile};
pub use prior_bound::{default_s_max, prior_error_bound, DEFAULT_PRIOR_TV, PUBLISHED_S_MAX};
pub use schedule::Schedule;
pub use source::{check_weights, drop_zero_weights, Source, SourceKind};

use crate::rng::{stream, Rng};
use crate::{Error, Result};
use kernel::Out;
use ndarray::{Array1, Array2, ArrayView2};
use rayon::prelude::*;
use std::fmt;
use std::str::FromStr;

/// The names of the fields (as on the command line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldName {
    /// `poisson`: PFGM.
    Poisson,
    /// `pfgmpp`: PFGM++ with `D` extra dimensions.
    Pfgmpp,
    /// `gaussian`: VE diffusion / EDM.
    Gaussian,
    /// `linear`: straight paths (rectified flow).
    Linear,
    /// `radial`: Su's radial-profile construction.
    Radial,
    /// `power`: the point-source law `(x - y, s)/R^K`.
    Power,
}

const FIELD_NAMES: &str = "poisson, pfgmpp, gaussian, linear, radial, power";

impl FromStr for FieldName {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "poisson" | "pfgm" => FieldName::Poisson,
            "pfgmpp" | "pfgm++" => FieldName::Pfgmpp,
            "gaussian" | "ve" | "edm" => FieldName::Gaussian,
            "linear" | "rectified" => FieldName::Linear,
            "radial" => FieldName::Radial,
            "power" => FieldName::Power,
            _ => {
                return Err(Error::UnknownName {
                    kind: "field",
                    name: s.to_string(),
                    known: FIELD_NAMES.to_string(),
                })
            }
        })
    }
}

impl FromStr for Profile {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "tanh" => Ok(Profile::Tanh),
            "exp" => Ok(Profile::Exp),
            _ => Err(Error::UnknownName {
                kind: "radial profile",
                name: s.to_string(),
                known: "tanh, exp".to_string(),
            }),
        }
    }
}

/// The prior law of the linear path (its `nu`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LinearPrior {
    /// `N(0, I)`.
    Normal,
    /// Uniform on `[lo, hi]^d` (Su's 1-D demo uses `[0, 2]`).
    UniformBox {
        /// Lower edge.
        lo: f64,
        /// Upper edge.
        hi: f64,
    },
}

/// A field with its parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldKind {
    /// PFGM: the Poisson kernel in `d + 1` dimensions.
    Poisson,
    /// PFGM++ with `aug_dim = D > 0` extra dimensions (`D = 1` is PFGM).
    Pfgmpp {
        /// `D`.
        aug_dim: f64,
    },
    /// VE diffusion / EDM (Gaussian kernel, `sigma = s`).
    Gaussian,
    /// Straight paths `x_s = (1 - s) y + s U`, `s in (0, 1]`.
    Linear {
        /// The law of `U`.
        prior: LinearPrior,
    },
    /// Su's radial-profile kernel.
    Radial {
        /// The radial CDF.
        profile: Profile,
    },
    /// The point-source law `(x - y, s)/R^K` (valid only for `K = d + 1`).
    Power {
        /// `K`.
        k: f64,
    },
}

/// Optional parameters of [`FieldKind::from_name`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FieldParams {
    /// `D` for `pfgmpp` (required there).
    pub aug_dim: Option<f64>,
    /// `K` for `power` (required there).
    pub power: Option<f64>,
    /// Profile for `radial` (default `tanh`).
    pub profile: Profile,
    /// Prior for `linear` (default `N(0, I)`).
    pub linear_prior: LinearPrior,
}

impl Default for FieldParams {
    fn default() -> Self {
        Self {
            aug_dim: None,
            power: None,
            profile: Profile::Tanh,
            linear_prior: LinearPrior::Normal,
        }
    }
}

impl FieldKind {
    /// Builds a field from its name and parameters (`pfgmpp` needs `aug_dim`,
    /// `power` needs `power`).
    pub fn from_name(name: &str, params: &FieldParams) -> Result<Self> {
        let field = name.parse::<FieldName>()?;
        // a parameter of another field is an error, never silently ignored
        let unused = |what: &str, owner: &str| {
            Err(Error::Invalid(format!(
                "{what} is used by field {owner} only, not by {}",
                name.to_ascii_lowercase()
            )))
        };
        if params.aug_dim.is_some() && field != FieldName::Pfgmpp {
            return unused("--aug-dim (the extra dimensions D)", "pfgmpp");
        }
        if params.power.is_some() && field != FieldName::Power {
            return unused("--power (the exponent K)", "power");
        }
        if params.profile != Profile::Tanh && field != FieldName::Radial {
            return unused("--profile (the radial CDF)", "radial");
        }
        if params.linear_prior != LinearPrior::Normal && field != FieldName::Linear {
            return unused("--box (the uniform prior box)", "linear");
        }
        Ok(match field {
            FieldName::Poisson => FieldKind::Poisson,
            FieldName::Pfgmpp => FieldKind::Pfgmpp {
                aug_dim: params.aug_dim.ok_or_else(|| {
                    Error::Invalid(
                        "field pfgmpp needs the number of extra dimensions D (--aug-dim)".into(),
                    )
                })?,
            },
            FieldName::Gaussian => FieldKind::Gaussian,
            FieldName::Linear => FieldKind::Linear {
                prior: params.linear_prior,
            },
            FieldName::Radial => FieldKind::Radial {
                profile: params.profile,
            },
            FieldName::Power => FieldKind::Power {
                k: params.power.ok_or_else(|| {
                    Error::Invalid("field power needs the exponent K (--power)".into())
                })?,
            },
        })
    }

    /// The schedule of the field.
    pub fn schedule(&self) -> Schedule {
        match self {
            FieldKind::Linear { .. } => Schedule::Linear,
            _ => Schedule::Ray,
        }
    }

    /// Whether the field is a ray field (`alpha = 1`: integrated in `u = 1/s` or
    /// `tau = ln s`).
    pub fn is_ray(&self) -> bool {
        self.schedule() == Schedule::Ray
    }
}

impl fmt::Display for FieldKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldKind::Poisson => write!(f, "poisson"),
            FieldKind::Pfgmpp { aug_dim } => write!(f, "pfgmpp(D={aug_dim})"),
            FieldKind::Gaussian => write!(f, "gaussian"),
            FieldKind::Linear { prior } => match prior {
                LinearPrior::Normal => write!(f, "linear(normal)"),
                LinearPrior::UniformBox { lo, hi } => write!(f, "linear(uniform[{lo},{hi}])"),
            },
            FieldKind::Radial { profile } => write!(f, "radial({profile:?})"),
            FieldKind::Power { k } => write!(f, "power(K={k})"),
        }
    }
}

impl FromStr for FieldKind {
    type Err = Error;
    /// Parses a name with default parameters; `pfgmpp` and `power` take their
    /// parameter after a colon (`pfgmpp:4`, `power:3`).
    fn from_str(s: &str) -> Result<Self> {
        let (name, arg) = match s.split_once(':') {
            Some((a, b)) => (a, Some(b)),
            None => (s, None),
        };
        let num = |what: &str| -> Result<Option<f64>> {
            arg.map(|a| {
                a.trim()
                    .parse::<f64>()
                    .map_err(|_| Error::Invalid(format!("bad {what} '{a}' in field '{s}'")))
            })
            .transpose()
        };
        let mut p = FieldParams::default();
        match name.parse::<FieldName>()? {
            FieldName::Pfgmpp => p.aug_dim = num("aug-dim")?,
            FieldName::Power => p.power = num("power")?,
            FieldName::Radial => {
                if let Some(a) = arg {
                    p.profile = a.parse()?;
                }
            }
            _ => {}
        }
        FieldKind::from_name(name, &p)
    }
}

/// Which prior to draw at the top level `s_max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriorKind {
    /// The far field: the data replaced by one point at its centre, `x = c + s U`
    /// (exact for the linear path at `s = 1`).
    FarField,
    /// The exact mixture `p_{s_max}` (isolates solver error from prior error).
    Exact,
}

impl FromStr for PriorKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "far" | "far-field" | "farfield" => Ok(PriorKind::FarField),
            "exact" | "mixture" => Ok(PriorKind::Exact),
            _ => Err(Error::UnknownName {
                kind: "prior",
                name: s.to_string(),
                known: "far-field, exact".to_string(),
            }),
        }
    }
}

/// Results of [`MarginalField::evaluate`].
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// Velocities `f_s(x)`, `n x d`.
    pub f: Array2<f64>,
    /// `ln p_s(x)`.
    pub log_p: Array1<f64>,
    /// `div f_s(x)`.
    pub div: Array1<f64>,
}

/// Rows per parallel batch of the samplers and of [`MarginalField::evaluate`].
pub const BATCH: usize = 1024;

/// A field together with a source: the marginal density, velocity and divergence,
/// and exact samplers.
#[derive(Debug, Clone)]
pub struct MarginalField {
    kind: FieldKind,
    schedule: Schedule,
    /// The law `nu` of the marginal (Poisson for `power`).
    law: Noise,
    /// The kernel that weights data points in the velocity (`law`, except `power`).
    kernel: Noise,
    source: Source,
}

impl MarginalField {
    /// Combines a field and a source. Gaussian-mixture sources need a Gaussian law
    /// (`gaussian`, `linear` with the normal prior); Cauchy sources need the Poisson
    /// kernel (`poisson`, or `pfgmpp` with `D = 1`); `power` needs an empirical source.
    #[allow(clippy::float_cmp)] // D = 1 exactly is PFGM
    pub fn new(kind: FieldKind, source: Source) -> Result<Self> {
        let d = source.dim();
        let law = match kind {
            FieldKind::Poisson | FieldKind::Power { .. } => Noise::pfgmpp(d, 1.0)?,
            FieldKind::Pfgmpp { aug_dim } => Noise::pfgmpp(d, aug_dim)?,
            FieldKind::Gaussian => Noise::gaussian(d)?,
            FieldKind::Linear { prior } => match prior {
                LinearPrior::Normal => Noise::gaussian(d)?,
                LinearPrior::UniformBox { lo, hi } => Noise::uniform_box(d, lo, hi)?,
            },
            FieldKind::Radial { profile } => Noise::radial(d, profile)?,
        };
        let kernel = match kind {
            FieldKind::Power { k } => Noise::kernel_power(d, k)?,
            _ => law.clone(),
        };
        let ok = match source.kind() {
            SourceKind::Points => true,
            SourceKind::Gaussian => {
                law.kind() == NoiseKind::Gaussian && !matches!(kind, FieldKind::Power { .. })
            }
            SourceKind::Cauchy => {
                matches!(kind, FieldKind::Poisson)
                    || matches!(kind, FieldKind::Pfgmpp { aug_dim } if aug_dim == 1.0)
            }
        };
        if !ok {
            return Err(Error::Invalid(format!(
                "no closed-form marginal for a {:?} source under the {kind} field",
                source.kind()
            )));
        }
        Ok(Self {
            kind,
            schedule: kind.schedule(),
            law,
            kernel,
            source,
        })
    }

    /// The field.
    pub fn kind(&self) -> FieldKind {
        self.kind
    }

    /// The schedule.
    pub fn schedule(&self) -> Schedule {
        self.schedule
    }

    /// The law `nu` of the marginal.
    pub fn law(&self) -> &Noise {
        &self.law
    }

    /// The source.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// The dimension `d`.
    pub fn dim(&self) -> usize {
        self.source.dim()
    }

    fn use_fast(&self) -> bool {
        self.source.kind() == SourceKind::Points && self.kernel.is_radial()
    }

    /// Evaluates a block of rows: `s[i]` is row `i`'s level, `x` holds `n x d` values
    /// row by row; writes the velocity to `f` and, when asked, `ln p_s` and `div f`.
    /// Serial; row `i` depends only on `s[i]` and row `i` of `x`. Levels must be
    /// positive (and at most 1 for the linear path).
    pub fn eval_block(
        &self,
        s: &[f64],
        x: &[f64],
        f: &mut [f64],
        log_p: Option<&mut [f64]>,
        div: Option<&mut [f64]>,
    ) {
        let is_power = matches!(self.kind, FieldKind::Power { .. });
        let mut log_p = log_p;
        let out = Out {
            f,
            log_p: if is_power { None } else { log_p.as_deref_mut() },
            div,
        };
        if self.use_fast() {
            kernel::eval_points(&self.kernel, self.schedule, &self.source, s, x, out);
        } else {
            kernel::eval_components(&self.kernel, self.schedule, &self.source, s, x, out);
        }
        if is_power {
            if let Some(lp) = log_p {
                self.log_density_block(s, x, lp);
            }
        }
    }

    /// `ln p_s(x)` for a block of rows (the nominal marginal; Poisson for `power`).
    pub fn log_density_block(&self, s: &[f64], x: &[f64], log_p: &mut [f64]) {
        let mut f = vec![0.0; x.len()];
        let out = Out {
            f: &mut f,
            log_p: Some(log_p),
            div: None,
        };
        if self.source.kind() == SourceKind::Points && self.law.is_radial() {
            kernel::eval_points(&self.law, self.schedule, &self.source, s, x, out);
        } else {
            kernel::eval_components(&self.law, self.schedule, &self.source, s, x, out);
        }
    }

    /// Velocity at one point.
    pub fn velocity(&self, s: f64, x: &[f64]) -> Vec<f64> {
        let mut f = vec![0.0; x.len()];
        self.eval_block(&[s], x, &mut f, None, None);
        f
    }

    /// `ln p_s(x)` at one point.
    pub fn log_density(&self, s: f64, x: &[f64]) -> f64 {
        let mut lp = [0.0];
        self.log_density_block(&[s], x, &mut lp);
        lp[0]
    }

    /// `div f_s(x)` at one point (closed form).
    pub fn divergence(&self, s: f64, x: &[f64]) -> f64 {
        let mut f = vec![0.0; x.len()];
        let mut dv = [0.0];
        self.eval_block(&[s], x, &mut f, None, Some(&mut dv));
        dv[0]
    }

    /// Velocity, log-density and divergence of many points at level `s`, in parallel
    /// over fixed batches.
    pub fn evaluate(&self, s: f64, x: ArrayView2<f64>) -> Result<Evaluation> {
        let d = self.check_points(x)?;
        self.check_level(s)?;
        let n = x.nrows();
        let xs: Vec<f64> = x.iter().copied().collect();
        let mut f = vec![0.0; n * d];
        let mut lp = vec![0.0; n];
        let mut dv = vec![0.0; n];
        f.par_chunks_mut(BATCH * d)
            .zip(lp.par_chunks_mut(BATCH))
            .zip(dv.par_chunks_mut(BATCH))
            .zip(xs.par_chunks(BATCH * d))
            .for_each(|(((fb, lb), db), xb)| {
                let sv = vec![s; lb.len()];
                self.eval_block(&sv, xb, fb, Some(lb), Some(db));
            });
        Ok(Evaluation {
            f: Array2::from_shape_vec((n, d), f).expect("shape"),
            log_p: Array1::from(lp),
            div: Array1::from(dv),
        })
    }

    /// Checks that `x` has `d` columns and finite entries; returns `d`.
    pub fn check_points(&self, x: ArrayView2<f64>) -> Result<usize> {
        let d = self.dim();
        crate::error::ensure_cols("points", x, d)?;
        crate::error::ensure_finite("points", x)?;
        Ok(d)
    }

    /// Checks that `s` is an allowed level: finite, at least the smallest normal double
    /// (`2.2e-308`; subnormal levels have lost their precision), and `s <= 1` for
    /// `linear`.
    pub fn check_level(&self, s: f64) -> Result<()> {
        if !(s.is_finite() && s >= f64::MIN_POSITIVE && s <= self.schedule.s_upper()) {
            return Err(Error::InvalidParameter {
                name: "s",
                value: s,
                reason: if self.schedule == Schedule::Linear {
                    "the linear path needs 0 < s <= 1 (and s >= 2.2e-308, not subnormal)"
                } else {
                    "must be finite and > 0 (at least 2.2e-308: subnormal levels are refused)"
                },
            });
        }
        Ok(())
    }

    /// One exact draw of `p_s`: pick component `k` with probability `pi_k`, return
    /// `alpha(s) mu_k + v_k(s) U` with `U ~ nu`.
    pub fn sample_one(&self, s: f64, rng: &mut Rng, out: &mut [f64]) {
        let k = self.source.pick(rng);
        let c = self.source.scales()[k];
        let a = self.schedule.alpha(s);
        let sg = self.schedule.sigma(s);
        let v = match self.source.kind() {
            SourceKind::Points => sg,
            SourceKind::Gaussian => (a * c).hypot(sg),
            SourceKind::Cauchy => c + sg,
        };
        self.law.sample(rng, out);
        for (o, m) in out.iter_mut().zip(self.source.mean_of(k)) {
            *o = a * m + v * *o;
        }
    }

    /// `n` exact draws of `p_s`, in parallel over batches of [`BATCH`] rows, batch `b`
    /// drawing from `stream(seed, b)` (bit-identical for any thread count).
    pub fn sample_marginal(&self, s: f64, n: usize, seed: u64) -> Result<Array2<f64>> {
        self.check_level(s)?;
        try_par_rows("draws of p_s", n, self.dim(), seed, |rng, row| {
            self.sample_one(s, rng, row)
        })
    }

    /// `n` draws of the source (the data law at `s = 0`).
    pub fn sample_source(&self, n: usize, seed: u64) -> Array2<f64> {
        par_rows(n, self.dim(), seed, |rng, row| self.source.sample(rng, row))
    }

    /// `n` draws of the prior at `s_max` ([`MarginalField::prior`]). The linear path's
    /// prior is `nu` itself at `s_max = 1` (exact whatever `kind`); for the ray fields
    /// `FarField` draws `c + s_max U` around the source centre `c`, and `Exact` draws
    /// `p_{s_max}`.
    pub fn sample_prior(
        &self,
        s_max: f64,
        n: usize,
        seed: u64,
        kind: PriorKind,
    ) -> Result<Array2<f64>> {
        use crate::sampling::Prior as _;
        self.prior(s_max, kind)?.sample(n, seed)
    }

    /// The far-field prior's log-density at `s_max`: `ln nu((x - c)/s_max) - d ln s_max`.
    pub fn far_field_log_density(&self, s_max: f64, x: &[f64]) -> f64 {
        let c = self.source.center();
        let u: Vec<f64> = x.iter().zip(&c).map(|(a, b)| (a - b) / s_max).collect();
        self.law.log_density(&u) - self.dim() as f64 * s_max.ln()
    }
}

/// Rows `start..start + n` of [`try_par_rows`]`(what, start + n, d, seed, draw)`, bit
/// for bit, drawing only the batches that cover them: batch `b` (rows
/// `b * BATCH..(b + 1) * BATCH` of the whole run) draws from `stream(seed, b)`, and
/// the rows of a batch before `start` are drawn and dropped (a draw may consume a
/// variable amount of the stream), so the cost is `n` rows plus fewer than [`BATCH`].
pub fn try_par_rows_range<F>(
    what: &str,
    start: usize,
    n: usize,
    d: usize,
    seed: u64,
    draw: F,
) -> Result<Array2<f64>>
where
    F: Fn(&mut Rng, &mut [f64]) + Sync,
{
    let end = start
        .checked_add(n)
        .ok_or_else(|| Error::Invalid(format!("{what}: offset {start} + {n} rows overflows")))?;
    let len = crate::limits::array_len(what, &[n, d])?;
    let mut data = crate::limits::try_filled(what, len, 0.0)?;
    if n > 0 {
        // the output rows grouped by the batch of the whole run they belong to
        let first = start / BATCH;
        let mut pieces: Vec<(usize, &mut [f64])> = Vec::new();
        let mut rest: &mut [f64] = &mut data;
        for b in first..end.div_ceil(BATCH) {
            let lo = (b * BATCH).max(start);
            let hi = ((b + 1) * BATCH).min(end);
            let (piece, tail) = rest.split_at_mut((hi - lo) * d);
            rest = tail;
            pieces.push((b, piece));
        }
        pieces.into_par_iter().for_each(|(b, piece)| {
            let mut rng = stream(seed, b as u64);
            let skip = (b * BATCH).max(start) - b * BATCH;
            let mut scratch = vec![0.0; d];
            for _ in 0..skip {
                draw(&mut rng, &mut scratch);
            }
            for row in piece.chunks_exact_mut(d.max(1)) {
                draw(&mut rng, row);
            }
        });
    }
    Array2::from_shape_vec((n, d), data).map_err(|e| Error::Invalid(format!("{what}: {e}")))
}

/// Fills an `n x d` array row by row in parallel batches of [`BATCH`] rows, batch `b`
/// drawing from `stream(seed, b)`.
///
/// # Panics
/// If `n x d` numbers cannot be allocated; [`try_par_rows`] returns an error instead.
pub fn par_rows<F>(n: usize, d: usize, seed: u64, draw: F) -> Array2<f64>
where
    F: Fn(&mut Rng, &mut [f64]) + Sync,
{
    match try_par_rows("rows", n, d, seed, draw) {
        Ok(a) => a,
        Err(e) => panic!("{e}"),
    }
}

/// [`par_rows`] that checks the size (overflow, allocation) first: an absurd `n` is
/// an error naming `what`.
pub fn try_par_rows<F>(what: &str, n: usize, d: usize, seed: u64, draw: F) -> Result<Array2<f64>>
where
    F: Fn(&mut Rng, &mut [f64]) + Sync,
{
    let len = crate::limits::array_len(what, &[n, d])?;
    let mut data = crate::limits::try_filled(what, len, 0.0)?;
    data.par_chunks_mut(BATCH * d.max(1))
        .enumerate()
        .for_each(|(b, chunk)| {
            let mut rng = stream(seed, b as u64);
            for row in chunk.chunks_exact_mut(d) {
                draw(&mut rng, row);
            }
        });
    Array2::from_shape_vec((n, d), data).map_err(|e| Error::Invalid(format!("{what}: {e}")))
}
