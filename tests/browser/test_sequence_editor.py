"""The sequence editor in real headless Chromium: play, step, keyframes, spikes;
the pose on a frame between two keyframes is their SLERP."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation, Slerp

from annotator.models import Annotation
from annotator.sequences.services import build_tracks
from tests.browser.conftest import SHOTS_DIR, login
from tests.sequence_data import make_sequence_dataset
from workers.core import geometry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

N = 30


@pytest.fixture
def sequence(bob, assigned):
    dataset, sequence, _truth = make_sequence_dataset(
        n_frames=N, seed=8, with_files=True, missing_rate=0.05, blunder_rate=0.08
    )
    assigned(dataset)
    build_tracks(sequence.pk)
    return sequence


@pytest.fixture
def editor(page, live_server, bob, sequence, js_errors):
    login(page, live_server, bob)
    page.goto(f"{live_server.url}/label/sequences/{sequence.pk}/")
    page.wait_for_function("() => window.headposeEditor !== undefined")
    page.evaluate("() => window.headposeEditor.ready")
    yield page
    assert js_errors == []


def ev(page, expr):
    return page.evaluate(f"() => window.headposeEditor.{expr}")


def wait_label(page, position, label):
    page.wait_for_function(
        f"() => {{ const e = window.headposeEditor; e.goToFrame({position}); "
        f"return e.label().track_label === '{label}'; }}"
    )


def test_play_step_keyframes_and_slerp_between_them(editor, sequence, bob):
    assert ev(editor, "frameCount") == N and ev(editor, "frame()") == 0
    assert ev(editor, "label().track_label") == "smoothed_proposal"
    # play at the sequence's fps, then pause
    editor.keyboard.press("Space")
    editor.wait_for_function("() => window.headposeEditor.frame() >= 5")
    editor.keyboard.press("Space")
    assert ev(editor, "playing") is False
    stopped = ev(editor, "frame()")
    editor.wait_for_timeout(200)
    assert ev(editor, "frame()") == stopped
    # steps of ±1 and ±10 from the keyboard (the keymap's: the arrows turn the head on every page)
    ev(editor, "goToFrame(10)")
    editor.keyboard.press(".")
    assert ev(editor, "frame()") == 11
    editor.keyboard.press(">")
    assert ev(editor, "frame()") == 21
    editor.keyboard.press(",")
    assert ev(editor, "frame()") == 20
    assert editor.input_value("#scrubber") == "20"
    # two keyframes (the shown poses), saved through the faces' save API
    for position in (6, 16):
        ev(editor, f"goToFrame({position})")
        editor.keyboard.press("s")  # the keymap's save: a keyframe here
        wait_label(editor, position, "keyframe")
    keys = {
        p: np.reshape(
            editor.evaluate(
                f"() => {{ window.headposeEditor.goToFrame({p}); return window.headposeEditor.getPose().R; }}"
            ),
            (3, 3),
        )
        for p in (6, 16)
    }
    assert Annotation.objects.filter(author=bob, status="corrected", face__image__sequence=sequence).count() == 2
    for middle in (7, 11, 15):
        wait_label(editor, middle, "interpolated")
        shown = np.reshape(ev(editor, "getPose().R"), (3, 3))
        expected = Slerp([6, 16], Rotation.from_matrix(np.stack([keys[6], keys[16]])))([middle]).as_matrix()[0]
        assert geometry.geodesic_distance(shown, expected, degrees=False) < 1e-6
    editor.screenshot(path=str(SHOTS_DIR / "sequence_editor.png"), full_page=True)
    # delete a keyframe: it becomes a draft, the frames after the other one follow the track again
    ev(editor, "goToFrame(16)")
    editor.keyboard.press("Delete")
    wait_label(editor, 11, "smoothed_proposal")
    assert (
        Annotation.objects.get(author=bob, face__image__sequence=sequence, face__image__frame_index=16).status
        == "draft"
    )


def test_next_spike_and_the_gap_chart(editor, sequence):
    spikes = sequence.tracks.get(index=0).spikes
    assert spikes, "the synthetic blunders make spikes"
    ev(editor, "goToFrame(0)")
    editor.keyboard.press("t")
    first = min(s for s in spikes if s > 0)
    assert ev(editor, "label().frame_index") == first
    assert editor.locator("#gap-chart polyline").count() >= 1
    assert editor.locator("#timeline .spike").count() == len(set(spikes))


def test_a_frame_is_corrected_in_place_and_kept_as_a_keyframe(editor, sequence, bob):
    """Issue 26 item 8: the timeline's frame is edited in the labeling page's editor, on the page,
    landmark pins included (kept with the keyframe)."""
    editor.evaluate("() => { window.stayed = 'on the page'; }")
    start_url = editor.url
    assert editor.locator("#edit-link").count() == 0  # no link away: the frame is edited here
    ev(editor, "goToFrame(3)")
    frame_index = ev(editor, "label().frame_index")
    label = np.reshape(ev(editor, "getPose().R"), (3, 3))
    editor.keyboard.press("ArrowLeft")  # keymap.js yawLeft: the same key as on the labeling page
    keyed = np.reshape(ev(editor, "getPose().R"), (3, 3))
    assert geometry.geodesic_distance(label, keyed) > 0.5
    box = editor.locator("#pose-canvas").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    editor.mouse.move(x, y)
    editor.mouse.down()
    editor.mouse.move(x + 60, y + 20, steps=5)
    editor.mouse.up()
    dragged = ev(editor, "getPose()")
    assert geometry.geodesic_distance(keyed, np.reshape(dragged["R"], (3, 3))) > 2
    yaw = editor.evaluate(
        "() => { const e = window.headposeEditor; return e.math.matrixToEulerWide(e.getPose().R)[0]; }"
    )
    assert abs(float(editor.input_value("#pose-fields [name=yaw]")) - yaw) < 0.06  # the fields follow
    assert "edited" in editor.inner_text("#save-state")
    editor.screenshot(path=str(SHOTS_DIR / "sequence_editing.png"))
    editor.keyboard.press("Enter")  # the keymap's save: this pose becomes the frame's keyframe
    wait_label(editor, 3, "keyframe")
    stored = Annotation.objects.get(author=bob, face__image__sequence=sequence, face__image__frame_index=frame_index)
    assert stored.status == "corrected"
    assert geometry.geodesic_distance(np.reshape(stored.R, (3, 3)), np.reshape(dragged["R"], (3, 3))) < 1e-4
    assert (
        geometry.geodesic_distance(np.reshape(ev(editor, "getPose().R"), (3, 3)), np.reshape(dragged["R"], (3, 3)))
        < 1e-4
    )
    assert editor.locator('#timeline .key[data-position="3"]').count() == 1

    # landmark pins on the frame (the labeling page's landmark tool): H shows the handles, pins
    # solve the pose, S keeps it as the keyframe with its pins, and the frame shows them again
    ev(editor, "goToFrame(6)")
    index6 = ev(editor, "label().frame_index")
    editor.wait_for_function("() => window.headposeEditor.faceLoaded()")
    editor.locator("#pose-canvas").focus()
    editor.keyboard.press("h")
    assert editor.is_checked("#opt-handles") and editor.locator("#pin-layer .handle").count() == 68
    at = ev(editor, "landmarks()")
    wanted = {i: [at[i][0] + 2.0, at[i][1] - 1.5] for i in (36, 45, 30, 48, 54, 8)}
    for i, (x, y) in wanted.items():
        solved = editor.evaluate(f"() => window.headposeEditor.pin({i}, {x}, {y})")
    assert solved["mode"] == "full" and solved["rmse"] < 3
    assert "6 pinned" in editor.inner_text("#pin-count")
    editor.screenshot(path=str(SHOTS_DIR / "sequence_pins.png"))
    pinned_pose = ev(editor, "getPose()")
    editor.keyboard.press("s")
    wait_label(editor, 6, "keyframe")
    frame6 = Annotation.objects.get(author=bob, face__image__sequence=sequence, face__image__frame_index=index6)
    assert sorted(p["index"] for p in frame6.landmark_pins) == sorted(wanted)
    assert all(abs(p["x"] - wanted[p["index"]][0]) < 1e-9 for p in frame6.landmark_pins)
    assert geometry.geodesic_distance(frame6.R_matrix, np.reshape(pinned_pose["R"], (3, 3))) < 1e-4
    ev(editor, "goToFrame(2)")
    assert ev(editor, "pins()") == []  # another frame: none of frame 6's pins
    ev(editor, "goToFrame(6)")
    editor.wait_for_function("() => window.headposeEditor.faceLoaded()")
    assert sorted(p["index"] for p in ev(editor, "pins()")) == sorted(wanted)
    assert editor.evaluate("() => window.stayed") == "on the page" and editor.url == start_url


def test_the_labeling_page_of_a_frame_knows_its_frame_and_goes_back_to_the_timeline(editor, sequence):
    ev(editor, "goToFrame(4)")
    frame_index = ev(editor, "label().frame_index")
    editor.goto(editor.url.split("/label/")[0] + f"/label/faces/{ev(editor, 'label().face')}/")
    editor.wait_for_function(
        "() => window.headposeEditor && window.headposeEditor.getPose !== undefined"
        " && document.body.dataset.editorReady === '1'"
    )
    assert "/label/faces/" in editor.url
    assert ev(editor, "frame()") == frame_index
    assert f"frame {frame_index}" in editor.inner_text("#sequence-link")
    ev(editor, "goToFrame(7)")
    editor.wait_for_url(f"**/label/sequences/{sequence.pk}/#frame=7")
    editor.wait_for_function("() => document.body.dataset.editorReady === '1'")
    assert ev(editor, "label().frame_index") == 7
    editor.goto(editor.url.split("/label/")[0] + f"/datasets/{sequence.dataset.name}/")
    assert editor.locator("#sequences a").first.get_attribute("href") == f"/label/sequences/{sequence.pk}/"
    editor.screenshot(path=str(SHOTS_DIR / "dataset_sequences.png"))
