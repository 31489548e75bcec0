#!/usr/bin/python3
"""The "synthetic generator" of the PCM-Net training path: it plays the text-to-image model.

PCM-Net (methods.md §4) trains a captioner on Stable Diffusion images generated from the training captions,
whose salient regions are often unfaithful to the caption. Here the role of the text-to-image model is played
by re-rendering the caption's ShapesWorld scene with controllable defects in its objects (the salient regions):

- colour: the object's colour changed to another colour (re-jittered);
- shape: the object's shape changed to another shape;
- missing: the object is not drawn;
- smear: the object is drawn, then smeared (Gaussian blur blended over a disc 1.4·r around it);
- extra: one more object (random colour, shape, size, non-overlapping) that no caption asked for.

Each object gets a defect with probability `rate`, the defect type uniform over the first four; independently,
each image gets an extra object with probability `rate / 2`. A changed colour or shape, and an extra object,
never create a held-out colour–shape pair (the spec keeps them out of every training image).

[Note: measured defect rate] `defect_stats` measures what the defects did, not only what was asked: the share
of images with at least one defect, of objects with a defect (by type), and of (image, caption) pairs whose
caption is no longer true of the scene that was actually drawn (the truth checker on the defective scene; a
smeared object still counts as present, so smears never falsify a caption by this measure, which the report
says separately).

Clean renders are never used to train the PCM-Net decoder: train_pcm.py reads only `render_defective` output.

CLI (a preview): /usr/bin/python3 tools/modelkit/synth_defects.py --out DIR --count 24 --rate 0.3 [--size 256]
writes DIR/<file>.png (defective), DIR/<file>.clean.png, DIR/defects.json (scenes, defects, stats).
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import sys

import numpy as np
from PIL import Image, ImageFilter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shapesworld as sw  # noqa: E402

DEFECT_TYPES = ("colour", "shape", "missing", "smear")


def _other(rng: np.random.Generator, options, current):
    rest = [x for x in options if x != current]
    return rest[int(rng.integers(len(rest)))]


def _allowed(colour: str, shape: str) -> bool:
    return (colour, shape) not in sw.HELDOUT_SET


def _extra_object(rng: np.random.Generator, objects: list[dict]) -> dict | None:
    while True:
        colour = list(sw.COLOURS)[int(rng.integers(len(sw.COLOURS)))]
        shape = sw.SHAPES[int(rng.integers(len(sw.SHAPES)))]
        if _allowed(colour, shape):
            break
    size = "small" if rng.random() < 0.5 else "large"
    lo, hi = sw.SIZES[size]
    r = float(rng.uniform(lo, hi)) / 2.0
    for _ in range(50):
        cx = float(rng.uniform(r + 1, sw.L - r - 1))
        cy = float(rng.uniform(r + 1, sw.L - r - 1))
        if all(math.hypot(cx - p["cx"], cy - p["cy"]) > r + p["r"] + 3 for p in objects):
            jit = rng.integers(-20, 21, size=3)
            rgb = [int(v) for v in np.clip(np.asarray(sw.COLOURS[colour]) + jit, 0, 255)]
            return {"colour": colour, "shape": shape, "size": size, "cx": cx, "cy": cy, "r": r, "rgb": rgb}
    return None  # no room: no extra object


def defect_scene(scene: dict, rng: np.random.Generator, rate: float) -> tuple[dict, list[dict]]:
    """A copy of `scene` with defects (see module doc) and the list of defects applied, each
    {"type", "object"} (object index in the original scene; -1 for an extra object)."""
    out = copy.deepcopy(scene)
    defects: list[dict] = []
    kept: list[dict] = []
    for i, o in enumerate(out["objects"]):
        if rng.random() >= rate:
            kept.append(o)
            continue
        kind = DEFECT_TYPES[int(rng.integers(len(DEFECT_TYPES)))]
        if kind == "colour":
            for _ in range(20):
                c = _other(rng, list(sw.COLOURS), o["colour"])
                if _allowed(c, o["shape"]):
                    break
            o["colour"] = c
            jit = rng.integers(-20, 21, size=3)
            o["rgb"] = [int(v) for v in np.clip(np.asarray(sw.COLOURS[c]) + jit, 0, 255)]
        elif kind == "shape":
            for _ in range(20):
                s = _other(rng, sw.SHAPES, o["shape"])
                if _allowed(o["colour"], s):
                    break
            o["shape"] = s
        elif kind == "smear":
            o["smear"] = True
        defects.append({"type": kind, "object": i})
        if kind != "missing":
            kept.append(o)
    out["objects"] = kept
    if rng.random() < rate / 2:
        extra = _extra_object(rng, kept)
        if extra is not None:
            kept.append(extra)
            defects.append({"type": "extra", "object": -1})
    return out, defects


def render_defective(scene: dict, size: int = 64) -> np.ndarray:
    """Render a (defective) scene: sw.render, then each object marked "smear" blurred into its surroundings."""
    img = sw.render(scene, size)
    smeared = [o for o in scene["objects"] if o.get("smear")]
    if not smeared:
        return img
    s = size / sw.L
    out = img.astype(np.float32)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    for o in smeared:
        blur = np.asarray(Image.fromarray(img).filter(ImageFilter.GaussianBlur(radius=0.45 * o["r"] * s)), dtype=np.float32)
        d = np.hypot(xx - o["cx"] * s, yy - o["cy"] * s) / (1.4 * o["r"] * s)
        w = np.clip(1.5 - d, 0.0, 1.0)[:, :, None]  # 1 inside ~0.5·1.4r, fading to 0 at 1.4r·1.5
        out = out * (1 - w) + blur * w
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def defect_stats(scenes: list[dict], defective: list[dict], defects: list[list[dict]]) -> dict:
    """Measured defect rates (see [Note: measured defect rate])."""
    n_obj = sum(len(s["objects"]) for s in scenes)
    by_type = {t: 0 for t in (*DEFECT_TYPES, "extra")}
    for ds in defects:
        for d in ds:
            by_type[d["type"]] += 1
    pairs = false_pairs = 0
    for s, dsc in zip(scenes, defective):
        for c in s["captions"]:
            pairs += 1
            false_pairs += 0 if sw.caption_is_true(c, dsc) else 1
    return {
        "images": len(scenes),
        "imagesWithDefect": round(sum(1 for d in defects if d) / max(1, len(scenes)), 4),
        "objects": n_obj,
        "objectDefectRate": round(sum(by_type[t] for t in DEFECT_TYPES) / max(1, n_obj), 4),
        "byType": by_type,
        "pairs": pairs,
        "pairsCaptionFalse": round(false_pairs / max(1, pairs), 4),
    }


def defective_split(scenes: list[dict], rate: float, seed: int, size: int = 64):
    """Defective renders of `scenes` (uint8 [N, size, size, 3]), the defective scenes, defects and stats."""
    rng = np.random.default_rng([int(seed), 7])
    dsc, dfs, px = [], [], []
    for s in scenes:
        d, f = defect_scene(s, rng, rate)
        dsc.append(d)
        dfs.append(f)
        px.append(render_defective(d, size))
    return np.stack(px) if px else np.zeros((0, size, size, 3), np.uint8), dsc, dfs, defect_stats(scenes, dsc, dfs)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--count", type=int, default=24)
    ap.add_argument("--rate", type=float, default=0.3)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    if not 0 <= a.rate <= 1:
        raise SystemExit("--rate must be in [0, 1]")
    os.makedirs(a.out, exist_ok=True)
    scenes = sw.generate_scenes("train", a.count, a.seed)
    px, dsc, dfs, stats = defective_split(scenes, a.rate, a.seed, a.size)
    for s, p in zip(scenes, px):
        Image.fromarray(p).save(os.path.join(a.out, s["file_name"]))
        Image.fromarray(sw.render(s, a.size)).save(os.path.join(a.out, s["file_name"].replace(".png", ".clean.png")))
    sw.dump_json(os.path.join(a.out, "defects.json"), {"rate": a.rate, "stats": stats, "scenes": dsc, "defects": dfs}, indent=1)
    print(json.dumps(stats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
