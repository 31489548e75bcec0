import math
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import metrics as M  # noqa: E402


class TestMetrics(unittest.TestCase):
    refs = {"a": ["a red square", "two shapes on a gray background", "a large red square"],
            "b": ["a blue circle", "a small blue circle", "one shape on a white background"],
            "c": ["three objects", "a green star above a yellow square", "a yellow square"]}

    def test_bleu_identical_is_one(self):
        hyps = {k: v[1] for k, v in self.refs.items()}
        self.assertAlmostEqual(M.bleu4(hyps, self.refs), 1.0, places=6)

    def test_bleu_brevity_and_zero(self):
        self.assertLess(M.bleu4({"a": "a red"}, {"a": ["a red square is here"]}), 0.01)
        self.assertLess(M.bleu4({"a": "zzz yyy xxx www"}, {"a": ["a red square"]}), 1e-6)

    def test_cider_d_properties(self):
        good = {k: v[0] for k, v in self.refs.items()}
        bad = {"a": "a blue circle", "b": "three objects", "c": "a red square"}
        cg, per = M.cider_d(good, self.refs)
        cb, _ = M.cider_d(bad, self.refs)
        self.assertGreater(cg, cb)
        self.assertEqual(set(per), set(self.refs))
        # the score of an image is in [0, 10] for CIDEr-D (clipping + length penalty)
        self.assertTrue(all(0 <= v <= 10 for v in per.values()))

    def test_cider_d_hand_computed(self):
        # two images, one reference each: idf of an n-gram in both images is log(2) - log(2) = 0
        refs = {"x": ["red square"], "y": ["blue square"]}
        c, per = M.cider_d({"x": "red square", "y": "green circle"}, refs)
        # x: unigram "red" (w = log 2), "square" (w = 0), bigram "red square" (w = log 2): cos = 1 for n=1,2; n=3,4 empty
        self.assertAlmostEqual(per["x"], (1 + 1 + 0 + 0) / 4 * 10, places=6)
        self.assertAlmostEqual(per["y"], 0.0, places=6)
        self.assertAlmostEqual(c, 2.5, places=6)

    def test_length_penalty(self):
        refs = {"x": ["red square"], "y": ["blue circle"]}
        _, per = M.cider_d({"x": "red square red square red square red square", "y": "blue circle"}, refs)
        self.assertLess(per["x"], per["y"])
        self.assertAlmostEqual(math.log(1), 0)


if __name__ == "__main__":
    unittest.main()
