"""The committed models/shapes-demo pack: pack.json hashes and sizes match its files, references resolve."""
import hashlib
import json
import os
import unittest

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
PACK = os.path.join(REPO, "models", "shapes-demo")


def load(path):
    with open(path) as f:
        return json.load(f)


@unittest.skipUnless(os.path.exists(os.path.join(PACK, "pack.json")), "no pack built")
class TestPack(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.p = load(os.path.join(PACK, "pack.json"))

    def test_hashes(self):
        listed = set()
        for f in self.p["files"]:
            path = os.path.join(PACK, f["path"])
            with open(path, "rb") as fh:
                data = fh.read()
            self.assertEqual(len(data), f["bytes"], f["path"])
            self.assertEqual(hashlib.sha256(data).hexdigest(), f["sha256"], f["path"])
            listed.add(f["path"])
        on_disk = {os.path.relpath(os.path.join(r, x), PACK).replace(os.sep, "/") for r, _, fs in os.walk(PACK) for x in fs}
        self.assertEqual(on_disk - {"pack.json"}, listed)

    def test_size_limit(self):
        self.assertLessEqual(sum(f["bytes"] for f in self.p["files"]) + os.path.getsize(os.path.join(PACK, "pack.json")), 20 * 1024 * 1024)

    def test_references(self):
        p = self.p
        listed = {f["path"] for f in p["files"]}
        refs = [p["tokenizer"]["file"], p["models"]["image"]["file"], p["models"]["text"]["file"], p["datastore"]["captions"], p["concepts"]["file"]]
        refs += [d["file"] for d in p["decoders"]] + [a["file"] for a in p["arrays"].values()]
        for r in refs:
            self.assertIn(r, listed)
        for name, a in p["arrays"].items():
            n = 1
            for s in a["shape"]:
                n *= s
            self.assertEqual(os.path.getsize(os.path.join(PACK, a["file"])), 4 * n, name)
        self.assertIn(p["defaultDecoder"], [d["id"] for d in p["decoders"]])
        caps = load(os.path.join(PACK, p["datastore"]["captions"]))
        self.assertEqual(len(caps), p["arrays"]["datastore"]["shape"][0])
        self.assertEqual(len(caps), len(set(caps)))
        conc = load(os.path.join(PACK, p["concepts"]["file"]))
        self.assertEqual(len(conc), p["arrays"]["concepts"]["shape"][0])
        tok = load(os.path.join(PACK, p["tokenizer"]["file"]))
        self.assertEqual(tok["vocab"][:4], ["<pad>", "<bos>", "<eos>", "<unk>"])
        self.assertEqual(p["models"]["image"]["roles"], {"pixels": "pixel_values", "embeds": "image_embeds", "tokens": "token_embeds", "attention": "cls_attention"})
        for d in p["decoders"]:
            self.assertEqual([i["name"] for i in d["inputs"]], ["prefix", "input_ids"])
            self.assertEqual(d["outputs"][0]["shape"][2], len(tok["vocab"]))

    def test_samples(self):
        refs = load(os.path.join(PACK, "samples", "refs.json"))
        self.assertEqual(len(refs), 48)
        self.assertEqual(sum(k.startswith("test_") for k in refs), 24)
        self.assertEqual(sum(k.startswith("test-heldout_") for k in refs), 24)
        for k in refs:
            self.assertTrue(os.path.exists(os.path.join(PACK, "samples", k)))


if __name__ == "__main__":
    unittest.main()
