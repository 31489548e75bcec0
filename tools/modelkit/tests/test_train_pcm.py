"""train_pcm.py's training bounds: a checkpointed, resumed run equals an uninterrupted one; a run cut short by
time or by a signal stops early with an annealed learning rate and still exports a decoder that onnxruntime-node
runs. Runs in the Python of the model kit (Debian's /usr/bin/python3, torch); no pack, no features: small random
tokens stand in for the encoder's.

Run: /usr/bin/python3 -m unittest tests.test_train_pcm -v   (from tools/modelkit)
"""
import os
import sys
import tempfile
import types
import unittest

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import train_pcm as TP  # noqa: E402
from models import BOS, EOS, PAD  # noqa: E402

D, V, N, K = 16, 12, 64, TP.CONCEPT_K


def data(seed=0):
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randn(N, 65, D, generator=g).half()
    ids = torch.randint(4, V, (N, 5, 7), generator=g)
    ids[..., 0], ids[..., 5], ids[..., 6] = BOS, EOS, PAD
    concepts_n = F.normalize(torch.randn(9, D, generator=g), dim=-1)
    concept_idx = TP.salient(F.normalize(tokens[:, 0].float(), dim=-1), concepts_n)
    return tokens, ids, torch.rand(N, 5, generator=g), concept_idx, concepts_n


TOK = types.SimpleNamespace(vocab=[str(i) for i in range(V)])


def run(vid="pcm", epochs=3, **kw):
    tokens, ids, w, cidx, cons = data()
    mixup, cxe = TP.VARIANTS[vid]
    return TP.train_variant(vid, mixup, cxe, 2, TOK, tokens, ids, w, cidx, cons, epochs, 5, batch=8, lr=2e-3, **kw)


class CountingBound(TP.Bound):
    """Raises the stop flag once the training loop has asked `max_seconds` `after` times (a signal mid-run)."""

    def __init__(self, after):
        super().__init__(0)
        self.after, self.asked = after, 0

    @property
    def stopped(self):
        self.asked += 1
        return self.asked > self.after

    @stopped.setter
    def stopped(self, v):
        pass


class TrainBounds(unittest.TestCase):
    def test_resume_equals_uninterrupted(self):
        full, info = run()
        self.assertEqual((info["steps"], info["stoppedBy"]), (24, "steps"))
        with tempfile.TemporaryDirectory() as d:
            ck = os.path.join(d, "ckpt.pt")
            # cut by a "signal" after 11 steps (mid-epoch 2), checkpointing every 4 steps and at the stop
            part, pinfo = run(bound=CountingBound(11), ckpt=ck, ckpt_every=4)
            self.assertEqual((pinfo["steps"], pinfo["stoppedBy"]), (11, "signal"))
            self.assertFalse(all(torch.equal(a, b) for a, b in zip(part.state_dict().values(), full.state_dict().values())))
            resumed, rinfo = run(ckpt=ck, ckpt_every=4, resume=True)
        self.assertEqual((rinfo["steps"], rinfo["stoppedBy"]), (24, "steps"))
        for (k, a), b in zip(full.state_dict().items(), resumed.state_dict().values()):
            self.assertTrue(torch.equal(a, b), k)

    def test_resume_refuses_another_variants_checkpoint(self):
        with tempfile.TemporaryDirectory() as d:
            ck = os.path.join(d, "ckpt.pt")
            run(epochs=1, ckpt=ck)
            with self.assertRaisesRegex(RuntimeError, "checkpoint of pcm"):
                run("pcm-neither", epochs=1, ckpt=ck, resume=True)

    def test_time_bound_stops_early_annealed_and_exports(self):
        bound = TP.Bound(1.5)
        net, info = run(epochs=400, bound=bound)  # 3,200 planned steps: far more than 1.5 s allows
        self.assertEqual(info["stoppedBy"], "time")
        self.assertGreater(info["steps"], 0)
        self.assertLess(info["steps"], info["plannedSteps"])
        self.assertEqual(info["captionPresentations"], info["steps"] * 8 * 5)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "decoder_pcm.onnx")
            TP.export_variant(net, path, D, K)
            self.assertLess(TP.check_variant(net, path, D, K, V, d, "pcm"), 1e-4)

    def test_time_schedule_reaches_low_lr_at_the_bound(self):
        # the lr of the last step before a time stop is near the end of the cosine, not the base rate
        seen = []
        orig = TP.cosine_lr
        TP.cosine_lr = lambda s, t, b, w: seen.append(orig(s, t, b, w)) or seen[-1]
        try:
            run(epochs=400, bound=TP.Bound(1.5))
        finally:
            TP.cosine_lr = orig
        self.assertLess(seen[-1], 0.1 * 2e-3)
        self.assertGreater(max(seen), 0.5 * 2e-3)


if __name__ == "__main__":
    unittest.main()
