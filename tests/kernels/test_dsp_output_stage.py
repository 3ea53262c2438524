"""The DSP paths' output stage (sg_dot.h sg_dsp_scale: one SMLAL for the rounding high multiply
and the rounding right shift) on every shift and on accumulators from 0 to near the int32
bounds, through fc (sg_dsp_requant_run) and 1x1 conv (sg_dsp_requant_pairs), against ref."""

from __future__ import annotations

import numpy as np
import pytest
from slimgen.ref.requant import Requant

from tests.kernels.test_conv2d import make_case as make_conv_case
from tests.kernels.test_conv2d_1x1 import pointwise, run_1x1
from tests.kernels.test_fc import make_case as make_fc_case

SHIFTS = np.array([*range(-31, 31), -1, -2, -1, 0], np.int64)  # 66 channels, every legal shift


def _output_stage(rng: np.random.Generator, channels: int, act: bool) -> tuple[np.ndarray, Requant]:
    """Biases spread over every magnitude up to 2^31 - 2^20 (the products add < 2^20), edge
    multipliers (0, 1, 2^30, 2^31 - 1) and random ones."""
    mags = 2.0 ** rng.uniform(0, 31, size=channels)
    bias = (np.sign(rng.uniform(-1, 1, size=channels)) * np.minimum(mags, 2**31 - 2**20))
    mult = rng.integers(0, 2**31, size=channels)
    mult[:4] = [0, 1, 1 << 30, (1 << 31) - 1]
    rq = Requant(mult=mult, shift=SHIFTS[:channels], in_offset=int(rng.integers(-127, 129)),
                 out_offset=int(rng.integers(-128, 128)), act_min=-100 if act else -128,
                 act_max=90 if act else 127)
    return bias.astype(np.int64).astype(np.int32), rq


@pytest.mark.parametrize("act", [False, True])
@pytest.mark.parametrize("seed", [1, 2])
def test_fc_output_stage_every_shift(sgk, seed: int, act: bool) -> None:
    rng = np.random.default_rng(seed)
    case = make_fc_case(9, len(SHIFTS), seed, batch=2)
    case.bias, case.rq = _output_stage(rng, len(SHIFTS), act)
    np.testing.assert_array_equal(sgk.fc(case.x, case.w, case.bias, case.rq), case.reference())


@pytest.mark.parametrize("act", [False, True])
@pytest.mark.parametrize("seed", [3, 4])
def test_1x1_output_stage_every_shift(sgk, seed: int, act: bool) -> None:
    rng = np.random.default_rng(seed)
    case = make_conv_case(pointwise(3, 3), 9, len(SHIFTS), seed)
    case.bias, case.rq = _output_stage(rng, len(SHIFTS), act)
    np.testing.assert_array_equal(run_1x1(sgk, case), case.reference())
