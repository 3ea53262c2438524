"""Reference int8 softmax: the spec of kernels/src/softmax/sg_softmax_s8.c.

The TFLite reference / CMSIS-NN ``arm_softmax_s8`` algorithm: per row, exp of the scaled
differences to the row maximum in gemmlowp fixed point (exp_on_negative_values), a fixed-point
reciprocal of their sum (one_over_one_plus_x_for_x_in_0_1), output scale 1/256 and zero point
-128. Formats are written Qi.f (i integer bits, f = 31 - i fraction bits, in int32). Arrays are
int64 holding int32 values, so every step is the C's step without silent overflow.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ._checks import in_range, int8_array
from .requant import (
    INT32_MAX,
    INT32_MIN,
    assert_fits_int32,
    requantize,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
)

I8 = npt.NDArray[np.int8]
I64 = npt.NDArray[np.int64]

#: Scaled differences are Q5.26 (TFLite's kScaledDiffIntegerBits).
SCALED_DIFF_INTEGER_BITS = 5
#: exp() values are summed in Q12.19, so at most 4095 terms of 1.0 fit.
ACCUM_INTEGER_BITS = 12
MAX_DEPTH = (1 << ACCUM_INTEGER_BITS) - 1

#: round(2**31 * exp(-2**k)) for k = -2 .. 4: one factor per set bit of a multiple of -1/4.
EXP_MINUS_POW2 = (1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242)
EXP_MINUS_ONE_EIGHTH = 1895147668  # round(2**31 * exp(-1/8))
ONE_THIRD = 715827883  # round(2**31 / 3)
CONSTANT_48_OVER_17 = 1515870810  # round(2**29 * 48 / 17), Q2.29
CONSTANT_NEG_32_OVER_17 = -1010580540  # round(2**29 * -32 / 17), Q2.29

_srdhm = saturating_rounding_doubling_high_mul


def _saturating_shift_left(x: I64, exponent: int) -> I64:
    """gemmlowp SaturatingRoundingMultiplyByPOT for a positive exponent."""
    return np.clip(x << exponent, INT32_MIN, INT32_MAX)


def exp_on_interval_between_negative_one_quarter_and_0_excl(a: I64) -> I64:
    """exp(a) for a in [-1/4, 0), Q0.31: fourth-order Taylor expansion around -1/8."""
    x = a + (1 << 28)  # a + 1/8
    x2 = _srdhm(x, x)
    x3 = _srdhm(x2, x)
    x4 = _srdhm(x2, x2)
    x4_over_4 = rounding_divide_by_pot(x4, 2)
    poly = rounding_divide_by_pot(_srdhm(x4_over_4 + x3, ONE_THIRD) + x2, 1)
    return EXP_MINUS_ONE_EIGHTH + _srdhm(EXP_MINUS_ONE_EIGHTH, x + poly)


def exp_on_negative_values(a: I64) -> I64:
    """exp(a) for a <= 0 in Q5.26, result Q0.31 (1.0 saturates to INT32_MAX)."""
    fraction_bits = 31 - SCALED_DIFF_INTEGER_BITS
    one_quarter = 1 << (fraction_bits - 2)
    a_mod_quarter_minus_one_quarter = (a & (one_quarter - 1)) - one_quarter
    result = exp_on_interval_between_negative_one_quarter_and_0_excl(
        a_mod_quarter_minus_one_quarter << SCALED_DIFF_INTEGER_BITS
    )
    remainder = a_mod_quarter_minus_one_quarter - a
    for k, factor in enumerate(EXP_MINUS_POW2):
        bit_set = (remainder & (1 << (fraction_bits - 2 + k))) != 0
        result = np.where(bit_set, _srdhm(result, factor), result)
    return np.where(a == 0, np.int64(INT32_MAX), result)


def one_over_one_plus_x_for_x_in_0_1(a: I64) -> I64:
    """1 / (1 + a) for a in [0, 1), Q0.31: three Newton-Raphson steps in Q2.29."""
    half_denominator = (a + INT32_MAX + 1) // 2  # gemmlowp RoundingHalfSum(a, 1.0), a >= 0
    x = CONSTANT_48_OVER_17 + _srdhm(half_denominator, CONSTANT_NEG_32_OVER_17)
    for _ in range(3):
        one_minus_half_denominator_times_x = (1 << 29) - _srdhm(half_denominator, x)
        x = x + _saturating_shift_left(_srdhm(x, one_minus_half_denominator_times_x), 2)
    return _saturating_shift_left(x, 1)


def _clz32(v: I64) -> I64:
    """Leading zeros of positive int32 values."""
    bits = np.zeros(v.shape, dtype=np.int64)
    for shift in (16, 8, 4, 2, 1):
        fits = (v >> (32 - shift - bits)) == 0
        bits = np.where(fits, bits + shift, bits)
    return bits


def softmax(x: I8, *, mult: int, left_shift: int, diff_min: int) -> I8:
    """Softmax over the last axis: x (N, depth) int8 -> (N, depth) int8, scale 1/256, zp -128.

    ``mult``, ``left_shift`` come from ``quant.multiplier.preprocess_softmax_scaling`` and
    ``diff_min = -calculate_input_radius(5, left_shift)``.
    """
    x = int8_array(x, 2, "softmax input")
    in_range(x.shape[1], 1, MAX_DEPTH, "softmax depth")
    in_range(mult, 0, INT32_MAX, "softmax mult")
    in_range(left_shift, 0, 30, "softmax left_shift")
    in_range(diff_min, -(INT32_MAX >> left_shift), 0, "softmax diff_min")

    diff = x.astype(np.int64) - x.max(axis=1, keepdims=True)
    kept = diff >= diff_min
    # Skipped differences would overflow the left shift; they count as exp() = 0 anyway.
    scaled = requantize(np.where(kept, diff, 0), mult, left_shift)
    exps = exp_on_negative_values(scaled)
    terms = np.where(kept, rounding_divide_by_pot(exps, ACCUM_INTEGER_BITS), 0)
    sum_of_exps = terms.sum(axis=1, keepdims=True)
    assert_fits_int32(sum_of_exps, "softmax sum of exps")

    headroom_plus_one = _clz32(sum_of_exps)
    num_bits_over_unit = ACCUM_INTEGER_BITS - headroom_plus_one
    shifted_sum_minus_one = (sum_of_exps << headroom_plus_one) - (1 << 31)
    shifted_scale = one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one)
    prob = _srdhm(shifted_scale, exps)
    # Exponents above 31 (sums >= 2**28) are exact here and round a non-negative prob to 0.
    out = rounding_divide_by_pot(prob, num_bits_over_unit + 31 - 8) - 128
    return np.clip(np.where(kept, out, -128), -128, 127).astype(np.int8)
