"""marginal() against `fieldflow marginal`: same bits, same errors."""

import numpy as np
import pytest

import fieldflow
from conftest import cli_error, load


@pytest.mark.parametrize(
    "field,flags,kwargs",
    [("poisson", [], {}), ("pfgmpp", ["--aug-dim", 6], {"aug_dim": 6.0}), ("gaussian", [], {})],
)
def test_marginal_bit_identical_to_cli(cli, tmp_path, field, flags, kwargs):
    data = fieldflow.datasets("moons", 100, seed=3)
    np.save(tmp_path / "data.npy", data)
    cli("marginal", "--field", field, *flags, "--data", "data.npy", "--s", 0.5, "--n", 700, "--seed", 2, "--out", "m.npy")
    got = fieldflow.marginal(field, data, 0.5, 700, seed=2, **kwargs)
    assert np.array_equal(got, load(tmp_path / "m.npy"))


def test_marginal_at_tiny_level_stays_near_the_data():
    # the Gaussian field's p_s at s = 1e-6 is the data blurred by N(0, s^2 I): a draw
    # farther than 1e-3 = 1000 s from its point has probability exp(-1000^2 / 2) ~ 0
    data = fieldflow.datasets("8gaussians", 20, seed=0)
    x = fieldflow.marginal("gaussian", data, 1e-6, 500, seed=1)
    d = np.sqrt(((x[:, None, :] - data[None]) ** 2).sum(-1)).min(axis=1)
    assert (d < 1e-3).all()


def test_marginal_bad_arguments(cli, tmp_path):
    data = fieldflow.datasets("moons", 10, seed=3)
    np.save(tmp_path / "data.npy", data)
    proc = cli("marginal", "--field", "poisson", "--data", "data.npy", "--s", -1, "--n", 10, "--out", "m.npy", check=False)
    with pytest.raises(ValueError) as e:
        fieldflow.marginal("poisson", data, -1.0, 10)
    assert str(e.value) == cli_error(proc)
    with pytest.raises(ValueError, match="n must be at least 1"):
        fieldflow.marginal("poisson", data, 1.0, 0)
