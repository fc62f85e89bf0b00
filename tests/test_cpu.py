"""Knowing the processor (qa.cpu) and feeding the int8 reader weights it multiplies exactly
(qa.read.int8): issue 34."""
from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa.cpu import from_flags, int8_path, one_line, parse_cpuinfo, processor, reader_int8_weights

ROOT = Path(__file__).parents[1]
READER = ROOT / "qa" / "read" / "model" / "reader.onnx"

ZEN3 = "fpu sse sse2 ssse3 sse4_1 sse4_2 avx f16c fma avx2 bmi2 sha_ni vaes vpclmulqdq"
ZEN4 = ZEN3 + " avx512f avx512dq avx512cd avx512bw avx512vl avx512_vnni avx512_bf16 avx512ifma"
SKYLAKE_X = ZEN3 + " avx512f avx512dq avx512cd avx512bw avx512vl"
ALDER_LAKE = ZEN3 + " avx_vnni"
SAPPHIRE_RAPIDS = ZEN4 + " amx_bf16 amx_tile amx_int8"
OLD = "fpu sse sse2 ssse3 sse4_1 sse4_2 avx"


def _proc(flags: str, numpy_features=None):
    return from_flags(numpy_features, frozenset(flags.split()), "test cpu", "x86_64")


@pytest.mark.parametrize("flags, kernel, exact, weights", [
    (ZEN3, "AVX2", False, "u8"),
    (SKYLAKE_X, "AVX-512", False, "u8"),
    (ZEN4, "AVX-512 VNNI", True, "s8"),
    (ALDER_LAKE, "AVX-VNNI", True, "s8"),
    (SAPPHIRE_RAPIDS, "AMX", True, "s8"),
    (OLD, "SSE", True, "s8"),
])
def test_int8_kernel_path_follows_mlas(flags, kernel, exact, weights):
    proc = _proc(flags)
    path = int8_path(proc)
    assert (path.u8s8, path.u8s8_exact) == (kernel, exact)
    assert reader_int8_weights(proc) == weights
    assert one_line(proc.as_dict()).startswith("test cpu: ")


def test_cpuid_decides_the_flags_it_knows_and_cpuinfo_the_rest():
    # Under an emulator the kernel's /proc/cpuinfo is the host's while cpuid (what ONNX
    # Runtime reads) is the emulated processor's: numpy's cpuid answer must win.
    numpy_haswell = {"AVX2": True, "FMA3": True, "AVX512F": False, "AVX512BW": False, "AVX512DQ": False,
                     "AVX512VL": False, "AVX512VNNI": False, "AVX512BF16": False}
    proc = _proc(ZEN4, numpy_haswell)
    assert proc.instruction_sets() == {"avx2": True, "avx512": False, "avx512_vnni": False, "avx_vnni": False, "amx": False}
    assert "cpuid (numpy)" in proc.source and "/proc/cpuinfo" in proc.source
    assert _proc(ALDER_LAKE, numpy_haswell).vnni  # AVX-VNNI: only cpuinfo names it


def test_parse_cpuinfo_takes_the_first_processor():
    text = "processor\t: 0\nmodel name\t: AMD EPYC 7763 64-Core Processor\nflags\t\t: fpu avx2\n\n" \
           "processor\t: 1\nmodel name\t: other\nflags\t\t: fpu\n"
    assert parse_cpuinfo(text) == ("AMD EPYC 7763 64-Core Processor", frozenset({"fpu", "avx2"}))
    assert parse_cpuinfo("") == ("", frozenset())


def test_this_machine():
    proc = processor()
    assert proc.machine == platform.machine()
    info = proc.as_dict()
    assert info["reader_int8_weights"] in ("s8", "u8") and info["int8_path"]["u8s8"]
    cpuinfo = Path("/proc/cpuinfo")
    if proc.x86 and cpuinfo.exists():
        _, flags = parse_cpuinfo(cpuinfo.read_text(encoding="utf-8", errors="replace"))
        # outside an emulator both sources agree on what both know
        assert ("avx2" in proc.flags) == ("avx2" in flags)
        assert ("avx512_vnni" in proc.flags) == ("avx512_vnni" in flags)
    # the CI prints it before any install: the module needs only the standard library
    out = subprocess.run([sys.executable, "-S", str(ROOT / "qa" / "cpu.py")], capture_output=True, text=True, check=True)
    assert "int8 u8s8 kernel" in out.stdout


def _tiny_int8_graph(rng):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = rng.integers(-127, 128, size=(64, 8)).astype(np.int8)
    w[:, 0] = 127  # the saturating case on AVX2: large u8 activations x large s8 weights
    graph = helper.make_graph(
        [helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
         helper.make_node("MatMulInteger", ["xq", "w", "xz", "wz"], ["acc"]),
         helper.make_node("Cast", ["acc"], ["accf"], to=TensorProto.FLOAT),
         helper.make_node("Mul", ["accf", "xs"], ["y"])],
        "q", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 8])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.zeros(8, dtype=np.int8), "wz")])
    return onnx.helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), w


def _run(model, x):
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def test_unsigned_weights_compute_the_exact_integer_product():
    from onnx import TensorProto

    from qa.read.int8 import signed_weight_nodes, with_unsigned_weights

    rng = np.random.default_rng(0)
    model, w = _tiny_int8_graph(rng)
    x = np.abs(rng.standard_normal((5, 64))).astype(np.float32) * 4
    x[:, ::2] = x.max()  # activations near 255 where the weights are 127: what saturates int16 pairs
    scale = x.max() / 255
    xq = np.clip(np.round(x / scale), 0, 255).astype(np.int64)
    exact = (xq @ w.astype(np.int64)) * np.float32(scale)

    shifted = with_unsigned_weights(model)
    assert not signed_weight_nodes(shifted)
    types = {i.name: i.data_type for i in shifted.graph.initializer}
    assert types["w"] == types["wz"] == TensorProto.UINT8
    got = _run(shifted, x)
    # u8 x u8 is exact on every kernel (int32 accumulation); float32 only in the final scale
    assert np.allclose(got, exact, rtol=1e-6, atol=1e-3)
    if int8_path(processor()).u8s8_exact:  # here the shipped s8 form is exact too
        assert np.array_equal(_run(_tiny_int8_graph(np.random.default_rng(0))[0], x), got)


@pytest.mark.skipif(not READER.exists(), reason="qa/read/model/reader.onnx is not built")
def test_the_shipped_reader_has_only_shiftable_int8_weights():
    import onnx

    from qa.read.int8 import signed_weight_nodes, with_unsigned_weights

    model = onnx.load(str(READER))
    n = len(signed_weight_nodes(model))
    assert n == 17  # all the shipped graph's MatMulIntegers have s8 weight initializers
    assert not signed_weight_nodes(with_unsigned_weights(model))


@pytest.mark.skipif(not READER.exists(), reason="qa/read/model/reader.onnx is not built")
def test_the_reader_chooses_its_weights_by_processor_and_both_read_alike_where_exact():
    from qa.read.reader import Reader

    question = "清徐县是在哪里发现初筛阳性人员的？"
    passage = "太原市清徐县在对重点人群进行核酸检测时，于王答乡韵达快递物流园发现一名初筛阳性人员，随即转运隔离。"
    auto = Reader()
    auto.warm_up()
    assert auto.int8_weights_used == reader_int8_weights(processor())
    readings = {}
    for weights in ("s8", "u8"):
        r = Reader(int8_weights=weights)
        windows = [w for _, _, w in r.windows_for(question, [passage])]
        readings[weights] = (r.run_windows(windows), r.read(question, [passage])[0].best)
    assert readings["u8"][1] is not None and "韵达" in readings["u8"][1].text
    if int8_path(processor()).u8s8_exact:
        # both forms are exact integer products here: the same logits to the bit
        for (s1, e1), (s2, e2) in zip(readings["s8"][0], readings["u8"][0]):
            assert np.array_equal(s1, s2) and np.array_equal(e1, e2)
    with pytest.raises(ValueError, match="int8_weights"):
        Reader(int8_weights="s4")


def _tiny_attention_graph(rng, path):
    """A float graph of one fused attention (com.microsoft Attention, 2 heads of 8), saved
    at ``path``: what onnxruntime's quantize_dynamic turns into a QAttention with s8 weights,
    as the export's "all" recipe does to the reader's attention."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = (rng.standard_normal((16, 48)) * 0.5).astype(np.float32)
    bias = (rng.standard_normal(48) * 0.1).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Attention", ["x", "w", "b", "mask"], ["y"], domain="com.microsoft", num_heads=2)],
        "attention", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6, 16]),
                      helper.make_tensor_value_info("mask", TensorProto.INT32, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 6, 16])],
        [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(bias, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
    onnx.save(model, str(path))
    return model


def test_unsigned_weights_cover_the_quantized_attention(tmp_path):
    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from qa.read.int8 import signed_weight_nodes, with_unsigned_weights

    rng = np.random.default_rng(1)
    float_model = _tiny_attention_graph(rng, tmp_path / "float.onnx")
    quantize_dynamic(str(tmp_path / "float.onnx"), str(tmp_path / "int8.onnx"), weight_type=QuantType.QInt8,
                     per_channel=True, op_types_to_quantize=["Attention"],
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    signed = onnx.load(str(tmp_path / "int8.onnx"))
    assert [n.op_type for n in signed_weight_nodes(signed)] == ["QAttention"]
    shifted = with_unsigned_weights(onnx.load(str(tmp_path / "int8.onnx")))
    assert not signed_weight_nodes(shifted)
    x = {"x": (np.abs(rng.standard_normal((1, 6, 16))) * 3).astype(np.float32), "mask": np.array([6], dtype=np.int32)}

    def run(model):
        return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, x)[0]

    reference, got = run(float_model), run(shifted)
    assert np.abs(got - reference).max() < 0.05 * np.abs(reference).max()  # int8 rounding only
    if int8_path(processor()).u8s8_exact:
        assert np.array_equal(run(signed), got)
