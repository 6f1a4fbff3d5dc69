"""The one split of every labelled set into a development half and a report half (issue 19).

A post belongs to a half by the SHA-256 of its normalized text: Unicode NFC, case-folded, every run
of white space one space, stripped. The last byte of the digest even -> ``dev``, odd -> ``report``.
The same text is always in the same half, whatever set or file it comes from, and the split never
depends on the labels or the cleaner. Rules are developed on the dev half's failures only; the
report half's failures are never printed (only its aggregate figures are).
"""

from __future__ import annotations

import hashlib
import unicodedata
from typing import Literal

Half = Literal["dev", "report"]
HALVES: tuple[Half, Half] = ("dev", "report")
SPLIT_RULE = "sha256(NFC, case-folded, space-collapsed text): last byte even -> dev, odd -> report"


def normalized(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def half_of(text: str) -> Half:
    """``dev`` or ``report`` for a post text (see the module docstring)."""
    digest = hashlib.sha256(normalized(text).encode("utf-8")).digest()
    return "dev" if digest[-1] % 2 == 0 else "report"
