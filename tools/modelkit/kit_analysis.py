"""build_pack.py stages "gap+retrieval+realign" and "eval": modality-gap statistics, retrieval, closed-form
realignment (Procrustes, ridge), MacCap's patch route in torch, and caption scores (CIDEr-D, BLEU-4, truth)."""
from __future__ import annotations

import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import metrics as M  # noqa: E402
import shapesworld as sw  # noqa: E402
# statistics


def gap_stats(img_n, txt_n):
    d = (img_n - txt_n).double()
    mean = d.mean(0)
    r = d - mean
    std = r.std(0, unbiased=False)
    z = r / std.clamp(min=1e-12)
    skew = (z**3).mean(0)
    kurt = (z**4).mean(0) - 3.0
    return {
        "mean": mean.float(),
        "std": std.float(),
        "summary": {
            "pairs": int(len(d)),
            "gapNorm": float(mean.norm()),
            "meanCosine": float((img_n * txt_n).sum(1).mean()),
            "residualVarianceMean": float((std**2).mean()),
            "residualStdMean": float(std.mean()),
            "residualStdMin": float(std.min()),
            "residualStdMax": float(std.max()),
            "skewAbsMean": float(skew.abs().mean()),
            "skewAbsMax": float(skew.abs().max()),
            "excessKurtosisMean": float(kurt.mean()),
            "excessKurtosisMedian": float(kurt.median()),
            "excessKurtosisMax": float(kurt.max()),
            "note": "per-dimension residuals r = (img_n - txt_n) - mean; skew and excess kurtosis per dimension, summarised (0 and 0 for a Gaussian)",
        },
    }


def retrieval(img_n, txt_n, owner, scenes, texts):
    """img_n [N,D]; txt_n [M,D] with owner[m] = image index. Also i2t R@1 counting any caption true of the image."""
    sim = img_n @ txt_n.t()
    owner = torch.tensor(owner)
    top = sim.topk(5, dim=1).indices
    hit = owner[top] == torch.arange(len(img_n))[:, None]
    i2t1 = float(hit[:, :1].any(1).float().mean())
    i2t5 = float(hit.any(1).float().mean())
    true1 = float(np.mean([sw.caption_is_true(texts[int(top[i, 0])], scenes[i]) for i in range(len(img_n))]))
    topi = sim.t().topk(5, dim=1).indices
    hit2 = topi == owner[:, None]
    return {"i2t_R@1": i2t1, "i2t_R@5": i2t5, "t2i_R@1": float(hit2[:, :1].any(1).float().mean()),
            "t2i_R@5": float(hit2.any(1).float().mean()), "i2t_R@1_anyTrue": true1,
            "images": int(len(img_n)), "captions": int(len(txt_n))}


def fit_procrustes(X, Y):
    U, _, Vt = torch.linalg.svd((X.t() @ Y).double())
    return (U @ Vt).float()


def fit_ridge(X, Y, lam):
    X, Y = X.double(), Y.double()
    A = X.t() @ X + lam * torch.eye(X.shape[1], dtype=torch.float64)
    return torch.linalg.solve(A, X.t() @ Y).float()


def apply_w(x_n, W):
    return F.normalize(x_n @ W, dim=-1)


def patch_route(g, tokens, attn, top_k=10, weight=1.0):
    """MacCap subregion aggregation as the engine's `patch` route (src/main/engine/regions.ts)."""
    T_n = F.normalize(tokens, dim=-1)
    a = attn[:, 0]  # [B, T]
    sel = a.topk(top_k, dim=1).indices  # [B,k]
    w = torch.softmax(torch.gather(attn, 1, sel[:, :, None].expand(-1, -1, attn.shape[2])), dim=-1)  # [B,k,T]
    s_i = F.normalize(torch.einsum("bkt,btd->bkd", w, T_n), dim=-1)
    alpha = torch.gather(a, 1, sel)
    alpha = alpha / alpha.sum(1, keepdim=True)
    s = F.normalize((alpha[:, :, None] * s_i).sum(1), dim=-1)
    return F.normalize(F.normalize(g, dim=-1) + weight * s, dim=-1)


def score(caps, scenes, extra=None):
    hyps = {s["file_name"]: c for s, c in zip(scenes, caps)}
    refs = {s["file_name"]: s["captions"] for s in scenes}
    c, _ = M.cider_d(hyps, refs)
    r = {"CIDEr-D": round(c, 4), "BLEU-4": round(M.bleu4(hyps, refs), 4),
         "truth": round(float(np.mean([sw.caption_is_true(h, s) for h, s in zip(caps, scenes)])), 4)}
    held = [s for s in scenes if any((o["colour"], o["shape"]) in sw.HELDOUT_SET for o in s["objects"])]
    if held:
        # share of images where a caption names a held-out pair that is in the image (and is true)
        named = [any(p in sw.HELDOUT_SET and any((o["colour"], o["shape"]) == p for o in s["objects"]) for p in sw.named_pairs(h))
                 and sw.caption_is_true(h, s) for h, s in zip(caps, scenes)]
        r["heldoutPairNamed"] = round(float(np.mean(named)), 4)
    if extra:
        r.update(extra)
    return r
