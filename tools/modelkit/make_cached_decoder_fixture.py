"""Writes test/fixtures/cached-decoder/: a tiny random prefix-tokens decoder exported three ways — plain
(decoder_plain.onnx: prefix, input_ids -> logits), cached init (decoder.onnx: + present) and cached step
(decoder_step.onnx) — plus a word tokenizer and spec.json (the pack.json decoder entry with `cache`). The
TypeScript engine tests decode with and without the cache and expect identical tokens. Deterministic (seed 5).

    /usr/bin/python3 tools/modelkit/make_cached_decoder_fixture.py [OUT_DIR]
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from decoder_cache import cache_specs, export_cached  # noqa: E402
from models import Decoder  # noqa: E402


def main(argv=None):
    out = (argv or sys.argv[1:] or [os.path.join(HERE, "..", "..", "test", "fixtures", "cached-decoder")])[0]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(5)
    torch.set_num_threads(1)
    V, D = 30, 16
    dec = Decoder(vocab=V, dim=D, width=32, layers=2, heads=4, prefix_len=3, ctx=24).eval()
    with torch.no_grad():
        for p in dec.parameters():  # larger weights than the init so that greedy paths differ between prefixes
            p.add_(torch.randn_like(p) * 0.2)
        dec.head.bias[2] += 2.7  # make <eos> likely enough that greedy sequences end at different lengths
        torch.onnx.export(dec, (torch.randn(1, D), torch.tensor([[1, 5, 6]])), os.path.join(out, "decoder_plain.onnx"),
                          input_names=["prefix", "input_ids"], output_names=["logits"], opset_version=14,
                          dynamic_axes={"prefix": {0: "batch"}, "input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}})
    export_cached(dec, D, os.path.join(out, "decoder.onnx"), os.path.join(out, "decoder_step.onnx"))
    init, step = cache_specs(dec, V, D)
    spec = {"id": "tiny", "file": "decoder.onnx", "kind": "prefix-tokens", "noiseVariance": 0.016, **init,
            "cache": {"file": "decoder_step.onnx", **step}}
    vocab = ["<pad>", "<bos>", "<eos>", "<unk>"] + [f"w{i}" for i in range(V - 4)]
    with open(os.path.join(out, "tokenizer.json"), "w") as f:
        json.dump({"type": "word", "vocab": vocab, "pad": 0, "bos": 1, "eos": 2, "unk": 3, "maxLength": 24, "lowercase": True}, f)
    with open(os.path.join(out, "spec.json"), "w") as f:
        json.dump(spec, f, indent=1)
    print("wrote", out)


if __name__ == "__main__":
    main()
