"""A model trained on the real sklearn digits data: bit-exact C, and int8 accuracy within one
point of float on the held-out test split."""

from __future__ import annotations

import pytest

from slimgen import api
from tests.digits import load_digits_shared, split_digits, train_digits
from tests.models import DIGITS
from tests.pipeline import export_pt2, write_npz


@pytest.mark.parametrize("name", sorted(DIGITS))
def test_trained_digits_model_int8_accuracy(name, shared_data, tmp_path):
    x, y = load_digits_shared(shared_data)
    x_train, y_train, x_test, y_test = split_digits(x, y)
    model, shape = DIGITS[name]()
    model = train_digits(model, x_train.reshape(-1, *shape[1:]), y_train, epochs=10)
    pt2 = export_pt2(model, shape, tmp_path / "digits.pt2")
    calib = write_npz(tmp_path / "calib.npz", x=x_train[:200].reshape(-1, *shape[1:]))
    tests = write_npz(tmp_path / "test.npz", x=x_test.reshape(-1, *shape[1:]), y=y_test)
    out = tmp_path / "out"
    api.build(pt2, calib, out, api.BuildOptions(name="digits"))
    res = api.verify(out, tests)
    assert res["bit_exact"], res.get("first_mismatch")
    assert res["samples"] == len(x_test)
    assert res["accuracy_float"] >= 0.93, res
    assert res["accuracy_int8"] >= res["accuracy_float"] - 0.01, res
