"""Write small int8 .tflite models and TFLite Micro's outputs for them into fixtures/.

    pip install -e .[bench]          # tflite-micro: its interpreter and flatbuffer schema
    python3 tests/tflite/make_fixtures.py

The MLPerf models exercise CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, AVERAGE_POOL_2D, ADD,
RESHAPE and SOFTMAX; these models cover the rest of what the importer accepts (MEAN, MAX_POOL_2D,
PAD, SAME pooling, fused RELU6, depth multiplier, per-channel FC, QUANTIZE / DEQUANTIZE at the
borders) with TFLite Micro's reference kernels as the oracle. The fixtures are small and
checked in, so the tests need neither tflite-micro nor ../shared.
"""

from __future__ import annotations

from pathlib import Path

import flatbuffers
import numpy as np
from tflite_micro.python.tflite_micro import runtime

fb = runtime.schema_fb
OUT = Path(__file__).resolve().parent / "fixtures"
BO = fb.BuiltinOperator
OPT = fb.BuiltinOptions
T_I8, T_I32, T_F32 = fb.TensorType.INT8, fb.TensorType.INT32, fb.TensorType.FLOAT32


class Model:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.tensors: list = []
        self.buffers: list = [fb.BufferT()]  # buffer 0: the empty one, by convention
        self.ops: list = []
        self.codes: list[int] = []

    def tensor(self, shape, ttype, scale=None, zp=None, data=None, qdim=0) -> int:
        t = fb.TensorT()
        t.shape = list(shape)
        t.type = ttype
        t.name = f"t{len(self.tensors)}".encode()
        t.buffer = 0
        if data is not None:
            b = fb.BufferT()
            b.data = np.ascontiguousarray(data).view(np.uint8).reshape(-1).tolist()
            self.buffers.append(b)
            t.buffer = len(self.buffers) - 1
        if scale is not None:
            q = fb.QuantizationParametersT()
            q.scale = [float(s) for s in np.atleast_1d(scale)]
            q.zeroPoint = [int(z) for z in np.atleast_1d(zp)]
            q.quantizedDimension = qdim
            t.quantization = q
        self.tensors.append(t)
        return len(self.tensors) - 1

    def act(self, shape, scale, zp) -> int:
        return self.tensor(shape, T_I8, np.float32(scale), zp)

    def weights(self, shape, qdim, per_channel=True) -> int:
        w = self.rng.integers(-127, 128, size=shape).astype(np.int8)
        n = shape[qdim] if per_channel else 1
        scale = self.rng.uniform(0.002, 0.02, n).astype(np.float32)
        return self.tensor(shape, T_I8, scale, np.zeros(n, np.int64), w, qdim)

    def bias(self, n, in_scale, w) -> int:
        ws = np.asarray(self.tensors[w].quantization.scale, np.float32)
        b = self.rng.integers(-3000, 3000, size=n).astype(np.int32)
        return self.tensor((n,), T_I32, np.broadcast_to(in_scale * ws, (n,)),
                           np.zeros(n, np.int64), b)

    def op(self, code, ins, outs, opt_type=0, opt=None) -> None:
        if code not in self.codes:
            self.codes.append(code)
        o = fb.OperatorT()
        o.opcodeIndex = self.codes.index(code)
        o.inputs, o.outputs = list(ins), list(outs)
        o.builtinOptionsType = opt_type
        o.builtinOptions = opt
        self.ops.append(o)

    def save(self, path: Path, inputs, outputs) -> bytes:
        sg = fb.SubGraphT()
        sg.tensors, sg.operators = self.tensors, self.ops
        sg.inputs, sg.outputs = list(inputs), list(outputs)
        m = fb.ModelT()
        m.version = 3
        m.subgraphs = [sg]
        m.buffers = self.buffers
        m.description = b"slimgen test fixture"
        codes = []
        for c in self.codes:
            oc = fb.OperatorCodeT()
            oc.builtinCode = c
            oc.deprecatedBuiltinCode = min(c, 127)
            oc.version = 1
            codes.append(oc)
        m.operatorCodes = codes
        b = flatbuffers.Builder(1024)
        b.Finish(m.Pack(b), file_identifier=b"TFL3")
        data = bytes(b.Output())
        path.write_bytes(data)
        return data


def conv_opts(padding, stride, act=0, depth_multiplier=None):
    if depth_multiplier is None:
        o = fb.Conv2DOptionsT()
    else:
        o = fb.DepthwiseConv2DOptionsT()
        o.depthMultiplier = depth_multiplier
    o.padding, o.strideH, o.strideW, o.fusedActivationFunction = padding, stride, stride, act
    o.dilationHFactor = o.dilationWFactor = 1
    return o


def pool_opts(padding, stride, k, act=0):
    o = fb.Pool2DOptionsT()
    o.padding, o.strideH, o.strideW = padding, stride, stride
    o.filterHeight, o.filterWidth, o.fusedActivationFunction = k, k, act
    return o


def mean_model(path: Path, keep_dims: bool, same_q: bool, seed: int) -> None:
    """conv 3x3 -> MEAN over H, W (the Keras GlobalAveragePooling2D conversion)."""
    m = Model(seed)
    x = m.act((1, 9, 7, 5), 0.05, 3)
    w = m.weights((12, 3, 3, 5), 0)
    c = m.act((1, 9, 7, 12), 0.11, -7)
    m.op(BO.CONV_2D, [x, w, m.bias(12, np.float32(0.05), w)], [c], OPT.Conv2DOptions,
         conv_opts(fb.Padding.SAME, 1))
    axes = m.tensor((2,), T_I32, data=np.array([1, 2], np.int32))
    y = m.act((1, 1, 1, 12) if keep_dims else (1, 12), 0.11 if same_q else 0.037,
              -7 if same_q else 9)
    r = fb.ReducerOptionsT()
    r.keepDims = keep_dims
    m.op(BO.MEAN, [c, axes], [y], OPT.ReducerOptions, r)
    m.save(path, [x], [y])


def zoo_model(path: Path, seed: int) -> None:
    """float in -> QUANTIZE -> PAD -> conv VALID s2 relu6 -> depthwise dm2 SAME -> max pool SAME
    -> avg pool SAME s2 -> ADD(relu) with a 1x1 conv branch -> RESHAPE -> FC per-channel ->
    SOFTMAX -> DEQUANTIZE -> float out."""
    m = Model(seed)
    xf = m.tensor((1, 12, 10, 3), T_F32)
    x = m.act((1, 12, 10, 3), 0.02, -5)
    m.op(BO.QUANTIZE, [xf], [x])
    pads = m.tensor((4, 2), T_I32, data=np.array([[0, 0], [1, 2], [0, 1], [0, 0]], np.int32))
    xp = m.act((1, 15, 11, 3), 0.02, -5)
    m.op(BO.PAD, [x, pads], [xp], OPT.PadOptions, fb.PadOptionsT())
    w1 = m.weights((8, 3, 3, 3), 0)
    c1 = m.act((1, 7, 5, 8), 0.04, -128)
    m.op(BO.CONV_2D, [xp, w1, m.bias(8, np.float32(0.02), w1)], [c1], OPT.Conv2DOptions,
         conv_opts(fb.Padding.VALID, 2, fb.ActivationFunctionType.RELU6))
    w2 = m.weights((1, 3, 3, 16), 3)
    c2 = m.act((1, 7, 5, 16), 0.06, 11)
    m.op(BO.DEPTHWISE_CONV_2D, [c1, w2, m.bias(16, np.float32(0.04), w2)], [c2],
         OPT.DepthwiseConv2DOptions, conv_opts(fb.Padding.SAME, 1, 0, depth_multiplier=2))
    p1 = m.act((1, 7, 5, 16), 0.06, 11)
    m.op(BO.MAX_POOL_2D, [c2], [p1], OPT.Pool2DOptions, pool_opts(fb.Padding.SAME, 1, 3))
    p2 = m.act((1, 4, 3, 16), 0.06, 11)
    m.op(BO.AVERAGE_POOL_2D, [p1], [p2], OPT.Pool2DOptions,
         pool_opts(fb.Padding.SAME, 2, 3, fb.ActivationFunctionType.RELU))
    w3 = m.weights((16, 1, 1, 8), 0)
    c3 = m.act((1, 4, 3, 16), 0.05, -3)
    c1s = m.act((1, 4, 3, 8), 0.04, -128)
    m.op(BO.MAX_POOL_2D, [c1], [c1s], OPT.Pool2DOptions, pool_opts(fb.Padding.SAME, 2, 2))
    m.op(BO.CONV_2D, [c1s, w3, m.bias(16, np.float32(0.04), w3)], [c3], OPT.Conv2DOptions,
         conv_opts(fb.Padding.VALID, 1))
    s = m.act((1, 4, 3, 16), 0.08, -128)
    ao = fb.AddOptionsT()
    ao.fusedActivationFunction = fb.ActivationFunctionType.RELU
    m.op(BO.ADD, [p2, c3], [s], OPT.AddOptions, ao)
    shape = m.tensor((2,), T_I32, data=np.array([1, 192], np.int32))
    f = m.act((1, 192), 0.08, -128)
    ro = fb.ReshapeOptionsT()
    ro.newShape = [1, 192]
    m.op(BO.RESHAPE, [s, shape], [f], OPT.ReshapeOptions, ro)
    w4 = m.weights((10, 192), 0)
    fo = m.act((1, 10), 0.2, 4)
    fco = fb.FullyConnectedOptionsT()
    m.op(BO.FULLY_CONNECTED, [f, w4, m.bias(10, np.float32(0.08), w4)], [fo],
         OPT.FullyConnectedOptions, fco)
    sm = m.act((1, 10), 1.0 / 256, -128)
    so = fb.SoftmaxOptionsT()
    so.beta = 1.0
    m.op(BO.SOFTMAX, [fo], [sm], OPT.SoftmaxOptions, so)
    yf = m.tensor((1, 10), T_F32)
    m.op(BO.DEQUANTIZE, [sm], [yf])
    m.save(path, [xf], [yf])


def run_tflm(path: Path, x: np.ndarray) -> np.ndarray:
    it = runtime.Interpreter.from_file(str(path))
    ys = []
    for xi in x:
        it.set_input(xi[None], 0)
        it.invoke()
        ys.append(np.array(it.get_output(0)).reshape(-1))
    return np.stack(ys)


def main() -> None:
    OUT.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    for keep in (False, True):
        for same in (False, True):
            name = f"mean_keep{int(keep)}_sameq{int(same)}"
            mean_model(OUT / f"{name}.tflite", keep, same, seed=len(name) + keep * 2 + same)
            x = rng.integers(-128, 128, size=(40, 9, 7, 5)).astype(np.int8)
            np.savez(OUT / f"{name}.npz", x=x, y=run_tflm(OUT / f"{name}.tflite", x))
    zoo_model(OUT / "zoo.tflite", seed=3)
    xf = rng.uniform(-2.0, 2.0, size=(40, 12, 10, 3)).astype(np.float32)
    yf = run_tflm(OUT / "zoo.tflite", xf)
    # The float output is DEQUANTIZE(q) = (q + 128) / 256 exactly; store q.
    yq = np.round(yf.astype(np.float64) * 256 - 128).astype(np.int8)
    np.savez(OUT / "zoo.npz", x=xf, y=yq)


if __name__ == "__main__":
    main()
