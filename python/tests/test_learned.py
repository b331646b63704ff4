"""train(), sample(model=...) and encode(model=...) against the command line: the
same model file bytes, the same samples and codes, files not replaced without force,
Ctrl-C during training, the arguments refused with a model, and the command line's
memory pre-checks on batch and hidden. Tiny models (hidden 8, 30 steps) keep this fast."""

import os
import signal
import threading
import time

import numpy as np
import pytest

import fieldflow
from conftest import cli_error, load

TINY = {"steps": 30, "batch": 64, "hidden": 8, "layers": 2, "seed": 3}
TINY_FLAGS = ["--steps", 30, "--batch", 64, "--hidden", 8, "--layers", 2, "--seed", 3]


@pytest.fixture(scope="module")
def data():
    return fieldflow.datasets("moons", 200, seed=0)


@pytest.mark.parametrize(
    "field,flags,kwargs",
    [
        ("linear", ["--test-split", 0.2], {"test_split": 0.2}),
        ("pfgmpp", ["--aug-dim", 4, "--target", "exact"], {"aug_dim": 4.0, "target": "exact"}),
    ],
)
def test_train_writes_the_cli_model_bytes(cli, tmp_path, data, field, flags, kwargs):
    np.save(tmp_path / "data.npy", data)
    cli("train", "--field", field, "--data", "data.npy", "--out", "cli.safetensors", *TINY_FLAGS, *flags)
    got = fieldflow.train(data, tmp_path / "py.safetensors", field, **TINY, **kwargs)
    assert (tmp_path / "py.safetensors").read_bytes() == (tmp_path / "cli.safetensors").read_bytes()
    assert got.step.tolist() == list(range(1, 31))
    assert np.isfinite(got.train).all()
    held = 40 if "test_split" in kwargs else 0
    assert (got.n_train, got.n_test) == (200 - held, held)
    assert np.isfinite(got.test[-1]) == (held > 0)


def test_train_with_given_test_points_matches_cli(cli, tmp_path, data):
    test = fieldflow.datasets("moons", 50, seed=1)
    np.save(tmp_path / "data.npy", data)
    np.save(tmp_path / "test.npy", test)
    cli("train", "--field", "gaussian", "--data", "data.npy", "--test", "test.npy", "--out", "cli.safetensors", *TINY_FLAGS)
    got = fieldflow.train(data, tmp_path / "py.safetensors", "gaussian", test=test, **TINY)
    assert (tmp_path / "py.safetensors").read_bytes() == (tmp_path / "cli.safetensors").read_bytes()
    assert got.n_test == 50 and np.isfinite(got.test[-1])


def test_train_does_not_replace_without_force(tmp_path, data):
    out = tmp_path / "m.safetensors"
    out.write_bytes(b"keep")
    with pytest.raises(FileExistsError):
        fieldflow.train(data, out, "linear", **TINY)
    assert out.read_bytes() == b"keep"
    fieldflow.train(data, out, "linear", force=True, **TINY)
    assert out.read_bytes() != b"keep"


def test_train_bad_arguments(tmp_path, data):
    out = tmp_path / "m.safetensors"
    with pytest.raises(ValueError, match="unknown field"):
        fieldflow.train(data, out, "nope", **TINY)
    with pytest.raises(ValueError, match="target"):
        fieldflow.train(data, out, "linear", target="nope", **TINY)
    with pytest.raises(ValueError, match="not both"):
        fieldflow.train(data, out, "linear", test_split=0.1, test=data, **TINY)
    with pytest.raises(ValueError, match="at least 1"):
        fieldflow.train(data, out, "linear", steps=0)
    assert not out.exists()


@pytest.fixture(scope="module")
def model(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("model") / "m.safetensors"
    fieldflow.train(data, path, "gaussian", **TINY)
    return path


@pytest.mark.parametrize(
    "flags,kwargs",
    [
        ([], {}),
        (["--method", "rk4", "--steps", 20, "--denoise"], {"method": "rk4", "steps": 20, "denoise": True}),
        (["--method", "edm-heun", "--steps", 6], {"method": "edm-heun", "steps": 6}),
    ],
)
def test_sample_model_bit_identical_to_cli(cli, tmp_path, model, flags, kwargs):
    cli("sample", "--model", model, "--n", 300, "--seed", 5, *flags, "--out", "out.npy")
    got = fieldflow.sample(model=model, n=300, seed=5, **kwargs)
    assert np.array_equal(got.points, load(tmp_path / "out.npy"), equal_nan=True)
    assert got.points.shape == (300, 2)
    assert got.failed == 0 and not got.unconverged.any() and got.prior_bound is None


def test_sample_model_from_start_points_matches_cli(cli, tmp_path, model):
    x0 = np.random.default_rng(2).normal(size=(40, 2))
    np.save(tmp_path / "x0.npy", x0)
    cli("sample", "--model", model, "--from", "x0.npy", "--s-start", 1.0, "--out", "out.npy")
    got = fieldflow.sample(model=model, start=x0, start_level=1.0)
    assert np.array_equal(got.points, load(tmp_path / "out.npy"), equal_nan=True)
    assert got.s_start == 1.0


def test_sample_model_refuses_what_does_not_apply(model, data):
    with pytest.raises(ValueError, match="field, data not allowed with model"):
        fieldflow.sample("gaussian", data, 10, model=model)
    with pytest.raises(ValueError, match="aug_dim not allowed"):
        fieldflow.sample(model=model, n=10, aug_dim=2.0)
    with pytest.raises(ValueError, match="offset"):
        fieldflow.sample(model=model, n=10, offset=5)
    with pytest.raises(ValueError, match="prior exact does not apply"):
        fieldflow.sample(model=model, n=10, prior="exact")
    with pytest.raises(ValueError, match="give field and data"):
        fieldflow.sample(n=10)
    with pytest.raises(FileNotFoundError):
        fieldflow.sample(model="no-such-model.safetensors", n=10)


def test_ctrl_c_stops_training(tmp_path, data):
    sent = []

    def interrupt():
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)

    out = tmp_path / "m.safetensors"
    timer = threading.Timer(0.5, interrupt)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            fieldflow.train(data, out, "linear", steps=10**8, batch=64, hidden=8, layers=2)
    finally:
        timer.cancel()
        timer.join()
    latency = time.perf_counter() - sent[0]
    print(f"Ctrl-C latency during training: {latency * 1000:.0f} ms")
    assert latency < 5.0
    assert not out.exists()


@pytest.mark.parametrize(
    "flags,kwargs",
    [
        ([], {}),
        (["--method", "rk4", "--steps", 12, "--s-start", 0.01], {"method": "rk4", "steps": 12, "s_start": 0.01}),
    ],
)
def test_encode_model_bit_identical_to_cli(cli, tmp_path, model, flags, kwargs):
    pts = fieldflow.datasets("moons", 40, seed=7)
    np.save(tmp_path / "pts.npy", pts)
    cli("encode", "--model", model, "--points", "pts.npy", *flags, "--log-likelihood", "--out", "codes.npy")
    want = load(tmp_path / "codes.npy")
    got = fieldflow.encode(points=pts, model=model, log_likelihood=True, **kwargs)
    assert np.array_equal(got.codes, want[:, :2])
    assert np.array_equal(got.log_p, want[:, 2])
    assert np.isfinite(got.log_p).all() and (got.status == 0).all()
    cli("encode", "--model", model, "--points", "pts.npy", *flags, "--out", "plain.npy")
    plain = fieldflow.encode(points=pts, model=model, **kwargs)
    assert plain.log_p is None
    assert np.array_equal(plain.codes, load(tmp_path / "plain.npy"))


def test_encode_model_refuses_what_does_not_apply(model, data):
    pts = data[:5]
    with pytest.raises(ValueError, match="field, data not allowed with model"):
        fieldflow.encode("gaussian", data, pts, model=model)
    with pytest.raises(ValueError, match="weights not allowed with model"):
        fieldflow.encode(points=pts, model=model, weights=np.ones(200))
    with pytest.raises(ValueError, match="prior exact does not apply"):
        fieldflow.encode(points=pts, model=model, prior="exact")
    with pytest.raises(ValueError, match="few-step sampler"):
        fieldflow.encode(points=pts, model=model, method="edm-euler", steps=4)
    with pytest.raises(ValueError, match="give the points"):
        fieldflow.encode(model=model)
    with pytest.raises(ValueError, match="give field and data"):
        fieldflow.encode(points=pts)
    with pytest.raises(ValueError, match="dimension mismatch"):
        fieldflow.encode(points=np.ones((3, 5)), model=model)


@pytest.mark.parametrize(
    "kwargs,flags",
    [
        ({"hidden": 10**12}, ["--hidden", 10**12]),
        ({"batch": 10**15, "hidden": 64}, ["--batch", 10**15, "--hidden", 64]),
    ],
)
def test_train_refuses_sizes_that_cannot_fit_with_the_cli_message(cli, tmp_path, data, kwargs, flags):
    np.save(tmp_path / "data.npy", data)
    proc = cli("train", "--field", "linear", "--data", "data.npy", "--out", "cli.safetensors", *flags, check=False)
    want = cli_error(proc)
    out = tmp_path / "py.safetensors"
    with pytest.raises(ValueError) as err:
        fieldflow.train(data, out, "linear", **kwargs)
    got = str(err.value)
    assert "needs about" in got and "of memory, more than the" in got, got
    # equal up to the available memory, which can change between the two calls
    assert got.split(", more than")[0] == want.split(", more than")[0]
    assert not out.exists() and not (tmp_path / "cli.safetensors").exists()
