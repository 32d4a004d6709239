"""Where the browser draws a head point must be where cv2.projectPoints puts
it (same pose, same K) within 1 px: checked on pixels read back from the WebGL
canvas, for several cameras (off-centre principal point, non-square image,
fx != fy), and for the whole mesh silhouette."""

import json

import cv2
import numpy as np
import pytest
import trimesh

from annotator.models import Face
from tests.browser.conftest import REPO_ROOT, canvas_rgba, decode_data_url, login, open_editor
from tests.browser.data import add_proposal, make_dataset
from workers.core import geometry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HEAD_JSON = json.loads((REPO_ROOT / "static" / "meshes" / "head.json").read_text())
POINTS = [
    "nose_tip",
    "chin",
    "forehead",
    "left_eye_outer",
    "right_eye_outer",
    "mouth_left",
    "mouth_right",
    "left_side",
    "top_of_head",
]

CAMERAS = {
    # name: (width, height, K, euler, t)
    "centred-320x240": (320, 240, [[320, 0, 159.5], [0, 320, 119.5], [0, 0, 1]], (20, -10, 5), (8, -4, 900)),
    "off-centre-pp": (320, 240, [[400, 0, 100.25], [0, 400, 170.75], [0, 0, 1]], (-35, 15, -8), (70, -60, 1100)),
    "portrait-200x360-fx-ne-fy": (200, 360, [[260, 0, 97.0], [0, 300, 190.0], [0, 0, 1]], (10, 25, 20), (-5, 10, 950)),
}


def cv2_project(points, euler, t, K):
    rvec, _ = cv2.Rodrigues(geometry.euler_to_matrix(list(euler)))
    uv, _ = cv2.projectPoints(
        np.asarray(points, np.float64), rvec, np.asarray(t, np.float64), np.asarray(K, np.float64), None
    )
    return uv.reshape(-1, 2)


def drawn_centroids(page, points, size=5):
    """Draw each point alone as a size x size dot (head and axes hidden), read the
    canvas back and return the alpha-weighted centroid of the drawn pixels."""
    urls = page.evaluate(
        """([points, size]) => {
        const ed = window.headposeEditor;
        ed.setHeadVisible(false); ed.setAxesVisible(false);
        const out = points.map((p) => {
            ed.showMarkers([p], [[255, 255, 255]], size); ed.renderNow();
            return document.getElementById('pose-canvas').toDataURL('image/png');
        });
        ed.showMarkers(null); ed.setHeadVisible(true); ed.setAxesVisible(true); ed.renderNow();
        return out;
    }""",
        [points, size],
    )
    centroids, areas = [], []
    for url in urls:
        alpha = decode_data_url(url)[..., 3].astype(np.float64)
        ys, xs = np.nonzero(alpha)
        w = alpha[ys, xs]
        areas.append(w.sum() / 255)
        centroids.append([np.sum(xs * w) / w.sum(), np.sum(ys * w) / w.sum()] if len(xs) else [np.nan, np.nan])
    return np.array(centroids), np.array(areas)


@pytest.mark.parametrize("camera", list(CAMERAS))
def test_drawn_points_match_cv2_project_points(page, live_server, bob, assigned, js_errors, camera):
    width, height, K, euler, t = CAMERAS[camera]
    dataset = assigned(make_dataset(camera, n_faces=1, with_files=True, width=width, height=height, K=K))
    face = Face.objects.get(image__dataset=dataset)
    add_proposal(face, "fused", euler=euler, t=t)
    login(page, live_server, bob)
    open_editor(page, live_server, face)

    points = [HEAD_JSON["named_vertices"][n]["position"] for n in POINTS]
    expected = cv2_project(points, euler, t, K)
    inside = (expected[:, 0] > 3) & (expected[:, 0] < width - 4) & (expected[:, 1] > 3) & (expected[:, 1] < height - 4)
    assert inside.sum() >= 6, f"pick a pose that keeps the points in view: {expected}"
    drawn, areas = drawn_centroids(page, points)
    for name, e, d, a, ok in zip(POINTS, expected, drawn, areas, inside):
        if not ok:
            continue
        assert 20 <= a <= 30, f"{name}: a 5x5 dot covers about 25 pixels, got {a}"
        assert np.hypot(*(d - e)) < 1.0, f"{camera} {name}: drawn at {d}, cv2 says {e}"
    assert js_errors == []


def test_the_mesh_silhouette_matches_cv2(page, live_server, bob, assigned, js_errors):
    """The whole mesh (not only marker dots): the drawn silhouette against the
    mesh's triangles projected by cv2 and filled on the CPU."""
    width, height, K, euler, t = CAMERAS["off-centre-pp"]
    dataset = assigned(make_dataset("silhouette", n_faces=1, with_files=True, width=width, height=height, K=K))
    face = Face.objects.get(image__dataset=dataset)
    add_proposal(face, "fused", euler=euler, t=t)
    login(page, live_server, bob)
    open_editor(page, live_server, face)
    page.evaluate("() => { const ed = window.headposeEditor; ed.setAxesVisible(false); }")
    page.fill("#opt-opacity", "1")
    page.dispatch_event("#opt-opacity", "input")
    drawn = canvas_rgba(page)[..., 3] / 255.0  # coverage (MSAA resolves partial pixels)

    mesh = trimesh.load(REPO_ROOT / "static" / "meshes" / "head.glb", force="mesh")
    uv = cv2_project(mesh.vertices, euler, t, K)
    # CPU reference: fill the projected triangles on an S-times finer grid whose
    # sample j sits at OpenCV coordinate (j + 0.5) / S - 0.5, then average each
    # S x S block: the fraction of every pixel the head covers.
    S = 8
    fine = np.zeros((height * S, width * S), np.uint8)
    tris = np.round(((uv + 0.5) * S - 0.5)[mesh.faces] * 16).astype(np.int32)
    for tri in tris:
        cv2.fillConvexPoly(fine, tri, 1, lineType=cv2.LINE_8, shift=4)
    expected = fine.reshape(height, S, width, S).mean(axis=(1, 3))
    assert (expected > 0.5).sum() > 2000
    a, b = drawn > 0.5, expected > 0.5
    iou = (a & b).sum() / (a | b).sum()
    assert iou > 0.99, iou
    # Only edge pixels may differ, and by less than a pixel's worth of coverage in total per edge pixel.
    assert np.abs(drawn - expected).sum() < 0.25 * (np.abs(np.diff(b.astype(int), axis=1)).sum() + 1), np.abs(
        drawn - expected
    ).sum()
    dist = cv2.distanceTransform((~b).astype(np.uint8), cv2.DIST_L2, 5)
    assert dist[a].max() <= 1.0
    assert js_errors == []
