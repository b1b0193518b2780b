"""Noise beyond the latents is shared out per replica: CycleGAN's pool coins, WGAN-GP's eval eps.

Each case runs ``tests.distribute.distributed_check noise`` in a fresh
interpreter (two logical CPUs must be set before TensorFlow starts).
"""

import json

import numpy as np
import pytest

from tests.distribute.test_mirrored import run_check


@pytest.mark.parametrize("family", ["cyclegan", "wgan_gp"])
def test_each_replica_draws_its_rows_of_the_global_batch(family, tmp_path):
    out = tmp_path / "noise.json"
    run_check("noise", family, out)
    result = json.loads(out.read_text())
    assert result["replicas"] == 2
    # cyclegan: (coin flips, slots); wgan_gp: (eps,) of test_step.
    assert len(result["expected"]) == (2 if family == "cyclegan" else 1)
    for expected, (first, second) in zip(result["expected"], result["got"]):
        # Replica r holds rows [4r, 4r + 4) of the single device's draw of 8...
        assert first + second == expected
        # ...so the two replicas' draws differ (a plain draw repeats one on both).
        assert first != second
    if family == "wgan_gp":
        # evaluate's gradient penalty (built on those eps) logs what one device logs.
        assert result["logs_dist"].keys() == result["logs_single"].keys()
        for name, value in result["logs_single"].items():
            assert result["logs_dist"][name] == pytest.approx(value, rel=1e-4, abs=1e-6), name
        assert np.isfinite(result["logs_single"]["gradient_penalty"])
