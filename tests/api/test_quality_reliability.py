"""A consensus that learns whom to trust (issue 25 items 1-3), end to end through
the real labeling API: a simulated team of known noise (geodesic RMS 1, 1.5, 3
and 3 degrees) and a rubber stamp who accepts every proposal unmoved (the
proposals are 5 degrees off) label every face (overlap 5), with honeypots. Seed
25 here; the reliability constants were chosen on other seeds
(bench/fit_reliability.py).

- the weighted consensus is closer to the truth than the best annotator's
  median on faces with three or more labels;
- the rubber stamp gets a high accepted_unmoved_share, is flagged, and does not
  move the consensus (its unmoved accept is the proposal's one vote);
- the noise estimates rank the annotators as their noise says;
- the refresh sends the rows' reweighting to a worker, and the report, the API
  and `quality_report --json` carry the new keys."""

import io
import json

import numpy as np
import pytest
from django.core.management import call_command
from rest_framework.test import APIClient
from scipy.spatial.transform import Rotation

from annotator.common import pipeline
from annotator.labeling.services import set_ground_truth
from annotator.models import Annotation, Assignment, Face, FaceConsensus, Role
from annotator.quality.services import MEMBER_FIELDS, build_consensus_rows, rewrite_consensus
from tests.api.conftest import user
from tests.api.test_quality_simulated import client_for, label_until_done, noisy
from tests.browser.data import add_proposal, make_dataset
from workers.core import geometry, reliability

pytestmark = pytest.mark.django_db

NOISE_DEG = {"ann1": 1.0, "ann15": 1.5, "ann3a": 3.0, "ann3b": 3.0}
PROPOSAL_NOISE_DEG = 5.0
N_FACES = 40


@pytest.fixture
def team(db, django_user_model, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    rng = np.random.default_rng(25)
    dataset = make_dataset("trust", n_faces=N_FACES, overlap=5)
    dataset.honeypot_share = 0.2
    dataset.save()
    truth = {}
    for face in Face.objects.filter(image__dataset=dataset):
        R = Rotation.from_euler("yxz", rng.uniform([-70, -20, -15], [70, 20, 15]), degrees=True).as_matrix()
        truth[face.pk] = R
        set_ground_truth(face=face, R=R, t=[0.0, 0.0, 650.0])
        yaw, pitch, roll = geometry.matrix_to_euler(noisy(R, PROPOSAL_NOISE_DEG, rng))
        add_proposal(face, "landmarks-fit", euler=(yaw, pitch, roll), t=(0.0, 0.0, 650.0))
    reviewer = user(django_user_model, "rhea", Role.REVIEWER)
    Assignment.objects.create(dataset=dataset, user=reviewer, role=Role.REVIEWER)
    annotators = {}
    for name in [*NOISE_DEG, "stamp"]:
        annotators[name] = user(django_user_model, name, Role.ANNOTATOR)
        Assignment.objects.create(dataset=dataset, user=annotators[name], role=Role.ANNOTATOR)
    return {"dataset": dataset, "truth": truth, "reviewer": reviewer, "annotators": annotators, "rng": rng}


def test_a_team_of_known_noise_and_a_rubber_stamp(team, monkeypatch, django_capture_on_commit_callbacks):
    dataset, truth = team["dataset"], team["truth"]
    faces = sorted(truth)
    reviewer = client_for(team["reviewer"])
    honeypots = faces[::5]
    r = reviewer.post(f"/api/v1/datasets/{dataset.pk}/honeypots/", {"faces": honeypots}, format="json")
    assert r.status_code == 200, r.content

    def decide_for(name):
        def decide(face_id, state, n):
            if name == "stamp":  # the proposal as it came: unmoved
                return np.asarray(state["reference"]["R"]).reshape(3, 3), state["reference"]["t"], 1.0
            # each label's noise drawn from its own seed (annotator, face): the same labels
            # whatever order the queue hands the faces out in (it depends on the ids)
            own = np.random.default_rng([25, list(NOISE_DEG).index(name), faces.index(face_id)])
            return noisy(truth[face_id], NOISE_DEG[name], own), [0.0, 0.0, 650.0], 5.0

        return decide

    for name, u in team["annotators"].items():
        label_until_done(client_for(u), dataset, decide_for(name))

    sent = []
    monkeypatch.setattr(pipeline, "enqueue", lambda name, *args, **kw: sent.append((name, args)))
    with django_capture_on_commit_callbacks(execute=True):
        r = reviewer.get(f"/api/v1/datasets/{dataset.pk}/quality/")
    assert r.status_code == 200, r.content
    report = r.json()
    # the noise was learned: the rows follow in a worker (here the task's body at once)
    assert sent == [("rewrite_consensus", (dataset.pk,))]
    rewrite_consensus(dataset.pk)
    by = {a["username"]: a for a in report["annotators"]}
    assert report["consensus_method"] == "reliability_weighted" and report["noise_rounds"] >= 1

    # the noise estimates rank the annotators in the right order; the stamp's labels are the proposals
    noise = {name: by[name]["noise_deg"] for name in by}
    assert noise["ann1"] < noise["ann15"] < min(noise["ann3a"], noise["ann3b"]), noise
    assert noise["stamp"] > noise["ann15"] and report["proposer_noise_deg"] > noise["ann15"]
    for a in by.values():
        lo, hi = a["noise_interval"]
        assert lo <= a["noise_deg"] <= hi
        lo, hi = a["agreement_interval"]
        assert lo <= a["agreement_geodesic_median"] <= hi

    # the rubber stamp: every label unmoved, flagged where the others disagree with the proposal
    assert by["stamp"]["accepted_unmoved_share"] == 1.0 and by["stamp"]["rubber_stamp"]
    assert all(by[n]["accepted_unmoved_share"] == 0.0 and not by[n]["rubber_stamp"] for n in NOISE_DEG)

    rows = {c.face_id: c for c in FaceConsensus.objects.filter(dataset=dataset)}
    assert all(c.method == "reliability_weighted" and c.iterations == report["noise_rounds"] for c in rows.values())
    assert all(len(c.weights) == len(c.members) and sum(c.weights) == pytest.approx(1, abs=1e-4) for c in rows.values())

    # the weighted consensus is closer to the truth than the best annotator, on faces of three or more labels
    def err(face_id, R):
        return float(geometry.geodesic_distance(truth[face_id], np.reshape(R, (3, 3))))

    several = [f for f, c in rows.items() if c.member_count >= 3]
    assert len(several) >= N_FACES - len(honeypots)
    consensus_err = np.median([err(f, rows[f].R) for f in several])
    single = {
        name: np.median([err(a.face_id, a.R) for a in Annotation.objects.filter(author=u, face_id__in=several)])
        for name, u in team["annotators"].items()
    }
    assert consensus_err < min(single.values()), (consensus_err, single)

    # ... and the stamp does not move it: the same faces without the stamp's labels
    stamp = team["annotators"]["stamp"]
    noise_doc = reliability.Noise.from_dict(dataset.quality_snapshot.noise)
    moved = []
    for f in several:
        members = (
            Annotation.objects.filter(face_id=f, pk__in=rows[f].members)
            .exclude(author=stamp)
            .order_by("pk")
            .values_list(*MEMBER_FIELDS)
        )
        (without,) = build_consensus_rows(dataset.pk, list(members), noise_doc, 0)
        moved.append(err(f, rows[f].R) - err(f, without.R))
        moved_deg = float(geometry.geodesic_distance(np.reshape(without.R, (3, 3)), np.reshape(rows[f].R, (3, 3))))
        assert moved_deg < 0.5, (f, moved_deg)
    assert np.median(np.abs(moved)) < 0.1

    # the page shows the noise with its interval, the unmoved share and the flag
    web = APIClient()
    web.force_login(team["reviewer"])
    page = web.get(f"/datasets/{dataset.name}/quality/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "noise ° (95%)" in html and "rubber stamp</strong>" in html and "reliability_weighted" in html
    assert html.count("rubber stamp</strong>") == 1

    # quality_report --json keeps its keys and adds the new ones
    out = io.StringIO()
    call_command("quality_report", "--dataset", "trust", "--json", stdout=out)
    printed = {a["username"]: a for a in json.loads(out.getvalue())["annotators"]}
    for name in by:
        for key in ("agreement_geodesic_median", "honeypot_geodesic_median", "noise_deg", "accepted_unmoved_share"):
            assert printed[name][key] == pytest.approx(by[name][key]), (name, key)
        assert len(printed[name]["noise_interval"]) == 2
