"""Build the generic head mesh the labeling page renders.

    .venv/bin/python tools/build_head_mesh.py            # static/meshes/head.glb + head.json, and the hull
    .venv/bin/python tools/build_head_mesh.py --face aflw-mean --out-dir /tmp/x   # all three in /tmp/x

Input (nothing is downloaded):
- `reference` (default when present): the project's reference face,
  workers/core/proposers/parts/reference_face.py (468 FaceMesh points + 68 iBUG points,
  head frame, mm);
- `aflw-mean` (fallback): the Procrustes mean of
  ../shared/data/aflw2000/gt_arrays/AFLW2000-3D.pts68.npy (68 points only).

How the mesh is made, and its frame, is documented in
workers/core/meshing/head_mesh.py: head frame of POSE_CONVENTIONS.md (x image-
right, y chin, z back of the head, mm, origin = centroid of the 68 reference
points); vertex i < n_face_points is reference point i.

head.json holds what tests and the browser need without parsing the GLB: the
frame, counts, the skull ellipsoid, and named vertices (index + position), e.g.
nose_tip, chin, eye corners, top_of_head. Rerunning with the same inputs gives the
same bytes.

head_hull.json (workers/core/assets/, or --out-dir when given): the vertices of
the convex hull of the mesh and the 68 reference landmarks, from which the pose
rules find a pose's nearest head point (workers/core/pose_rules.py).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from workers.core.meshing.head_mesh import (  # noqa: E402
    HEAD_MESH_VERSION,
    aflw_mean_face68,
    build_head_mesh,
    head_hull_vertices,
    head_mesh_glb,
)
from workers.core.pose_rules import HEAD_HULL_PATH  # noqa: E402

DEFAULT_OUT = REPO_ROOT / "static" / "meshes"
FRAME = (
    "head frame: x to image-right, y to the chin, z to the back of the head; mm; "
    "origin = centroid of the 68 reference landmarks; X_cam = R X_head + t"
)


def _shared_dir() -> Path:
    return Path(os.environ.get("HEADPOSE_SHARED_DIR", REPO_ROOT.parent / "shared")).resolve()


def load_face(which: str):
    """(points68, points468 or None, description, version)."""
    if which in ("auto", "reference"):
        try:
            from workers.core.proposers.parts.reference_face import ReferenceFaceError, load_reference_face

            face = load_reference_face()
            return face.points68, face.points468, "reference_face", face.version
        except (ImportError, ReferenceFaceError) as exc:
            if which == "reference":
                raise SystemExit(f"reference face unavailable: {exc}") from exc
    path = _shared_dir() / "data" / "aflw2000" / "gt_arrays" / "AFLW2000-3D.pts68.npy"
    if not path.is_file():
        raise SystemExit(f"no reference face and no {path} for the fallback")
    return aflw_mean_face68(path), None, "aflw2000_pts68_procrustes_mean", "fallback"


def build(face: str = "auto"):
    points68, points468, description, version = load_face(face)
    head = build_head_mesh(points68, points468, built_from=description)
    info = {
        "name": "generic_head",
        "version": HEAD_MESH_VERSION,
        "frame": FRAME,
        "units": "mm",
        "built_from": description,
        "built_from_version": version,
        "face_scheme": "mediapipe468" if points468 is not None else "ibug68",
        "n_face_points": int(head.n_face_points),
        "n_vertices": int(len(head.vertices)),
        "n_faces": int(len(head.faces)),
        "skull": {"centre": head.centre.round(4).tolist(), "half_axes": head.axes.round(4).tolist()},
        "named_vertices": head.named,
        "winding": "counter-clockwise seen from outside (glTF front faces outward)",
    }
    glb = head_mesh_glb(head, info)
    info["glb_sha256"] = hashlib.sha256(glb).hexdigest()
    return head, glb, info, hull_info(head, points68, info)


def hull_info(head, points68, info: dict) -> dict:
    hull = head_hull_vertices(head, points68).round(3)
    return {
        "what": "vertices of the convex hull of the generic head mesh (head.glb) and the 68 reference landmarks",
        "frame": FRAME,
        "units": "mm",
        "mesh": {k: info[k] for k in ("name", "version", "built_from", "built_from_version", "glb_sha256")},
        "radius_mm": round(float(((hull**2).sum(1) ** 0.5).max()), 3),
        "vertices": hull.tolist(),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--face",
        "--source",
        dest="face",
        choices=("auto", "reference", "aflw-mean"),
        default="auto",
        help="the face points to build on (--source is the old name)",
    )
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    _head, glb, info, hull = build(args.face)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "head.glb").write_bytes(glb)
    (args.out_dir / "head.json").write_text(json.dumps(info, indent=1, sort_keys=True) + "\n")
    hull_path = HEAD_HULL_PATH if args.out_dir == DEFAULT_OUT else args.out_dir / "head_hull.json"
    hull_path.parent.mkdir(parents=True, exist_ok=True)
    hull_path.write_text(json.dumps(hull, sort_keys=True, separators=(",", ":")) + "\n")
    print(
        json.dumps(
            {
                "glb": str(args.out_dir / "head.glb"),
                "bytes": len(glb),
                "built_from": info["built_from"],
                "n_vertices": info["n_vertices"],
                "n_faces": info["n_faces"],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
