"""build_pack.py stages "export" and "pack": ONNX export, the onnxruntime-node check against torch, file hashes
and provenance."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from kit_common import CLIP_CFG, REPO, log, to_input  # noqa: E402
from models import BOS, ImageExport, TextExport  # noqa: E402
# ONNX export + check in onnxruntime-node


def export_onnx(clip, decoders, outdir, work):
    os.makedirs(outdir, exist_ok=True)
    clip.eval()
    img_ex = ImageExport(clip.visual)
    px = torch.randn(3, 3, 64, 64)
    torch.onnx.export(img_ex, (px,), os.path.join(outdir, "image_encoder.onnx"), input_names=["pixel_values"],
                      output_names=["image_embeds", "token_embeds", "cls_attention"], opset_version=14,
                      dynamic_axes={"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}, "token_embeds": {0: "batch"}, "cls_attention": {0: "batch"}})

    ids = torch.tensor([[1, 5, 6, 2, 0], [1, 7, 8, 9, 2]])
    mask = (ids != 0).long()
    mask[:, 0] = 1
    torch.onnx.export(TextExport(clip.text), (ids, mask), os.path.join(outdir, "text_encoder.onnx"), input_names=["input_ids", "attention_mask"],
                      output_names=["text_embeds"], opset_version=14,
                      dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}, "text_embeds": {0: "batch"}})
    for d_id, (dec, fname) in decoders.items():
        p = F.normalize(torch.randn(2, CLIP_CFG["dim"]), dim=-1)
        torch.onnx.export(dec, (p, torch.tensor([[1, 5, 6], [1, 7, 8]])), os.path.join(outdir, fname), input_names=["prefix", "input_ids"],
                          output_names=["logits"], opset_version=14,
                          dynamic_axes={"prefix": {0: "batch"}, "input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}})


def check_onnx(clip, decoders, outdir, work, tok, sample_px, mean, std):
    """Run every exported model in onnxruntime-node on fresh inputs and compare with torch fp32."""
    cdir = os.path.join(work, "onnx_check")
    os.makedirs(cdir, exist_ok=True)
    cases = []

    def save(name, t):
        path = os.path.join(cdir, name + ".bin")
        arr = t.detach().numpy()
        arr.astype(np.int64 if arr.dtype == np.int64 else np.float32).tofile(path)
        return {"file": path, "shape": list(arr.shape), "dtype": "int64" if arr.dtype == np.int64 else "float32"}

    with torch.no_grad():
        px = to_input(sample_px[:5], mean, std)
        e, t, a = clip.visual(px)
        cases.append({"model": os.path.join(outdir, "image_encoder.onnx"), "inputs": {"pixel_values": save("px", px)},
                      "outputs": {"image_embeds": save("ie", e), "token_embeds": save("te", t), "cls_attention": save("ca", a)}})
        ids, mask = tok.batch(["a red square", "a large blue circle to the left of an orange star", "two shapes on a gray background"])
        te = clip.text(ids, mask)
        cases.append({"model": os.path.join(outdir, "text_encoder.onnx"), "inputs": {"input_ids": save("ids", ids), "attention_mask": save("mask", mask)},
                      "outputs": {"text_embeds": save("txe", te)}})
        for d_id, (dec, fname) in decoders.items():
            p = F.normalize(torch.randn(4, CLIP_CFG["dim"], generator=torch.Generator().manual_seed(5)), dim=-1)
            for T in (1, 7):
                ii = torch.randint(4, len(tok.vocab), (4, T), generator=torch.Generator().manual_seed(T))
                ii[:, 0] = BOS
                lg = dec(p, ii)
                cases.append({"model": os.path.join(outdir, fname), "inputs": {"prefix": save(f"p_{d_id}_{T}", p), "input_ids": save(f"i_{d_id}_{T}", ii)},
                              "outputs": {"logits": save(f"l_{d_id}_{T}", lg)}})
    spec = os.path.join(cdir, "cases.json")
    json.dump(cases, open(spec, "w"))
    res = subprocess.run(["node", os.path.join(HERE, "check_onnx.cjs"), spec], capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError("onnx check failed:\n" + res.stdout + res.stderr)
    out = json.loads(res.stdout.strip().splitlines()[-1])
    worst = max(c["maxAbsDiff"] for c in out)
    log(f"onnxruntime-node vs torch: worst max|diff| = {worst:.2e}")
    if worst > 1e-4:
        raise RuntimeError(f"ONNX outputs differ from torch by {worst}")
    return worst



def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def git_commit():
    try:
        return subprocess.run(["git", "-C", REPO, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip() or None
    except Exception:
        return None


def kit_dirty():
    """True when tools/modelkit has uncommitted changes (the recorded commit then does not fully describe the tool)."""
    try:
        out = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--", "tools/modelkit"], capture_output=True, text=True).stdout
        return bool(out.strip())
    except Exception:
        return None


def write_f32(path, t):
    np.ascontiguousarray(t.detach().numpy(), dtype="<f4").tofile(path)
