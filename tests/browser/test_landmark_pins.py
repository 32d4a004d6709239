"""The landmark tool in headless Chromium: landmarks dragged with the real
mouse pin them and the pose follows (solved in the page by pnp.js); the pins
are saved with the annotation; at 4x zoom the handles and the 3D drawing still
sit where cv2.projectPoints puts the reference face's landmarks (within 1 px);
the proposals are switched from the keyboard with their distance shown; the
feature lines are drawn by default, a partial solve says so, and a pin that
raises the pins' error warns with an Undo (issue 26 items 9, 10).
Screenshots go to HEADPOSE_SHOTS_DIR (/tmp/shots) for a person to look at."""

import cv2
import numpy as np
import pytest

from annotator.models import Annotation, AnnotationRevision, Face, Proposal
from tests.browser.conftest import login, open_editor
from tests.browser.data import add_proposal, make_dataset
from workers.core import geometry
from workers.core.proposers.parts.reference_face import load_reference_face

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

W, H = 320, 240
K = [[300.0, 0, 159.5], [0, 300.0, 119.5], [0, 0, 1]]
START = ((10.0, -5.0, 3.0), (5.0, -10.0, 420.0))
# The pose the annotator drags toward: 14 deg of yaw and 9 of pitch away, moved a little.
TRUTH = ((-4.0, 4.0, 6.0), (12.0, -4.0, 440.0))
DRAGGED = [36, 45, 30, 48, 54, 8]  # eye corners, nose tip, mouth corners, chin


def cv2_project(points, euler, t):
    rvec, _ = cv2.Rodrigues(geometry.euler_to_matrix(list(euler)))
    uv, _ = cv2.projectPoints(
        np.asarray(points, np.float64), rvec, np.asarray(t, np.float64), np.asarray(K, np.float64), None
    )
    return uv.reshape(-1, 2)


@pytest.fixture
def face(bob, assigned):
    dataset = assigned(make_dataset("pins", n_faces=1, with_files=True, width=W, height=H, K=K))
    face = Face.objects.get(image__dataset=dataset)
    add_proposal(face, "fused", euler=START[0], t=START[1], version="2")
    add_proposal(face, "fsanet", euler=(25.0, -5.0, 3.0), t=START[1], version="1")
    return face


@pytest.fixture
def editor(page, live_server, bob, face, js_errors):
    page.set_viewport_size({"width": 1280, "height": 800})
    login(page, live_server, bob)
    open_editor(page, live_server, face)
    yield page
    assert js_errors == []


def to_screen(page, uv):
    """Image pixels (OpenCV) -> page CSS pixels, through the canvas's box on screen."""
    r = page.evaluate(
        "() => { const b = document.getElementById('pose-canvas').getBoundingClientRect();"
        " return [b.left, b.top, b.width, b.height]; }"
    )
    uv = np.asarray(uv, np.float64)
    return np.stack([r[0] + (uv[..., 0] + 0.5) * r[2] / W, r[1] + (uv[..., 1] + 0.5) * r[3] / H], -1)


def handle_centres(page):
    """Screen centres of the 68 landmark handles."""
    return np.array(
        page.evaluate("""() => [...document.querySelectorAll('#pin-layer .handle')].map((c) => {
        const b = c.getBoundingClientRect(); return [b.left + b.width / 2, b.top + b.height / 2]; })""")
    )


def pose_of(page):
    p = page.evaluate("() => window.headposeEditor.getPose()")
    return np.reshape(p["R"], (3, 3)), np.array(p["t"])


def mouse_drag(page, start, end, steps=8):
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=steps)
    page.mouse.up()


def test_dragging_landmarks_with_the_mouse_pins_them_and_the_pose_follows(editor, bob, face, shots_dir):
    page = editor
    page.keyboard.press("h")  # handles on
    assert page.is_checked("#opt-handles")
    P = load_reference_face().points68
    target = cv2_project(P, *TRUTH)
    page.evaluate(
        "([u, v]) => window.headposeEditor.zoom.set(2 * window.headposeEditor.zoom.scale, u, v)",
        target.mean(0).tolist(),
    )
    R_truth = geometry.euler_to_matrix(list(TRUTH[0]))
    start_error = float(geometry.geodesic_distance(pose_of(page)[0], R_truth))
    assert start_error > 10

    for k, index in enumerate(DRAGGED):
        mouse_drag(page, handle_centres(page)[index], to_screen(page, target[index]))
        shown = np.array(page.evaluate("() => window.headposeEditor.landmarks()"))
        pins = page.evaluate("() => window.headposeEditor.pins()")
        assert [p["index"] for p in pins] == sorted(DRAGGED[: k + 1])
        # the dragged landmark is where the mouse left it (the mouse moves in whole CSS pixels)
        assert np.hypot(*(shown[index] - target[index])) < 1.0, (index, shown[index], target[index])
        if k == 0:
            # one pin: a partial solve (x/y), the head not turned
            assert float(geometry.geodesic_distance(pose_of(page)[0], geometry.euler_to_matrix(list(START[0])))) < 8
            page.screenshot(path=str(shots_dir / "pins_one_drag.png"))
    error = float(geometry.geodesic_distance(pose_of(page)[0], R_truth))
    assert error < 1.0, f"{len(DRAGGED)} pins dragged to the truth leave {error:.2f} deg"
    rmse = float(page.inner_text("#pin-rmse").split()[0])
    assert rmse < 1.0
    assert "full solve" in page.inner_text("#pin-count")
    page.screenshot(path=str(shots_dir / "pins_six_drags.png"))

    # double-click unpins (the pose stays)
    before = pose_of(page)
    page.mouse.dblclick(*handle_centres(page)[8])
    assert 8 not in [p["index"] for p in page.evaluate("() => window.headposeEditor.pins()")]
    assert np.allclose(pose_of(page)[0], before[0])

    page.evaluate("() => window.headposeEditor.save({status: 'corrected'})")
    a = Annotation.objects.get(face=face, author=bob)
    assert [p["index"] for p in a.landmark_pins] == sorted(set(DRAGGED) - {8})
    assert AnnotationRevision.objects.get(annotation=a, version=a.version).landmark_pins == a.landmark_pins
    for p in a.landmark_pins:
        assert np.hypot(p["x"] - target[p["index"]][0], p["y"] - target[p["index"]][1]) < 1.0

    # a reload shows the saved pins, with the handles on
    page.reload()
    page.wait_for_function("() => window.headposeEditor !== undefined")
    page.evaluate("() => window.headposeEditor.ready")
    assert page.is_checked("#opt-handles")
    assert page.evaluate("() => window.headposeEditor.pins()") == a.landmark_pins


def drawn_centre_on_screen(page, point):
    """Draw one head-frame point as a 5x5 dot (image pixels) with the photo, head,
    axes and handles hidden; screenshot the page and return the dot's centroid, CSS px."""
    page.evaluate(
        """(p) => {
        const ed = window.headposeEditor;
        for (const id of ['face-image', 'pin-layer', 'overlay', 'feature-layer']) document.getElementById(id).style.visibility = 'hidden';
        ed.setHeadVisible(false); ed.setAxesVisible(false);
        ed.showMarkers([p], [[255, 255, 255]], 5); ed.renderNow();
    }""",
        list(point),
    )
    shot = cv2.imdecode(np.frombuffer(page.screenshot(), np.uint8), cv2.IMREAD_GRAYSCALE).astype(np.float64)
    page.evaluate("""() => {
        const ed = window.headposeEditor;
        for (const id of ['face-image', 'pin-layer', 'overlay', 'feature-layer']) document.getElementById(id).style.visibility = '';
        ed.showMarkers(null); ed.setHeadVisible(true); ed.setAxesVisible(true); ed.renderNow();
    }""")
    box = page.evaluate(
        "() => { const b = document.getElementById('stage').getBoundingClientRect();"
        " return [b.left, b.top, b.right, b.bottom]; }"
    )
    x0, y0, x1, y1 = [int(round(v)) for v in box]
    crop = np.clip(shot[y0:y1, x0:x1] - 60, 0, None)  # the stage background is dark
    ys, xs = np.nonzero(crop)
    w = crop[ys, xs]
    return np.array([x0 + np.sum((xs + 0.5) * w) / w.sum(), y0 + np.sum((ys + 0.5) * w) / w.sum()])


def test_at_4x_zoom_handles_and_drawing_stay_on_the_projection(editor, shots_dir):
    page = editor
    page.keyboard.press("h")
    P = load_reference_face().points68
    expected = cv2_project(P, *START)
    centre = expected.mean(0)
    page.evaluate(
        "([u, v]) => window.headposeEditor.zoom.set(4 * window.headposeEditor.zoom.scale, u, v)", centre.tolist()
    )
    page.wait_for_timeout(100)
    assert abs(page.evaluate("() => window.headposeEditor.zoom.scale") - 4) < 1e-9
    box = page.evaluate(
        "() => { const b = document.getElementById('pose-canvas').getBoundingClientRect(); return b.width; }"
    )
    per_px = box / W  # screen px per image px
    assert per_px > 6  # 4x of the fitted view

    # the handles: within 1 image pixel (here, 1/per_px screen px... held to 1 screen px)
    on_screen = handle_centres(page)
    want = to_screen(page, expected)
    stage = page.evaluate(
        "() => { const b = document.getElementById('stage').getBoundingClientRect();"
        " return [b.left, b.top, b.right, b.bottom]; }"
    )
    visible = (
        (want[:, 0] > stage[0] + 5)
        & (want[:, 0] < stage[2] - 5)
        & (want[:, 1] > stage[1] + 5)
        & (want[:, 1] < stage[3] - 5)
    )
    assert visible.sum() >= 20
    assert np.abs(on_screen[visible] - want[visible]).max() < 1.0

    # the WebGL drawing, read from a screenshot: within 1 image pixel of cv2
    margin = 4 * per_px  # the whole 5x5 dot inside the stage
    inside = (
        (want[:, 0] > stage[0] + margin)
        & (want[:, 0] < stage[2] - margin)
        & (want[:, 1] > stage[1] + margin)
        & (want[:, 1] < stage[3] - margin)
    )
    checked = [i for i in (36, 45, 39, 42, 30, 48, 54, 33, 51, 57) if inside[i]]
    assert len(checked) >= 4
    for index in checked:
        drawn = drawn_centre_on_screen(page, P[index])
        assert np.hypot(*(drawn - want[index])) / per_px < 1.0, (index, drawn, want[index], per_px)

    # a drag with the mouse at 4x lands where it was let go, to a fraction of an image pixel
    target = expected[45] + [3.0, -2.0]
    mouse_drag(page, handle_centres(page)[45], to_screen(page, target))
    shown = np.array(page.evaluate("() => window.headposeEditor.landmarks()"))
    assert np.hypot(*(shown[45] - target)) < 0.3
    page.screenshot(path=str(shots_dir / "pins_zoom4x.png"))

    page.keyboard.press("0")  # fit
    assert page.evaluate("() => window.headposeEditor.zoom.scale") == 1


def test_proposals_switch_from_the_keyboard_with_their_distance(editor):
    page = editor
    items = page.locator("#proposal-list li")
    assert items.count() == 2
    page.keyboard.press("p")
    first = page.evaluate("() => window.headposeEditor.getPose()")
    page.keyboard.press("p")
    second = page.evaluate("() => window.headposeEditor.getPose()")
    angle = float(geometry.geodesic_distance(np.reshape(first["R"], (3, 3)), np.reshape(second["R"], (3, 3))))
    assert abs(angle - 15.0) < 0.5  # fsanet and fused differ by 15 deg of yaw
    active = page.locator("#proposal-list li.active").inner_text()
    other = page.locator("#proposal-list li:not(.active)").inner_text()
    assert active.endswith("0.0°") and other.endswith("15.0°"), (active, other)
    page.keyboard.press("Shift+P")
    assert page.evaluate("() => window.headposeEditor.getPose()") == first


def test_snap_on_a_real_sample_fits_the_landmarks_the_app_detected(
    page, live_server, bob, assigned, js_errors, aflw_samples_dir, shots_dir
):
    """A real AFLW2000 face with 68 landmarks and a frontal start: Snap (X) turns
    the head onto them (Huber fit of the reference face). Imported landmarks are
    ground truth and never reach the page (Snap is off); the same points marked as
    the app's own detection (a proposal that fitted them) are used."""
    from django.core.management import call_command

    from annotator.models import Dataset

    call_command("import_aflw2000", str(aflw_samples_dir), dataset="aflw", verbosity=0)
    dataset = assigned(Dataset.objects.get(name="aflw"))
    face = Face.objects.get(image__dataset=dataset, image__file_name="image00516.jpg")  # yaw -36 deg
    truth = Annotation.objects.get(face=face, origin="ground_truth")
    page.set_viewport_size({"width": 1280, "height": 800})
    login(page, live_server, bob)
    assert face.landmarks_provenance == "dataset"
    open_editor(page, live_server, face)
    assert page.locator("#btn-snap").is_disabled()
    assert page.locator("#opt-landmarks").is_disabled()  # no overlay of them either
    # the app's own detection of the same points (a proposer's row): Snap uses it, the face keeps its imported ones
    proposal = add_proposal(face, "landmarks-fit", euler=(0.0, 0.0, 0.0), t=(0.0, 0.0, 650.0))
    Proposal.objects.filter(pk=proposal.pk).update(landmarks_2d=face.landmarks_2d, landmark_scheme="ibug68")
    open_editor(page, live_server, face)
    start = pose_of(page)[0]
    assert float(geometry.geodesic_distance(start, truth.R_matrix)) > 30
    page.keyboard.press("h")
    page.keyboard.press("m")  # the face's own landmarks
    page.keyboard.press("x")
    error = float(geometry.geodesic_distance(pose_of(page)[0], truth.R_matrix))
    assert error < 3.0, error
    page.screenshot(path=str(shots_dir / "pins_snap_real.png"))
    page.keyboard.press("h")  # handles off: the feature lines (on by default) over the real face
    page.keyboard.press("m")
    page.screenshot(path=str(shots_dir / "features_real.png"))
    assert js_errors == []


def test_the_js_api_pins_unpins_and_solves(editor):
    page = editor
    P = load_reference_face().points68
    shown = np.array(page.evaluate("() => window.headposeEditor.landmarks()"))
    assert shown.shape == (68, 2)
    assert np.abs(shown - cv2_project(P, *START)).max() < 1e-6  # the page's landmarks are cv2's
    target = cv2_project(P, *TRUTH)
    modes = [page.evaluate("([i, x, y]) => window.headposeEditor.pin(i, x, y).mode", [i, *target[i]]) for i in DRAGGED]
    assert modes == ["xy"] + ["rotation+xy"] * 2 + ["full"] * 3
    R, t = pose_of(page)
    assert float(geometry.geodesic_distance(R, geometry.euler_to_matrix(list(TRUTH[0])))) < 1e-4
    assert np.abs(t - TRUTH[1]).max() < 1e-2
    assert page.evaluate("() => window.headposeEditor.unpin(8)") is True
    assert page.evaluate("() => window.headposeEditor.unpin(8)") is False
    out = page.evaluate("() => window.headposeEditor.solve()")
    assert out["mode"] == "full" and out["rmse"] < 1e-3 and out["ms"] < 50
    with pytest.raises(Exception, match="outside the image"):
        page.evaluate("() => window.headposeEditor.pin(3, -5, 10)")
    with pytest.raises(Exception, match=r"0\.\.67"):
        page.evaluate("() => window.headposeEditor.pin(68, 5, 10)")


def test_feature_lines_partial_solve_and_the_pins_guard(editor, bob, face, shots_dir):
    page = editor
    paths = page.locator("#feature-layer path.feature")
    assert paths.count() == 9 and page.is_checked("#opt-features")  # on by default
    assert all(paths.nth(i).get_attribute("d").startswith("M") for i in range(9))
    page.keyboard.press("y")
    assert not page.is_checked("#opt-features") and not page.locator("#feature-layer").is_visible()
    page.keyboard.press("y")
    assert page.locator("#feature-layer").is_visible()
    page.keyboard.press("g")  # the proposals' outlines (the review's ghost heads)
    assert page.is_checked("#opt-outline")
    page.evaluate("() => window.headposeEditor.renderNow()")
    page.screenshot(path=str(shots_dir / "features_and_outlines.png"))
    page.keyboard.press("g")

    P = load_reference_face().points68
    target = cv2_project(P, *TRUTH)
    depth = pose_of(page)[1][2]
    pin = "([i, x, y]) => window.headposeEditor.pin(i, x, y)"
    for i in (36, 45, 30):
        out = page.evaluate(pin, [i, *target[i]])
    assert out["mode"] == "rotation+xy" and pose_of(page)[1][2] == depth  # 3 pins: depth held
    assert "partial solve: rotation and x/y (depth held)" in page.inner_text("#pin-count")
    assert "→" in page.inner_text("#pin-rmse")  # before → after
    for i in (48, 54):
        out = page.evaluate(pin, [i, *target[i]])
    assert out["mode"] == "full" and out["rmse"] < 1e-3
    good = page.evaluate("() => window.headposeEditor.getPose()")

    # a misplaced pin (the chin 60 px up) raises the error: a warning, and Undo brings back pose and pins
    page.evaluate(pin, [8, target[8][0], target[8][1] - 60])
    guard = page.locator("#pin-guard")
    assert guard.is_visible() and guard.get_attribute("data-kind") == "warn"
    assert "raised the pins' error" in guard.inner_text()
    page.screenshot(path=str(shots_dir / "pins_guard_warning.png"))
    page.click("#pin-guard-undo")
    assert page.evaluate("() => window.headposeEditor.getPose()") == good
    assert [p["index"] for p in page.evaluate("() => window.headposeEditor.pins()")] == [30, 36, 45, 48, 54]
    assert not guard.is_visible()

    # the pose moved away from the pins: a correction is refused until re-solved
    page.locator("#pose-canvas").focus()
    page.keyboard.press("Shift+ArrowLeft")
    with pytest.raises(Exception, match="pins do not match"):
        page.evaluate("() => window.headposeEditor.save({status: 'corrected'})")
    assert guard.get_attribute("data-kind") == "refuse"
    page.click("#pin-guard-solve")
    page.evaluate("() => window.headposeEditor.save({status: 'corrected'})")
    assert len(Annotation.objects.get(face=face, author=bob).landmark_pins) == 5

    # another proposal: solved again with the pins from it, and Clear pins leaves the proposal as it is
    page.keyboard.press("p")
    assert guard.get_attribute("data-kind") == "info" and "re-solved with the 5 pins" in guard.inner_text()
    assert page.evaluate("() => window.headposeEditor.solve().rmse") < 1e-3
    page.keyboard.press("p")
    page.click("#pin-guard-clear")
    assert page.evaluate("() => window.headposeEditor.pins()") == []
    R = pose_of(page)[0]
    assert float(geometry.geodesic_distance(R, geometry.euler_to_matrix(list(START[0])))) < 1e-6
