//! Standardisation of data before a field is built, and its inverse on output.
//!
//! Image data come in pixel units (0..16 for the digits, 0..1 for PNG folders), and
//! the fields' default top levels and priors are tuned for data of unit scale, so a
//! run may first map every point `x` to `z = (x - mean) / scale` and map generated
//! points back with `x = mean + scale * z`. [`Standardize::Global`] uses one mean and
//! one standard deviation over all values (the image's geometry is unchanged up to a
//! similarity, so distances keep their ratios); [`Standardize::PerFeature`] uses each
//! column's own mean and standard deviation. A column whose standard deviation is 0
//! (the digits have pixels that are always 0) keeps scale 1, so it maps to 0 and back
//! exactly. The inverse is applied where points leave the standardised space: to the
//! samples before they are written or drawn, never inside the field.

use crate::error::{Error, Result};
use ndarray::{Array2, ArrayView2};
use std::fmt;
use std::str::FromStr;

/// Which standardisation to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Standardize {
    /// Keep the data as they are (mean 0, scale 1).
    #[default]
    None,
    /// One mean and one standard deviation over all values.
    Global,
    /// Each column's own mean and standard deviation (scale 1 for a constant column).
    PerFeature,
}

impl FromStr for Standardize {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "none" => Ok(Standardize::None),
            "global" => Ok(Standardize::Global),
            "per-feature" => Ok(Standardize::PerFeature),
            _ => Err(Error::UnknownName {
                kind: "standardisation",
                name: s.into(),
                known: "none, global, per-feature".into(),
            }),
        }
    }
}

impl fmt::Display for Standardize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Standardize::None => "none",
            Standardize::Global => "global",
            Standardize::PerFeature => "per-feature",
        })
    }
}

/// A fitted affine map `z = (x - mean) / scale`, column by column.
#[derive(Debug, Clone, PartialEq)]
pub struct Standardization {
    /// The mean subtracted from each column.
    pub mean: Vec<f64>,
    /// The (positive) scale each column is divided by.
    pub scale: Vec<f64>,
}

impl Standardization {
    /// Fits the map of `kind` to the rows of `x` (population standard deviation,
    /// divisor `n`). Needs at least one row and finite values.
    pub fn fit(kind: Standardize, x: ArrayView2<'_, f64>) -> Result<Self> {
        let (n, d) = x.dim();
        if n == 0 || d == 0 {
            return Err(Error::Empty {
                what: "data to standardise",
            });
        }
        crate::error::ensure_finite("data to standardise", x)?;
        let positive = |s: f64| if s > 0.0 && s.is_finite() { s } else { 1.0 };
        Ok(match kind {
            Standardize::None => Standardization {
                mean: vec![0.0; d],
                scale: vec![1.0; d],
            },
            Standardize::Global => {
                let count = (n * d) as f64;
                let m = x.iter().sum::<f64>() / count;
                let v = x.iter().map(|&a| (a - m) * (a - m)).sum::<f64>() / count;
                Standardization {
                    mean: vec![m; d],
                    scale: vec![positive(v.sqrt()); d],
                }
            }
            Standardize::PerFeature => {
                let mut mean = vec![0.0; d];
                let mut scale = vec![0.0; d];
                for (j, col) in x.columns().into_iter().enumerate() {
                    let m = col.sum() / n as f64;
                    let v = col.iter().map(|&a| (a - m) * (a - m)).sum::<f64>() / n as f64;
                    mean[j] = m;
                    scale[j] = positive(v.sqrt());
                }
                Standardization { mean, scale }
            }
        })
    }

    /// `(x - mean) / scale` for every row of `x`.
    pub fn apply(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        self.check(x)?;
        let mut z = x.to_owned();
        for mut row in z.rows_mut() {
            for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.scale) {
                *v = (*v - m) / s;
            }
        }
        Ok(z)
    }

    /// `mean + scale * z` for every row of `z`: the inverse of [`Self::apply`].
    pub fn invert(&self, z: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        self.check(z)?;
        let mut x = z.to_owned();
        for mut row in x.rows_mut() {
            for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.scale) {
                *v = m + s * *v;
            }
        }
        Ok(x)
    }

    fn check(&self, x: ArrayView2<'_, f64>) -> Result<()> {
        crate::error::ensure_cols("points to (un)standardise", x, self.mean.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn fitted_maps_have_the_closed_form_moments_and_invert() {
        let x = array![[1.0, 5.0, 2.0], [3.0, 5.0, 4.0], [5.0, 5.0, 0.0]];
        // per feature: column means 3, 5, 2; population sds sqrt(8/3), 0 -> 1, sqrt(8/3)
        let p = Standardization::fit(Standardize::PerFeature, x.view()).unwrap();
        let sd = (8.0f64 / 3.0).sqrt();
        assert_eq!(p.mean, vec![3.0, 5.0, 2.0]);
        assert!((p.scale[0] - sd).abs() < 1e-15);
        assert_eq!(p.scale[1].to_bits(), 1f64.to_bits());
        let z = p.apply(x.view()).unwrap();
        for col in [0, 2] {
            let c = z.column(col);
            assert!(c.sum().abs() < 1e-14);
            assert!((c.mapv(|v| v * v).sum() / 3.0 - 1.0).abs() < 1e-14);
        }
        assert!(z.column(1).iter().all(|&v| v == 0.0));
        let back = p.invert(z.view()).unwrap();
        assert!((&back - &x).iter().all(|v| v.abs() < 1e-14));
        // global: mean 35/9 over all nine values
        let g = Standardization::fit(Standardize::Global, x.view()).unwrap();
        assert!((g.mean[0] - 30.0 / 9.0).abs() < 1e-15);
        let zg = g.apply(x.view()).unwrap();
        assert!(zg.sum().abs() < 1e-13);
        assert!((zg.mapv(|v| v * v).sum() / 9.0 - 1.0).abs() < 1e-13);
        // none is the identity
        let n = Standardization::fit(Standardize::None, x.view()).unwrap();
        assert_eq!(n.apply(x.view()).unwrap(), x);
        // wrong width and unknown names are errors
        assert!(g.apply(array![[1.0, 2.0]].view()).is_err());
        assert!("zscore".parse::<Standardize>().is_err());
        assert_eq!(
            "per-feature".parse::<Standardize>().unwrap(),
            Standardize::PerFeature
        );
    }
}
