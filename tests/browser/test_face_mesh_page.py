"""The face page loads the face's textured GLB in the browser (GLTFLoader),
posed over the photo with the image's K."""

import numpy as np
import pytest
from django.core.management import call_command

from annotator.models import Face
from annotator.proposals.meshes import build_mesh
from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_face_mesh_loads_and_sits_on_the_face(page, live_server, alice, aflw_samples_dir, js_errors):
    call_command("import_aflw2000", str(aflw_samples_dir), dataset="aflw", verbosity=0)
    face = Face.objects.get(image__file_name="image00050.jpg")
    mesh = build_mesh(face)
    assert mesh.state == "done"
    login(page, live_server, alice)
    page.goto(f"{live_server.url}/faces/{face.pk}/")
    result = page.evaluate("window.faceMeshViewer.loaded")
    assert result["vertexCount"] == mesh.n_vertices == 68
    # What the browser drew over the photo: opaque pixels at the landmarks, none far from the face.
    pixels = page.evaluate(
        """() => { const c = document.getElementById('mesh-posed-canvas');
                   const g = c.getContext('webgl2') || c.getContext('webgl');
                   const a = new Uint8Array(c.width * c.height * 4);
                   g.readPixels(0, 0, c.width, c.height, g.RGBA, g.UNSIGNED_BYTE, a);
                   return {w: c.width, h: c.height, a: Array.from(a)}; }"""
    )
    rgba = np.array(pixels["a"], dtype=np.uint8).reshape(pixels["h"], pixels["w"], 4)[::-1]  # GL rows bottom-up
    alpha = rgba[..., 3] > 0
    lm = np.asarray(face.landmarks_2d)
    nose = np.round(lm[30]).astype(int)  # nose tip, inside the mesh
    assert alpha[nose[1], nose[0]]
    ys, xs = np.nonzero(alpha)
    x0, y0 = lm.min(0) - 3
    x1, y1 = lm.max(0) + 3
    assert xs.min() >= x0 and xs.max() <= x1 and ys.min() >= y0 and ys.max() <= y1
    response = page.request.get(f"{live_server.url}/faces/{face.pk}/mesh.glb")
    assert response.ok and response.body()[:4] == b"glTF"
    page.screenshot(path="/tmp/shots/face_page.png", full_page=True)
    assert not js_errors


def test_a_face_without_landmarks_says_so(page, live_server, alice, aflw_samples_dir):
    call_command("import_aflw2000", str(aflw_samples_dir), dataset="aflw", verbosity=0)
    face = Face.objects.first()
    Face.objects.filter(pk=face.pk).update(landmarks_2d=None, landmarks_3d=None)
    face.refresh_from_db()
    assert build_mesh(face).state == "no_landmarks"
    login(page, live_server, alice)
    page.goto(f"{live_server.url}/faces/{face.pk}/")
    assert "no landmarks" in page.content()


def test_an_annotator_sees_the_face_without_labels_that_give_the_pose_away(
    page, live_server, alice, bob, aflw_samples_dir, js_errors
):
    """The face page as an annotator of the dataset: the photo, proposals and
    their own label; no ground truth, nobody else's label, no mesh (its
    vertices are the 3D landmarks in the camera frame). An admin sees all."""
    from annotator.labeling.services import save_annotation
    from annotator.models import Assignment, Dataset, Role
    from workers.core import geometry

    call_command("import_aflw2000", str(aflw_samples_dir), dataset="aflw", verbosity=0)
    face = Face.objects.get(image__file_name="image00050.jpg")
    assert build_mesh(face).state == "done"
    Assignment.objects.create(dataset=Dataset.objects.get(name="aflw"), user=bob, role=Role.ANNOTATOR)
    for who, yaw in ((bob, 12.5), (alice, -33.5)):
        save_annotation(
            face=face,
            author=who,
            R=geometry.euler_to_matrix([yaw, 4.0, 2.0]).reshape(-1).tolist(),
            t=[0.0, 0.0, 900.0],
            status="corrected",
            expected_version=0,
        )
    gt_yaw = f"{face.annotations.get(origin='ground_truth').euler[0]:.1f}"

    def table_rows():
        return page.locator("section.face-side table").nth(1).locator("tbody tr, tr:has(td)").all_inner_texts()

    login(page, live_server, bob)
    page.goto(f"{live_server.url}/faces/{face.pk}/")
    page.evaluate("window.faceMeshViewer.loaded")
    rows = table_rows()
    assert len(rows) == 1 and rows[0].startswith("bob") and "12.5" in rows[0], rows
    assert "Your annotations" in page.content() and gt_yaw not in "".join(rows)
    assert page.locator("#mesh-orbit-canvas").count() == 0 and page.locator("a[download]").count() == 0
    assert page.request.get(f"{live_server.url}/faces/{face.pk}/mesh.glb").status == 403
    page.screenshot(path="/tmp/shots/face_page_annotator.png", full_page=True)

    page.context.clear_cookies()
    login(page, live_server, alice)
    page.goto(f"{live_server.url}/faces/{face.pk}/")
    assert page.evaluate("window.faceMeshViewer.loaded")["vertexCount"] == 68
    rows = table_rows()
    assert sorted(r.split()[0] for r in rows) == ["alice", "bob", "dataset"], rows
    page.screenshot(path="/tmp/shots/face_page_admin.png", full_page=True)
    assert not js_errors
