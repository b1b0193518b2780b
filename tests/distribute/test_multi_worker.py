"""Two MultiWorkerMirroredStrategy workers on 127.0.0.1 end with identical weights."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from tests.distribute.test_mirrored import ROOT


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def run_two_workers(argv_of):
    """Run ``argv_of(index)`` as workers 0 and 1 of a cluster on 127.0.0.1; return their outputs.

    Fails the test, with the end of each output, unless both exit 0 within 240 s.
    """
    workers = [f"127.0.0.1:{p}" for p in free_ports(2)]
    procs = []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "TF_CONFIG": json.dumps(tf_config)}
        procs.append(subprocess.Popen(
            argv_of(index), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        ))
    outputs = []
    for proc in procs:
        try:
            out, _ = proc.communicate(timeout=240)
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            raise
        outputs.append(out)
    assert [p.returncode for p in procs] == [0, 0], "\n".join(o[-2000:] for o in outputs)
    return outputs


@pytest.mark.parametrize(
    "family", ["dcgan", pytest.param("wgan_gp", marks=pytest.mark.slow)]
)
def test_two_workers_end_with_identical_weights(family, tmp_path):
    run_two_workers(
        lambda index: [sys.executable, "-m", "tests.distribute.distributed_check", "worker", family,
                       str(tmp_path / f"worker{index}.npz")]
    )
    w0 = np.load(tmp_path / "worker0.npz")
    w1 = np.load(tmp_path / "worker1.npz")
    assert sorted(w0.files) == sorted(w1.files)
    assert int(w0["__iterations"]) == int(w1["__iterations"]) == 3
    for key in w0.files:
        np.testing.assert_array_equal(w0[key], w1[key], err_msg=key)
    assert np.isfinite(w0["__d_loss"])


def test_cli_two_workers_train_a_conditional_gan(tmp_path):
    """`keras-gans train --strategy multi_worker` with (images, labels) batches: the chief writes the run."""
    outputs = run_two_workers(
        lambda index: [sys.executable, "-m", "keras_gans.cli", "train", "cgan", "--strategy", "multi_worker",
                       "--epochs", "1", "--steps-per-epoch", "3", "--batch-size", "32", "--config", "width=8",
                       "--config", "latent_dim=16", "--out", str(tmp_path / f"run{index}"), "--verbose", "2"]
    )
    # Both workers log the same all-reduced losses for the epoch.
    logs = [next(line for line in o.splitlines() if line.startswith("3/3")) for o in outputs]
    assert logs[0].split(" - d_loss")[1] == logs[1].split(" - d_loss")[1]
    assert (tmp_path / "run0" / "model.keras").is_file()  # worker 0 is the chief
    assert not (tmp_path / "run1" / "model.keras").exists()
