"""Real-valued scales to the integer multipliers and shifts the kernels consume.

These mirror TFLite's ``QuantizeMultiplier``, ``PreprocessSoftmaxScaling`` and
``CalculateInputRadius`` (tensorflow/lite/kernels/internal/quantization_util.cc) exactly, so a
slimgen layer gets the same integers TFLite Micro and CMSIS-NN would, and those libraries stay
usable as oracles. The integers feed ``sg_requantize`` (kernels/src/sg_requant.h) and
``slimgen.ref.requant.requantize``.
"""

from __future__ import annotations

import math

Q31_ONE = 1 << 31
#: Shifts the kernels accept: sg_requantize shifts right by at most 31 and left by at most 30.
MIN_SHIFT = -31
MAX_SHIFT = 30


def _q31_and_exponent(real: float) -> tuple[int, int]:
    """``real > 0`` as ``(q, e)`` with ``real ~= q * 2**e / 2**31`` and ``q`` in ``[2**30, 2**31)``.

    The frexp fraction times 2**31 is exact in a double, so the only rounding is std::round's
    (TfLiteRound: ties away from zero, unlike Python's round()); a fraction that rounds up to
    1.0 is renormalized rather than overflowing int32.
    """
    fraction, exponent = math.frexp(real)  # real = fraction * 2**exponent, fraction in [0.5, 1)
    q = math.floor(fraction * Q31_ONE + 0.5)
    if q == Q31_ONE:
        q //= 2
        exponent += 1
    return q, exponent


def quantize_multiplier(real: float) -> tuple[int, int]:
    """``real`` as ``(mult, shift)`` with ``real ~= mult * 2**shift / 2**31``, TFLite semantics.

    ``mult`` is a Q31 value in ``[2**30, 2**31)`` and ``shift`` is in ``[-31, 30]``
    (``> 0`` means a left shift). Zero maps to ``(0, 0)``, and so does a real so small that
    it would need a shift below -31, where every result would round to zero anyway.

    >>> quantize_multiplier(0.5)
    (1073741824, 0)
    >>> quantize_multiplier(1.0)
    (1073741824, 1)
    >>> quantize_multiplier(0.0)
    (0, 0)
    >>> quantize_multiplier(2.0**-40)
    (0, 0)

    A mantissa that rounds up to 1.0 is renormalized rather than overflowing int32:

    >>> quantize_multiplier(1.0 - 2.0**-40)
    (1073741824, 1)

    Raises ValueError for a negative or non-finite real, or one that needs a shift above 30
    (``real >= 2**30``), which no sensible layer produces.
    """
    if not math.isfinite(real) or real < 0.0:
        raise ValueError(f"multiplier must be finite and >= 0, got {real!r}")
    if real == 0.0:
        return 0, 0
    q, shift = _q31_and_exponent(real)
    if shift < MIN_SHIFT:
        return 0, 0
    if shift > MAX_SHIFT:
        raise ValueError(
            f"multiplier {real!r} needs shift {shift} > {MAX_SHIFT}; "
            "a requantization scale this large means the quantization parameters are broken"
        )
    return q, shift


def preprocess_softmax_scaling(
    beta: float, input_scale: float, integer_bits: int = 5
) -> tuple[int, int]:
    """The softmax input multiplier ``(mult, left_shift)``, TFLite's PreprocessSoftmaxScaling.

    The scaled input differences are fixed-point with ``integer_bits`` integer bits (5 for int8
    softmax), so ``beta * input_scale * 2**(31 - integer_bits)`` is their multiplier. It is capped
    at ``2**31 - 1``, where every difference of one input step already underflows exp().
    ``left_shift`` is in ``[0, 30]``; like current TFLite, a multiplier needing shift 31
    saturates to ``(2**31 - 1, 30)``.

    >>> preprocess_softmax_scaling(1.0, 0.1)
    (1717986918, 23)
    >>> preprocess_softmax_scaling(1.0, 1000.0)
    (2147483647, 30)
    """
    real = min(beta * input_scale * float(1 << (31 - integer_bits)), float(Q31_ONE - 1))
    if not real > 1.0:
        raise ValueError(
            f"softmax needs beta * input_scale * 2**{31 - integer_bits} > 1, got {real!r} "
            f"(beta={beta!r}, input_scale={input_scale!r})"
        )
    q, shift = _q31_and_exponent(real)
    if shift > MAX_SHIFT:
        return Q31_ONE - 1, MAX_SHIFT
    return q, shift


def calculate_input_radius(integer_bits: int, left_shift: int, total_signed_bits: int = 31) -> int:
    """The largest input difference whose rescaled value still fits, TFLite's CalculateInputRadius.

    ``floor((2**integer_bits - 1) * 2**(total_signed_bits - integer_bits) / 2**left_shift)``;
    softmax skips (treats as exp() = 0) every difference below ``-radius``, so its
    ``diff_min = -calculate_input_radius(5, left_shift)``.

    >>> calculate_input_radius(5, 23)
    248
    >>> calculate_input_radius(5, 30)
    1
    """
    if not 0 <= left_shift <= total_signed_bits or not 0 <= integer_bits <= total_signed_bits:
        raise ValueError(f"bad integer_bits={integer_bits} / left_shift={left_shift}")
    # Integer arithmetic: the double in TFLite is exact here, and its floor is this shift.
    return (((1 << integer_bits) - 1) << (total_signed_bits - integer_bits)) >> left_shift
