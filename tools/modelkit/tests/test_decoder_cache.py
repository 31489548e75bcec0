import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

try:
    import torch
except ImportError:  # CI installs only numpy and PIL; the decoder tests need PyTorch
    torch = None


@unittest.skipUnless(torch is not None, "PyTorch is not installed (apt install python3-torch)")
class TestDecoderCache(unittest.TestCase):
    def test_cached_steps_equal_the_uncached_forward(self):
        from models import Decoder
        from decoder_cache import DecoderInit, DecoderStep
        torch.manual_seed(3)
        dec = Decoder(vocab=30, dim=16, width=32, layers=2, heads=4, prefix_len=3, ctx=12).eval()
        prefix = torch.randn(2, 16)
        ids = torch.tensor([[1, 5, 9, 4, 7], [1, 6, 2, 8, 3]])
        with torch.no_grad():
            full = dec(prefix, ids)
            logits, present = DecoderInit(dec)(prefix, ids[:, :1])
            self.assertEqual(tuple(present.shape), (2, 2, 2, 4, 4, 8))
            torch.testing.assert_close(logits[:, 0], full[:, 0], atol=1e-5, rtol=1e-5)
            step = DecoderStep(dec)
            for t in range(1, ids.shape[1]):
                logits, present = step(ids[:, t:t + 1], present)
                torch.testing.assert_close(logits[:, 0], full[:, t], atol=1e-5, rtol=1e-5)
            self.assertEqual(present.shape[4], 3 + ids.shape[1])


if __name__ == "__main__":
    unittest.main()
