"""How many labels a face gets, and a stable per-annotator shuffle.

Adaptive overlap (a dataset's `overlap_mode = "adaptive"`): one label for a face
whose proposal is confident; a second when the proposal's confidence is low (or
missing), for a sampled share of the confident faces (so the noise floor and
the annotators' agreement stay measured everywhere), or when the first label is
far from a confident proposal (PROPOSAL_GAP_FLOORS noise floors: one of the two
is badly wrong); a third when the first two labels disagree by more than the
noise floor; never more (ADAPTIVE_MAX). The
queue (annotator/labeling/queue.py) and the simulation bench
(bench/bench_adaptive_overlap.py) both ask `labels_wanted`, so the bench
measures the rule the app runs.

The shuffle: `sampled(key, share)` and `slot_fraction(key)` turn a byte key
(the caller mixes in a secret salt) into a uniform number in [0, 1), so a
decision is random to whoever does not hold the salt, and the same on every
reload. Plain Python and numpy: no Django.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable

ADAPTIVE_MAX = 3


# A first label further than this many noise floors from a confident proposal
# gets a second opinion: one of the two is badly wrong (a blunder, or a miss the
# proposer did not know about), and nothing else would catch it.
PROPOSAL_GAP_FLOORS = 2.0


def labels_wanted(
    *,
    low_confidence: bool,
    sampled: bool,
    first_two_deg: float | None,
    noise_floor_deg: float,
    first_to_proposal_deg: float | None = None,
) -> int:
    """Labels a face should end with under adaptive overlap, given what is known
    now: whether its proposal is low-confidence, whether it was sampled for a
    second label anyway, the geodesic angle between its first two labels (None
    while it has fewer than two) and between its first label and its proposal
    (None without either)."""
    if first_two_deg is not None and not (math.isfinite(first_two_deg) and first_two_deg <= noise_floor_deg):
        return ADAPTIVE_MAX  # they disagree (or cannot be compared): a third decides
    if low_confidence or sampled:
        return 2
    if first_to_proposal_deg is not None and not first_to_proposal_deg <= PROPOSAL_GAP_FLOORS * noise_floor_deg:
        return 2
    return 1


def slot_fraction(key: bytes) -> float:
    """A uniform number in [0, 1) from a key (sha256: nobody without the key's
    salt can predict it; the same key gives the same number)."""
    digest = hashlib.sha256(key).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def sampled(key: bytes, share: float) -> bool:
    """Whether the item named by `key` falls in a `share` (0..1) sample."""
    return slot_fraction(key) < share


def honeypot_slot(key_of_block: Callable[[int], bytes], slot: int, share: float) -> bool:
    """Whether an annotator's `slot`-th face (0 = their first) is a honeypot.

    Stratified, so the rate holds from the first labels on and not only on
    average: the slots are cut into blocks of B = floor(1/share); each block
    holds one honeypot with probability share x B (<= 1, and 1 when 1/share is
    a whole number), at a position drawn uniformly in the block. Every slot is
    then a honeypot with probability exactly `share`, the draw of each block
    hidden behind `key_of_block(block) -> bytes` (salted by the caller)."""
    if share <= 0:
        return False
    share = min(share, 1.0)
    B = max(1, math.floor(1.0 / share))
    block, position = divmod(slot, B)
    key = key_of_block(block)
    if slot_fraction(key + b"|present") >= share * B:
        return False
    return math.floor(slot_fraction(key + b"|position") * B) == position
