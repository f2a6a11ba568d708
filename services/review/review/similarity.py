"""Similar-initiative flagging: MinHash signatures of Vietnamese text, with or without diacritics.

One-permutation MinHash (one hash per shingle, the minimum kept per bin) is cheap enough to run
on every arriving initiative in a peak week; locality-sensitive bands of the signature are
stored in a table, so candidates come from an index lookup, never from a scan of the unit.
"""

from __future__ import annotations

import hashlib
import itertools
import operator
import re
import struct
import unicodedata
from collections.abc import Iterable

BINS = 60
BAND_ROWS = 3  # 20 bands of 3: a pair with Jaccard 0.5 is a candidate with probability 0.93
BANDS = BINS // BAND_ROWS
FLAG_AT = 0.3  # estimated similarity from which an earlier initiative is shown
_EMPTY = 2**64 - 1
_WORD = re.compile(r"[a-z0-9]+")


class _WithoutMarks(dict[int, int | None]):
    """A str.translate table dropping combining marks (category Mn), learnt one character at a time."""

    def __missing__(self, code: int) -> int | None:
        kept = None if unicodedata.category(chr(code)) == "Mn" else code
        self[code] = kept
        return kept


_WITHOUT_MARKS = _WithoutMarks()


def fold(text: str) -> str:
    """Lower case without diacritics: "Cải tiến Đường ống" -> "cai tien duong ong"."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return unicodedata.normalize("NFD", text.lower()).translate(_WITHOUT_MARKS)


def shingles(text: str) -> set[str]:
    """Syllables and syllable pairs: Vietnamese words are mostly one or two syllables."""
    words = _WORD.findall(fold(text))
    return set(words) | {f"{a} {b}" for a, b in itertools.pairwise(words)}


def _hash(shingle: str) -> int:
    return int.from_bytes(hashlib.blake2b(shingle.encode(), digest_size=8).digest(), "big")


def signature(text: str) -> list[int]:
    """BINS minimum hashes; empty bins borrow from the next full one (densification)."""
    bins = [_EMPTY] * BINS
    for shingle in shingles(text):
        h = _hash(shingle)
        b = h % BINS
        value = h // BINS
        if value < bins[b]:
            bins[b] = value
    if all(v == _EMPTY for v in bins):
        return bins
    for i in range(BINS):
        offset = 1
        while bins[i] == _EMPTY:
            donor = bins[(i + offset) % BINS]
            if donor != _EMPTY:
                bins[i] = (donor + offset * 0x9E3779B97F4A7C15) % _EMPTY
            offset += 1
    return bins


def bands(sig: list[int]) -> list[int]:
    """One signed 63-bit key per band (fits a BIGINT), the band's number mixed in."""
    keys = []
    for band in range(BANDS):
        rows = sig[band * BAND_ROWS : (band + 1) * BAND_ROWS]
        digest = hashlib.blake2b(repr((band, rows)).encode(), digest_size=8).digest()
        keys.append(int.from_bytes(digest, "big", signed=True) >> 1)
    return keys


def similarity(a: list[int], b: list[int]) -> float:
    """Estimated Jaccard similarity of the two texts' shingle sets."""
    if not a or not b or a[0] == _EMPTY or b[0] == _EMPTY:
        return 0.0
    if len(a) != len(b):
        raise ValueError("signatures of different lengths")
    return round(sum(map(operator.eq, a, b)) / BINS, 3)


def encode(sig: list[int]) -> bytes:
    return struct.pack(f">{len(sig)}Q", *sig)


def decode(raw: bytes) -> list[int]:
    # struct, not int.from_bytes per value: up to 50 candidates are decoded per arriving case.
    return list(struct.unpack(f">{len(raw) // 8}Q", raw))


def text_of(parts: Iterable[str | None]) -> str:
    return " ".join(p for p in parts if p)
