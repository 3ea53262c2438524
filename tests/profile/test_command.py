"""`slimgen profile`: the JSON contract, report.json, determinism, clear errors."""

from __future__ import annotations

import json

from slimgen.profile.model import profile_build

from tests.pipeline import slimgen_cli

LAYER_KEYS = {"name", "op", "macs", "instructions", "cycles_est", "cycles_low", "cycles_high"}


def test_profile_command(tiny_build):
    """One test on one build (building it costs more than profiling it, on each xdist worker)."""
    proc = slimgen_cli("profile", str(tiny_build), "--core", "m4", "--json")
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)
    assert res["core"] == "m4"
    assert res["bit_exact"] is True
    layers = res["per_layer"]
    assert [lyr["op"] for lyr in layers] == ["conv2d", "fc"]
    for lyr in layers:
        assert LAYER_KEYS <= set(lyr)
        assert lyr["cycles_low"] <= lyr["cycles_est"] <= lyr["cycles_high"]
        assert lyr["cycles_est"] >= lyr["instructions"] > 0
    assert res["instructions_per_inference"] == (
        sum(lyr["instructions"] for lyr in layers) + res["glue_instructions"])
    assert res["cycles_est_per_inference"] >= res["instructions_per_inference"]
    assert layers[0]["macs"] == 6 * 6 * 8 * 3 * 3 * 3
    assert "zero-wait-state" in res["note"]
    report = json.loads((tiny_build / "report.json").read_text())
    assert report["profile"] == res

    # deterministic: the same build gives the same counts (here on the M0+, in-process)
    a = profile_build(tiny_build, "m0plus", write_report=False)
    assert a == profile_build(tiny_build, "m0plus", write_report=False)
    assert a["bit_exact"] is True
    assert a["instructions_per_inference"] != res["instructions_per_inference"]  # other code

    proc = slimgen_cli("profile", str(tiny_build), "--core", "m33")
    assert proc.returncode == 0, proc.stderr
    assert "estimate, zero-wait-state memory" in proc.stdout
    assert "conv2d" in proc.stdout


def test_bad_core(tmp_path):
    proc = slimgen_cli("profile", str(tmp_path), "--core", "m9")
    assert proc.returncode == 2
    assert "unknown core 'm9'" in proc.stderr
    assert "m0plus, m3, m4, m7, m33, m55" in proc.stderr


def test_not_a_build_folder(tmp_path):
    proc = slimgen_cli("profile", str(tmp_path), "--core", "m4")
    assert proc.returncode == 2
    assert "is not a slimgen build folder" in proc.stderr
