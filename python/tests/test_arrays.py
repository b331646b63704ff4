"""Arrays cross the boundary without copies (float64, any order) and other dtypes are
converted once."""

import numpy as np
import pytest

import fieldflow
from fieldflow import _native


def address(a):
    return a.__array_interface__["data"][0]


def test_float64_c_and_fortran_input_read_in_place():
    a = np.random.default_rng(0).normal(size=(1000, 3))
    assert _native._input_address(a) == address(a)
    f = np.asfortranarray(a)
    assert _native._input_address(f) == address(f)
    view = a[::2]  # strided, still read in place
    assert _native._input_address(view) == address(view)


def test_other_dtypes_converted_once():
    a = np.random.default_rng(0).normal(size=(100, 2)).astype(np.float32)
    assert _native._input_address(a) != address(a)
    x64 = fieldflow.datasets("moons", 100, seed=1)
    y64 = fieldflow.datasets("moons", 100, seed=2)
    r32 = fieldflow.check(x64.astype(np.float32), reference=y64.astype(np.float32))
    r64 = fieldflow.check(x64.astype(np.float32).astype(np.float64), reference=y64.astype(np.float32).astype(np.float64))
    assert str(r32) == str(r64)
    ri = fieldflow.check(np.round(x64 * 10).astype(np.int32), reference=np.round(y64 * 10).astype(np.int64), tests="ks")
    assert ri.n == 100
    rf = fieldflow.check(np.asfortranarray(x64), reference=y64.tolist())
    assert str(rf) == str(fieldflow.check(x64, reference=y64))


def test_output_owned_by_rust_without_copy():
    out = fieldflow.datasets("moons", 10_000, seed=0)
    # numpy did not allocate the buffer: its base is the Rust allocation's capsule
    assert not out.flags.owndata
    assert type(out.base).__name__ == "PySliceContainer"
    assert out.flags.writeable and out.flags.c_contiguous


def test_non_numeric_input_is_value_error():
    with pytest.raises(ValueError, match="not a numeric array"):
        fieldflow.check([["a", "b"]], reference=np.ones((3, 2)))
