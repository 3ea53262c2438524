"""``slimgen compress --share-weights K``: after slimgen's own int8 quantization every shared
layer holds at most K - 1 distinct non-zero weights (BatchNorm folds with negative scales
included), so ``slimgen build --sparse shared`` packs it, bit-exact on the host."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from slimgen import api
from slimgen.cli import main
from slimgen.compress import share
from slimgen.compress.model import prunable_layers
from torch import fx, nn

from tests.pipeline import random_inputs


class ConvBnNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.pw = nn.Conv2d(8, 16, 1)
        self.fc = nn.Linear(16 * 5 * 5, 10)
        with torch.no_grad():  # half the BatchNorm scales negative: those rows fold negated
            self.bn.weight.copy_(torch.tensor([1.0, -0.5, 2.0, -1.5, 0.7, -0.2, 1.1, -3.0]))
            self.bn.running_var.uniform_(0.5, 2.0)
            self.fc.weight[torch.rand(self.fc.weight.shape) < 0.7] = 0.0  # a pruned layer

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(x)))
        return self.fc(torch.flatten(torch.relu(self.pw(x)), 1))


def _working(model: nn.Module, shape) -> fx.GraphModule:
    from slimgen.compress.model import from_program

    return from_program(torch.export.export(model.eval(), (torch.zeros(shape),)))


@pytest.mark.parametrize("k", [3, 8, 16])
def test_shared_layers_quantize_to_at_most_k_minus_1_values(k: int) -> None:
    torch.manual_seed(0)
    shape = (1, 3, 5, 5)
    gm = _working(ConvBnNet(), shape)
    example = torch.zeros(shape)
    before = {lyr.name: (lyr.weight.detach() == 0) for lyr in prunable_layers(gm, example)}
    shared = share.start(gm, share.shareable(prunable_layers(gm, example), []), k)
    books = share.finish(shared)
    assert [b["name"] for b in books] == ["conv", "pw", "fc"]
    for lyr in prunable_layers(gm, example):
        assert torch.equal(lyr.weight.detach() == 0, before[lyr.name])  # zeros stay zeros
    data = SimpleNamespace(example=example, calib=random_inputs(shape, 8, seed=1))
    counts = share.int8_values(gm, data, None)
    assert len(counts) == 3 and all(1 <= c <= k - 1 for c in counts.values()), counts
    assert max(counts.values()) > 1  # not trivially one value


def test_kmeans_keeps_the_fixed_levels() -> None:
    u = np.concatenate([np.full(50, -127.0), np.linspace(-60, 90, 200), [127.0]])
    levels = share.kmeans_levels(u, 5, [-127.0, 127.0])
    assert levels.size == 7 and levels[0] == -127.0 and levels[-1] == 127.0
    assert np.all(np.diff(levels) > 0)


def test_share_weights_from_the_command_line_then_build_shared(digits_cnn, digits_npz,
                                                               tmp_path: Path) -> None:
    out = tmp_path / "shared.pt2"
    r = CliRunner().invoke(main, ["compress", str(digits_cnn), "--data", str(digits_npz), "-o",
                                  str(out), "--sparsity", "0.7", "--epochs", "1",
                                  "--share-weights", "8", "--share-epochs", "1", "-q"])
    assert r.exit_code == 0, r.output
    rep = json.loads((tmp_path / "shared.report.json").read_text())
    base, pruned, shared = rep["stages"]
    assert shared["stage"] == "shared 8"
    assert shared["int8_values"] and all(1 <= v <= 7 for v in shared["int8_values"].values())
    assert shared["nonzero_weights"] == pruned["nonzero_weights"]  # sharing keeps the mask
    # 7 shared values per layer cost the trained digits CNN little
    assert shared["int8"]["accuracy"] > base["int8"]["accuracy"] - 0.05
    # ... and every fc / conv layer now fits the shared format: build it forced, bit-exact.
    d = np.load(digits_npz)
    calib, test = tmp_path / "calib.npz", tmp_path / "test.npz"
    np.savez(calib, x=d["x_train"][:64])
    np.savez(test, x=d["x_test"][:40], y=d["y_test"][:40])
    built = tmp_path / "build"
    api.build(out, calib, built, api.BuildOptions(sparse="shared"))
    layers = json.loads((built / "report.json").read_text())["layers"]
    chosen = [lyr["sparse"]["format"] for lyr in layers if "sparse" in lyr]
    assert chosen and set(chosen) == {"shared"}, layers
    assert api.verify(built, test)["bit_exact"]


@pytest.mark.parametrize("k", ["2", "17"])
def test_share_weights_out_of_range_is_refused(digits_cnn, digits_npz, tmp_path, k) -> None:
    r = CliRunner().invoke(main, ["compress", str(digits_cnn), "--data", str(digits_npz), "-o",
                                  str(tmp_path / "x.pt2"), "--share-weights", k])
    assert r.exit_code == 2
    assert f"--share-weights {k}" in r.output and "3..16" in r.output
