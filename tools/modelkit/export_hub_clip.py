#!/usr/bin/python3
"""Export a RANDOM-weight CLIP in the transformers.js hub layout of `Xenova/clip-vit-base-patch32`
(docs: shared real-packs.md §1), for tests against a local fake hub. Never commit its output.

  /usr/bin/python3 tools/modelkit/export_hub_clip.py --out DIR --vocab-size N [--width 64] [--layers 2]
      [--heads 4] [--text-width 64] [--text-layers 2] [--text-heads 4] [--seed 0] [--full-size] [--int8]
      [--check-out DIR2]

Writes DIR/:
  onnx/vision_model_quantized.onnx  pixel_values float32 [batch_size,3,224,224] -> image_embeds [batch_size,512]
  onnx/text_model_quantized.onnx    input_ids int64 [batch_size,sequence_length] -> text_embeds [batch_size,512]
  config.json, preprocessor_config.json, tokenizer_config.json, MANIFEST.json (bytes + sha256 of every file)
Without --int8 the *_quantized.onnx files are fp32 graphs (same names and I/O as the real ones, not int8). With
--int8 they are dynamically quantized 8-bit graphs (hub_int8.py) and the fp32 graphs are written as onnx/vision_model.onnx
and onnx/text_model.onnx, as in the real repository. The tokenizer.json is not written (the TypeScript tests
build one with --vocab-size entries, SOT = N-2, EOT = N-1).
--check-out DIR2 writes fixed inputs and the torch outputs (reference_outputs of hf_clip.py) as raw
little-endian arrays + check.json, for the onnxruntime-node comparison.
Same arguments -> byte-identical files (fixed seed, one torch thread).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import onnx
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from hf_clip import (PROJECTION_DIM, CLIPTextModelWithProjection, CLIPVisionModelWithProjection, count_params,  # noqa: E402
                     randomise, reference_outputs, tower_config)
from hub_int8 import quantize_weights  # noqa: E402
from kit_export import sha256  # noqa: E402

OPSET = 14  # optimum's default for CLIP
MAX_POSITIONS = 77
FULL = {"width": 768, "layers": 12, "heads": 12, "text_width": 512, "text_layers": 12, "text_heads": 8}
PREPROCESSOR = {
    "crop_size": 224, "do_center_crop": True, "do_normalize": True, "do_resize": True, "do_rescale": True,
    "rescale_factor": 1 / 255, "feature_extractor_type": "CLIPFeatureExtractor", "image_processor_type": "CLIPImageProcessor",
    "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
    "resample": 3, "size": {"shortest_edge": 224},
}
TOKENIZER_CONFIG = {
    "add_prefix_space": False, "bos_token": "<|startoftext|>", "clean_up_tokenization_spaces": True, "do_lower_case": True,
    "eos_token": "<|endoftext|>", "errors": "replace", "model_max_length": 77, "pad_token": "<|endoftext|>",
    "tokenizer_class": "CLIPTokenizer", "unk_token": "<|endoftext|>",
}


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--vocab-size", type=int, required=True)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--text-width", type=int, default=64)
    ap.add_argument("--text-layers", type=int, default=2)
    ap.add_argument("--text-heads", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--full-size", action="store_true", help="real ViT-B/32 sizes: vision 768x12 (12 heads), text 512x12 (8 heads)")
    ap.add_argument("--int8", action="store_true", help="dynamically quantized MatMul/Conv/Gather weights (hub_int8.py) in the *_quantized files")
    ap.add_argument("--check-out", help="directory for fixed inputs and torch reference outputs")
    a = ap.parse_args(argv)
    if a.full_size:
        for k, v in FULL.items():
            setattr(a, k, v)
    if a.vocab_size < 3:
        ap.error("--vocab-size must be at least 3 (SOT and EOT are the last two ids)")
    for what, width, heads in (("vision", a.width, a.heads), ("text", a.text_width, a.text_heads)):
        if width <= 0 or heads <= 0 or width % heads != 0:
            ap.error(f"{what}: width {width} must be a positive multiple of its heads ({heads})")
    for what, n in (("--layers", a.layers), ("--text-layers", a.text_layers)):
        if n < 1:
            ap.error(f"{what} must be at least 1")
    return a


def build_models(a):
    """The two towers with the seeded random weights of these arguments (the same every call)."""
    vision = CLIPVisionModelWithProjection(tower_config(a.width, a.layers, a.heads)).eval()
    text = CLIPTextModelWithProjection(tower_config(a.text_width, a.text_layers, a.text_heads), a.vocab_size, MAX_POSITIONS).eval()
    randomise(vision, a.seed * 2 + 1)
    randomise(text, a.seed * 2 + 2)
    return vision, text


def sample_ids(vocab_size: int, rows: list[int], seed: int) -> torch.Tensor:
    """SOT, random ordinary ids, EOT at position rows[i]-1, then padding with EOT (CLIP pads with <|endoftext|>)."""
    g = torch.Generator().manual_seed(seed)
    T = max(rows)
    ids = torch.full((len(rows), T), vocab_size - 1, dtype=torch.long)
    for i, n in enumerate(rows):
        ids[i, 0] = vocab_size - 2
        ids[i, 1:n - 1] = torch.randint(0, vocab_size - 2, (n - 2,), generator=g)
    return ids


def export_towers(vision, text, onnx_dir, suffix, vocab_size):
    os.makedirs(onnx_dir, exist_ok=True)
    vpath, tpath = os.path.join(onnx_dir, f"vision_model{suffix}.onnx"), os.path.join(onnx_dir, f"text_model{suffix}.onnx")
    with torch.no_grad():
        torch.onnx.export(vision, (torch.zeros(1, 3, 224, 224),), vpath, input_names=["pixel_values"], output_names=["image_embeds"],
                          opset_version=OPSET, do_constant_folding=True,
                          dynamic_axes={"pixel_values": {0: "batch_size"}, "image_embeds": {0: "batch_size"}})
        torch.onnx.export(text, (sample_ids(vocab_size, [5, 9], 0),), tpath, input_names=["input_ids"], output_names=["text_embeds"],
                          opset_version=OPSET, do_constant_folding=True,
                          dynamic_axes={"input_ids": {0: "batch_size", 1: "sequence_length"}, "text_embeds": {0: "batch_size"}})
    return vpath, tpath


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")


def clip_config(a):
    def tower(width, layers, heads):
        return {"hidden_size": width, "num_hidden_layers": layers, "num_attention_heads": heads, "intermediate_size": 4 * width,
                "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5, "attention_dropout": 0.0, "dropout": 0.0,
                "initializer_range": 0.02, "initializer_factor": 1.0, "projection_dim": PROJECTION_DIM}
    return {
        "_name_or_path": "random-weight export of tools/modelkit/export_hub_clip.py (not openai/clip-vit-base-patch32)",
        "architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": PROJECTION_DIM,
        "logit_scale_init_value": 2.6592, "initializer_factor": 1.0,
        "vision_config": {**tower(a.width, a.layers, a.heads), "model_type": "clip_vision_model", "image_size": 224,
                          "patch_size": 32, "num_channels": 3},
        "text_config": {**tower(a.text_width, a.text_layers, a.text_heads), "model_type": "clip_text_model", "vocab_size": a.vocab_size,
                        "max_position_embeddings": MAX_POSITIONS, "bos_token_id": a.vocab_size - 2, "eos_token_id": a.vocab_size - 1,
                        "pad_token_id": 1},
    }


def save_raw(d, name, t):
    arr = t.detach().numpy()
    dtype = "int64" if arr.dtype == np.int64 else "float32"
    arr.astype("<i8" if dtype == "int64" else "<f4").tofile(os.path.join(d, name + ".bin"))
    return {"file": name + ".bin", "shape": list(arr.shape), "dtype": dtype}


def write_check(vision, text, a, d):
    """Fixed inputs and the torch outputs for them: vision batch 2, text rows of lengths 5, 12 and 77."""
    os.makedirs(d, exist_ok=True)
    px = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(a.seed + 100))
    ids = sample_ids(a.vocab_size, [5, 12, MAX_POSITIONS], a.seed + 101)
    ref = reference_outputs(vision, px)
    with torch.no_grad():
        te = text(ids)
    write_json(os.path.join(d, "check.json"), {
        "vision": {"inputs": {"pixel_values": save_raw(d, "pixel_values", px)},
                   "outputs": {k: save_raw(d, k, v) for k, v in ref.items()}},
        "text": {"inputs": {"input_ids": save_raw(d, "input_ids", ids)}, "outputs": {"text_embeds": save_raw(d, "text_embeds", te)}},
    })


def main(argv=None):
    a = parse_args(argv)
    torch.set_num_threads(1)
    t0 = time.time()
    vision, text = build_models(a)
    onnx_dir = os.path.join(a.out, "onnx")
    vpath, tpath = export_towers(vision, text, onnx_dir, "" if a.int8 else "_quantized", a.vocab_size)
    files = [vpath, tpath]
    stages = {"export": round(time.time() - t0, 1)}
    if a.int8:
        # the Conv rule of transformers.js' quantize script: uint8 weights for the vision graph, int8 for text
        for src, wtype in ((vpath, "uint8"), (tpath, "int8")):
            q, counts = quantize_weights(onnx.load(src), wtype)
            onnx.checker.check_model(q)
            dst = src[:-len(".onnx")] + "_quantized.onnx"
            onnx.save(q, dst)
            files.append(dst)
            print(f"{os.path.basename(dst)}: {wtype} weights, rewritten nodes {counts}", file=sys.stderr)
        stages["int8"] = round(time.time() - t0 - stages["export"], 1)
    write_json(os.path.join(a.out, "config.json"), clip_config(a))
    write_json(os.path.join(a.out, "preprocessor_config.json"), PREPROCESSOR)
    write_json(os.path.join(a.out, "tokenizer_config.json"), TOKENIZER_CONFIG)
    files += [os.path.join(a.out, f) for f in ("config.json", "preprocessor_config.json", "tokenizer_config.json")]
    manifest = {
        "format": "hub-clip-export/1", "tool": "tools/modelkit/export_hub_clip.py", "weights": "random", "seed": a.seed,
        "int8": a.int8, "layout": "Xenova/clip-vit-base-patch32",
        "params": {"vision": count_params(vision), "text": count_params(text)},
        "files": sorted(({"path": os.path.relpath(f, a.out), "bytes": os.path.getsize(f), "sha256": sha256(f)} for f in files),
                        key=lambda e: e["path"]),
    }
    write_json(os.path.join(a.out, "MANIFEST.json"), manifest)
    if a.check_out:
        t1 = time.time()
        write_check(vision, text, a, a.check_out)
        stages["check"] = round(time.time() - t1, 1)
    print(json.dumps({"out": a.out, "seconds": round(time.time() - t0, 1), "stages": stages, "params": manifest["params"], "int8": a.int8}))


if __name__ == "__main__":
    main()
