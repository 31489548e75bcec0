"""train_decoder.py --pack: a pack tokenizer's ids (export-corpus rows) become training batches with the end
token kept last; rows that do not run from the tokenizer's start to its end are refused; a short run on a small
synthetic corpus learns (the loss falls) and writes a bundle whose export matches torch."""
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

try:
    import torch
except ImportError:
    torch = None


@unittest.skipUnless(torch is not None, "PyTorch is not installed (apt install python3-torch)")
class TestTrainForPack(unittest.TestCase):
    def test_batches_keep_the_end_token(self):
        from train_decoder import pack_batch
        tok = {"vocab": 50, "bos": 48, "eos": 49}
        ids, mask = pack_batch([[48, 5, 6, 7, 8, 49], [48, 9, 49]], 4, tok)
        self.assertEqual(ids.tolist(), [[48, 5, 6, 49], [48, 9, 49, 0]])
        self.assertEqual(mask.tolist(), [[1, 1, 1, 1], [1, 1, 1, 0]])
        for bad in ([5, 6, 49], [48, 6], [48, 60, 49]):
            with self.assertRaises(SystemExit):
                pack_batch([bad], 8, tok)

    def test_short_run_learns_and_exports(self):
        from add_decoder import sha256
        from models import WordTokenizer
        from train_decoder import main
        tmp = tempfile.mkdtemp(prefix="train-pack-")
        try:
            words = ["red", "green", "blue", "cat", "dog", "car", "on", "a", "table", "street"]
            tok = WordTokenizer.build(words, 12)
            with open(os.path.join(tmp, "tokenizer.json"), "w") as f:
                json.dump(tok.to_json(), f)
            with open(os.path.join(tmp, "pack.json"), "w") as f:
                json.dump({"id": "t", "version": "0", "licence": "MIT", "embedDim": 16, "tokenizer": {"file": "tokenizer.json", "type": "word"}}, f)
            g = torch.Generator().manual_seed(0)
            table = torch.randn(len(tok.vocab), 16, generator=g)
            rows = []
            for c in ["red", "green", "blue"]:
                for n in ["cat", "dog", "car"]:
                    for p in ["table", "street"]:
                        cap = f"a {c} {n} on a {p}"
                        ids = tok.encode(cap)
                        e = torch.nn.functional.normalize(table[ids].sum(0), dim=0)
                        rows.append({"caption": cap, "ids": ids, "embedding": e.tolist()})
            with open(os.path.join(tmp, "corpus.jsonl"), "w") as f:
                f.write("\n".join(json.dumps(r) for r in rows * 10) + "\n")
            out = os.path.join(tmp, "bundle")
            logged = []
            import builtins
            real_print = builtins.print
            builtins.print = lambda *a, **k: logged.append(" ".join(str(x) for x in a))
            try:
                rc = main(["--pack", tmp, "--data", os.path.join(tmp, "corpus.jsonl"), "--out", out, "--width", "32", "--layers", "1",
                           "--heads", "2", "--prefix-len", "1", "--batch", "30", "--epochs", "30", "--max-steps", "150", "--lr", "3e-3"])
            finally:
                builtins.print = real_print
            self.assertEqual(rc, 0)
            losses = [float(l.split(" loss ")[1].split()[0]) for l in logged if " loss " in l]
            self.assertGreater(len(losses), 2)
            self.assertLess(losses[-1], 0.5 * losses[0])
            with open(os.path.join(out, "decoder.json")) as f:
                b = json.load(f)
            self.assertEqual(b["tokenizer"]["sha256"], sha256(os.path.join(tmp, "tokenizer.json")))
            self.assertEqual(b["outputs"][0]["shape"][-1], len(tok.vocab))
            self.assertEqual(b["training"]["maxSteps"], 150)
            self.assertLess(b["provenance"]["check"]["onnxVsTorch"], 1e-4)
            self.assertLess(b["provenance"]["check"]["cachedVsUncached"], 1e-4)
            self.assertTrue(os.path.isfile(os.path.join(out, "decoder_step.onnx")))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
