#!/usr/bin/python3
"""Dynamic 8-bit copies of the random-weight ViT-B/32-size towers, for the bench's int8-vs-fp32 rows only.

  /usr/bin/python3 tools/modelkit/quantize_random_vitb32.py CACHE_DIR

Reads CACHE_DIR/{image_encoder,text_encoder}.onnx (export_random_vitb32.py) and writes *_int8.onnx beside them with
hub_int8.quantize_weights (the node pattern of onnxruntime's quantize_dynamic; onnxruntime's own python
quantization package is not installed for Debian's python3). The vision graph gets uint8 weights and the text
graph int8, transformers.js' rule (hub_int8.py). Prints one JSON line per file.
"""
from __future__ import annotations

import json
import os
import sys
import time

import onnx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hub_int8 import quantize_weights  # noqa: E402


def main(argv=None):
    d = (argv or sys.argv[1:])[0]
    for name, wtype in (("image_encoder", "uint8"), ("text_encoder", "int8")):
        t0 = time.time()
        out = os.path.join(d, name + "_int8.onnx")
        if os.path.exists(out):
            continue
        q, counts = quantize_weights(onnx.load(os.path.join(d, name + ".onnx")), wtype)
        onnx.save(q, out + ".tmp")
        os.replace(out + ".tmp", out)
        print(json.dumps({"file": out, "weights": wtype, "rewritten": counts, "seconds": round(time.time() - t0, 1)}), flush=True)


if __name__ == "__main__":
    main()
