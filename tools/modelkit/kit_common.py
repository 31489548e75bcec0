"""Shared by the build_pack.py stages: configuration, seeds, logging with stage timings, the data loader."""
from __future__ import annotations

import json
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import shapesworld as sw  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
torch.set_num_threads(1)

FULL = dict(train=20000, val=1000, test=1000, heldout=1000, clip_epochs=8, dec_epochs=3, datastore_cap=4000)
QUICK = dict(train=4000, val=200, test=200, heldout=200, clip_epochs=2, dec_epochs=1, datastore_cap=4000)
CLIP_BATCH = 64
CLIP_LR = 1e-3
CLIP_ALL_CAPTIONS = True  # each image with all 5 captions per step (5x text supervision per image forward)
CLIP_CFG = dict(stem="conv", width=128, image_layers=3, text_layers=2, heads=4, dim=128)
DEC_CFG = dict(width=128, layers=2, heads=4, prefix_len=4, ctx=32)
SEEDS = dict(world=1, clip=11, decoder=21, realign=31, eval=41)
PAPER_SIGMA2 = 0.016
MAX_LEN = 20
NOISE_SAMPLES = 8
TIMES: dict = {}


def log(*a):
    print(f"[{time.strftime('%H:%M:%S')}]", *a, flush=True)


class Stage:
    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.t = time.time()
        log(f"== {self.name}")

    def __exit__(self, *a):
        TIMES[self.name] = round(time.time() - self.t, 1)
        log(f"== {self.name} done in {TIMES[self.name]} s")


# ----------------------------------------------------------------------------------------------------------
# data


def load_split(split, count, seed, work):
    path = os.path.join(work, f"{split}_{count}_{seed}.npz")
    scenes_path = os.path.join(work, f"{split}_{count}_{seed}.json")
    if os.path.exists(path) and os.path.exists(scenes_path):
        return json.load(open(scenes_path)), np.load(path)["pixels"]
    scenes = sw.generate_scenes(split, count, seed)
    pixels = np.stack([sw.render(s, 64) for s in scenes])
    np.savez(path, pixels=pixels)
    json.dump(scenes, open(scenes_path, "w"))
    return scenes, pixels


def to_input(pixels_u8, mean, std):
    x = torch.from_numpy(pixels_u8).float().div_(255.0)
    x = (x - torch.tensor(mean)) / torch.tensor(std)
    return x.permute(0, 3, 1, 2).contiguous()
