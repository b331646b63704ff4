"""The Python example runs (a small version of it)."""

import importlib.util
import pathlib

import numpy as np

import fieldflow

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "python" / "check_sampler.py"


def test_example_sampler_and_denoiser():
    spec = importlib.util.spec_from_file_location("check_sampler", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    data = fieldflow.datasets("8gaussians", 50, seed=0)
    # the exact denoiser at a tiny level returns the nearest data point
    x = data[:5] + 1e-4
    assert np.allclose(mod.denoiser(x, 1e-3, data), data[:5])
    out = mod.edm_euler(data, 100, 8, seed=0)
    assert out.shape == (100, 2) and np.isfinite(out).all()
