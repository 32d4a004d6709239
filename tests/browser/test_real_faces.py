"""The labeling page on real AFLW2000 samples, with the ground truth handed in
as the proposal: the head must sit on the face. Screenshots go to /tmp/shots/
(HEADPOSE_SHOTS_DIR) for a person to look at."""

import numpy as np
import pytest
from django.core.management import call_command

from annotator.models import Annotation, AnnotationOrigin, Dataset, Proposal, Role
from tests.browser.conftest import canvas_rgba, login, open_editor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_head_sits_on_real_faces_at_the_ground_truth_pose(
    page, live_server, bob, assigned, js_errors, aflw_samples_dir, shots_dir
):
    call_command("import_aflw2000", str(aflw_samples_dir), dataset="aflw", verbosity=0)
    # bob also reviews it: a reviewer may read the ground truth, so the imported landmarks are
    # drawn (an annotator alone gets only the app's detections: tests/web/test_honeypot_queue.py)
    dataset = assigned(assigned(Dataset.objects.get(name="aflw")), role=Role.REVIEWER)
    gts = (
        Annotation.objects.filter(face__image__dataset=dataset, origin=AnnotationOrigin.GROUND_TRUTH)
        .select_related("face__image")
        .order_by("face__image__file_name")
    )
    for gt in gts:
        Proposal.objects.create(
            face=gt.face,
            proposer="ground_truth",
            proposer_version="aflw2000",
            weights_sha256="0" * 64,
            R=gt.R,
            t=gt.t,
            score=1.0,
        )
    login(page, live_server, bob)
    for gt in list(gts)[:4]:
        open_editor(page, live_server, gt.face)
        page.check("#opt-landmarks")
        drawn = canvas_rgba(page)[..., 3] > 0
        lm = np.round(np.asarray(gt.face.landmarks_2d)).astype(int)
        h, w = drawn.shape
        ok = (lm[:, 0] >= 0) & (lm[:, 0] < w) & (lm[:, 1] >= 0) & (lm[:, 1] < h)
        on_head = drawn[lm[ok, 1], lm[ok, 0]]
        # The generic head covers the face's own landmarks (jaw line included, almost all of them).
        assert on_head.mean() > 0.9, (gt.face.image.file_name, on_head.mean())
        name = gt.face.image.file_name.rsplit(".", 1)[0]
        page.screenshot(path=str(shots_dir / f"label_{name}.png"))
        page.locator("#stage").screenshot(path=str(shots_dir / f"stage_{name}.png"))
    page.check("#opt-wireframe")
    page.screenshot(path=str(shots_dir / "label_wireframe.png"))
    assert js_errors == []
