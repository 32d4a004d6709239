"""Milliseconds per face for meshing + texture + GLB on the 10 real AFLW2000 samples.

    .venv/bin/python bench/bench_meshing.py [--rounds 5] [--texture-size 512]

ibug68: the samples' ground-truth 68 landmarks (camera mm from the AFLW reader).
mediapipe468: the project's 468-point reference face placed with each sample's
ground-truth pose (R, t) and projected with its K (no detector in the loop).
Prints one JSON object: median and p90 ms per face for each stage
(triangulation, texture, GLB export) and for the whole mesh_face call, plus GLB
sizes. Images are decoded once, outside the timing.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository

from bench._common import aflw_samples_dir, print_json
from tests.core.meshing.aflw_helpers import load_sample, sample_paths
from workers.core import geometry
from workers.core.meshing import build_face_mesh, face_mesh_glb, face_texture, mesh_face


def _stats(ms):
    a = np.asarray(ms)
    return {
        "median_ms": round(float(np.median(a)), 3),
        "p90_ms": round(float(np.percentile(a, 90)), 3),
        "mean_ms": round(float(a.mean()), 3),
    }


def _cases(samples_dir: Path):
    cases = {"ibug68": []}
    try:
        from workers.core.proposers.parts.reference_face import load_reference_face

        ref468 = load_reference_face().points468
        cases["mediapipe468"] = []
    except Exception:  # the 468 case is optional: the bench still runs without it
        ref468 = None
    for path in sample_paths(samples_dir):
        image, p2, p3, K = load_sample(path)
        cases["ibug68"].append((image, p2, p3, K))
        if ref468 is not None:
            import scipy.io

            from workers.core.formats.aflw2000 import parse_labels

            label = parse_labels(scipy.io.loadmat(str(path)), image.shape[1], image.shape[0])
            q3 = geometry.transform(ref468, label.R, label.t)
            cases["mediapipe468"].append((image, geometry.project_points(q3, K), q3, K))
    return cases


def run(samples_dir: Path, rounds: int, texture_size: int) -> dict:
    out = {
        "benchmark": "meshing",
        "samples": 0,
        "rounds": rounds,
        "texture_size": texture_size,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "schemes": {},
    }
    for scheme, cases in _cases(samples_dir).items():
        out["samples"] = len(cases)
        tri_ms, tex_ms, glb_ms, total_ms, sizes = [], [], [], [], []
        for image, p2, p3, K in cases:  # warm-up (imports, first-call caches)
            mesh_face(image, p2, p3, scheme, K, texture_size=texture_size)
        for _ in range(rounds):
            for image, p2, p3, K in cases:
                t0 = time.perf_counter()
                geom = build_face_mesh(p2, p3, scheme, image.shape[1::-1])
                t1 = time.perf_counter()
                tex = face_texture(image, p2, max_size=texture_size)
                t2 = time.perf_counter()
                face_mesh_glb(geom.vertices, geom.faces, tex.uv, tex.image, {"scheme": scheme})
                t3 = time.perf_counter()
                result = mesh_face(
                    image, p2, p3, scheme, K, provenance={"landmarks_provenance": "bench"}, texture_size=texture_size
                )
                t4 = time.perf_counter()
                assert result.ok, result.message
                tri_ms.append((t1 - t0) * 1e3)
                tex_ms.append((t2 - t1) * 1e3)
                glb_ms.append((t3 - t2) * 1e3)
                total_ms.append((t4 - t3) * 1e3)
                sizes.append(len(result.glb_bytes))
        out["schemes"][scheme] = {
            "triangulation": _stats(tri_ms),
            "texture": _stats(tex_ms),
            "glb": _stats(glb_ms),
            "mesh_face_total": _stats(total_ms),
            "glb_kb_median": round(float(np.median(sizes)) / 1024, 1),
            "n_faces_median": int(
                np.median([build_face_mesh(p2, p3, scheme).faces.shape[0] for _, p2, p3, _ in cases])
            ),
        }
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples-dir", type=Path, default=aflw_samples_dir())
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--texture-size", type=int, default=512)
    args = parser.parse_args(argv)
    print_json(run(args.samples_dir, args.rounds, args.texture_size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
