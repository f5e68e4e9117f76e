"""Near-duplicate fingerprints of texts: word shingles → MinHash signature → LSH band keys.

A signature is built with one-permutation hashing (one 64-bit BLAKE2b hash per word 3-shingle,
spread over ``SIGNATURE_SIZE`` buckets, the minimum kept per bucket; empty buckets filled by
rotation densification), which costs one hash per shingle instead of one per shingle and
permutation. The fraction of equal positions in two signatures estimates the Jaccard similarity
of the two shingle sets. Band keys (``LSH_ROWS`` values each) let Elasticsearch find candidate
near-duplicates with a plain ``terms`` query; candidates are then checked with :func:`similarity`.
Deterministic across processes and runs (no ``hash()``): signatures are stored with the items.
"""

from __future__ import annotations

import hashlib
import operator
import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

SHINGLE_WORDS = 3
SIGNATURE_SIZE = 64
LSH_ROWS = 2  # 32 bands of 2 rows: a pair at similarity 0.3 becomes a candidate with p ≈ 0.95

_WORD = re.compile(r"\w+", re.UNICODE)
_BLAKE2B_8 = hashlib.blake2b(digest_size=8)  # never updated: only copied
_BLAKE2B_6 = hashlib.blake2b(digest_size=6)
_EMPTY = 1 << 40  # above any bucket value (values are < 2**32, plus a rotation offset < 2**39)


@dataclass(frozen=True)
class Fingerprint:
    """MinHash signature of a text and the LSH band keys derived from it (both empty for no text)."""

    minhash: tuple[int, ...]
    bands: tuple[str, ...]


def _shingle_hashes(text: str) -> set[int]:
    words = _WORD.findall(text.lower())
    if len(words) < SHINGLE_WORDS:
        grams: Iterable[str] = [" ".join(words)] if words else []
    else:
        # Equal shingles hash equally: hash each distinct one once.
        grams = set(map(" ".join, zip(*(words[i:] for i in range(SHINGLE_WORDS)), strict=False)))
    # A copy of an empty 8-byte BLAKE2b state hashes like a new one, without parsing its parameters
    # again (a third of the cost for a short input); the digests become integers in one unpack.
    new = _BLAKE2B_8.copy
    digests = []
    for gram in grams:
        state = new()
        state.update(gram.encode())
        digests.append(state.digest())
    return set(struct.unpack(f">{len(digests)}Q", b"".join(digests)))


# Clustering and the item document both need the signature of the same texts, one after the other.
@lru_cache(maxsize=512)
def fingerprint(title: str, text: str) -> Fingerprint:
    """The signature of ``title`` + ``text``; equal inputs give equal fingerprints in every process."""
    hashes = _shingle_hashes(f"{title}\n{text}")
    if not hashes:
        return Fingerprint((), ())
    slots = [_EMPTY] * SIGNATURE_SIZE
    for value in hashes:
        bucket, rank = value % SIGNATURE_SIZE, value >> 32
        if rank < slots[bucket]:
            slots[bucket] = rank
    signature: list[int] = []
    for index, slot in enumerate(slots):
        distance = 0
        # Rotation densification: an empty bucket borrows from the next filled one, tagged with
        # the distance so that two texts agree on it only when they agree on the lender.
        while slot == _EMPTY:
            distance += 1
            slot = slots[(index + distance) % SIGNATURE_SIZE]
        signature.append(slot + (distance << 32))
    bands = []
    for band in range(SIGNATURE_SIZE // LSH_ROWS):
        state = _BLAKE2B_6.copy()
        state.update(",".join(map(str, signature[band * LSH_ROWS : (band + 1) * LSH_ROWS])).encode())
        bands.append(f"{band}:{state.hexdigest()}")
    return Fingerprint(tuple(signature), tuple(bands))


def similarity(a: Sequence[int], b: Sequence[int]) -> float:
    """Estimated Jaccard similarity of the shingle sets behind two signatures (0 when one is empty)."""
    if not a or not b or len(a) != len(b):
        return 0.0
    # map(eq) counts equal positions in C: clustering compares each item with up to ~150 others.
    equal: int = sum(map(operator.eq, a, b))
    return equal / len(a)
