"""Dynamic 8-bit quantization of an ONNX graph's weights (MatMul, Conv, Gather tables), written with the onnx package alone, in the node
pattern ONNX Runtime's quantize_dynamic produces (its python package is not installed here).

Runs in the model kit (Python, onnx + numpy). Used by export_hub_clip.py --int8.

[Note: dynamic int8 pattern] For every MatMul whose B input is an initializer (ORT's MatMulConstBOnly):
  A --DynamicQuantizeLinear--> A_quantized (uint8), A_scale, A_zero_point   (one per A tensor, shared by q/k/v)
  MatMulInteger(A_quantized, W_quantized, A_zero_point, W_zero_point) -> int32
  Cast(float) * (A_scale * W_scale) -> the MatMul's original output name
A Conv without bias whose weight is an initializer gets the same pattern with ConvInteger (ORT's ConvInteger
operator class). A Gather whose data is a float initializer (the token and position embedding tables) reads a
uint8 copy of the table and is followed by DequantizeLinear (ORT's GatherQuant). The real text file's size
(64.5 MB for 63M parameters, of which 25M are the token table) shows its table is 8-bit, so this is not optional.
Weights are quantized per tensor as ORT does without per_channel/reduce_range: uint8 asymmetric (scale =
(max(0, w) - min(0, w)) / 255, zero point round(-min/scale)) or int8 symmetric (scale = max|w| / 127, zero
point 0), values round-half-even. transformers.js' quantize script picks uint8 weights for graphs that contain a
Conv (the vision tower; ConvInteger has no int8-weight kernel in onnxruntime-web) and int8 otherwise (the text
tower); export_hub_clip.py follows that rule. Whether the real files were quantized per channel or with
reduce_range is not stated in any public file we read; the op pattern is the same either way.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def quantize_weight(w: np.ndarray, weight_type: str):
    """(quantized array, scale float32 scalar, zero point scalar of the quantized dtype)."""
    w = w.astype(np.float32)
    rmin, rmax = min(0.0, float(w.min())), max(0.0, float(w.max()))
    if weight_type == "uint8":
        qmin, qmax, dtype = 0, 255, np.uint8
        scale = (rmax - rmin) / (qmax - qmin) if rmax > rmin else 1.0
        zp = int(np.clip(np.rint(qmin - rmin / scale), qmin, qmax))
    elif weight_type == "int8":
        qmin, qmax, dtype = -127, 127, np.int8
        absmax = max(abs(rmin), abs(rmax))
        scale = absmax / qmax if absmax > 0 else 1.0
        zp = 0
    else:
        raise ValueError(f"weight_type must be uint8 or int8, not {weight_type}")
    scale = np.float32(scale)
    q = np.clip(np.rint(w / scale) + zp, qmin, qmax).astype(dtype)
    return q, scale, np.array(zp, dtype=dtype)


def quantize_weights(model: onnx.ModelProto, weight_type: str) -> tuple[onnx.ModelProto, dict[str, int]]:
    """Returns (a new model, how many nodes of each op type were rewritten). The input model is not modified."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    inits = {t.name: t for t in g.initializer}
    uses: dict[str, int] = {}
    for n in g.node:
        for i in n.input:
            uses[i] = uses.get(i, 0) + 1
    dyn: dict[str, tuple[str, str, str]] = {}
    weights: dict[tuple[str, str], tuple[str, str, str]] = {}
    new_nodes, new_inits, drop = [], [], set()
    counts = {"MatMul": 0, "Conv": 0, "Gather": 0}

    def const_float(name):
        t = inits.get(name)
        return t if t is not None and t.data_type == TensorProto.FLOAT else None

    def weight(name, wtype):
        if (name, wtype) not in weights:
            q, scale, zp = quantize_weight(numpy_helper.to_array(inits[name]), wtype)
            names = (name + "_quantized", name + "_scale", name + "_zero_point")
            new_inits.extend([numpy_helper.from_array(q, names[0]), numpy_helper.from_array(np.array(scale, dtype=np.float32), names[1]),
                              numpy_helper.from_array(zp, names[2])])
            weights[(name, wtype)] = names
            uses[name] -= 1
            if uses[name] == 0:
                drop.add(name)
        return weights[(name, wtype)]

    def dynamic(name):
        if name not in dyn:
            dyn[name] = (name + "_quantized", name + "_scale", name + "_zero_point")
            new_nodes.append(helper.make_node("DynamicQuantizeLinear", [name], list(dyn[name]), name=name + "_QuantizeLinear"))
        return dyn[name]

    for n in g.node:
        w = n.input[1] if len(n.input) > 1 else None
        if n.op_type in ("MatMul", "Conv") and len(n.input) == 2 and const_float(w) is not None \
                and (n.op_type == "Conv" or len(inits[w].dims) == 2):
            counts[n.op_type] += 1
            a_q, a_scale, a_zp = dynamic(n.input[0])
            w_q, w_scale, w_zp = weight(w, weight_type)
            out, base = n.output[0], n.name or n.output[0]
            int_out = out + "_output_quantized"
            cast_out, scales = int_out + "_cast_output", base + "_quant_scales_mul:0"
            new_nodes += [
                helper.make_node(n.op_type + "Integer", [a_q, w_q, a_zp, w_zp], [int_out], name=base + "_quant",
                                 **({a.name: helper.get_attribute_value(a) for a in n.attribute} if n.op_type == "Conv" else {})),
                helper.make_node("Cast", [int_out], [cast_out], name=int_out + "_cast", to=TensorProto.FLOAT),
                helper.make_node("Mul", [a_scale, w_scale], [scales], name=base + "_quant_scales_mul"),
                helper.make_node("Mul", [cast_out, scales], [out], name=base + "_quant_output_scale_mul"),
            ]
        elif n.op_type == "Gather" and const_float(n.input[0]) is not None:
            # ORT's GatherQuant: the table as uint8 (the activation type), Gather on it, then DequantizeLinear
            counts["Gather"] += 1
            t_q, t_scale, t_zp = weight(n.input[0], "uint8")
            out = n.output[0]
            gathered = helper.make_node("Gather", [t_q, n.input[1]], [out + "_quantized"], name=n.name)
            gathered.attribute.extend(n.attribute)
            new_nodes += [gathered, helper.make_node("DequantizeLinear", [out + "_quantized", t_scale, t_zp], [out],
                                                     name=out + "_DequantizeLinear")]
        else:
            new_nodes.append(n)
    del g.node[:]
    g.node.extend(new_nodes)
    kept = [t for t in g.initializer if t.name not in drop]
    del g.initializer[:]
    g.initializer.extend(kept + new_inits)
    return m, counts
