"""Shared fixtures: the command-line binary that the bindings must agree with."""

import os
import pathlib
import subprocess

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def cli_path():
    """The release binary (built by ./run-tests before pytest; FIELDFLOW_BIN overrides)."""
    path = pathlib.Path(os.environ.get("FIELDFLOW_BIN", ROOT / "target" / "release" / "fieldflow"))
    if not path.exists():
        pytest.fail(f"{path} does not exist: build it with cargo build --release")
    return path


@pytest.fixture
def cli(cli_path, tmp_path):
    """Runs the binary with arguments; returns the CompletedProcess (text output)."""

    def run(*args, check=True):
        proc = subprocess.run(
            [str(cli_path), *map(str, args)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        if check and proc.returncode not in (0, 1, 3):
            raise AssertionError(f"fieldflow {' '.join(map(str, args))}: {proc.stderr}")
        return proc

    return run


def cli_error(proc):
    """The one-line message of a failed command (stderr without 'fieldflow: error: ')."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    line = proc.stderr.strip().splitlines()[0]
    return line.removeprefix("fieldflow: ").removeprefix("error: ")


def load(path):
    return np.load(path, allow_pickle=False)
