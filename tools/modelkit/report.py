#!/usr/bin/python3
"""Print the metrics of a pack.json as Markdown tables (used to write tools/modelkit/README.md).

  /usr/bin/python3 tools/modelkit/report.py [models/shapes-demo/pack.json]
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "models", "shapes-demo", "pack.json")
    p = json.load(open(path))
    m = p["metrics"]
    print("| configuration | test CIDEr-D | test BLEU-4 | test truth | heldout CIDEr-D | heldout BLEU-4 | heldout truth | heldout pair named |")
    print("|---|---|---|---|---|---|---|---|")
    for k in m["test"]:
        t, h = m["test"][k], m["test-heldout"][k]
        print(f"| {k} | {t['CIDEr-D']:.3f} | {t['BLEU-4']:.3f} | {t['truth']:.3f} | {h['CIDEr-D']:.3f} | {h['BLEU-4']:.3f} | {h['truth']:.3f} | {h.get('heldoutPairNamed', 0):.3f} |")
    print()
    print("| val configuration | CIDEr-D | BLEU-4 | truth |")
    print("|---|---|---|---|")
    for k, v in m["val"].items():
        print(f"| {k} | {v['CIDEr-D']:.3f} | {v['BLEU-4']:.3f} | {v['truth']:.3f} |")
    print()
    print("| retrieval | i2t R@1 | i2t R@5 | t2i R@1 | t2i R@5 | i2t R@1 (any true caption) |")
    print("|---|---|---|---|---|---|")
    for k, r in m["retrieval"].items():
        print(f"| {k} | {r['i2t_R@1']:.3f} | {r['i2t_R@5']:.3f} | {r['t2i_R@1']:.3f} | {r['t2i_R@5']:.3f} | {r['i2t_R@1_anyTrue']:.3f} |")
    print()
    print("| gap | pairs | gap norm | mean cos(img, txt) | residual var (mean over dims) | residual std min/mean/max | mean abs skew | excess kurtosis mean/median/max |")
    print("|---|---|---|---|---|---|---|---|")
    for k, g in m["gap"].items():
        print(f"| {k} | {g['pairs']} | {g['gapNorm']:.3f} | {g['meanCosine']:.3f} | {g['residualVarianceMean']:.5f} | "
              f"{g['residualStdMin']:.3f} / {g['residualStdMean']:.3f} / {g['residualStdMax']:.3f} | {g['skewAbsMean']:.2f} | "
              f"{g['excessKurtosisMean']:.2f} / {g['excessKurtosisMedian']:.2f} / {g['excessKurtosisMax']:.2f} |")
    print()
    print("realign:", json.dumps(m["realign"]))
    print("default:", json.dumps(m["defaultChoice"]))
    print("defaults:", json.dumps(p["defaults"]))
    print()
    print("| stage | seconds |")
    print("|---|---|")
    for k, v in p["provenance"]["trainingSeconds"].items():
        print(f"| {k} | {v} |")
    print(f"\npack bytes: {p['provenance']['packBytes']}")


if __name__ == "__main__":
    main()
