"""The PCM-Net synthetic generator (synth_defects.py): defects as asked, measured, and no held-out pair.

Run: /usr/bin/python3 -m unittest tests.test_synth_defects -v   (from tools/modelkit)
"""
import os
import sys
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import shapesworld as sw  # noqa: E402
import synth_defects as sd  # noqa: E402

SCENES = sw.generate_scenes("train", 300, 1)


class SynthDefects(unittest.TestCase):
    def test_rate_zero_is_the_clean_render(self):
        px, dsc, dfs, st = sd.defective_split(SCENES[:40], 0.0, 1)
        self.assertEqual(st["imagesWithDefect"], 0.0)
        self.assertEqual(st["pairsCaptionFalse"], 0.0)
        for s, p in zip(SCENES[:40], px):
            self.assertTrue(np.array_equal(p, sw.render(s, 64)))

    def test_rate_one_defects_every_object(self):
        _, dsc, dfs, st = sd.defective_split(SCENES, 1.0, 1)
        self.assertEqual(st["objectDefectRate"], 1.0)
        for s, f in zip(SCENES, dfs):
            self.assertEqual(sorted(d["object"] for d in f if d["type"] != "extra"), list(range(len(s["objects"]))))

    def test_measured_rate_tracks_the_asked_rate_and_falsifies_captions(self):
        _, _, _, lo = sd.defective_split(SCENES, 0.15, 1)
        _, _, _, hi = sd.defective_split(SCENES, 0.5, 1)
        self.assertLess(abs(lo["objectDefectRate"] - 0.15), 0.06)
        self.assertLess(abs(hi["objectDefectRate"] - 0.5), 0.08)
        self.assertGreater(hi["pairsCaptionFalse"], lo["pairsCaptionFalse"])
        self.assertGreater(lo["pairsCaptionFalse"], 0.0)

    def test_changed_objects_never_form_a_heldout_pair(self):
        _, dsc, _, st = sd.defective_split(SCENES, 1.0, 3)
        self.assertGreater(st["byType"]["colour"] + st["byType"]["shape"] + st["byType"]["extra"], 100)
        for s in dsc:
            for o in s["objects"]:
                self.assertNotIn((o["colour"], o["shape"]), sw.HELDOUT_SET)

    def test_smear_changes_pixels_only_near_the_object(self):
        s = next(x for x in SCENES if len(x["objects"]) >= 2)
        d = {**s, "objects": [dict(o) for o in s["objects"]]}
        d["objects"][0]["smear"] = True
        a, b = sw.render(s, 64).astype(int), sd.render_defective(d, 64).astype(int)
        diff = np.abs(a - b).sum(-1) > 0
        o = s["objects"][0]
        yy, xx = np.mgrid[0:64, 0:64] + 0.5
        near = np.hypot(xx - o["cx"], yy - o["cy"]) <= 1.4 * o["r"] * 1.5 + 1
        self.assertTrue(diff.any())
        self.assertFalse((diff & ~near).any())


if __name__ == "__main__":
    unittest.main()
