"""fieldflow.dask.sample on a two-process LocalCluster gives the bits of one process."""

import numpy as np
import pytest

import fieldflow

distributed = pytest.importorskip("distributed")
import fieldflow.dask as ffdask  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def test_dask_bit_identical_to_one_process(client):
    data = fieldflow.datasets("moons", 300, seed=1)
    one = fieldflow.sample("pfgmpp", data, 5000, seed=4, aug_dim=3.0)
    many = ffdask.sample(client, "pfgmpp", data, 5000, seed=4, aug_dim=3.0, chunk=1024)
    assert np.array_equal(many.points, one.points)
    assert np.array_equal(many.status, one.status)
    assert np.array_equal(many.evaluations, one.evaluations)
    assert np.array_equal(many.unconverged, one.unconverged)
    assert many.evaluations_total == one.evaluations_total
    assert many.s_start == one.s_start


def test_dask_default_chunks_and_few_step(client):
    data = fieldflow.datasets("8gaussians", 100, seed=2)
    kw = dict(method="edm-euler", steps=12)
    one = fieldflow.sample("gaussian", data, 3000, seed=9, **kw)
    many = ffdask.sample(client, "gaussian", data, 3000, seed=9, **kw)
    assert np.array_equal(many.points, one.points)


def test_dask_rejects_start_points(client):
    data = fieldflow.datasets("moons", 10, seed=1)
    with pytest.raises(ValueError, match="start is not taken"):
        ffdask.sample(client, "poisson", data, 10, start=data)
