"""encode() against `fieldflow encode`: same codes and log-likelihoods."""

import numpy as np
import pytest

import fieldflow
from conftest import cli_error, load


def test_encode_bit_identical_to_cli_with_likelihood(cli, tmp_path):
    data = fieldflow.datasets("8gaussians", 100, seed=0)
    pts = fieldflow.datasets("8gaussians", 50, seed=5)
    np.save(tmp_path / "data.npy", data)
    np.save(tmp_path / "pts.npy", pts)
    cli("encode", "--field", "poisson", "--data", "data.npy", "--points", "pts.npy", "--out", "codes.npy", "--log-likelihood")
    cli_out = load(tmp_path / "codes.npy")
    got = fieldflow.encode("poisson", data, pts, log_likelihood=True)
    assert np.array_equal(got.codes, cli_out[:, :2])
    assert np.array_equal(got.log_p, cli_out[:, 2])
    assert got.delta_log_p.shape == (50,)
    assert (got.status == 0).all() and got.evaluations_total == int(got.evaluations.sum())
    # without the likelihood the solver integrates the points alone (other steps)
    cli("encode", "--field", "poisson", "--data", "data.npy", "--points", "pts.npy", "--out", "plain.npy")
    plain = fieldflow.encode("poisson", data, pts)
    assert plain.log_p is None and plain.delta_log_p is None
    assert np.array_equal(plain.codes, load(tmp_path / "plain.npy"))


def test_encode_then_sample_back_returns_the_points():
    # the flow is a bijection: encoding to s_max and integrating back from there
    # lands on the points again (to the solver's tolerance, rtol = atol = 1e-8)
    data = fieldflow.datasets("moons", 50, seed=0)
    pts = data[:10] + 0.01
    enc = fieldflow.encode("poisson", data, pts, rtol=1e-8, atol=1e-8, s_start=0.05, s_max=20.0)
    back = fieldflow.sample("poisson", data, start=enc.codes, start_level=20.0, s_min=0.05, rtol=1e-8, atol=1e-8)
    assert np.allclose(back.points, pts, atol=1e-5)


def test_encode_bad_arguments(cli, tmp_path):
    data = fieldflow.datasets("moons", 20, seed=0)
    with pytest.raises(ValueError, match="few-step sampler"):
        fieldflow.encode("poisson", data, data, method="edm-euler", steps=4)
    with pytest.raises(ValueError, match="dimension mismatch"):
        fieldflow.encode("poisson", data, np.ones((3, 5)))
