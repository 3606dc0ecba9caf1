"""Emotion label sets: raw corpus codes -> class indices, with merges, as params choose.

utterances.csv keeps the raw codes (IEMOCAP: neu hap exc sad ang fru sur fea dis oth xxx).
A label set names the classes and a merge map (e.g. ``{exc: hap}``); an utterance whose code,
after merging, is not a class is left out and counted by its raw code, never guessed.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from .config import params as P
from .errors import ParamError

EXCLUDED = -1


@dataclass(frozen=True)
class LabelSet:
    """Classes and merge map as `<section>.classes` / `.merge` give them (the schema's rules
    hold: distinct classes, merges onto classes only, no class renamed)."""
    classes: tuple[str, ...]
    merge: dict[str, str] = field(default_factory=dict)
    section: str = "tasks.emotion"      # the params section naming them (for messages)

    def encode(self, raw) -> tuple[np.ndarray, dict[str, int]]:
        """Class index per raw code (EXCLUDED where outside the set) and the left-out counts.

        A class no utterance has (after merging) is a ParamError naming `<section>.classes`:
        a model cannot learn it, and its recall of 0 would look like a result.
        """
        index = {c: i for i, c in enumerate(self.classes)}
        codes = [str(r).strip() for r in raw]
        y = np.array([index.get(self.merge.get(c, c), EXCLUDED) for c in codes], dtype=np.int64)
        left_out = Counter(c for c, v in zip(codes, y) if v == EXCLUDED)
        counts = np.bincount(y[y != EXCLUDED], minlength=len(self.classes))
        empty = [c for c, n in zip(self.classes, counts) if n == 0]
        if empty and len(codes):
            seen = ", ".join(f"{c} x{n}" for c, n in Counter(codes).most_common(8))
            raise ParamError(f"param '{self.section}.classes': no utterance is labelled "
                             f"{' or '.join(empty)} (of {len(codes)}; codes found: {seen}); "
                             f"remove the class or map codes onto it in '{self.section}.merge'")
        return y, dict(sorted(left_out.items()))


def from_params(params: dict, section: str = "tasks.emotion") -> LabelSet:
    """The label set of the validated section `section` (empathic.config.schema.Labels)."""
    s = P.section(params, section)
    return LabelSet(tuple(s.classes), dict(s.merge), section)
