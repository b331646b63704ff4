//! Model files: the network's tensors in safetensors format with their metadata.
//!
//! The metadata (string key/value pairs in the safetensors header) record the field
//! (`poisson`, `pfgmpp:D`, `gaussian`, `linear`), the dimension `d`, the architecture,
//! the data normalisation (`mean`, `sd`), the seed, the training steps and settings,
//! the target and the SHA-256 of the training data (its shape as two little-endian
//! `u64` followed by its `f64` values, row by row), and the fieldflow version. Loading
//! checks the file, every key and every tensor shape against them.

use super::net::{nn_err, Mlp};
use super::train::Target;
use super::{embed, sigma_scale, Precond, EMBED_DIM};
use crate::error::ensure_cols;
use crate::fields::{FieldKind, LinearPrior};
use crate::{Error, Result};
use ndarray::ArrayView2;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;

/// Format tag stored in every model file.
pub const FORMAT: &str = "fieldflow-mlp-silu-1";

/// What a model file says about its network.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelMeta {
    /// The field the network was trained on.
    pub kind: FieldKind,
    /// The dimension `d` of the data.
    pub dim: usize,
    /// Hidden width.
    pub hidden: usize,
    /// Hidden layers.
    pub layers: usize,
    /// Data mean (per coordinate).
    pub mean: Vec<f64>,
    /// Data standard deviation (scalar).
    pub sd: f64,
    /// Training seed.
    pub seed: u64,
    /// Training steps.
    pub steps: usize,
    /// Batch size.
    pub batch: usize,
    /// Learning rate.
    pub lr: f64,
    /// Regression target.
    pub target: Target,
    /// Number of training points.
    pub n_train: usize,
    /// SHA-256 of the training data (hex).
    pub data_sha256: String,
    /// The default top level of sampling: for ray fields the smallest level (at least
    /// 40) where the far-field prior around the training mean is within total
    /// variation 0.01 of the exact `p_{s_max}` of the training set
    /// ([`crate::fields::default_s_max`]); 1 for the linear path.
    pub s_max: f64,
    /// fieldflow version that trained the model.
    pub version: String,
}

/// SHA-256 (hex) of a point set: its shape as two little-endian `u64`, then its
/// values as little-endian `f64`, row by row.
pub fn data_hash(data: ArrayView2<f64>) -> String {
    let mut h = Sha256::new();
    h.update((data.nrows() as u64).to_le_bytes());
    h.update((data.ncols() as u64).to_le_bytes());
    for v in data.iter() {
        h.update(v.to_le_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The field's name as stored (parsed back by `FieldKind::from_str`).
fn field_spec(kind: FieldKind) -> String {
    match kind {
        FieldKind::Pfgmpp { aug_dim } => format!("pfgmpp:{aug_dim}"),
        FieldKind::Poisson => "poisson".into(),
        FieldKind::Gaussian => "gaussian".into(),
        FieldKind::Linear {
            prior: LinearPrior::Normal,
        } => "linear".into(),
        other => other.to_string(),
    }
}

impl ModelMeta {
    /// The metadata as the string pairs of the safetensors header.
    pub fn to_map(&self) -> HashMap<String, String> {
        let mut m = HashMap::new();
        let mut put = |k: &str, v: String| {
            m.insert(k.to_string(), v);
        };
        put("format", FORMAT.into());
        put("field", field_spec(self.kind));
        put("dim", self.dim.to_string());
        put("hidden", self.hidden.to_string());
        put("layers", self.layers.to_string());
        put("activation", "silu".into());
        put(
            "embedding",
            format!("c_noise + sin/cos at 1,2,4,8 ({EMBED_DIM})"),
        );
        put(
            "mean",
            serde_json::to_string(&self.mean).unwrap_or_default(),
        );
        put("sd", format!("{:?}", self.sd));
        put("seed", self.seed.to_string());
        put("steps", self.steps.to_string());
        put("batch", self.batch.to_string());
        put("lr", format!("{:?}", self.lr));
        put("target", self.target.to_string());
        put("n_train", self.n_train.to_string());
        put("data_sha256", self.data_sha256.clone());
        put("s_max", format!("{:?}", self.s_max));
        put("fieldflow_version", self.version.clone());
        m
    }

    /// Parses the string pairs of a safetensors header (`path` names the file in errors).
    pub fn from_map(path: &str, m: &HashMap<String, String>) -> Result<Self> {
        let bad = |msg: String| Error::Io {
            path: path.to_string(),
            message: msg,
        };
        let get = |k: &str| -> Result<&String> {
            m.get(k).ok_or_else(|| {
                bad(format!(
                    "model metadata lacks '{k}' (not a fieldflow model?)"
                ))
            })
        };
        let num = |k: &str| -> Result<usize> {
            get(k)?
                .parse()
                .map_err(|_| bad(format!("model metadata '{k}' is not a count")))
        };
        let real = |k: &str| -> Result<f64> {
            get(k)?
                .parse()
                .map_err(|_| bad(format!("model metadata '{k}' is not a number")))
        };
        let format = get("format")?;
        if format != FORMAT {
            return Err(bad(format!(
                "model format '{format}' is not supported (expected {FORMAT})"
            )));
        }
        let kind: FieldKind = get("field")?
            .parse()
            .map_err(|e| bad(format!("model metadata 'field': {e}")))?;
        let mean: Vec<f64> = serde_json::from_str(get("mean")?)
            .map_err(|_| bad("model metadata 'mean' is not a list of numbers".into()))?;
        let meta = ModelMeta {
            kind,
            dim: num("dim")?,
            hidden: num("hidden")?,
            layers: num("layers")?,
            mean,
            sd: real("sd")?,
            seed: get("seed")?
                .parse()
                .map_err(|_| bad("model metadata 'seed' is not an integer".into()))?,
            steps: num("steps")?,
            batch: num("batch")?,
            lr: real("lr")?,
            target: get("target")?
                .parse()
                .map_err(|e| bad(format!("model metadata 'target': {e}")))?,
            n_train: num("n_train")?,
            data_sha256: get("data_sha256")?.clone(),
            s_max: real("s_max")?,
            version: get("fieldflow_version")?.clone(),
        };
        if meta.mean.len() != meta.dim || meta.dim == 0 {
            return Err(bad(format!(
                "model metadata: mean has {} values for dimension {}",
                meta.mean.len(),
                meta.dim
            )));
        }
        if !(meta.s_max > 0.0 && meta.s_max.is_finite()) {
            return Err(bad(format!("model metadata: bad s_max {}", meta.s_max)));
        }
        if !(meta.sd > 0.0 && meta.sd.is_finite()) || meta.mean.iter().any(|v| !v.is_finite()) {
            return Err(bad("model metadata: bad normalisation (sd or mean)".into()));
        }
        Ok(meta)
    }
}

/// Rewrites a safetensors buffer with its JSON header's keys sorted (the metadata
/// map's iteration order is random), so that the same model always gives the same
/// bytes. The header stays padded with spaces to a multiple of 8 bytes; tensor
/// offsets are relative to the data section and do not change.
fn canonical_header(bytes: &[u8]) -> Result<Vec<u8>> {
    let bad = || Error::Invalid("cannot serialise the model: malformed header".into());
    let n = u64::from_le_bytes(
        bytes
            .get(..8)
            .ok_or_else(bad)?
            .try_into()
            .map_err(|_| bad())?,
    ) as usize;
    let header = bytes.get(8..8 + n).ok_or_else(bad)?;
    let value = sorted(serde_json::from_slice(header).map_err(|_| bad())?);
    let mut text = serde_json::to_vec(&value).map_err(|_| bad())?;
    while text.len() % 8 != 0 {
        text.push(b' ');
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend((text.len() as u64).to_le_bytes());
    out.extend(text);
    out.extend(&bytes[8 + n..]);
    Ok(out)
}

/// `v` with the keys of every object inserted in sorted order (serde_json keeps
/// insertion order when another crate enables its `preserve_order` feature).
fn sorted(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<_> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            serde_json::Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        other => other,
    }
}

/// A trained network with its metadata: predicts the posterior mean `m(x, s)`.
#[derive(Debug, Clone)]
pub struct TrainedModel {
    meta: ModelMeta,
    mlp: Mlp,
    pre: Precond,
}

impl TrainedModel {
    /// Combines metadata and network, checking that they agree.
    pub fn new(meta: ModelMeta, mlp: Mlp) -> Result<Self> {
        let scale = sigma_scale(meta.kind)?;
        let widths_ok = mlp.input() == meta.dim + EMBED_DIM
            && mlp.output() == meta.dim
            && mlp.depth() == meta.layers + 1
            && mlp
                .named_tensors()
                .iter()
                .filter(|(n, _)| n.ends_with("weight"))
                .take(meta.layers)
                .all(|(_, t)| t.dims()[0] == meta.hidden);
        if !widths_ok {
            return Err(Error::Invalid(format!(
                "the network's tensor shapes do not match the model metadata (d = {}, {} hidden layers of width {})",
                meta.dim, meta.layers, meta.hidden
            )));
        }
        let pre = Precond {
            schedule: meta.kind.schedule(),
            sigma_scale: scale,
            sd: meta.sd,
        };
        Ok(Self { meta, mlp, pre })
    }

    /// The metadata.
    pub fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    /// The network.
    pub fn mlp(&self) -> &Mlp {
        &self.mlp
    }

    /// The preconditioning.
    pub fn precond(&self) -> Precond {
        self.pre
    }

    /// `Err(DimensionMismatch)` unless `x` has the model's dimension.
    pub fn check_data(&self, x: ArrayView2<f64>) -> Result<()> {
        ensure_cols("data for the model", x, self.meta.dim)
    }

    /// The predicted posterior means of `n = s.len()` rows of `x` (row-major) into
    /// `m`. The network runs in `f32`; the preconditioning is applied in `f64`.
    pub fn predict_mean(&self, s: &[f64], x: &[f64], m: &mut [f64]) -> Result<()> {
        let d = self.meta.dim;
        let n = s.len();
        if x.len() != n * d || m.len() != n * d {
            return Err(Error::DimensionMismatch {
                what: "rows for the model",
                expected: n * d,
                got: x.len(),
            });
        }
        let w = d + EMBED_DIM;
        let mut inp = vec![0.0; n * w];
        for i in 0..n {
            let c = self.pre.at(s[i]);
            for j in 0..d {
                inp[i * w + j] = c.c_in * (x[i * d + j] - c.alpha * self.meta.mean[j]);
            }
            embed(c.c_noise, &mut inp[i * w + d..(i + 1) * w]);
        }
        let out = self.mlp.forward_f64(&inp, n)?;
        for i in 0..n {
            let c = self.pre.at(s[i]);
            for j in 0..d {
                let mu = self.meta.mean[j];
                m[i * d + j] =
                    mu + c.c_skip * (x[i * d + j] - c.alpha * mu) + c.c_out * out[i * d + j];
            }
        }
        Ok(())
    }

    /// The file's bytes: safetensors with the metadata in its header.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let named = self.mlp.named_tensors();
        let bytes = safetensors::serialize(
            named.iter().map(|(n, t)| (n.as_str(), t)),
            Some(self.meta.to_map()),
        )
        .map_err(|e| Error::Invalid(format!("cannot serialise the model: {e}")))?;
        canonical_header(&bytes)
    }

    /// Writes the model atomically ([`Error::FileExists`] unless `overwrite`).
    pub fn save(&self, path: impl AsRef<Path>, overwrite: bool) -> Result<()> {
        let bytes = self.to_bytes()?;
        let mut set = crate::io::OutputSet::new(overwrite);
        set.bytes(path, &bytes)?;
        set.commit()
    }

    /// Reads a model from the bytes of a file (`path` names it in errors).
    pub fn from_bytes(path: &str, bytes: &[u8]) -> Result<Self> {
        let bad = |msg: String| Error::Io {
            path: path.to_string(),
            message: msg,
        };
        let st = safetensors::SafeTensors::deserialize(bytes)
            .map_err(|e| bad(format!("not a safetensors model file or truncated ({e})")))?;
        let (_, header) = safetensors::SafeTensors::read_metadata(bytes)
            .map_err(|e| bad(format!("not a safetensors model file or truncated ({e})")))?;
        let map = header.metadata().as_ref().ok_or_else(|| {
            bad("the safetensors file has no metadata (not a fieldflow model)".into())
        })?;
        let meta = ModelMeta::from_map(path, map)?;
        let _ = st;
        let tensors = candle_core::safetensors::load_buffer(bytes, &candle_core::Device::Cpu)
            .map_err(|e| bad(format!("cannot read the tensors: {}", nn_err(e))))?;
        let mut layers = Vec::with_capacity(meta.layers + 1);
        for i in 0..=meta.layers {
            let take = |n: String| {
                tensors.get(&n).cloned().ok_or_else(|| {
                    bad(format!(
                        "tensor '{n}' is missing for {} hidden layers",
                        meta.layers
                    ))
                })
            };
            layers.push((
                take(format!("layers.{i}.weight"))?,
                take(format!("layers.{i}.bias"))?,
            ));
        }
        if tensors.len() != 2 * (meta.layers + 1) {
            return Err(bad(format!(
                "{} tensors for {} hidden layers (expected {})",
                tensors.len(),
                meta.layers,
                2 * (meta.layers + 1)
            )));
        }
        let mlp = Mlp::from_tensors(layers).map_err(|e| bad(e.to_string()))?;
        TrainedModel::new(meta, mlp).map_err(|e| bad(e.to_string()))
    }

    /// Loads a model file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let p = path.as_ref();
        let name = p.display().to_string();
        let bytes = std::fs::read(p).map_err(|e| Error::Io {
            path: name.clone(),
            message: format!("cannot read: {e}"),
        })?;
        Self::from_bytes(&name, &bytes)
    }
}
