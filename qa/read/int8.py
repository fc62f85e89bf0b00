"""The int8 reader's weights in the form the processor multiplies exactly.

The shipped graph is dynamically quantized: activations become u8 (DynamicQuantizeLinear) and
every MatMulInteger and QAttention (the fused attention's query/key/value projection)
multiplies them by s8 weights (per output channel, zero point 0). ONNX
Runtime's MLAS multiplies u8 x s8 exactly with VNNI (vpdpbusd) or AMX, but on x86 without
them it uses vpmaddubsw, which adds two u8 x s8 products into a saturating int16: large
activations times large weights clip, and the reader read about a point of DRCD exact match
worse on a Zen 3 (issue 34). MLAS's u8 x u8 kernels widen to int16 before multiplying and do
not saturate, so where the processor lacks VNNI and AMX the weights are shifted to u8 with
zero point 128 (q + 128, same scale): the same numbers, multiplied exactly.
"""
from __future__ import annotations

import numpy as np

# The operators that multiply u8 activations by int8 weights (ONNX MatMulInteger, com.microsoft
# QAttention): the weight is input 1 of both; the position of its zero point among the inputs.
WEIGHT_ZERO_POINT_INPUT = {"MatMulInteger": 3, "QAttention": 7}


def _zero_point(node) -> str:
    """The name of ``node``'s weight zero point; "" when none is given (0 of the weight's type)."""
    k = WEIGHT_ZERO_POINT_INPUT[node.op_type]
    return node.input[k] if len(node.input) > k else ""


def signed_weight_nodes(model) -> list:
    """The graph's MatMulInteger and QAttention nodes whose weight is an s8 initializer."""
    from onnx import TensorProto

    inits = {i.name: i for i in model.graph.initializer}
    return [n for n in model.graph.node
            if n.op_type in WEIGHT_ZERO_POINT_INPUT and len(n.input) > 1 and n.input[1] in inits
            and inits[n.input[1]].data_type == TensorProto.INT8]


def with_unsigned_weights(model):
    """``model`` (an onnx ModelProto, changed in place and returned) with every int8 node's
    s8 weight and its zero point moved to u8 by adding 128: a lossless change of encoding,
    since (q + 128) - (z + 128) = q - z, and any s8 value shifted fits u8. Raises ValueError if
    a weight or zero point is also read by another kind of node (not so in the shipped graph:
    weights -127..127 per output channel, zero points 0)."""
    from onnx import TensorProto, numpy_helper

    inits = {i.name: i for i in model.graph.initializer}
    nodes = signed_weight_nodes(model)
    names = ({n.input[1] for n in nodes} | {_zero_point(n) for n in nodes}) - {""}
    for other in model.graph.node:
        if other.op_type not in WEIGHT_ZERO_POINT_INPUT and names & set(other.input):
            raise ValueError(f"int8 weight of {other.name or other.op_type} is also read by a {other.op_type}")
    shifted: set[str] = set()
    for node in nodes:
        if not _zero_point(node):
            # no zero point given: it is 0 of B's type; u8 needs an explicit 128
            zp_name = node.input[1] + "_u8_zero_point"
            if zp_name not in inits:
                point = numpy_helper.from_array(np.array(128, dtype=np.uint8), zp_name)
                model.graph.initializer.append(point)
                inits[zp_name] = point
            k = WEIGHT_ZERO_POINT_INPUT[node.op_type]
            while len(node.input) <= k:
                node.input.append("")
            node.input[k] = zp_name
            shifted.add(zp_name)
        for name in (node.input[1], _zero_point(node)):
            if name in shifted:
                continue
            init = inits[name]
            if init.data_type != TensorProto.INT8:
                raise ValueError(f"{name} is not int8")
            values = numpy_helper.to_array(init).astype(np.int16) + 128  # -128..127 -> 0..255
            init.CopyFrom(numpy_helper.from_array(values.astype(np.uint8), name))
            shifted.add(name)
    return model
