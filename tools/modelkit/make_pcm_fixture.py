#!/usr/bin/python3
"""Writes test/fixtures/pcm-decoder/: a tiny random-weight PCM-Net (pcm_net.py, width 16) for the engine's
pcm-net tests, with fixed inputs and what torch computes from them (greedy ids, the mix-up selection).

    /usr/bin/python3 tools/modelkit/make_pcm_fixture.py
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from models import BOS, EOS  # noqa: E402
from pcm_net import mix_selection, PCMNet  # noqa: E402
import train_pcm as TP  # noqa: E402

OUT = os.path.join(HERE, "..", "..", "test", "fixtures", "pcm-decoder")
D, V, K, MAXLEN = 128, 43, 5, 8


def main():
    torch.manual_seed(7)
    os.makedirs(OUT, exist_ok=True)
    net = PCMNet(V, D, width=16, enc_layers=1, dec_layers=1, heads=2, mixup=True, top_m=2).eval()
    path = os.path.join(OUT, "decoder_pcm.onnx")
    TP.export_variant(net, path, D, K)
    gen = torch.Generator().manual_seed(11)
    tokens = F.normalize(torch.randn(2, 65, D, generator=gen), dim=-1)
    concepts = F.normalize(torch.randn(2, K, D, generator=gen), dim=-1)
    ids = torch.full((2, 1), BOS, dtype=torch.long)
    with torch.no_grad():
        for _ in range(MAXLEN):
            nxt = net(tokens, concepts, ids)[:, -1].argmax(-1)
            ids = torch.cat([ids, nxt[:, None]], dim=1)
        v = F.normalize(tokens[:, 1:].reshape(2, 4, 2, 4, 2, D).mean(dim=(2, 4)).reshape(2, 16, D), dim=-1)
        _, sel, which = mix_selection(v, concepts, 2)
    greedy = []
    for row in ids[:, 1:].tolist():
        out = []
        for t in row:
            out.append(t)
            if t == EOS:
                break
        greedy.append(out)
    tokens.numpy().astype("<f4").tofile(os.path.join(OUT, "tokens.f32"))
    concepts.numpy().astype("<f4").tofile(os.path.join(OUT, "concepts.f32"))
    entry = TP.decoder_entry("pcm-fixture", "decoder_pcm.onnx", net, D, K, V, "random-weight fixture", {})
    entry.pop("training")
    expect = {"greedyIds": greedy, "maxLength": MAXLEN,
              "mixed": [[{"patch": j, "concept": int(which[b, j])} for j in range(16) if sel[b, j] > 0] for b in range(2)]}
    json.dump({"entry": entry, "expect": expect}, open(os.path.join(OUT, "fixture.json"), "w"), indent=1)
    print(json.dumps(expect))


if __name__ == "__main__":
    main()
