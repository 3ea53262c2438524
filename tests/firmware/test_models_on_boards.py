"""The bundled digits example and the MLPerf Tiny architectures (random weights) run bit-exact
against the host integer reference on every emulated board they fit; where they do not fit,
the build refuses before compiling and says by how much."""

from __future__ import annotations

import shutil

import pytest

from slimgen import api
from slimgen.firmware.boards import load_board
from slimgen.firmware.build import build_firmware, estimate_fit, read_model
from slimgen.firmware.errors import FirmwareError
from slimgen.firmware.qemu import run_on_board
from tests.firmware.fwhelpers import EMULATED, needs_qemu
from tests.models import DIGITS, MLPERF
from tests.pipeline import build_model, random_inputs

pytestmark = [pytest.mark.qemu, needs_qemu, pytest.mark.timeout(300)]

MODELS = {"digits": DIGITS["digits_cnn"], "kws": MLPERF["kws_dscnn"],
          "vww": MLPERF["vww_mobilenet_v1_025"], "ic": MLPERF["ic_resnet8"],
          "ad": MLPERF["ad_autoencoder"]}


@pytest.fixture(scope="module", params=sorted(MODELS))
def host_out(request, tmp_path_factory):
    name = request.param
    model, shape = MODELS[name]()
    out = build_model(model, shape, tmp_path_factory.mktemp(name), name=name)
    x = random_inputs(shape, 3, seed=2)
    _, qg, _ = api.load_built(out)
    return out, api.quantize_inputs(qg, x, out), api.reference_outputs(out, x)


@pytest.mark.parametrize("board", EMULATED)
def test_bit_exact_or_refused(host_out, board, tmp_path):
    src, xq, expected = host_out
    out = shutil.copytree(src, tmp_path / "out")
    model = read_model(out)
    fit = estimate_fit(load_board(board), weight_bytes=model.weight_bytes,
                       arena_bytes=model.arena_bytes, input_bytes=model.input_bytes,
                       output_bytes=model.output_bytes, layers=len(model.layers),
                       kernel_files=len(model.kernel_sources))
    if fit.problems():
        with pytest.raises(FirmwareError, match="over by"):
            build_firmware(out, None, board)
        assert not (out / "firmware").exists(), "refused, so nothing may have been compiled"
        return
    build_firmware(out, None, board)
    result = run_on_board(out, xq, expected)
    assert result["bit_exact"], result["mismatches"]
    assert result["instructions_per_inference"] > 0
    assert len(result["per_layer"]) == len(model.layers)
