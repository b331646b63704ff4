//! Options shared by `fieldflow marginal`, `sample` and `encode`: which field, which
//! data (a point file with optional weights, or a toy data set by name), and how to
//! integrate (method, tolerances, top level, prior).

use anyhow::{bail, Context};
use clap::Args;
use fieldflow::data::{Dataset, GaussianMixture, Standardization, Standardize};
use fieldflow::fields::{
    drop_zero_weights, prior_error_bound, FieldKind, FieldName, FieldParams, LinearPrior,
    MarginalField, PriorKind, Schedule, Source, DEFAULT_PRIOR_TV,
};
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
    /// Radial CDF of `radial`: tanh or exp [default: tanh].
    #[arg(long)]
    pub profile: Option<String>,
    /// Uniform prior box `LO:HI` for `linear` (default: the normal prior).
    #[arg(long = "box", allow_hyphen_values = true)]
    pub uniform_box: Option<String>,
}

/// Where the data come from.
#[derive(Debug, Args)]
pub struct DataOpts {
    /// Data file: one point per row (`.csv`, `.npy` of any real type, `.npz`,
    /// `FILE.npz:NAME`, or `-` for standard input).
    #[arg(long, conflicts_with = "dataset")]
    pub data: Option<PathBuf>,
    /// Optional weights file for `--data`: one non-negative weight per row (same
    /// formats as `--data`).
    #[arg(long, requires = "data")]
    pub weights: Option<PathBuf>,
    /// Toy data set by name, `digits` (the bundled 8 x 8 handwritten digits, d = 64,
    /// pixel values 0..16), or `mixture:SPEC` (a Gaussian mixture, components
    /// `WEIGHT@X1,...,XD~STD` separated by `/`); its draws form the empirical source.
    #[arg(long)]
    pub dataset: Option<String>,
    /// Number of data points drawn for `--dataset` [default: 1000; for `digits` all
    /// 1797 images, and N <= 1797 draws N of them without replacement].
    #[arg(long = "data-n", value_parser = super::memory::count)]
    pub data_n: Option<usize>,
    /// Seed of the data-set draw for `--dataset`.
    #[arg(long = "data-seed", default_value_t = 0)]
    pub data_seed: u64,
    /// Use the exact Gaussian-mixture law of `--dataset 8gaussians` or
    /// `mixture:SPEC` as a closed-form source instead of draws (fields `gaussian` and
    /// `linear` only).
    #[arg(long, requires = "dataset")]
    pub mixture: bool,
    /// Standardise the data before the field is built: none, global (one mean and
    /// standard deviation over all values) or per-feature (each column's own; a
    /// constant column keeps scale 1). Only `sample` accepts it: it maps the samples
    /// back with the inverse before writing them (recorded trajectories stay in the
    /// standardised space).
    #[arg(long, default_value = "none")]
    pub standardize: String,
}

/// The integrator, the top level and the prior (shared by `sample` and `encode`).
#[derive(Debug, Args)]
pub struct SolverArgs {
    /// Integrator: euler, heun, rk4, bs3, dopri5, tsit5; for `sample` also the
    /// few-step samplers edm-euler, edm-heun, dpmpp-2m, dpmpp-3m (with --steps N
    /// levels down to --s-min, then a last step: output at s = 0).
    #[arg(long, default_value = "dopri5")]
    pub method: String,
    /// Relative tolerance.
    #[arg(allow_hyphen_values = true, long, default_value_t = 1e-5)]
    pub rtol: f64,
    /// Absolute tolerance.
    #[arg(allow_hyphen_values = true, long, default_value_t = 1e-5)]
    pub atol: f64,
    /// Fixed number of steps (no error control; needed for euler, heun, rk4), or the
    /// number of levels N of a few-step sampler.
    #[arg(long, value_parser = super::memory::count)]
    pub steps: Option<usize>,
    /// Top level (default for ray fields: the smallest level, at least 40, where the
    /// far-field prior is within total variation 0.01 of the exact p_s_max; 1 for
    /// linear).
    #[arg(allow_hyphen_values = true, long = "s-max")]
    pub s_max: Option<f64>,
    /// Prior: far (the far field around the data mean, what `sample` draws) or exact
    /// (the mixture p_{s_max}).
    #[arg(long, default_value = "far")]
    pub prior: String,
    /// The variables the integrator steps: inverse (time 1/s, state x/s; the default
    /// of ray fields for `sample`), log (time ln s, state x; their default for
    /// `encode`) or level (time s; the default for linear). The paths are the same;
    /// the steps, and what the tolerances measure, differ.
    #[arg(long = "ode-time")]
    pub ode_time: Option<String>,
}

impl SolverArgs {
    /// Checks the options that need no field (`--steps 0`).
    pub fn check(&self) -> anyhow::Result<()> {
        match self.steps {
            Some(0) => bail!("--steps must be at least 1"),
            Some(n) if n > fieldflow::limits::MAX_FIXED_STEPS => bail!(
                "--steps {n} is more than the limit {} fixed steps per trajectory",
                fieldflow::limits::MAX_FIXED_STEPS
            ),
            _ => {}
        }
        Ok(())
    }

    /// One line naming the integrator and its settings.
    pub fn describe(&self) -> String {
        match self.steps {
            Some(n) => format!("{}, {n} fixed steps", self.method),
            None => format!("{} rtol {} atol {}", self.method, self.rtol, self.atol),
        }
    }
}

/// A far-field prior farther than this (total variation) from the exact `p_s_max` is
/// refused unless forced.
pub const HOPELESS_PRIOR_TV: f64 = 0.5;

/// The far-field prior's error bound at `opts.s_max` (docs/MATHEMATICS.md, section
/// 5.3) for a run that draws it, `None` when the prior is exact (linear path,
/// `--prior exact`), with the line for stderr: a warning when a user-given `--s-max`
/// makes the bound exceed the default tolerance, else a note (`None` when `quiet`).
/// Refuses a bound above [`HOPELESS_PRIOR_TV`] unless `force`.
pub fn prior_check(
    mf: &MarginalField,
    opts: &SampleOptions,
    user_s_max: bool,
    force: bool,
    quiet: bool,
) -> anyhow::Result<(Option<f64>, Option<String>)> {
    if mf.schedule() == Schedule::Linear || opts.prior == PriorKind::Exact {
        return Ok((None, None));
    }
    let bound = prior_error_bound(mf, opts.s_max)?;
    let default = SampleOptions::new(mf).s_max;
    if user_s_max && bound > HOPELESS_PRIOR_TV && !force {
        bail!(
            "--s-max {} leaves the far-field prior up to {bound:.3} in total variation from the \
             exact p_s_max (the default for this field and data is {default:.6}); use a larger \
             --s-max, --prior exact, or --force-prior to run anyway",
            opts.s_max
        );
    }
    let line = if user_s_max && bound > DEFAULT_PRIOR_TV {
        Some(format!(
            "warning: --s-max {} leaves the far-field prior up to {bound:.3} in total variation \
             from the exact p_s_max (tolerance {DEFAULT_PRIOR_TV}; the default s_max {default:.6} \
             meets it)",
            opts.s_max
        ))
    } else {
        (!quiet).then(|| {
            format!(
                "note: s_max = {} ({}); the far-field prior is within total variation {bound:.2e} \
                 of the exact p_s_max",
                opts.s_max,
                if user_s_max { "--s-max" } else { "default" }
            )
        })
    };
    Ok((Some(bound), line))
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
        let Some(name) = &self.field else {
            bail!("the following required argument was not provided: --field");
        };
        // a flag of another field is refused, also when it holds the default value
        let field: FieldName = name.parse()?;
        for (given, flag, owner) in [
            (self.aug_dim.is_some(), "--aug-dim", FieldName::Pfgmpp),
            (self.power.is_some(), "--power", FieldName::Power),
            (self.profile.is_some(), "--profile", FieldName::Radial),
            (self.uniform_box.is_some(), "--box", FieldName::Linear),
        ] {
            if given && field != owner {
                bail!(
                    "{flag} is used by field {} only, not by {}",
                    format!("{owner:?}").to_ascii_lowercase(),
                    name
                );
            }
        }
        let params = FieldParams {
            aug_dim: self.aug_dim,
            power: self.power,
            profile: self.profile.as_deref().unwrap_or("tanh").parse()?,
            linear_prior: match &self.uniform_box {
                Some(b) => parse_box(b)?,
                None => LinearPrior::Normal,
            },
        };
        Ok(FieldKind::from_name(name, &params)?)
    }
}

impl DataOpts {
    /// The empirical source (zero-weight points are dropped); `--standardize` must be
    /// `none` (see [`DataOpts::standardized_source`]).
    pub fn source(&self) -> anyhow::Result<Source> {
        if self.standardization()? != Standardize::None {
            bail!("--standardize is only supported by `fieldflow sample`");
        }
        Ok(self.standardized_source()?.0)
    }

    /// The `--standardize` choice.
    pub fn standardization(&self) -> anyhow::Result<Standardize> {
        Ok(self.standardize.parse()?)
    }

    /// The source built from the standardised points, and the fitted map (its
    /// inverse takes generated points back to data units).
    pub fn standardized_source(&self) -> anyhow::Result<(Source, Standardization)> {
        match (&self.data, &self.dataset) {
            (Some(path), None) => {
                let pts = super::output::read_points(path)?;
                match &self.weights {
                    None => self.finish(pts.view(), None),
                    Some(wp) => {
                        let w = super::output::read_weights(wp)?;
                        if w.len() != pts.nrows() {
                            bail!(
                                "{} has {} weights but {} has {} points",
                                wp.display(),
                                w.len(),
                                path.display(),
                                pts.nrows()
                            );
                        }
                        let (pts, w) = drop_zero_weights(pts.view(), &w)
                            .with_context(|| wp.display().to_string())?;
                        self.finish(pts.view(), Some(&w))
                    }
                }
            }
            (None, Some(name)) if name == "digits" => {
                let images = fieldflow::run::datasets(name, self.data_n, self.data_seed)?;
                self.finish(images.view(), None)
            }
            (None, Some(name)) => {
                let data_n = self.data_n.unwrap_or(1000);
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
                    if self.standardization()? != Standardize::None {
                        bail!("--standardize needs data points, not --mixture");
                    }
                    let mix = mix.expect("checked above");
                    let d = mix.dim();
                    return Ok((
                        Source::from_mixture(&mix)?,
                        Standardization::fit(
                            Standardize::None,
                            ndarray::Array2::zeros((1, d)).view(),
                        )?,
                    ));
                }
                if data_n == 0 {
                    bail!("--data-n must be at least 1");
                }
                let d = fieldflow::run::dataset_dim(name)?;
                // the draws and the field's copies of them (coordinates, weights, norms)
                super::memory::ensure_fits(
                    &format!("--data-n {} (the data points)", data_n),
                    super::memory::bytes(data_n, 6 * 8 * (d as u128 + 1)),
                )?;
                let pts = fieldflow::run::datasets(name, Some(data_n), self.data_seed)?;
                self.finish(pts.view(), None)
            }
            _ => bail!("give the data: --data FILE or --dataset NAME"),
        }
    }
}

impl DataOpts {
    /// Standardises `pts` as asked and builds the source from them.
    fn finish(
        &self,
        pts: ndarray::ArrayView2<f64>,
        w: Option<&[f64]>,
    ) -> anyhow::Result<(Source, Standardization)> {
        // the read array, the standardised copy and the source's two layouts
        super::memory::ensure_fits(
            &format!("{} x {} data", pts.nrows(), pts.ncols()),
            super::memory::bytes(pts.nrows(), 4 * 8 * pts.ncols() as u128),
        )?;
        let kind = self.standardization()?;
        let map = Standardization::fit(kind, pts)?;
        if kind == Standardize::None {
            // no copy of the data for the identity
            return Ok((Source::points(pts, w)?, map));
        }
        let z = map.apply(pts)?;
        Ok((Source::points(z.view(), w)?, map))
    }
}

/// Builds the marginal field and the standardisation of its data (`sample` only).
pub fn build_standardized(
    field: &FieldOpts,
    data: &DataOpts,
) -> anyhow::Result<(MarginalField, Standardization)> {
    let kind = field.kind()?;
    let (src, map) = data.standardized_source()?;
    Ok((MarginalField::new(kind, src)?, map))
}

/// Builds the marginal field from the options.
pub fn build(field: &FieldOpts, data: &DataOpts) -> anyhow::Result<MarginalField> {
    let kind = field.kind()?;
    let src = data.source()?;
    Ok(MarginalField::new(kind, src)?)
}
