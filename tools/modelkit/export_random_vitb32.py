#!/usr/bin/python3
"""Export RANDOM-weight ONNX models with the real CLIP ViT-B/32 shapes, for benchmarks only (never commit them).

  /usr/bin/python3 tools/modelkit/export_random_vitb32.py [CACHE_DIR]      (default tools/modelkit/work/vitb32)

Writes CACHE_DIR/{image_encoder.onnx, text_encoder.onnx, decoder.onnx, decoder_step.onnx, tokenizer.json, pack.json}:
- image tower: 224 px, 32 px patches (7x7 + CLS = 50 tokens), 12 layers, width 768, 12 heads, MLP 3072, proj 512.
  pixel_values [B,3,224,224] -> image_embeds [B,512], token_embeds [B,50,512], cls_attention [B,50,50]
  (the names of docs/pack-format.md; image_embeds as in the Hugging Face CLIP export).
- text tower: vocab 49408, context 77, 12 layers, width 512, 8 heads, MLP 2048, proj 512, pooled at the EOT
  token (the highest id, 49407, as in CLIP). input_ids, attention_mask [B,T] int64 -> text_embeds [B,512].
- decoder (prefix-tokens, DeCap-sized by default: 4 layers, width 768, 12 heads, vocab 49408, 10 prefix tokens):
  prefix [B,512], input_ids [B,T] -> logits [B,T,49408], present (KV cache); decoder_step.onnx continues one
  token at a time from the cache (decoder_cache.py, pack decoder `cache`).
- pack.json in caption-studio-pack/1 form (CLIP preprocessing constants, a placeholder word tokenizer of
  49408 entries so the engine can drive the models end to end); the outputs are meaningless, only the cost is real.
Weights are N(0, 0.02) (fixed seed), fp32. About 1 GB on disk in total.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from decoder_cache import cache_specs, export_cached  # noqa: E402
from kit_export import sha256  # noqa: E402
from models import Decoder, ImageTower, TextExport, TextTower  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def randomise(m, std=0.02):
    with torch.no_grad():
        for n, p in m.named_parameters():
            if p.ndim >= 2 or "cls" in n or "pos" in n:
                p.normal_(0, std)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cache", nargs="?", default=os.path.join(HERE, "work", "vitb32"))
    ap.add_argument("--image-layers", type=int, default=12)
    ap.add_argument("--text-layers", type=int, default=12)
    ap.add_argument("--decoder-layers", type=int, default=4)
    ap.add_argument("--decoder-width", type=int, default=768)
    ap.add_argument("--prefix-len", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    os.makedirs(a.cache, exist_ok=True)
    t0 = time.time()
    V, D = 49408, 512
    img = ImageTower(224, 32, 768, a.image_layers, 12, 3072, D).eval()
    txt = TextTower(V, 512, a.text_layers, 8, 2048, D, ctx=77).eval()
    dec = Decoder(V, D, a.decoder_width, a.decoder_layers, 12, a.prefix_len, ctx=77).eval()
    for m in (img, txt, dec):
        randomise(m)
    with torch.no_grad():
        torch.onnx.export(img, (torch.randn(1, 3, 224, 224),), os.path.join(a.cache, "image_encoder.onnx"), input_names=["pixel_values"],
                          output_names=["image_embeds", "token_embeds", "cls_attention"], opset_version=14,
                          dynamic_axes={k: {0: "batch"} for k in ("pixel_values", "image_embeds", "token_embeds", "cls_attention")})
        ids = torch.tensor([[49406, 320, 1125, 49407, 0]])
        torch.onnx.export(TextExport(txt), (ids, (ids != 0).long()), os.path.join(a.cache, "text_encoder.onnx"), input_names=["input_ids", "attention_mask"],
                          output_names=["text_embeds"], opset_version=14,
                          dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}, "text_embeds": {0: "batch"}})
    # the decoder with a KV cache: decoder.onnx (also outputs `present`) + decoder_step.onnx (decoder_cache.py)
    export_cached(dec, D, os.path.join(a.cache, "decoder.onnx"), os.path.join(a.cache, "decoder_step.onnx"))
    dec_init, dec_step = cache_specs(dec, V, D)
    # placeholder word tokenizer with the real vocabulary size (ids 0..3 specials as in the pack format)
    vocab = ["<pad>", "<bos>", "<eos>", "<unk>"] + [f"w{i}" for i in range(V - 4)]
    with open(os.path.join(a.cache, "tokenizer.json"), "w") as f:
        json.dump({"type": "word", "vocab": vocab, "pad": 0, "bos": 1, "eos": 2, "unk": 3, "maxLength": 77, "lowercase": True}, f)
    files = ["image_encoder.onnx", "text_encoder.onnx", "decoder.onnx", "decoder_step.onnx", "tokenizer.json"]
    pack = {
        "format": "caption-studio-pack/1", "id": "random-vitb32", "version": "0.0.0", "licence": "MIT",
        "description": "RANDOM weights with CLIP ViT-B/32 shapes, for benchmarks only (tools/modelkit/export_random_vitb32.py)",
        "embedDim": D,
        "preprocess": {"size": 224, "resize": "shortest-edge", "kernel": "cubic", "mean": [0.48145466, 0.4578275, 0.40821073],
                       "std": [0.26862954, 0.26130258, 0.27577711]},
        "tokenizer": {"file": "tokenizer.json", "type": "word"},
        "models": {
            "image": {"file": "image_encoder.onnx", "roles": {"pixels": "pixel_values", "embeds": "image_embeds", "tokens": "token_embeds", "attention": "cls_attention"},
                      "patchGrid": [7, 7],
                      "inputs": [{"name": "pixel_values", "shape": ["batch", 3, 224, 224], "dtype": "float32"}],
                      "outputs": [{"name": "image_embeds", "shape": ["batch", D], "dtype": "float32"},
                                  {"name": "token_embeds", "shape": ["batch", 50, D], "dtype": "float32"},
                                  {"name": "cls_attention", "shape": ["batch", 50, 50], "dtype": "float32"}]},
            "text": {"file": "text_encoder.onnx", "roles": {"ids": "input_ids", "mask": "attention_mask", "embeds": "text_embeds"},
                     "inputs": [{"name": "input_ids", "shape": ["batch", "seq"], "dtype": "int64"}, {"name": "attention_mask", "shape": ["batch", "seq"], "dtype": "int64"}],
                     "outputs": [{"name": "text_embeds", "shape": ["batch", D], "dtype": "float32"}]},
        },
        "decoders": [{"id": "random", "file": "decoder.onnx", "noiseVariance": 0.016, "kind": "prefix-tokens", "description": "random weights",
                      **dec_init, "cache": {"file": "decoder_step.onnx", **dec_step}}],
        "defaultDecoder": "random",
        "defaults": {"align": "off", "retrieval": False, "maxLength": 20},
        "files": [{"path": f, "bytes": os.path.getsize(os.path.join(a.cache, f)), "sha256": sha256(os.path.join(a.cache, f))} for f in files],
        "provenance": {"tool": "tools/modelkit/export_random_vitb32.py", "seed": a.seed,
                       "params": {"image": sum(p.numel() for p in img.parameters()), "text": sum(p.numel() for p in txt.parameters()),
                                  "decoder": sum(p.numel() for p in dec.parameters())}, "seconds": round(time.time() - t0, 1)},
    }
    with open(os.path.join(a.cache, "pack.json"), "w") as f:
        json.dump(pack, f, indent=2)
    print(json.dumps({"cache": a.cache, **pack["provenance"]}))


if __name__ == "__main__":
    main()
