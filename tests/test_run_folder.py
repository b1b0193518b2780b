"""The whole run folder after kill -9 and resume: history rows, grids, state.json, no temporaries.

A real `keras-gans train` subprocess is killed with SIGKILL at exact moments of
its writes (``KERAS_GANS_KILL_AT``, see ``kg.callbacks.kill_point``), then
resumed with a bare ``--resume`` (every setting comes from the run) until it
exits 0. The folder must then be what an uninterrupted run leaves, byte for
byte where the content is deterministic.
"""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from keras_gans import trainer
from keras_gans.callbacks import KILL_ENV, KILL_POINTS
from keras_gans.saving import read_checkpoint_state
from tests.test_trainer import REPO, all_state, history_rows

#: 3 epochs of 4 steps, a checkpoint every 2 steps: checkpoints at steps 2, 4 (end of
#: epoch 1), 6, 8 (end of 2), 10 and 12 (end of 3, the last).
RUN = [
    "--dataset", "fashion_mnist", "--epochs", "3", "--steps-per-epoch", "4", "--batch-size", "16",
    "--checkpoint-every", "2", "--deterministic", "--seed", "3", "--verbose", "0",
    "--config", "width=8", "--config", "latent_dim=16",
]


def command(out, resume=False):
    base = [sys.executable, "-m", "keras_gans.cli", "train", "dcgan", "--out", str(out)]
    # A resume is given nothing but the folder: epochs, seed, determinism... come from the run.
    return base + (["--resume", "--verbose", "0"] if resume else RUN)


def environment(kill_at=None):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop(KILL_ENV, None)
    if kill_at:
        env[KILL_ENV] = kill_at
    return env


def run(out, resume=False, kill_at=None, timeout=300):
    return subprocess.run(command(out, resume), cwd=REPO, env=environment(kill_at), capture_output=True,
                          text=True, timeout=timeout)


def killed(out, resume, kill_at):
    result = run(out, resume, kill_at)
    assert result.returncode == -signal.SIGKILL, f"not killed at {kill_at}: {result.stderr[-2000:]}"


def temporaries(folder):
    return sorted(os.path.relpath(os.path.join(root, f), folder)
                  for root, _, files in os.walk(folder) for f in files if f.startswith(".tmp-"))


def folder_bytes(folder):
    return {os.path.relpath(os.path.join(root, f), folder): open(os.path.join(root, f), "rb").read()
            for root, _, files in os.walk(folder) for f in files}


def assert_whole(run_dir, ref_dir):
    """The folder is complete and agrees with the uninterrupted reference run.

    A kill between a checkpoint and its state.json leaves state.json one save
    behind; the resume rewrites it, so it names the checkpoint's step.
    """
    assert temporaries(run_dir) == []
    assert sorted(os.listdir(run_dir)) == ["history.csv", "model.keras", "run.json", "samples", "state.json"]
    # One row per epoch, each once, and every row (the resumed epochs' too) what the reference logged.
    rows, ref_rows = history_rows(run_dir / "history.csv"), history_rows(ref_dir / "history.csv")
    assert [r["epoch"] for r in rows] == ["0", "1", "2"]
    assert rows == ref_rows
    assert sorted(os.listdir(run_dir / "samples")) == ["epoch_001.png", "epoch_002.png", "epoch_003.png"]
    for name in os.listdir(ref_dir / "samples"):
        assert (run_dir / "samples" / name).read_bytes() == (ref_dir / "samples" / name).read_bytes(), name
    position = read_checkpoint_state(run_dir / "model.keras")
    state = json.loads((run_dir / "state.json").read_text())
    assert (position["epoch"], position["batch"], position["step"]) == (3, 0, 12)
    assert {k: state[k] for k in ("epoch", "batch", "step", "steps_per_epoch")} == {
        k: position[k] for k in ("epoch", "batch", "step", "steps_per_epoch")}
    assert state == json.loads((ref_dir / "state.json").read_text())
    assert json.loads((run_dir / "run.json").read_text())["epochs"] == 3
    expected, got = all_state(ref_dir / "model.keras"), all_state(run_dir / "model.keras")
    assert sorted(expected) == sorted(got)
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key], err_msg=key)


class Reference:
    """The uninterrupted run, trained in the background while the killed one runs."""

    def __init__(self, out):
        self.out = out
        self.process = subprocess.Popen(command(out), cwd=REPO, env=environment(),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def folder(self):
        if self.process is not None:
            code = self.process.wait(timeout=600)
            assert code == 0, self.process.stderr.read()[-2000:]
            self.process = None
        return self.out


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    ref = Reference(tmp_path_factory.mktemp("reference") / "run")
    yield ref
    if ref.process is not None:
        ref.process.kill()
        ref.process.wait()


def test_kills_at_each_stage_of_the_writes_then_bare_resumes_leave_the_whole_folder(tmp_path, reference):
    out = tmp_path / "run"
    # 1. During the first checkpoint's write: no checkpoint yet, only run.json and a temporary.
    killed(out, False, "checkpoint-tmp:1")
    assert not (out / "model.keras").exists() and (out / "run.json").exists() and temporaries(out)

    # 2. The resume starts the run from the beginning (with the run's settings and config),
    #    killed while the grid of epoch 1 is written, after its checkpoint (step 4) and
    #    before its history row: the grid's temporary is left, the row is missing.
    killed(out, True, "grid-tmp:1")
    assert read_checkpoint_state(out / "model.keras")["step"] == 4
    assert not (out / "history.csv").exists() and not (out / "samples" / "epoch_001.png").exists()
    assert [t for t in temporaries(out) if t.startswith("samples")], "the grid's temporary is left"

    # 3. The next resume repairs first (history.csv from the checkpoint, the missing grid of
    #    epoch 1 from its weights, no temporaries), then trains; killed right after the last
    #    checkpoint (steps 6, 8, 10, 12 are its 4 saves): epoch 3's row and grid are missing.
    killed(out, True, "checkpoint-renamed:4")
    assert read_checkpoint_state(out / "model.keras")["step"] == 12
    assert [r["epoch"] for r in history_rows(out / "history.csv")] == ["0", "1"]
    assert not (out / "samples" / "epoch_003.png").exists()

    # 4. The resume of the trained run completes its files and succeeds (exit 0), trains nothing.
    finished = run(out, resume=True)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert "already finished epoch 3 of 3" in finished.stdout
    assert_whole(out, reference.folder())

    # 5. "Rerun with --resume until it exits 0" is a safe loop: one more changes nothing.
    before = folder_bytes(out)
    again = trainer.train("dcgan", out=out, resume=True, verbose=0)
    assert again["trained"] is False and again["settings"]["epochs"] == 3
    assert folder_bytes(out) == before


SWEEP = [f"{point}:{n}" for point in KILL_POINTS[:3] for n in (1, 2, 3, 6)] + [
    f"{point}:{n}" for point in KILL_POINTS[3:] for n in (1, 2, 3)
]


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", SWEEP)
def test_a_kill_at_any_write_moment_then_resume_until_exit_0_leaves_the_whole_folder(tmp_path, reference, kill_at):
    out = tmp_path / "run"
    killed(out, False, kill_at)
    for _ in range(3):
        result = run(out, resume=True)
        if result.returncode == 0:
            break
    assert result.returncode == 0, result.stderr[-2000:]
    assert_whole(out, reference.folder())
