"""One MirroredStrategy step on two logical CPUs equals one single-device step.

Each case runs ``tests.distribute.distributed_check`` in a fresh interpreter,
because logical devices must be configured before TensorFlow starts.
"""

import json
import os
import subprocess
import sys

import pytest

from tests.distribute.distributed_check import FAMILIES

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_check(mode, family, out, env=None, timeout=240):
    """Run one check in a subprocess; fail with its stderr tail if it fails."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "tests.distribute.distributed_check", mode, family, str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.parametrize("family", FAMILIES)
def test_mirrored_step_equals_single_device_step(family, tmp_path):
    out = tmp_path / "result.json"
    run_check("mirrored", family, out)
    result = json.loads(out.read_text())
    assert result["replicas"] == 2
    # Every weight moved by SGD(0.05), except the critic's output bias under
    # the Wasserstein loss, whose gradient is mean(1) - mean(1) = 0.
    assert len(result["moved"]) == result["n_variables"] - (family == "wgan_gp")
    # Wrong loss scaling (a sum instead of the global mean) would double the
    # update; replicas sharing noise or eps, or per-replica batch statistics,
    # would change it by about its own size. Float reassociation stays far below.
    assert result["max_update"] > 1e-3
    assert result["max_diff"] <= 5e-3 * result["max_update"], result
    # Logged metrics are the global-batch means on both runs.
    assert result["logs_dist"].keys() == result["logs_single"].keys()
    for name, value in result["logs_single"].items():
        assert result["logs_dist"][name] == pytest.approx(value, rel=1e-4, abs=1e-6), name
