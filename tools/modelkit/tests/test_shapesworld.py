"""ShapesWorld generator vs ../shared/specs/shapesworld.md (numpy + PIL only).

Run: /usr/bin/python3 -m unittest discover -s tools/modelkit/tests -t tools/modelkit
"""
import collections
import hashlib
import os
import re
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import shapesworld as sw  # noqa: E402

_CACHE = {}


def full(split):
    if split not in _CACHE:
        _CACHE[split] = sw.generate_scenes(split, None, 1)
    return _CACHE[split]


class TestSplits(unittest.TestCase):
    def test_counts(self):
        for split, n in {"train": 20000, "val": 1000, "test": 1000, "test-heldout": 1000}.items():
            sc = full(split)
            self.assertEqual(len(sc), n, split)
            self.assertEqual(len({s["file_name"] for s in sc}), n)
            for s in sc:
                self.assertEqual(len(s["captions"]), 5)
                self.assertEqual(len(set(s["captions"])), 5)
                self.assertIn(len(s["objects"]), (1, 2, 3))

    def test_object_count_distribution(self):
        c = collections.Counter(len(s["objects"]) for s in full("train"))
        for n, p in {1: 0.3, 2: 0.4, 3: 0.3}.items():
            self.assertAlmostEqual(c[n] / 20000, p, delta=0.02)

    def test_no_heldout_pair_outside_test_heldout(self):
        for split in ("train", "val", "test"):
            for s in full(split):
                for o in s["objects"]:
                    self.assertNotIn((o["colour"], o["shape"]), sw.HELDOUT_SET, (split, s["file_name"]))
                for c in s["captions"]:
                    for p in sw.named_pairs(c):
                        self.assertNotIn(p, sw.HELDOUT_SET, (split, c))

    def test_heldout_split_has_one_heldout_pair(self):
        first_positions = collections.Counter()
        for s in full("test-heldout"):
            idx = [i for i, o in enumerate(s["objects"]) if (o["colour"], o["shape"]) in sw.HELDOUT_SET]
            self.assertEqual(len(idx), 1, s["file_name"])
            first_positions[idx[0]] += 1
        self.assertGreater(len(first_positions), 1)  # objects are shuffled

    def test_checker_accepts_every_reference(self):
        for split in sw.SPLITS:
            for s in full(split):
                for c in s["captions"]:
                    self.assertTrue(sw.caption_is_true(c, s), (split, s["file_name"], c))

    def test_geometry(self):
        for s in full("val"):
            objs = s["objects"]
            for o in objs:
                r = o["r"]
                self.assertTrue(6.0 <= r <= 7.5 if o["size"] == "small" else 10.5 <= r <= 13.0)
                self.assertTrue(r + 1 <= o["cx"] <= 64 - r - 1 and r + 1 <= o["cy"] <= 64 - r - 1)
                self.assertTrue(all(0 <= v <= 255 for v in o["rgb"]))
            for i in range(len(objs)):
                for j in range(i + 1, len(objs)):
                    a, b = objs[i], objs[j]
                    self.assertGreater(((a["cx"] - b["cx"]) ** 2 + (a["cy"] - b["cy"]) ** 2) ** 0.5, a["r"] + b["r"] + 3)


class TestGrammar(unittest.TestCase):
    def test_invariants(self):
        words = set()
        for s in full("train")[:5000]:
            for c in s["captions"]:
                self.assertRegex(c, r"^[a-z]+( [a-z]+)*$")
                w = c.split()
                words.update(w)
                for i, x in enumerate(w[:-1]):
                    if x in ("a", "an") and w[i + 1] not in ("single", "picture"):
                        self.assertEqual(x, "an" if w[i + 1][0] in "aeiou" else "a", c)
                self.assertIsNotNone(sw.parse_caption(c), c)
        self.assertTrue(words <= set(sw.GRAMMAR_WORDS))
        self.assertTrue(35 <= len(words) <= 42, len(words))

    def test_caption_kinds(self):
        kinds = collections.Counter()
        for s in full("train")[:4000]:
            for c in s["captions"]:
                kinds[(len(s["objects"]) > 1, sw.parse_caption(c)["kind"])] += 1
        self.assertEqual(kinds[(False, "relation")], 0)
        self.assertEqual(kinds[(False, "conjunction")], 0)
        for k in ("single", "relation", "conjunction", "count"):
            self.assertGreater(kinds[(True, k)], 0, k)
        self.assertGreater(kinds[(False, "single-count")], 0)

    def test_relation_words_match_geometry(self):
        for s in full("val"):
            for c in s["captions"]:
                f = sw.parse_caption(c)
                if f["kind"] == "relation":
                    self.assertTrue(sw.caption_is_true(c, s))


class TestChecker(unittest.TestCase):
    scene = {
        "background": "gray",
        "objects": [
            {"colour": "red", "shape": "square", "size": "large", "cx": 20.0, "cy": 20.0, "r": 11.0},
            {"colour": "orange", "shape": "star", "size": "small", "cx": 45.0, "cy": 40.0, "r": 7.0},
        ],
    }

    def check(self, caption, expected):
        self.assertIs(sw.caption_is_true(caption, self.scene), expected, caption)

    def test_true(self):
        for c in ["a red square", "there is a large red square", "a picture of an orange star on a gray background",
                  "a red square to the left of an orange star", "a star below a square", "an orange star to the right of a large square",
                  "a red square above a small star", "a red square and an orange star", "two shapes", "two objects on a gray background",
                  "a square and a square"]:
            self.check(c, True)

    def test_false(self):
        for c in ["a blue square", "a small red square", "a red square on a black background", "a red star",
                  "a red square to the right of an orange star", "a red square below an orange star", "three shapes",
                  "one shape on a gray background", "a single red square", "two shape", "a orange star", "an red square",
                  "a picture of a picture of a red square", "red square", "a red square and", "", "a red square to the left of",
                  "two shapes on a gray", "a red square on a gray background to the left of an orange star"]:
            self.check(c, False)

    def test_single_and_punctuation(self):
        one = {"background": "white", "objects": [{"colour": "blue", "shape": "circle", "size": "small", "cx": 30.0, "cy": 30.0, "r": 7.0}]}
        self.assertTrue(sw.caption_is_true("a single small blue circle", one))
        self.assertTrue(sw.caption_is_true("One shape on a white background.", one))
        self.assertFalse(sw.caption_is_true("a single large blue circle", one))
        self.assertFalse(sw.caption_is_true("two shapes", one))


class TestFiles(unittest.TestCase):
    def digest(self, d):
        h = hashlib.sha256()
        for f in sorted(os.listdir(d)):
            h.update(f.encode())
            with open(os.path.join(d, f), "rb") as fh:
                h.update(fh.read())
        return h.hexdigest()

    def test_determinism_and_formats(self):
        with tempfile.TemporaryDirectory() as t:
            a, b, c = (os.path.join(t, x) for x in "abc")
            sw.write_split(a, "test-heldout", 6, 64, 7)
            sw.write_split(b, "test-heldout", 6, 64, 7)
            sw.write_split(c, "test-heldout", 6, 64, 8)
            self.assertEqual(self.digest(a), self.digest(b))
            self.assertNotEqual(self.digest(a), self.digest(c))
            import json
            from PIL import Image

            def load(name):
                with open(os.path.join(a, name)) as f:
                    return json.load(f)
            refs, coco, scenes = load("refs.json"), load("refs_coco.json"), load("scenes.json")
            self.assertEqual(sorted(refs), sorted(f for f in os.listdir(a) if f.endswith(".png")))
            self.assertEqual(len(coco["images"]), 6)
            self.assertEqual(len(coco["annotations"]), 30)
            self.assertEqual(scenes["format"], "shapesworld-scenes/1")
            self.assertEqual([s["file_name"] for s in scenes["scenes"]], sorted(refs))
            with Image.open(os.path.join(a, sorted(refs)[0])) as im:
                self.assertEqual((im.size, im.mode), ((64, 64), "RGB"))

    def test_prefix_stable(self):
        self.assertEqual(sw.generate_scenes("val", 3, 5), sw.generate_scenes("val", 10, 5)[:3])

    def test_render_sizes(self):
        s = full("test")[0]
        self.assertEqual(sw.render(s, 64).shape, (64, 64, 3))
        big = sw.render(s, 256)
        self.assertEqual(big.shape, (256, 256, 3))
        # an object's pixel colour is near its rgb at the object's centre
        o = s["objects"][0]
        px = big[int(o["cy"] * 4), int(o["cx"] * 4)].astype(int)
        self.assertLess(abs(px - o["rgb"]).max(), 12 + 3 * 7 + 2)

    def test_cli(self):
        import subprocess
        with tempfile.TemporaryDirectory() as t:
            r = subprocess.run([sys.executable, os.path.join(os.path.dirname(HERE), "shapesworld.py"), "--out", t, "--split", "test",
                                "--size", "64", "--count", "3", "--seed", "2"], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(len([f for f in os.listdir(t) if f.endswith(".png")]), 3)


if __name__ == "__main__":
    unittest.main()
