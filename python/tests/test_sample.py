"""sample() against the command line (same bits), chunks by offset, progress, GIL,
Ctrl-C, dtypes and bad arguments."""

import os
import signal
import threading
import time

import numpy as np
import pytest

import fieldflow
from conftest import cli_error, load


@pytest.fixture(scope="module")
def data():
    return fieldflow.datasets("8gaussians", 200, seed=0)


RUNS = [
    ("poisson", [], {}),
    ("pfgmpp", ["--aug-dim", 4], {"aug_dim": 4.0}),
    ("gaussian", ["--method", "edm-heun", "--steps", 18], {"method": "edm-heun", "steps": 18}),
    ("linear", ["--method", "rk4", "--steps", 40], {"method": "rk4", "steps": 40}),
    ("poisson", ["--prior", "exact", "--s-max", 30, "--s-min", 0.01], {"prior": "exact", "s_max": 30.0, "s_min": 0.01}),
    ("poisson", ["--ode-time", "log"], {"ode_time": "log"}),
]


@pytest.mark.parametrize("field,flags,kwargs", RUNS)
def test_sample_bit_identical_to_cli(cli, tmp_path, data, field, flags, kwargs):
    np.save(tmp_path / "data.npy", data)
    cli("sample", "--field", field, "--data", "data.npy", "--n", 300, "--seed", 7, *flags, "--out", "out.npy")
    got = fieldflow.sample(field, data, 300, seed=7, **kwargs)
    assert np.array_equal(got.points, load(tmp_path / "out.npy"), equal_nan=True)
    assert got.points.shape == (300, 2)
    assert got.status.shape == got.evaluations.shape == got.unconverged.shape == (300,)
    assert got.failed == 0 and (got.evaluations > 0).all()
    assert got.evaluations_total == int(got.evaluations.sum())


def test_default_seed_and_weights_match_cli(cli, tmp_path, data):
    w = np.arange(1, 201, dtype=np.float64).reshape(-1, 1)
    np.save(tmp_path / "data.npy", data)
    np.save(tmp_path / "w.npy", w)
    cli("sample", "--field", "poisson", "--data", "data.npy", "--weights", "w.npy", "--n", 100, "--out", "out.npy")
    got = fieldflow.sample("poisson", data, 100, weights=w)
    assert np.array_equal(got.points, load(tmp_path / "out.npy"))
    # a 1-D weight vector is the same column
    assert np.array_equal(fieldflow.sample("poisson", data, 100, weights=w[:, 0]).points, got.points)


def test_ode_time_changes_steps_not_paths(data):
    inv = fieldflow.sample("poisson", data, 200, seed=2, rtol=1e-8, atol=1e-8)
    log = fieldflow.sample("poisson", data, 200, seed=2, rtol=1e-8, atol=1e-8, ode_time="log")
    assert not np.array_equal(inv.points, log.points)
    assert np.allclose(inv.points, log.points, rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match="unknown ODE time"):
        fieldflow.sample("poisson", data, 5, ode_time="sideways")


def test_offset_chunks_are_rows_of_one_run(data):
    whole = fieldflow.sample("poisson", data, 2500, seed=3)
    a = fieldflow.sample("poisson", data, 1024, seed=3, offset=0)
    b = fieldflow.sample("poisson", data, 1476, seed=3, offset=1024)
    c = fieldflow.sample("poisson", data, 100, seed=3, offset=2000)
    stacked = fieldflow.Samples._stack([a, b])
    assert np.array_equal(stacked.points, whole.points)
    assert np.array_equal(stacked.evaluations, whole.evaluations)
    assert np.array_equal(c.points, whole.points[2000:2100])
    assert stacked.evaluations_total == whole.evaluations_total


def test_start_points(data, cli, tmp_path):
    x0 = np.random.default_rng(1).normal(scale=5.0, size=(50, 2))
    np.save(tmp_path / "data.npy", data)
    np.save(tmp_path / "x0.npy", x0)
    cli("sample", "--field", "poisson", "--data", "data.npy", "--from", "x0.npy", "--s-start", 5, "--out", "out.npy")
    got = fieldflow.sample("poisson", data, start=x0, start_level=5.0)
    assert got.s_start == 5.0
    assert np.array_equal(got.points, load(tmp_path / "out.npy"))


def test_float32_and_fortran_data_give_the_same_bits(data):
    ref = fieldflow.sample("poisson", data.astype(np.float32).astype(np.float64), 200, seed=1)
    assert np.array_equal(fieldflow.sample("poisson", data.astype(np.float32), 200, seed=1).points, ref.points)
    f = fieldflow.sample("poisson", np.asfortranarray(data), 200, seed=1)
    assert np.array_equal(f.points, fieldflow.sample("poisson", data, 200, seed=1).points)


def test_output_is_rust_memory_handed_over(data):
    s = fieldflow.sample("poisson", data, 100, seed=0)
    for a in (s.points, s.status, s.evaluations, s.unconverged):
        assert not a.flags.owndata
        assert type(a.base).__name__ == "PySliceContainer"


def test_progress_callable_and_tqdm_like(data):
    calls = []
    fieldflow.sample("poisson", data, 3000, seed=0, progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1] == (3000, 3000)
    assert all(b[0] >= a[0] for a, b in zip(calls, calls[1:]))

    class Bar:
        total = 0

        def update(self, k):
            self.total += k

    bar = Bar()
    fieldflow.sample("poisson", data, 3000, seed=0, progress=bar)
    assert bar.total == 3000


def test_exception_in_progress_callback_stops_the_run(data):
    def boom(done, total):
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        fieldflow.sample("poisson", data, 200_000, seed=0, rtol=1e-8, atol=1e-8, progress=boom)


def long_run_kwargs():
    # about 60 s on the shared 2-core machine; the tests stop it after 1 s
    return dict(n=400_000, seed=0, rtol=1e-8, atol=1e-8)


def test_gil_is_released(data):
    counter = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            counter[0] += 1
            time.sleep(0.001)

    t = threading.Thread(target=spin)
    t.start()
    before = counter[0]
    fieldflow.sample("poisson", data, 20_000, seed=0, rtol=1e-7, atol=1e-7)
    stop.set()
    t.join()
    # with the GIL held for the whole run the thread could not have counted
    assert counter[0] - before > 20


def test_ctrl_c_raises_keyboard_interrupt_quickly(data):
    sent = []

    def interrupt():
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(1.0, interrupt)
    timer.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(KeyboardInterrupt):
            fieldflow.sample("poisson", data, **long_run_kwargs())
    finally:
        # a run that ended before the timer must not leave a SIGINT for pytest
        timer.cancel()
        timer.join()
    latency = time.perf_counter() - sent[0]
    print(f"Ctrl-C latency: {latency * 1000:.0f} ms (run stopped {time.perf_counter() - t0:.2f} s after start)")
    assert latency < 5.0


@pytest.mark.parametrize(
    "kwargs,flags",
    [
        ({"field": "nope"}, ["--field", "nope"]),
        ({"field": "poisson", "rtol": -1.0}, ["--field", "poisson", "--rtol", -1]),
        ({"field": "poisson", "method": "rk5"}, ["--field", "poisson", "--method", "rk5"]),
        ({"field": "pfgmpp", "aug_dim": -2.0}, ["--field", "pfgmpp", "--aug-dim", -2]),
    ],
)
def test_bad_arguments_value_error_with_cli_message(cli, tmp_path, data, kwargs, flags):
    np.save(tmp_path / "data.npy", data)
    proc = cli("sample", *flags, "--data", "data.npy", "--n", 10, "--out", "o.npy", check=False)
    field = kwargs.pop("field")
    with pytest.raises(ValueError) as e:
        fieldflow.sample(field, data, 10, **kwargs)
    assert str(e.value) in cli_error(proc) or cli_error(proc) in str(e.value), (str(e.value), cli_error(proc))


def test_bad_arguments_value_error(data):
    with pytest.raises(ValueError, match="n must be at least 1"):
        fieldflow.sample("poisson", data, 0)
    with pytest.raises(ValueError, match="used by field pfgmpp only"):
        fieldflow.sample("poisson", data, 10, aug_dim=3.0)
    bad = data.copy()
    bad[5, 0] = np.inf
    with pytest.raises(ValueError, match="non-finite"):
        fieldflow.sample("poisson", bad, 10)
    with pytest.raises(ValueError, match="start_level"):
        fieldflow.sample("poisson", data, start=data[:3])
    with pytest.raises(ValueError, match="n x d"):
        fieldflow.sample("poisson", np.zeros((2, 2, 2)), 10)
    # the command line words this one with its flags (--s-max, --force-prior)
    with pytest.raises(ValueError, match="s_max = 0.5 leaves the far-field prior"):
        fieldflow.sample("poisson", data, 10, s_max=0.5)
    assert fieldflow.sample("poisson", data, 10, s_max=0.5, force_prior=True).prior_bound > 0.5
