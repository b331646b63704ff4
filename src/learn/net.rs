//! The network: a multilayer perceptron with SiLU activations, in `f32` on the CPU.
//!
//! `L` hidden layers of width `W` map the `d + 9` inputs (scaled position and level
//! embedding) to `d` outputs. Weights are candle variables, so the optimiser and
//! autodiff of candle-nn train them; they are initialised from the crate's seeded
//! generator (PyTorch's default for linear layers: weights and biases uniform on
//! `+-1/sqrt(fan_in)`), which makes training reproducible bit for bit for a given
//! seed and thread count.

use crate::rng::Rng;
use crate::{Error, Result};
use candle_core::{DType, Device, Tensor, Var};
use rand::Rng as _;

/// A candle error as a library error.
pub(crate) fn nn_err(e: candle_core::Error) -> Error {
    Error::Invalid(format!("network: {e}"))
}

/// A SiLU multilayer perceptron.
#[derive(Debug, Clone)]
pub struct Mlp {
    /// `(weight [out, in], bias [out])` of each layer, the last one linear.
    layers: Vec<(Var, Var)>,
    /// Input width.
    input: usize,
    /// Output width.
    output: usize,
}

impl Mlp {
    /// A fresh network `input -> hidden x layers -> output`, initialised from `rng`.
    pub fn new(
        input: usize,
        hidden: usize,
        layers: usize,
        output: usize,
        rng: &mut Rng,
    ) -> Result<Self> {
        if hidden == 0 || layers == 0 {
            return Err(Error::Invalid(
                "the network needs at least one hidden layer of width at least 1".into(),
            ));
        }
        let mut widths = vec![input];
        widths.extend(std::iter::repeat_n(hidden, layers));
        widths.push(output);
        let mut out = Vec::with_capacity(widths.len() - 1);
        for w in widths.windows(2) {
            let (fan_in, fan_out) = (w[0], w[1]);
            let bound = 1.0 / (fan_in as f64).sqrt();
            let mut draw = |n: usize| -> Vec<f32> {
                (0..n)
                    .map(|_| (bound * (2.0 * rng.random::<f64>() - 1.0)) as f32)
                    .collect()
            };
            let wt = draw(fan_out * fan_in);
            let bs = draw(fan_out);
            let wv = Var::from_vec(wt, (fan_out, fan_in), &Device::Cpu).map_err(nn_err)?;
            let bv = Var::from_vec(bs, fan_out, &Device::Cpu).map_err(nn_err)?;
            out.push((wv, bv));
        }
        Ok(Self {
            layers: out,
            input,
            output,
        })
    }

    /// Rebuilds a network from its tensors `(weight, bias)` per layer, checking shapes.
    pub fn from_tensors(tensors: Vec<(Tensor, Tensor)>) -> Result<Self> {
        let first = tensors
            .first()
            .ok_or_else(|| Error::Invalid("a network needs at least one layer".into()))?;
        let input = first.0.dims().get(1).copied().unwrap_or(0);
        let mut prev = input;
        let mut layers = Vec::with_capacity(tensors.len());
        for (i, (w, b)) in tensors.into_iter().enumerate() {
            let (wd, bd) = (w.dims().to_vec(), b.dims().to_vec());
            if wd.len() != 2 || wd[1] != prev || bd != [wd[0]] {
                return Err(Error::Invalid(format!(
                    "layer {i}: weight shape {wd:?} and bias shape {bd:?} do not chain (input width {prev})"
                )));
            }
            prev = wd[0];
            let w = Var::from_tensor(&w.to_dtype(DType::F32).map_err(nn_err)?).map_err(nn_err)?;
            let b = Var::from_tensor(&b.to_dtype(DType::F32).map_err(nn_err)?).map_err(nn_err)?;
            layers.push((w, b));
        }
        Ok(Self {
            layers,
            input,
            output: prev,
        })
    }

    /// Input width.
    pub fn input(&self) -> usize {
        self.input
    }

    /// Output width.
    pub fn output(&self) -> usize {
        self.output
    }

    /// Number of layers (hidden layers + the output layer).
    pub fn depth(&self) -> usize {
        self.layers.len()
    }

    /// The trainable variables, weight then bias of each layer.
    pub fn vars(&self) -> Vec<Var> {
        self.layers
            .iter()
            .flat_map(|(w, b)| [w.clone(), b.clone()])
            .collect()
    }

    /// The named tensors (`layers.{i}.weight`, `layers.{i}.bias`) for saving.
    pub fn named_tensors(&self) -> Vec<(String, Tensor)> {
        self.layers
            .iter()
            .enumerate()
            .flat_map(|(i, (w, b))| {
                [
                    (format!("layers.{i}.weight"), w.as_tensor().clone()),
                    (format!("layers.{i}.bias"), b.as_tensor().clone()),
                ]
            })
            .collect()
    }

    /// Forward pass of an `n x input` `f32` tensor.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        let last = self.layers.len() - 1;
        for (i, (w, b)) in self.layers.iter().enumerate() {
            let z = h
                .matmul(&w.as_tensor().t().map_err(nn_err)?)
                .map_err(nn_err)?;
            h = if i < last {
                super::fused::bias_silu(&z, b.as_tensor())
            } else {
                super::fused::bias_add(&z, b.as_tensor())
            }
            .map_err(nn_err)?;
        }
        Ok(h)
    }

    /// Forward pass of `n` rows given as `f64` values (row-major, `n x input`);
    /// returns `n x output` values as `f64`.
    pub fn forward_f64(&self, rows: &[f64], n: usize) -> Result<Vec<f64>> {
        let data: Vec<f32> = rows.iter().map(|&v| v as f32).collect();
        let x = Tensor::from_vec(data, (n, self.input), &Device::Cpu).map_err(nn_err)?;
        let y = self.forward(&x)?;
        let v: Vec<f32> = y.flatten_all().and_then(|t| t.to_vec1()).map_err(nn_err)?;
        Ok(v.into_iter().map(f64::from).collect())
    }
}
