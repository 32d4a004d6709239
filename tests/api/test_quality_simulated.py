"""Team quality control end to end, through the real labeling API and real
PostgreSQL: simulated annotators with known noise label a dataset with overlap
5 and honeypots; the quality report (API, command) must rank them as their
noise says, the consensus must beat the median single annotator, the blunders
must be rejected from their faces' consensus and send those faces to review.
Also: the honeypot share of a queue over 200 faces, and honeypots invisible to
annotators."""

import io
import json

import numpy as np
import pytest
from django.core.management import call_command
from rest_framework.test import APIClient
from scipy.spatial.transform import Rotation

from annotator.accounts.tokens import create_token
from annotator.labeling.services import save_annotation, set_ground_truth
from annotator.models import Annotation, Assignment, Face, FaceConsensus, HoneypotAnswer, Role
from annotator.quality.services import flush_all_consensus, flush_consensus, rewrite_consensus
from annotator.review.selectors import faces_needing_review
from annotator.review.services import review_annotation
from tests.api.conftest import user
from tests.browser.data import add_proposal, make_dataset
from workers.core import geometry

pytestmark = pytest.mark.django_db

NOISE_DEG = {"sigma1": 1.0, "sigma3": 3.0, "sigma8": 8.0}
PROPOSAL_NOISE_DEG = 5.0
# the blunderer turns these faces by 90 degrees: 1 in 8 regular faces and half of the honeypots
BLUNDER_SLOTS = (0, 1)  # (position of the face in id order) % 8


def noisy(R: np.ndarray, sigma_deg: float, rng) -> np.ndarray:
    """R turned by a random rotation whose geodesic RMS is sigma_deg."""
    v = rng.normal(size=3) * np.deg2rad(sigma_deg) / np.sqrt(3)
    return R @ Rotation.from_rotvec(v).as_matrix()


def client_for(u) -> APIClient:
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Token {create_token(user=u, name='sim')[1]}")
    return c


def label_until_done(client, dataset, decide) -> list[int]:
    """Ask the real API for the next face with its editor state (as the labeling page
    does) and save decide(state) until none is left."""
    done = []
    while True:
        r = client.post(f"/api/label/datasets/{dataset.pk}/next/", {"with_state": True}, format="json")
        assert r.status_code == 200, r.content
        face_id, state = r.json()["face_id"], r.json()["state"]
        if face_id is None:
            return done
        R, t, spent = decide(face_id, state, len(done))
        body = {
            "R": R.reshape(-1).tolist(),
            "t": t,
            "status": "corrected",
            "expected_version": 0,
            "time_spent_s": spent,
            "proposal_id": state["reference"]["origin"]["proposal_id"],
        }
        r = client.put(f"/api/label/faces/{face_id}/annotation/", body, format="json")
        assert r.status_code == 200, r.content
        done.append(face_id)


@pytest.fixture
def team(db, django_user_model, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    rng = np.random.default_rng(14)
    dataset = make_dataset("team", n_faces=48, overlap=5)
    dataset.honeypot_share = 0.25  # enough answers per annotator to rank them on 48 faces
    dataset.save()
    truth = {}
    for face in Face.objects.filter(image__dataset=dataset):
        R = Rotation.from_euler("yxz", rng.uniform([-70, -20, -15], [70, 20, 15]), degrees=True).as_matrix()
        truth[face.pk] = R
        set_ground_truth(face=face, R=R, t=[0.0, 0.0, 650.0])
        yaw, pitch, roll = geometry.matrix_to_euler(noisy(R, PROPOSAL_NOISE_DEG, rng))
        add_proposal(face, "landmarks-fit", euler=(yaw, pitch, roll), t=(0.0, 0.0, 650.0))
    admin = user(django_user_model, "lead", Role.ADMIN, is_staff=True, is_superuser=True)
    reviewer = user(django_user_model, "rita", Role.REVIEWER)
    Assignment.objects.create(dataset=dataset, user=reviewer, role=Role.REVIEWER)
    names = list(NOISE_DEG) + ["acceptor", "blunderer"]
    annotators = {}
    for name in names:
        annotators[name] = user(django_user_model, name, Role.ANNOTATOR)
        Assignment.objects.create(dataset=dataset, user=annotators[name], role=Role.ANNOTATOR)
    return {
        "dataset": dataset,
        "truth": truth,
        "admin": admin,
        "reviewer": reviewer,
        "annotators": annotators,
        "rng": rng,
    }


def test_simulated_annotators_are_ranked_and_the_consensus_beats_them(team):
    dataset, truth, rng = team["dataset"], team["truth"], team["rng"]
    faces = sorted(truth)
    reviewer = client_for(team["reviewer"])
    r = reviewer.post(f"/api/v1/datasets/{dataset.pk}/honeypots/", {"faces": faces[::4]}, format="json")
    assert r.status_code == 200 and len(r.json()) == len(faces[::4])

    blunders = []

    def decide_for(name):
        def decide(face_id, state, n):
            if name == "acceptor":  # accepts every proposal as it comes
                return np.asarray(state["reference"]["R"]).reshape(3, 3), state["reference"]["t"], 2.0
            if name == "blunderer":
                R = noisy(truth[face_id], 1.0, rng)
                if faces.index(face_id) % 8 in BLUNDER_SLOTS:
                    blunders.append(face_id)
                    R = R @ Rotation.from_euler("y", 90, degrees=True).as_matrix()
                return R, [0.0, 0.0, 650.0], 6.0
            return noisy(truth[face_id], NOISE_DEG[name], rng), list(650 + rng.normal(size=3) * 3), 4.0 + n % 3

        return decide

    for name, u in team["annotators"].items():
        label_until_done(client_for(u), dataset, decide_for(name))

    r = reviewer.get(f"/api/v1/datasets/{dataset.pk}/quality/")
    assert r.status_code == 200, r.content
    report = r.json()
    by = {a["username"]: a for a in report["annotators"]}
    assert set(by) == set(team["annotators"])
    # the refresh learned the noise estimates and sends a worker to reweight every row; here, at once
    rewrite_consensus(dataset.pk)
    # every annotator labeled every regular face once (overlap 5, five annotators), and the honeypots
    # their queue held (never more than the share asks for: once the regular faces are done, so are they)
    regular = sorted(set(faces) - set(faces[::4]))
    assert all(a["faces"] == len(regular) + a["honeypot_answers"] for a in by.values())
    assert all(a["honeypot_answers"] >= 6 for a in by.values())

    # noise ranks them, by honeypot error and by agreement with the others
    for key in ("honeypot_geodesic_median", "agreement_geodesic_median"):
        assert by["sigma1"][key] < by["sigma3"][key] < by["sigma8"][key], key
    # the acceptor never moved a proposal; everybody else did
    assert by["acceptor"]["proposal_moved_median"] < 1e-3
    assert min(by[n]["proposal_moved_median"] for n in NOISE_DEG) > 1.0
    # the blunderer: its 90-degree labels are left out of the consensus, and show on the honeypots
    assert by["blunderer"]["consensus_rejected"] >= len(set(blunders) - set(faces[::4]))
    assert by["blunderer"]["consensus_rejected"] > max(by[n]["consensus_rejected"] for n in NOISE_DEG)
    assert by["blunderer"]["honeypot_share_over_10"] > 0
    assert by["sigma1"]["honeypot_share_over_10"] == 0
    assert by["sigma1"]["median_time_s"] == 4.0 or by["sigma1"]["median_time_s"] == 5.0
    assert by["acceptor"]["throughput_per_hour"] == pytest.approx(3600 / 2.0)

    # blunders are rejected from their faces' consensus, and those faces go to review
    needing = set(faces_needing_review(dataset).values_list("pk", flat=True))
    blunder_annotations = dict(
        Annotation.objects.filter(author=team["annotators"]["blunderer"]).values_list("face_id", "pk")
    )
    assert len(set(blunders) - set(faces[::4])) == 6
    for face_id in blunders:
        c = FaceConsensus.objects.get(face_id=face_id)
        if c.member_count >= 3:  # two labels 90 degrees apart: neither can be told the outlier
            assert blunder_annotations[face_id] in c.rejected
        if c.member_count >= 2:
            assert face_id in needing
    assert report["faces_needing_review"] == len(needing)

    # the consensus is closer to the truth than the median single annotator
    consensus_err = {
        c.face_id: float(geometry.geodesic_distance(truth[c.face_id], np.reshape(c.R, (3, 3))))
        for c in FaceConsensus.objects.filter(dataset=dataset)
    }
    single = []
    for u in team["annotators"].values():
        errs = [
            float(geometry.geodesic_distance(truth[a.face_id], a.R_matrix)) for a in Annotation.objects.filter(author=u)
        ]
        single.append(np.median(errs))
    assert set(regular) <= set(consensus_err)
    assert np.median(list(consensus_err.values())) < np.median(single)

    # the command prints the same figures
    out = io.StringIO()
    call_command("quality_report", "--dataset", "team", "--json", stdout=out)
    printed = {a["username"]: a for a in json.loads(out.getvalue())["annotators"]}
    for name in by:
        for key in (
            "username",
            "faces",
            "median_time_s",
            "honeypot_geodesic_median",
            "agreement_geodesic_median",
            "proposal_moved_median",
            "rejected",
        ):
            assert printed[name][key] == pytest.approx(by[name][key]), (name, key)
    # the noise floor: per |yaw| bin, over the faces labeled by several
    assert sum(b["n"] for b in report["noise_floor"]) == report["faces_with_overlap"] >= len(regular)

    # the consensus export carries member count and dispersion
    r = reviewer.get(f"/api/v1/datasets/{dataset.pk}/export/?format=csv&labels=consensus")
    assert r.status_code == 200, r.content
    lines = b"".join(r.streaming_content if hasattr(r, "streaming_content") else [r.content]).decode().splitlines()
    header = lines[0].split(",")
    assert header[-2:] == ["member_count", "dispersion_deg"] and len(lines) == len(consensus_err) + 1
    face_col, count_col = header.index("face_id"), header.index("member_count")
    members = {int(line.split(",")[face_col]): int(line.split(",")[count_col]) for line in lines[1:]}  # face_id: count
    assert {members[f] for f in regular} == {5}
    r = reviewer.get(f"/api/v1/datasets/{dataset.pk}/export/?format=json&labels=consensus")
    doc = json.loads(b"".join(r.streaming_content if hasattr(r, "streaming_content") else [r.content]))
    assert all(
        f["origin"] == "consensus"
        and f["provenance"]["member_count"] == members[f["face_id"]]
        and f["provenance"]["dispersion_deg"] >= 0
        for f in doc["faces"]
    )


def test_a_reviewer_rejection_takes_the_label_out_of_the_consensus(team):
    dataset = team["dataset"]
    face = Face.objects.filter(image__dataset=dataset).first()
    a, b = team["annotators"]["sigma1"], team["annotators"]["sigma3"]
    for u, yaw in ((a, 10.0), (b, 40.0)):
        save_annotation(
            face=face,
            author=u,
            R=geometry.euler_to_matrix([yaw, 0, 0]),
            t=[0, 0, 650],
            status="corrected",
            expected_version=0,
        )
    # the saves marked the face's consensus due; a worker (or the next reader) brings it up to date
    assert not FaceConsensus.objects.filter(face=face).exists()
    assert flush_consensus(dataset.pk) == 1 and flush_consensus(dataset.pk) == 0
    c = FaceConsensus.objects.get(face=face)
    assert c.member_count == 2 and c.needs_review and c.dispersion_deg == pytest.approx(15.0, abs=1e-6)
    bad = Annotation.objects.get(face=face, author=b)
    review_annotation(
        annotation=bad, reviewer=team["reviewer"], decision="rejected", note="look again", expected_version=bad.version
    )
    flush_all_consensus()  # as every worker's reaper round does
    c.refresh_from_db()
    assert c.member_count == 1 and not c.needs_review and c.dispersion_deg == pytest.approx(0, abs=1e-9)


def test_honeypot_share_of_a_queue_over_80_faces_and_annotators_see_nothing_of_them(team, django_user_model):
    dataset = make_dataset("queue", n_faces=100)
    faces = list(Face.objects.filter(image__dataset=dataset).order_by("pk"))
    for face in faces:
        set_ground_truth(face=face, R=np.eye(3), t=[0.0, 0.0, 650.0])
    honeypot_ids = {f.pk for f in faces[::10]}  # 10 honeypots
    admin = client_for(team["admin"])
    r = admin.post(f"/api/v1/datasets/{dataset.pk}/honeypots/", {"faces": sorted(honeypot_ids)}, format="json")
    assert r.status_code == 200
    # a face without a trusted label cannot be one: 400 naming it, nothing written
    bare = make_dataset("bare", n_faces=1)
    r = admin.post(
        f"/api/v1/datasets/{bare.pk}/honeypots/", {"faces": [Face.objects.get(image__dataset=bare).pk]}, format="json"
    )
    assert r.status_code == 400 and "no trusted label" in r.json()["detail"]

    worker = user(django_user_model, "worker", Role.ANNOTATOR)
    Assignment.objects.create(dataset=dataset, user=worker, role=Role.ANNOTATOR)
    client = client_for(worker)
    seen_bodies, handed = [], []
    for _ in range(80):  # 4 of the queue's blocks of 1/share = 20 faces, one honeypot each
        r = client.post(f"/api/label/datasets/{dataset.pk}/next/", {}, format="json")
        face_id = r.json()["face_id"]
        state = client.get(f"/api/label/faces/{face_id}/")
        seen_bodies += [r.content, state.content]
        handed.append(face_id)
        r = client.put(
            f"/api/label/faces/{face_id}/annotation/",
            {
                "R": geometry.euler_to_matrix([2.0, 0, 0]).reshape(-1).tolist(),
                "t": [0, 0, 650],
                "status": "accepted",
                "expected_version": 0,
            },
            format="json",
        )
        seen_bodies.append(r.content)
    n_honeypots = len(set(handed) & honeypot_ids)
    assert n_honeypots == 0.05 * 80, n_honeypots
    flush_consensus(dataset.pk)
    assert HoneypotAnswer.objects.filter(author=worker).count() == n_honeypots
    assert all(a.geodesic_deg == pytest.approx(2.0) for a in HoneypotAnswer.objects.filter(author=worker))

    # indistinguishable: the same keys for a honeypot and a regular face, and no word of honeypots
    hp_face = next(f for f in handed if f in honeypot_ids)
    regular = next(f for f in handed if f not in honeypot_ids)
    a, b = (client.get(f"/api/label/faces/{f}/").json() for f in (hp_face, regular))
    assert _keys(a) == _keys(b)
    assert not any(b"honeypot" in body.lower() for body in seen_bodies)
    for url in (
        f"/api/v1/faces/{hp_face}/",
        f"/api/v1/annotations/?dataset={dataset.pk}",
        f"/api/v1/datasets/{dataset.pk}/",
        "/api/v1/me/",
    ):
        r = client.get(url)
        assert r.status_code == 200 and b"honeypot" not in r.content.lower(), url
    for url in (f"/api/v1/datasets/{dataset.pk}/honeypots/", f"/api/v1/datasets/{dataset.pk}/quality/"):
        assert client.get(url).status_code == 403
    # and not through the pages either
    web = APIClient()
    web.force_login(worker)
    for url in (f"/faces/{hp_face}/", f"/datasets/{dataset.name}/", f"/label/faces/{hp_face}/"):
        r = web.get(url)
        assert r.status_code == 200 and b"honeypot" not in r.content.lower(), url
    assert web.get(f"/datasets/{dataset.name}/quality/").status_code == 403


def _keys(value, prefix=""):
    if isinstance(value, dict):
        return {k for key, v in value.items() for k in _keys(v, f"{prefix}.{key}")} | {prefix}
    return {prefix}
