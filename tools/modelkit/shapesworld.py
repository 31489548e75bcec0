#!/usr/bin/python3
"""ShapesWorld: the procedural image-caption world behind the `shapes-demo` pack.

Follows ../../../shared/specs/shapesworld.md (canvas, background, objects, held-out pairs, caption grammar,
truth of a caption, splits). Needs only numpy and PIL.

Design (choices where the spec is silent are documented in tools/modelkit/README.md):
- Scene generation and rendering are separate. A scene (a plain dict, JSON-serialisable) holds every random
  quantity needed to render it (jittered colours, gradient, noise sigma and a noise seed), so a scene renders
  to the same bytes at a given size whenever it is rendered; counts and grammar can be checked without pixels.
- Each split draws its scenes sequentially from its own generator seeded with (seed, split code), so the first
  N scenes of a split do not depend on how many are requested.
- `caption_is_true(caption, scene)` is a pure function of a caption string and a scene dict
  (shapesworld_truth.py; the vocabulary is in shapesworld_spec.py; both re-exported here).

CLI:  /usr/bin/python3 tools/modelkit/shapesworld.py --out DIR --split test --size 64 --count N --seed S
writes DIR/<split>_NNNNN.png, DIR/scenes.json, DIR/refs.json, DIR/refs_coco.json.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from shapesworld_spec import (BACKGROUNDS, COLOURS, COUNT_WORDS, GRAMMAR_WORDS, HELDOUT_PAIRS, HELDOUT_SET, L,  # noqa: E402,F401
                              RELATIONS, SHAPES, SIZES, SPLIT_CODES, SPLITS, article as _article)
# the vocabulary and the truth checker live in their own modules; re-exported here for callers of
# `shapesworld` (build_pack.py, the tests, the TypeScript cross-check)
from shapesworld_truth import caption_is_true, named_pairs, parse_caption, tokenize  # noqa: E402,F401

# ----------------------------------------------------------------------------------------------------------
# Scene generation


def _jitter(rng: np.random.Generator, rgb, amount: int) -> list[int]:
    j = rng.integers(-amount, amount + 1, size=3)
    return [int(v) for v in np.clip(np.asarray(rgb) + j, 0, 255)]


def _sample_object(rng: np.random.Generator, pair=None) -> dict:
    if pair is None:
        while True:
            colour = list(COLOURS)[int(rng.integers(len(COLOURS)))]
            shape = SHAPES[int(rng.integers(len(SHAPES)))]
            if (colour, shape) not in HELDOUT_SET:
                break
    else:
        colour, shape = pair
    size = "small" if rng.random() < 0.5 else "large"
    lo, hi = SIZES[size]
    d = float(rng.uniform(lo, hi))
    return {"colour": colour, "shape": shape, "size": size, "r": d / 2.0, "rgb": _jitter(rng, COLOURS[colour], 20)}


def sample_scene(rng: np.random.Generator, heldout: bool = False) -> dict:
    """One scene (without file name). heldout=True: the first object is a held-out pair, then shuffled."""
    # n is drawn once: a failed placement resamples the rest of the scene with the same n, so the
    # distribution of n stays exactly 0.3 / 0.4 / 0.3 (resampling n too would favour fewer objects).
    n = int(rng.choice([1, 2, 3], p=[0.3, 0.4, 0.3]))
    while True:
        bg = list(BACKGROUNDS)[int(rng.integers(len(BACKGROUNDS)))]
        scene = {
            "background": bg,
            "background_rgb": _jitter(rng, BACKGROUNDS[bg], 12),
            "gradient": [float(v) for v in rng.uniform(-12.0, 12.0, size=2)],
            "noise_sigma": float(rng.uniform(2.0, 7.0)),
            "noise_seed": int(rng.integers(0, 2**31 - 1)),
        }
        objects: list[dict] = []
        ok = True
        for k in range(n):
            pair = HELDOUT_PAIRS[int(rng.integers(len(HELDOUT_PAIRS)))] if (heldout and k == 0) else None
            o = _sample_object(rng, pair)
            r = o["r"]
            placed = False
            for _ in range(50):
                cx = float(rng.uniform(r + 1, L - r - 1))
                cy = float(rng.uniform(r + 1, L - r - 1))
                if all(math.hypot(cx - p["cx"], cy - p["cy"]) > r + p["r"] + 3 for p in objects):
                    placed = True
                    break
            if not placed:
                ok = False
                break
            o["cx"], o["cy"] = cx, cy
            objects.append(o)
        if not ok:
            continue  # resample the scene
        if heldout:
            objects = [objects[i] for i in rng.permutation(len(objects))]
        scene["objects"] = [
            {"colour": o["colour"], "shape": o["shape"], "size": o["size"], "cx": o["cx"], "cy": o["cy"], "r": o["r"], "rgb": o["rgb"]}
            for o in objects
        ]
        captions = make_captions(rng, scene)
        if captions is None:
            continue  # could not draw 5 distinct captions (does not happen in practice)
        scene["captions"] = captions
        return scene


# ----------------------------------------------------------------------------------------------------------
# Caption grammar


def _np_words(rng: np.random.Generator, o: dict, p_size: float, p_colour: float) -> list[str]:
    words = []
    if rng.random() < p_size:
        words.append(o["size"])
    if rng.random() < p_colour:
        words.append(o["colour"])
    words.append(o["shape"])
    return words


def _noun_phrase(rng, o, p_size, p_colour) -> str:
    w = _np_words(rng, o, p_size, p_colour)
    return " ".join([_article(w[0])] + w)


def _bg_suffix(scene) -> str:
    return f" on a {scene['background']} background"


def draw_caption(rng: np.random.Generator, scene: dict):
    """One caption from the grammar, or None when a drawn relation is undefined (objects too close)."""
    objs = scene["objects"]
    n = len(objs)
    if n == 1:
        kind = ["single", "count"][int(rng.choice(2, p=[0.75, 0.25]))]
    else:
        kind = ["single", "relation", "conjunction", "count"][int(rng.choice(4, p=[0.35, 0.3, 0.2, 0.15]))]
    if kind == "single":
        prefix = ["", "there is ", "a picture of "][int(rng.choice(3, p=[0.6, 0.2, 0.2]))]
        o = objs[int(rng.integers(n))]
        cap = prefix + _noun_phrase(rng, o, 0.4, 0.85)
        if rng.random() < 0.3:
            cap += _bg_suffix(scene)
        return cap
    if kind == "relation":
        i, j = (int(v) for v in rng.choice(n, size=2, replace=False))
        a, b = objs[i], objs[j]
        dx, dy = b["cx"] - a["cx"], b["cy"] - a["cy"]
        if max(abs(dx), abs(dy)) < 8:
            return None
        if abs(dx) >= abs(dy):
            rel = "to the left of" if dx > 0 else "to the right of"
        else:
            rel = "above" if dy > 0 else "below"
        return f"{_noun_phrase(rng, a, 0.2, 0.9)} {rel} {_noun_phrase(rng, b, 0.2, 0.9)}"
    if kind == "conjunction":
        i, j = (int(v) for v in rng.choice(n, size=2, replace=False))
        cap = f"{_noun_phrase(rng, objs[i], 0.3, 0.9)} and {_noun_phrase(rng, objs[j], 0.3, 0.9)}"
        if rng.random() < 0.25:
            cap += _bg_suffix(scene)
        return cap
    # count
    if n == 1:
        if rng.random() < 0.5:
            return "a single " + " ".join(_np_words(rng, objs[0], 0.4, 0.9))
        return "one shape" + _bg_suffix(scene)
    noun = "shapes" if rng.random() < 0.6 else "objects"
    cap = f"{'two' if n == 2 else 'three'} {noun}"
    if rng.random() < 0.7:
        cap += _bg_suffix(scene)
    return cap


def make_captions(rng: np.random.Generator, scene: dict, k: int = 5):
    caps: list[str] = []
    while len(caps) < k:
        for _ in range(40):
            c = draw_caption(rng, scene)
            if c is not None and c not in caps:
                caps.append(c)
                break
        else:
            return None
    return caps


# ----------------------------------------------------------------------------------------------------------
# Rendering


def _shape_points(shape: str, cx: float, cy: float, r: float):
    if shape == "square":
        h = 0.85 * r
        return [(cx - h, cy - h), (cx + h, cy - h), (cx + h, cy + h), (cx - h, cy + h)]
    if shape == "triangle":
        return [(cx, cy - r), (cx + 0.95 * r, cy + 0.75 * r), (cx - 0.95 * r, cy + 0.75 * r)]
    if shape == "diamond":
        return [(cx, cy - r), (cx + 0.8 * r, cy), (cx, cy + r), (cx - 0.8 * r, cy)]
    if shape == "star":
        ro = 1.1 * r
        ri = 0.45 * ro
        pts = []
        for k in range(10):
            ang = -math.pi / 2 + k * math.pi / 5
            rad = ro if k % 2 == 0 else ri
            pts.append((cx + rad * math.cos(ang), cy + rad * math.sin(ang)))
        return pts
    raise ValueError(shape)


def render(scene: dict, size: int = 64) -> np.ndarray:
    """Render a scene to an HxWx3 uint8 array at `size` px (2x supersampling, box-filter downsample)."""
    ss = 2 * size
    s = ss / L
    img = Image.new("RGB", (ss, ss), tuple(scene["background_rgb"]))
    draw = ImageDraw.Draw(img)
    for o in scene["objects"]:
        col = tuple(o["rgb"])
        if o["shape"] == "circle":
            x0, y0 = (o["cx"] - o["r"]) * s, (o["cy"] - o["r"]) * s
            x1, y1 = (o["cx"] + o["r"]) * s - 1, (o["cy"] + o["r"]) * s - 1
            draw.ellipse([x0, y0, x1, y1], fill=col)
        else:
            pts = [(x * s - 0.5, y * s - 0.5) for x, y in _shape_points(o["shape"], o["cx"], o["cy"], o["r"])]
            draw.polygon(pts, fill=col)
    img = img.resize((size, size), Image.BOX)
    arr = np.asarray(img, dtype=np.float32)
    c = (np.arange(size, dtype=np.float32) + 0.5) / size * 2 - 1
    a, b = scene["gradient"]
    arr = arr + (a * c[None, :] + b * c[:, None])[:, :, None]
    noise_rng = np.random.default_rng([scene["noise_seed"], size])
    arr = arr + noise_rng.normal(0.0, scene["noise_sigma"], size=arr.shape).astype(np.float32)
    return np.clip(np.rint(arr), 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------------------------------------
# Splits and files


def split_rng(seed: int, split: str) -> np.random.Generator:
    return np.random.default_rng([int(seed), SPLIT_CODES[split]])


def generate_scenes(split: str, count: int | None = None, seed: int = 1) -> list[dict]:
    """The first `count` scenes of a split (default: the spec's size), each with file_name and captions."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r} (expected one of {', '.join(SPLITS)})")
    count = SPLITS[split] if count is None else int(count)
    rng = split_rng(seed, split)
    out = []
    for i in range(count):
        sc = sample_scene(rng, heldout=(split == "test-heldout"))
        out.append({"file_name": f"{split}_{i:05d}.png", **sc})
    return out


def refs_of(scenes: list[dict]) -> dict:
    return {s["file_name"]: list(s["captions"]) for s in scenes}


def coco_of(scenes: list[dict]) -> dict:
    images, anns = [], []
    for i, s in enumerate(scenes):
        images.append({"id": i, "file_name": s["file_name"]})
        for c in s["captions"]:
            anns.append({"id": len(anns), "image_id": i, "caption": c})
    return {"info": {"description": "ShapesWorld reference captions"}, "images": images, "annotations": anns}


def scenes_doc(scenes: list[dict], split: str, seed: int, size: int) -> dict:
    return {"format": "shapesworld-scenes/1", "split": split, "seed": seed, "size": size, "referenceSize": L, "scenes": scenes}


def write_split(out: str, split: str, count: int | None = None, size: int = 64, seed: int = 1, scenes=None, images=True) -> list[dict]:
    os.makedirs(out, exist_ok=True)
    scenes = generate_scenes(split, count, seed) if scenes is None else scenes
    if images:
        for s in scenes:
            Image.fromarray(render(s, size)).save(os.path.join(out, s["file_name"]), optimize=False)
    dump_json(os.path.join(out, "scenes.json"), scenes_doc(scenes, split, seed, size))
    dump_json(os.path.join(out, "refs.json"), refs_of(scenes))
    dump_json(os.path.join(out, "refs_coco.json"), coco_of(scenes))
    return scenes


def dump_json(path: str, obj, indent=None) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=indent, ensure_ascii=False)
        f.write("\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Generate a ShapesWorld split (PNGs + scenes.json + refs.json + refs_coco.json).")
    ap.add_argument("--out", required=True, help="output directory (files are written directly into it)")
    ap.add_argument("--split", default="test", choices=list(SPLITS))
    ap.add_argument("--size", type=int, default=64, help="image size in px (64 for models, 256 for display)")
    ap.add_argument("--count", type=int, default=None, help="number of images (default: the split's size)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-images", action="store_true", help="write only the JSON files")
    a = ap.parse_args(argv)
    scenes = write_split(a.out, a.split, a.count, a.size, a.seed, images=not a.no_images)
    print(json.dumps({"out": a.out, "split": a.split, "count": len(scenes), "size": a.size, "seed": a.seed}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
