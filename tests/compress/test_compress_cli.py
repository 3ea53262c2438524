"""`slimgen compress` from the command line: bad input fails before training with exit 2 and a
clear message; a full run writes a model that `slimgen build` takes as is, with its QAT ranges."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from slimgen import api
from slimgen.cli import main
from torch import nn

from tests.compress.conftest import save_pt2


def run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, ["compress", *args])
    return r.exit_code, r.output


@pytest.fixture(scope="module")
def bad_files(digits_npz: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = dict(np.load(digits_npz))
    root = tmp_path_factory.mktemp("bad")
    shape = root / "shape.npz"
    np.savez(shape, **(d | {"x_train": np.zeros((len(d["y_train"]), 1, 9, 9), np.float32)}))
    labels = root / "labels.npz"
    np.savez(labels, **(d | {"y_train": d["y_train"] + 3}))
    five = save_pt2(nn.Sequential(nn.Flatten(), nn.Linear(64, 5)), root / "five.pt2")
    return {"shape": shape, "labels": labels, "five": five}


@pytest.mark.parametrize("case,args,words", [
    ("shape", ["--data", "{shape}"], ["(1, 9, 9)", "(1, 8, 8)"]),
    ("labels", ["--data", "{labels}"], ["labels range over [3, 12]", "10 outputs"]),
    ("sparsity", ["--sparsity", "1.2"], ["sparsity 1.2 is impossible"]),
    ("nm", ["--pattern", "2:4"], ["features.0 (9)", "multiple of 4", "--exclude"]),
    ("teacher", ["--teacher", "{five}"], ["5 outputs but the model has 10"]),
    ("exclude", ["--exclude", "nope", "--sparsity", "0.5"], ["nope matches no layer"]),
    ("pattern", ["--pattern", "3:2"], ["unknown pruning pattern"]),
])
def test_bad_input_is_refused_before_training(digits_cnn, digits_npz, bad_files, tmp_path, case,
                                              args, words):
    args = [a.format(**bad_files) for a in args]
    if "--data" not in args:
        args += ["--data", str(digits_npz)]
    code, out = run(str(digits_cnn), "-o", str(tmp_path / "x.pt2"), "--epochs", "0", *args)
    assert code == 2, out
    assert "slimgen: error:" in out
    for w in words:
        assert w in out, out
    assert not (tmp_path / "x.pt2").exists()


def test_channel_pruning_and_qat_give_a_smaller_model_that_builds_with_its_ranges(
        digits_cnn, digits_npz, tmp_path):
    out = tmp_path / "small.pt2"
    code, log = run(str(digits_cnn), "--data", str(digits_npz), "-o", str(out), "--pattern",
                    "channel", "--sparsity", "0.5", "--epochs", "2", "--qat", "--qat-epochs", "1")
    assert code == 0, log
    rep = json.loads((tmp_path / "small.report.json").read_text())
    assert [s["stage"] for s in rep["stages"]] == ["baseline", "pruned channel 0.5", "qat"]
    assert rep["stages"][-1]["params"] < 0.5 * rep["stages"][0]["params"]
    assert {lyr["name"]: lyr["shape"][0] for lyr in rep["layers"]} == {
        "features.0": 8, "features.3": 16, "classifier": 10}
    ranges = tmp_path / "small.ranges.json"
    assert json.loads(ranges.read_text())["ranges"]["input"][1] > 0
    d = np.load(digits_npz)
    calib, test = tmp_path / "calib.npz", tmp_path / "test.npz"
    np.savez(calib, x=d["x_train"][:64])
    np.savez(test, x=d["x_test"], y=d["y_test"])
    api.build(out, calib, tmp_path / "build", api.BuildOptions(ranges=str(ranges)))
    res = api.verify(tmp_path / "build", test)
    assert res["bit_exact"]
    # the int8 accuracy compress reported is what the build with the learned ranges computes
    assert res["accuracy_int8"] == pytest.approx(rep["stages"][-1]["int8"]["accuracy"])


def test_sweep_writes_one_model_per_sparsity_and_a_plot(digits_cnn, digits_npz, tmp_path):
    out = tmp_path / "s.pt2"
    code, log = run(str(digits_cnn), "--data", str(digits_npz), "-o", str(out), "--sparsity",
                    "0.5,0.9", "--pattern", "block", "--exclude", "features.0", "--epochs", "1",
                    "--plot", str(tmp_path / "s.png"))
    assert code == 0, log
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "s.sparsity-0.5.pt2").is_file() and out.is_file()
    rep = json.loads((tmp_path / "s.report.json").read_text())
    acc = [s["float"]["accuracy"] for s in rep["stages"]]
    assert len(acc) == 3 and acc[1] >= acc[2] - 0.02  # more sparsity never helps much
    assert torch.export.load(str(out)) is not None


def test_data_function_and_mse_loss(tmp_path, monkeypatch):
    """--data module:function (DataLoaders) and --loss mse on a small autoencoder."""
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((256, 4)) @ rng.standard_normal((4, 16))).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    (tmp_path / "ae_data.py").write_text(
        "import numpy as np, torch\n"
        "from pathlib import Path\n"
        "from torch.utils.data import DataLoader, TensorDataset\n"
        "def loaders():\n"
        "    x = torch.from_numpy(np.load(Path(__file__).with_name('x.npy')))\n"
        "    ds = TensorDataset(x, x)\n"
        "    return DataLoader(ds, batch_size=32, shuffle=True), DataLoader(ds, batch_size=64)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    torch.manual_seed(0)
    ae = nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 16))
    model = save_pt2(ae, tmp_path / "ae.pt2", (1, 16))
    code, log = run(str(model), "--data", "ae_data:loaders", "--loss", "mse", "-o",
                    str(tmp_path / "ae_small.pt2"), "--sparsity", "0.5", "--epochs", "20")
    assert code == 0, log
    rep = json.loads((tmp_path / "ae_small.report.json").read_text())
    base, pruned = rep["stages"]
    assert rep["metric"] == "mse"
    assert pruned["float"]["loss"] < base["float"]["loss"]  # an untrained AE only improves
    assert pruned["int8"]["loss"] < base["int8"]["loss"]
    assert pruned["nonzero_weights"] <= 0.5 * base["nonzero_weights"] + 1


def test_build_refuses_ranges_of_another_model(digits_cnn, digits_npz, tmp_path):
    import hashlib

    from slimgen.errors import InputError

    d = np.load(digits_npz)
    calib = tmp_path / "calib.npz"
    np.savez(calib, x=d["x_train"][:16])
    digest = hashlib.sha256(digits_cnn.read_bytes()).hexdigest()
    cases = {"different model": ("0" * 64, "input"), "does not have": (digest, "no_such_tensor")}
    for words, (sha, name) in cases.items():
        r = tmp_path / "r.json"
        r.write_text(json.dumps({"format": "slimgen-ranges/1", "model_sha256": sha,
                                 "ranges": {name: [0.0, 1.0]}}))
        with pytest.raises(InputError, match=words):
            api.build(digits_cnn, calib, tmp_path / "o", api.BuildOptions(ranges=str(r)))
