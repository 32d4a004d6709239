"""Build workers/core/proposers/assets/reference_face.npz, the project's 3D face.

Usage: .venv/bin/python tools/build_reference_face.py [--shared ../shared] [--out PATH]

Reads (only here, never at run time): ../shared/data/aflw2000/gt_arrays/
AFLW2000-3D.pts68.npy (2000 x 3 x 68 landmarks, image px with depth) and the real
samples in ../shared/data/aflw2000/samples (images + Pose_Para); FaceMesh runs on
those images and on the face photos that pip packages ship.

The steps are in workers/core/proposers/parts/reference_build.py.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workers.core.proposers.parts.reference_build import build  # noqa: E402

OUT = ROOT / "workers" / "core" / "proposers" / "assets" / "reference_face.npz"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", type=Path, default=Path(os.environ.get("HEADPOSE_SHARED_DIR", ROOT.parent / "shared")))
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    arrays = build(args.shared)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    meta = json.loads(str(arrays["meta"]))
    print(
        json.dumps(
            {
                **meta,
                "out": str(args.out),
                "bytes": args.out.stat().st_size,
                "ibug68_from_mesh468": arrays["ibug68_from_mesh468"].tolist(),
            }
        )
    )


if __name__ == "__main__":
    main()
