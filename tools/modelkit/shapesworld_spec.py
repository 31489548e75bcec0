"""ShapesWorld's vocabulary (../../../shared/specs/shapesworld.md): canvas, backgrounds, colours, shapes, sizes,
held-out pairs, splits, count words, relations and the caption grammar's words. Shared by the generator
(shapesworld.py) and the truth checker (shapesworld_truth.py)."""
from __future__ import annotations

L = 64  # reference canvas size in pixels

BACKGROUNDS = {"gray": (128, 128, 128), "black": (25, 25, 25), "white": (232, 232, 232)}
COLOURS = {
    "red": (215, 35, 35),
    "green": (35, 165, 55),
    "blue": (40, 80, 225),
    "yellow": (240, 215, 30),
    "purple": (145, 55, 195),
    "orange": (250, 135, 20),
}
SHAPES = ["circle", "square", "triangle", "star", "diamond"]
SIZES = {"small": (12.0, 15.0), "large": (21.0, 26.0)}
HELDOUT_PAIRS = [("red", "circle"), ("green", "square"), ("blue", "triangle"), ("yellow", "star"), ("purple", "diamond")]
HELDOUT_SET = frozenset(HELDOUT_PAIRS)

SPLITS = {"train": 20000, "val": 1000, "test": 1000, "test-heldout": 1000}
SPLIT_CODES = {"train": 0, "val": 1, "test": 2, "test-heldout": 3}

COUNT_WORDS = {"one": 1, "two": 2, "three": 3}
RELATIONS = {
    ("to", "the", "left", "of"): "left",
    ("to", "the", "right", "of"): "right",
    ("above",): "above",
    ("below",): "below",
}

# Every word the generator can emit (plus "object", which the checker also understands).
GRAMMAR_WORDS = sorted(
    set(
        ["a", "an", "there", "is", "picture", "of", "on", "background", "and", "to", "the", "left", "right",
         "above", "below", "single", "one", "two", "three", "shape", "shapes", "object", "objects"]
        + list(BACKGROUNDS) + list(COLOURS) + SHAPES + list(SIZES)
    )
)


def article(next_word: str) -> str:
    """The grammar's article before a word: "an" before a vowel, else "a"."""
    return "an" if next_word[0] in "aeiou" else "a"
