//! Options shared by `fieldflow marginal`, `sample` and `encode`: which field, which
//! data (a point file with optional weights, or a toy data set by name), and how to
//! integrate (method, tolerances, top level, prior).

use anyhow::{bail, Context};
use clap::Args;
use fieldflow::data::{Dataset, GaussianMixture};
use fieldflow::fields::{FieldKind, FieldParams, LinearPrior, MarginalField, PriorKind, Source};
use fieldflow::ode::Method;
use fieldflow::sampling::SampleOptions;
use std::path::PathBuf;

/// The field and its parameters.
#[derive(Debug, Args)]
pub struct FieldOpts {
    /// Field: poisson, pfgmpp, gaussian, linear, radial, power (required unless a
    /// command takes --model).
    #[arg(long)]
    pub field: Option<String>,
    /// Extra dimensions D > 0 of `pfgmpp` (D = 1 is poisson).
    #[arg(allow_hyphen_values = true, long = "aug-dim")]
    pub aug_dim: Option<f64>,
    /// Exponent K of `power` (valid only for K = d + 1).
    #[arg(allow_hyphen_values = true, long)]
    pub power: Option<f64>,
    /// Radial CDF of `radial`: tanh or exp.
    #[arg(long, default_value = "tanh")]
    pub profile: String,
    /// Uniform prior box `LO:HI` for `linear` (default: the normal prior).
    #[arg(long = "box")]
    pub uniform_box: Option<String>,
}

/// Where the data come from.
#[derive(Debug, Args)]
pub struct DataOpts {
    /// Data file (`.csv`, `.npy`): one point per row.
    #[arg(long, conflicts_with = "dataset")]
    pub data: Option<PathBuf>,
    /// Optional weights file for `--data`: one non-negative weight per row.
    #[arg(long, requires = "data")]
    pub weights: Option<PathBuf>,
    /// Toy data set by name, or `mixture:SPEC` (a Gaussian mixture, components
    /// `WEIGHT@X1,...,XD~STD` separated by `/`); its draws form the empirical source.
    #[arg(long)]
    pub dataset: Option<String>,
    /// Number of data points drawn for `--dataset`.
    #[arg(long = "data-n", default_value_t = 1000)]
    pub data_n: usize,
    /// Seed of the data-set draw for `--dataset`.
    #[arg(long = "data-seed", default_value_t = 0)]
    pub data_seed: u64,
    /// Use the exact Gaussian-mixture law of `--dataset 8gaussians` or
    /// `mixture:SPEC` as a closed-form source instead of draws (fields `gaussian` and
    /// `linear` only).
    #[arg(long, requires = "dataset")]
    pub mixture: bool,
}

/// The integrator, the top level and the prior (shared by `sample` and `encode`).
#[derive(Debug, Args)]
pub struct SolverArgs {
    /// Integrator: euler, heun, rk4, bs3, dopri5, tsit5.
    #[arg(long, default_value = "dopri5")]
    pub method: String,
    /// Relative tolerance.
    #[arg(allow_hyphen_values = true, long, default_value_t = 1e-5)]
    pub rtol: f64,
    /// Absolute tolerance.
    #[arg(allow_hyphen_values = true, long, default_value_t = 1e-5)]
    pub atol: f64,
    /// Fixed number of steps (no error control; needed for euler, heun, rk4).
    #[arg(long)]
    pub steps: Option<usize>,
    /// Top level (default 40 for ray fields, 1 for linear).
    #[arg(allow_hyphen_values = true, long = "s-max")]
    pub s_max: Option<f64>,
    /// Prior: far (the far field around the data mean, what `sample` draws) or exact
    /// (the mixture p_{s_max}).
    #[arg(long, default_value = "far")]
    pub prior: String,
}

impl SolverArgs {
    /// Checks the options that need no field (`--steps 0`).
    pub fn check(&self) -> anyhow::Result<()> {
        if self.steps == Some(0) {
            bail!("--steps must be at least 1");
        }
        Ok(())
    }

    /// Sampling options for `mf` with these settings (tolerances are validated by the
    /// solver when it starts).
    pub fn options(&self, mf: &MarginalField) -> anyhow::Result<SampleOptions> {
        self.check()?;
        let mut opts = SampleOptions::new(mf);
        opts.solver = opts.solver.rtol(self.rtol).atol(self.atol);
        opts.solver.method = self.method.parse::<Method>()?;
        if let Some(n) = self.steps {
            opts.solver = opts.solver.fixed_steps(n);
        }
        if let Some(s) = self.s_max {
            opts.s_max = s;
        }
        opts.prior = self.prior.parse::<PriorKind>()?;
        Ok(opts)
    }

    /// One line naming the integrator and its settings.
    pub fn describe(&self) -> String {
        match self.steps {
            Some(n) => format!("{}, {n} fixed steps", self.method),
            None => format!("{} rtol {} atol {}", self.method, self.rtol, self.atol),
        }
    }
}

fn parse_box(s: &str) -> anyhow::Result<LinearPrior> {
    let Some((a, b)) = s.split_once(':') else {
        bail!("--box must be LO:HI, got '{s}'");
    };
    let lo: f64 = a
        .trim()
        .parse()
        .with_context(|| format!("bad --box lower edge '{a}'"))?;
    let hi: f64 = b
        .trim()
        .parse()
        .with_context(|| format!("bad --box upper edge '{b}'"))?;
    Ok(LinearPrior::UniformBox { lo, hi })
}

impl FieldOpts {
    /// The field kind.
    pub fn kind(&self) -> anyhow::Result<FieldKind> {
        let params = FieldParams {
            aug_dim: self.aug_dim,
            power: self.power,
            profile: self.profile.parse()?,
            linear_prior: match &self.uniform_box {
                Some(b) => parse_box(b)?,
                None => LinearPrior::Normal,
            },
        };
        let Some(name) = &self.field else {
            bail!("the following required argument was not provided: --field");
        };
        Ok(FieldKind::from_name(name, &params)?)
    }
}

impl DataOpts {
    /// The empirical source (zero-weight points are dropped).
    pub fn source(&self) -> anyhow::Result<Source> {
        match (&self.data, &self.dataset) {
            (Some(path), None) => {
                let pts = fieldflow::io::read_points(path)?;
                match &self.weights {
                    None => Ok(Source::points(pts.view(), None)?),
                    Some(wp) => {
                        let w = fieldflow::io::read_weights(wp)?;
                        if w.len() != pts.nrows() {
                            bail!(
                                "{} has {} weights but {} has {} points",
                                wp.display(),
                                w.len(),
                                path.display(),
                                pts.nrows()
                            );
                        }
                        let keep: Vec<usize> = (0..w.len()).filter(|&i| w[i] > 0.0).collect();
                        let pts = pts.select(ndarray::Axis(0), &keep);
                        let w: Vec<f64> = keep.iter().map(|&i| w[i]).collect();
                        Ok(Source::points(pts.view(), Some(&w))?)
                    }
                }
            }
            (None, Some(name)) => {
                // a Gaussian mixture (mixture:SPEC, or 8gaussians) or another toy set
                let mix: Option<GaussianMixture> = match name.strip_prefix("mixture:") {
                    Some(spec) => Some(spec.parse()?),
                    None => {
                        let set: Dataset = name.parse()?;
                        match set {
                            Dataset::EightGaussians => Some(GaussianMixture::eight_gaussians()),
                            _ if self.mixture => bail!(
                                "--mixture needs --dataset 8gaussians or mixture:SPEC, not {set}"
                            ),
                            _ => None,
                        }
                    }
                };
                if self.mixture {
                    let mix = mix.expect("checked above");
                    return Ok(Source::from_mixture(&mix)?);
                }
                if self.data_n == 0 {
                    bail!("--data-n must be at least 1");
                }
                let pts = match &mix {
                    Some(m) if name.starts_with("mixture:") => {
                        m.sample(self.data_n, &mut fieldflow::rng::seeded(self.data_seed))
                    }
                    _ => name
                        .parse::<Dataset>()?
                        .sample_seeded(self.data_n, self.data_seed),
                };
                Ok(Source::points(pts.view(), None)?)
            }
            _ => bail!("give the data: --data FILE or --dataset NAME"),
        }
    }
}

/// Builds the marginal field from the options.
pub fn build(field: &FieldOpts, data: &DataOpts) -> anyhow::Result<MarginalField> {
    let kind = field.kind()?;
    let src = data.source()?;
    Ok(MarginalField::new(kind, src)?)
}

/// Writes points, refusing to overwrite without `force`; rows with a non-finite value
/// are left out (and counted in the return value).
pub fn write(
    path: &std::path::Path,
    x: ndarray::ArrayView2<f64>,
    force: bool,
) -> anyhow::Result<usize> {
    let keep: Vec<usize> = (0..x.nrows())
        .filter(|&i| x.row(i).iter().all(|v| v.is_finite()))
        .collect();
    let dropped = x.nrows() - keep.len();
    let xs = x.select(ndarray::Axis(0), &keep);
    match fieldflow::io::write_points(path, xs.view(), force) {
        Err(e @ fieldflow::Error::FileExists { .. }) => bail!("{e}; use --force to replace it"),
        other => other?,
    }
    Ok(dropped)
}
