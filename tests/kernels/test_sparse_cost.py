"""The cost model's window-row term (lower/cost.py): general convolutions pay per output pixel
and kernel row, fc and 1x1 do not, and a fitted row shorter than the model reads as zeros."""

from __future__ import annotations

import numpy as np
from slimgen.lower import cost


def test_conv_pays_per_window_row() -> None:
    w = np.zeros((8, 40), np.int8)
    w[:, ::4] = 2
    one = cost.estimate("sg_conv2d_s8_bsr1x4", "bsr1x4", w, 125, "m4", kernel_h=1)
    ten = cost.estimate("sg_conv2d_s8_bsr1x4", "bsr1x4", w, 125, "m4", kernel_h=10)
    (_, _, _, _, per_win), source = cost.coefficients("conv", "bsr1x4", "m4")
    assert source == "fitted:m4" and per_win > 0
    assert abs(ten.cycles - one.cycles - round(per_win * 125 * 9)) <= 1


def test_fc_and_pointwise_have_no_window_term() -> None:
    for family in ("fc", "pw"):
        for core in ("m4", "m7", "m33", "m55"):
            coefs, _ = cost.coefficients(family, "bsr1x4", core)
            assert len(coefs) == cost.N_COEFFICIENTS and coefs[4] == 0.0
    w = np.ones((4, 16), np.int8)
    a = cost.estimate("sg_conv2d_s8_1x1_bsr1x4", "bsr1x4", w, 9, "m4", kernel_h=1)
    b = cost.estimate("sg_conv2d_s8_1x1_bsr1x4", "bsr1x4", w, 9, "m4", kernel_h=7)
    assert a.cycles == b.cycles
