"""Measures the Python package's overheads (short runs; see docs/PYTHON.md).

    python python/bench/overheads.py [--dask]

1. call overhead: sample 10 points from 10 data points (timeit, median of repeats);
2. Ctrl-C latency: SIGINT during a long run -> KeyboardInterrupt;
3. with --dask: fieldflow.dask.sample on a LocalCluster with two worker processes
   (one Dask thread and RAYON_NUM_THREADS=1 each) against fieldflow.sample in one
   process with two rayon threads, at 100,000 samples.
"""

import os
import signal
import statistics
import sys
import threading
import time
import timeit

import numpy as np

import fieldflow


def call_overhead():
    data = fieldflow.datasets("8gaussians", 10, seed=0)
    for method, kw in (("dopri5", {}), ("edm-euler", {"steps": 4})):
        t = timeit.Timer(lambda: fieldflow.sample("poisson" if method == "dopri5" else "gaussian", data, 10, seed=0, method=method, **kw))
        runs = t.repeat(repeat=200, number=1)
        print(f"sample 10 points from 10 data points ({method}): median {statistics.median(runs) * 1e3:.3f} ms, min {min(runs) * 1e3:.3f} ms")
    t = timeit.Timer(lambda: fieldflow.datasets("moons", 10, seed=0))
    runs = t.repeat(repeat=200, number=1)
    print(f"datasets('moons', 10): median {statistics.median(runs) * 1e3:.3f} ms")


def ctrl_c_latency():
    data = fieldflow.datasets("8gaussians", 200, seed=0)
    lat = []
    for _ in range(5):
        sent = []

        def interrupt():
            sent.append(time.perf_counter())
            os.kill(os.getpid(), signal.SIGINT)

        timer = threading.Timer(1.0, interrupt)
        timer.start()
        try:
            fieldflow.sample("poisson", data, 400_000, seed=0, rtol=1e-8, atol=1e-8)
            print("run ended before the interrupt")
        except KeyboardInterrupt:
            lat.append(time.perf_counter() - sent[0])
        timer.join()
    print(f"Ctrl-C latency over {len(lat)} runs: median {statistics.median(lat) * 1e3:.0f} ms, max {max(lat) * 1e3:.0f} ms")


def dask_overhead():
    import distributed

    import fieldflow.dask as ffdask

    data = fieldflow.datasets("8gaussians", 1000, seed=0)
    n = 100_000
    t0 = time.perf_counter()
    one = fieldflow.sample("poisson", data, n, seed=1)
    t_one = time.perf_counter() - t0
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        env={"RAYON_NUM_THREADS": "1"},
    )
    with distributed.Client(cluster) as client:
        ffdask.sample(client, "poisson", data, 2048, seed=1)  # warm the workers
        t0 = time.perf_counter()
        many = ffdask.sample(client, "poisson", data, n, seed=1)
        t_many = time.perf_counter() - t0
    cluster.close()
    same = np.array_equal(one.points, many.points, equal_nan=True)
    print(f"100,000 samples: one process {t_one:.2f} s, dask 2 workers {t_many:.2f} s, "
          f"overhead {100 * (t_many / t_one - 1):+.1f}%, bit-identical: {same}")


if __name__ == "__main__":
    call_overhead()
    ctrl_c_latency()
    if "--dask" in sys.argv:
        dask_overhead()
