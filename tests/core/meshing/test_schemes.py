"""The landmark index sets: FaceMesh loops re-derived from mediapipe's own edge
lists; iBUG sets checked for the 300-W layout."""

import numpy as np
import pytest

from workers.core.meshing import IBUG68, MEDIAPIPE468, MeshingError, get_scheme


def chain(edges):
    """Closed loop from an undirected edge set (every vertex has degree 2)."""
    neighbours = {}
    for a, b in edges:
        neighbours.setdefault(a, []).append(b)
        neighbours.setdefault(b, []).append(a)
    assert all(len(n) == 2 for n in neighbours.values())
    start = min(neighbours)
    loop, prev = [start], None
    while True:
        cur = loop[-1]
        nxt = next(n for n in neighbours[cur] if n != prev) if prev is not None else neighbours[cur][0]
        if nxt == start:
            return loop
        loop.append(nxt)
        prev = cur


def same_cycle(a, b):
    a, b = list(a), list(b)
    if len(a) != len(b) or set(a) != set(b):
        return False
    i = b.index(a[0])
    rotated = b[i:] + b[:i]
    return rotated == a or [rotated[0]] + rotated[1:][::-1] == a


def test_facemesh_loops_match_mediapipe():
    from mediapipe.python.solutions import face_mesh_connections as conn

    assert same_cycle(MEDIAPIPE468.outline, chain(conn.FACEMESH_FACE_OVAL))
    assert same_cycle(MEDIAPIPE468.holes["right_eye"], chain(conn.FACEMESH_RIGHT_EYE))
    assert same_cycle(MEDIAPIPE468.holes["left_eye"], chain(conn.FACEMESH_LEFT_EYE))
    lips = set(conn.FACEMESH_LIPS)
    inner = [e for e in lips if not (set(e) & {61, 291})]  # the corners join the two loops
    loops = []
    remaining = set(inner)
    while remaining:  # split into connected loops
        edge = remaining.pop()
        group, frontier = {edge}, set(edge)
        changed = True
        while changed:
            changed = False
            for e in list(remaining):
                if set(e) & frontier:
                    group.add(e)
                    frontier |= set(e)
                    remaining.discard(e)
                    changed = True
        loops.append(group)
    inner_loop = next(g for g in loops if 13 in {v for e in g for v in e})
    assert same_cycle(MEDIAPIPE468.holes["inner_lip"], chain(inner_loop))


def test_ibug_sets():
    assert len(set(IBUG68.outline)) == 27 and IBUG68.outline[:17] == tuple(range(17))
    holes = [set(h) for h in IBUG68.holes.values()]
    assert sum(len(h) for h in holes) == len(set().union(*holes)) == 20
    assert set(IBUG68.inner) == set(range(17, 68))


def test_facemesh_inner_is_everything_but_the_outline():
    assert set(MEDIAPIPE468.inner) | set(MEDIAPIPE468.outline) == set(range(468))
    assert not set(MEDIAPIPE468.inner) & set(MEDIAPIPE468.outline)
    assert all(np.all(np.asarray(h) < 468) for h in MEDIAPIPE468.holes.values())


def test_get_scheme():
    assert get_scheme("ibug68") is IBUG68
    with pytest.raises(MeshingError):
        get_scheme("nope")
