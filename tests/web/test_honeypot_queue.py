"""Honeypots nobody can spot (issue 25 item 4) and adaptive overlap (item 5):
served at the dataset's rate from an annotator's first labels on, in an order
that an order-based detector cannot read (checked with a binomial test against
the base rate); snap and landmark hints only from landmarks the app detected;
annotators see no ground-truth count and only their own label count; adaptive
overlap asks for a second label on a low-confidence face and a third when the
first two disagree."""

from types import SimpleNamespace

import numpy as np
import pytest
from django.contrib.auth.models import Group
from scipy.stats import binomtest

from annotator.labeling import queue_entries
from annotator.labeling.editor import face_editor_state
from annotator.labeling.queue import LabelInput, labels_wanted, next_face, save_label
from annotator.models import Assignment, Dataset, Face, Honeypot, Role
from annotator.proposals.services import store_proposals
from tests.browser.data import add_proposal, make_dataset
from workers.core import geometry, overlap
from workers.core.proposers.base import PoseProposal

pytestmark = pytest.mark.django_db


def annotator(django_user_model, name):
    user = django_user_model.objects.create_user(name, password="x")
    user.groups.add(Group.objects.get_or_create(name="annotator")[0])
    return user


def assign(dataset, *users):
    for u in users:
        Assignment.objects.get_or_create(dataset=dataset, user=u, role=Role.ANNOTATOR)


def make_honeypots(dataset, faces):
    for f in faces:
        Honeypot.objects.create(
            face=f, dataset=dataset, R=np.eye(3).reshape(-1).tolist(), t=[0, 0, 600], trusted="ground_truth"
        )


def finish(user, face, euler=(1, 2, 3), status="accepted"):
    return save_label(
        user,
        face,
        LabelInput(R=geometry.euler_to_matrix(list(euler)), t=[0, 0, 600], status=status, expected_version=0),
    )


def serve_all(user, dataset, status="accepted") -> list[Face]:
    """The faces the queue hands `user`, in order, each finished before the next
    (a skip is finished too, and cheaper: no consensus to recompute)."""
    served = []
    while (face := next_face(user, dataset)) is not None:
        served.append(face)
        finish(user, face, status=status)
    return served


# --- the rate, from the first labels on ------------------------------------------------


def test_the_slots_hold_the_rate_exactly_per_block():
    rng = np.random.default_rng(0)
    for share in (0.05, 0.2, 0.3, 0.07):
        salt = rng.bytes(16)
        hits = [overlap.honeypot_slot(lambda b, s=salt: s + str(b).encode(), n, share) for n in range(20000)]
        assert abs(np.mean(hits) - share) < 0.01, share
        B = int(1 / share)
        if share * B == 1:  # a whole number of slots per honeypot: exactly one in each block
            assert all(sum(hits[i : i + B]) == 1 for i in range(0, 20000, B))


def test_on_a_ten_face_dataset_each_annotator_gets_a_honeypot_within_their_first_labels(django_user_model):
    ds = make_dataset(n_faces=10, overlap=20)
    ds.honeypot_share = 0.2  # one in every block of 5 slots
    ds.save()
    faces = list(Face.objects.filter(image__dataset=ds).order_by("pk"))
    make_honeypots(ds, faces[3:5])
    honeypots = {f.pk for f in faces[3:5]}
    for k in range(6):
        user = annotator(django_user_model, f"a{k}")
        assign(ds, user)
        served = [f.pk for f in serve_all(user, ds)]
        assert len(served) == 10 and set(served) == {f.pk for f in faces}  # every honeypot answered once
        assert honeypots & set(served[:5]), served  # one within the first block of five


def test_at_five_percent_a_small_dataset_still_serves_its_honeypots(django_user_model, bob):
    ds = make_dataset(n_faces=10)
    faces = list(Face.objects.filter(image__dataset=ds).order_by("pk"))
    make_honeypots(ds, faces[:2])
    assign(ds, bob)
    served = {f.pk for f in serve_all(bob, ds)}
    assert {faces[0].pk, faces[1].pk} <= served  # before: never served once the 8 ordinary faces were gone


# --- the order tells nothing: a detector and a binomial test ----------------------------


def out_of_order(ids: list[int]) -> list[int]:
    """The detector of the issue: positions whose id does not fit between its two
    neighbours while those two are in order (an ordinary run in file-name order
    with a randomly drawn face dropped in flags exactly the dropped face)."""
    return [i for i in range(1, len(ids) - 1) if ids[i - 1] < ids[i + 1] and not ids[i - 1] < ids[i] < ids[i + 1]]


def hit_rate_test(queues: list[list[int]], honeypots: set[int]):
    flagged = [q[i] for q in queues for i in out_of_order(q)]
    hits = sum(f in honeypots for f in flagged)
    served = sum(len(q) for q in queues)
    base = sum(f in honeypots for q in queues for f in q) / served
    return hits, len(flagged), base, binomtest(hits, len(flagged), base, alternative="greater").pvalue


def test_the_detector_finds_the_honeypots_of_a_file_name_ordered_queue():
    """Its power: on queues built the old way (ordinary faces in order, honeypots
    at random slots) it finds far more honeypots than the base rate."""
    rng = np.random.default_rng(1)
    ordinary, honeypots = list(range(100, 124)), set(range(1, 7))
    queues = []
    for _ in range(40):
        q = list(ordinary)
        for h in rng.permutation(sorted(honeypots)):
            q.insert(int(rng.integers(1, len(q))), int(h))
        queues.append(q)
    hits, flagged, _, p = hit_rate_test(queues, honeypots)
    assert hits / flagged > 0.9 and p < 1e-9


def test_an_order_based_detector_does_no_better_than_chance_on_real_queues(django_user_model, settings):
    """One annotator's queue, over independent draws of the secret (SECRET_KEY): the
    binomial test needs independent queues, and the annotators of one dataset walk
    rotations of one shuffle (docs/QUALITY.md: what colluding annotators share)."""
    ds = make_dataset(n_faces=15, overlap=100)
    ds.honeypot_share = 0.2
    ds.save()
    faces = list(Face.objects.filter(image__dataset=ds).order_by("pk"))
    make_honeypots(ds, faces[::5])
    honeypots = {f.pk for f in faces[::5]}
    queues = []
    for k in range(24):
        settings.SECRET_KEY = f"detector-draw-{k}-" + "s" * 50
        queue_entries.rebuild(ds)  # the shuffle of this draw
        user = annotator(django_user_model, f"q{k}")
        assign(ds, user)
        queues.append([f.pk for f in serve_all(user, ds, status="skipped")])
    assert all(len(q) == 15 for q in queues)
    hits, flagged, base, p = hit_rate_test(queues, honeypots)
    assert flagged > 70  # enough flags for the test to mean something
    assert p > 0.01, (hits, flagged, base)  # not above the base rate
    # and the same for file names (the order a page shows)
    names = {f.pk: f.image.file_name for f in faces}
    by_name = sorted(names, key=names.get)
    rank = {pk: i for i, pk in enumerate(by_name)}
    hits, flagged, base, p = hit_rate_test([[rank[f] for f in q] for q in queues], {rank[h] for h in honeypots})
    assert p > 0.01, (hits, flagged, base)


# --- what annotators see ------------------------------------------------------------------


def test_snap_and_hints_use_only_landmarks_the_app_detected(bob, client, django_user_model):
    ds = make_dataset(n_faces=2)
    assign(ds, bob)
    imported, detected = Face.objects.filter(image__dataset=ds).order_by("pk")
    points = [[float(i), float(i)] for i in range(68)]
    Face.objects.filter(pk=imported.pk).update(
        landmarks_2d=points, landmark_scheme="ibug68", landmarks_provenance="dataset"
    )
    Face.objects.filter(pk=detected.pk).update(
        landmarks_2d=points, landmark_scheme="ibug68", landmarks_provenance="fused@1"
    )
    imported.refresh_from_db()
    detected.refresh_from_db()
    state = face_editor_state(bob, imported)
    assert state["face"]["landmarks_2d"] is None and state["face_landmarks_ibug68"] is None
    state = face_editor_state(bob, detected)
    assert state["face"]["landmarks_2d"] == points and state["face_landmarks_ibug68"] == points
    client.force_login(bob)
    assert client.get(f"/api/v1/faces/{imported.pk}/").json()["landmarks_2d"] is None
    assert client.get(f"/api/v1/faces/{detected.pk}/").json()["landmarks_2d"] == points

    # a proposer then detects landmarks on the face that holds imported ones: the proposal keeps
    # them, Snap and the annotator's overlay use them, the face's imported ones stay where they are
    found = [[100.0 + i, 50.0 + i] for i in range(68)]
    proposer = SimpleNamespace(config=SimpleNamespace(name="landmarks-fit", version="3"), weights_sha256="0" * 64)
    R = geometry.euler_to_matrix([10.0, -5.0, 3.0])
    proposal = PoseProposal(
        box=tuple(imported.box), R=R, t=[0.0, 0.0, 700.0], score=0.9,
        landmarks_2d=np.asarray(found), landmark_scheme="ibug68",
    )  # fmt: skip
    (row,) = store_proposals(imported.image, [proposal], proposer)
    assert row.face_id == imported.pk and row.landmarks_2d == found and row.landmark_scheme == "ibug68"
    imported.refresh_from_db()
    assert imported.landmarks_2d == points and imported.landmarks_provenance == "dataset"
    state = face_editor_state(bob, imported)
    assert state["face"]["landmarks_2d"] == found and state["face_landmarks_ibug68"] == found
    assert client.get(f"/api/v1/faces/{imported.pk}/").json()["landmarks_2d"] is None
    # a reviewer's overlay shows the imported (ground-truth) landmarks; their Snap too uses the detection
    reviewer = annotator(django_user_model, "rory")
    Assignment.objects.create(dataset=ds, user=reviewer, role=Role.REVIEWER)
    state = face_editor_state(reviewer, imported)
    assert state["face"]["landmarks_2d"] == points and state["face_landmarks_ibug68"] == found


def test_annotators_see_no_ground_truth_count_and_only_their_own_labels(bob, erin_and_admin, client):
    erin, alice = erin_and_admin
    ds = make_dataset(n_faces=3, overlap=2)
    assign(ds, bob, erin)
    a, b, _ = Face.objects.filter(image__dataset=ds).order_by("pk")
    finish(bob, a)
    finish(erin, a)
    finish(erin, b)
    client.force_login(bob)
    (row,) = [d for d in client.get("/api/v1/datasets/").json()["results"] if d["id"] == ds.pk]
    assert row["n_ground_truth"] is None and row["n_annotations"] == 1
    page = client.get("/").content.decode()
    assert ">–<" in page
    client.force_login(alice)
    (row,) = [d for d in client.get("/api/v1/datasets/").json()["results"] if d["id"] == ds.pk]
    assert row["n_ground_truth"] == 0 and row["n_annotations"] == 3


@pytest.fixture
def erin_and_admin(django_user_model):
    erin = annotator(django_user_model, "erin")
    alice = django_user_model.objects.create_user("alice", password="x", is_staff=True, is_superuser=True)
    alice.groups.add(Group.objects.get_or_create(name="admin")[0])
    return erin, alice


# --- adaptive overlap -------------------------------------------------------------------------


def adaptive_dataset(n_faces=2) -> Dataset:
    ds = make_dataset(n_faces=n_faces)
    ds.overlap_mode = "adaptive"
    ds.adaptive_sample_share = 0.0
    ds.adaptive_noise_floor_deg = 5.0
    ds.save()
    return ds


def test_adaptive_overlap_one_label_when_confident_two_when_not_three_on_disagreement(django_user_model):
    ds = adaptive_dataset()
    confident, doubtful = Face.objects.filter(image__dataset=ds).order_by("pk")
    for face, confidence in ((confident, 0.9), (doubtful, 0.1)):
        p = add_proposal(face, "fused", euler=(1, 2, 3))
        p.confidence = confidence
        p.save()
    u1, u2, u3, u4 = (annotator(django_user_model, f"u{k}") for k in range(4))
    assign(ds, u1, u2, u3, u4)
    assert labels_wanted(ds, [confident.pk, doubtful.pk]) == {confident.pk: 1, doubtful.pk: 2}
    assert {f.pk for f in serve_all(u1, ds)} == {confident.pk, doubtful.pk}
    # the second annotator gets only the doubtful face, and disagrees with the first by 20 degrees
    assert next_face(u2, ds) == doubtful
    finish(u2, doubtful, euler=(21, 2, 3))
    assert next_face(u2, ds) is None
    assert labels_wanted(ds, [doubtful.pk]) == {doubtful.pk: 3}
    assert next_face(u3, ds) == doubtful  # a third label, and no more
    finish(u3, doubtful)
    assert next_face(u4, ds) is None


def test_adaptive_overlap_stops_at_two_when_the_two_agree(django_user_model):
    ds = adaptive_dataset(n_faces=1)
    (face,) = Face.objects.filter(image__dataset=ds)
    u1, u2, u3 = (annotator(django_user_model, f"u{k}") for k in range(3))
    assign(ds, u1, u2, u3)
    # no proposal at all: low confidence, a second label
    assert next_face(u1, ds) == face
    finish(u1, face)
    assert next_face(u2, ds) == face
    finish(u2, face, euler=(2, 2, 3))  # 1 degree apart, under the 5 degree floor
    assert next_face(u3, ds) is None


def test_the_active_queue_serves_a_disputed_face_first(django_user_model):
    ds = adaptive_dataset(n_faces=6)
    faces = list(Face.objects.filter(image__dataset=ds).order_by("pk"))
    for f in faces:
        p = add_proposal(f, "fused")
        p.confidence = 0.9
        p.save()
    ds.adaptive_sample_share = 1.0  # every face wants a second label
    ds.save()
    u1, u2, u3 = (annotator(django_user_model, f"u{k}") for k in range(3))
    assign(ds, u1, u2, u3)
    serve_all(u1, ds)
    disputed = faces[4]
    finish(u2, disputed, euler=(40, 2, 3))  # u2 disagrees on one face
    # u3 first gets the face in dispute, then the faces with one label
    assert next_face(u3, ds) == disputed


def test_adaptive_overlap_asks_a_second_label_when_the_first_is_far_from_a_confident_proposal(django_user_model):
    ds = adaptive_dataset(n_faces=2)
    near, far = Face.objects.filter(image__dataset=ds).order_by("pk")
    for face in (near, far):
        p = add_proposal(face, "fused", euler=(1, 2, 3))
        p.confidence = 0.9
        p.save()
    u1 = annotator(django_user_model, "u1")
    assign(ds, u1)
    finish(u1, near, euler=(4, 2, 3))  # 3 degrees: under 2 noise floors
    finish(u1, far, euler=(31, 2, 3))  # 30 degrees: the label or the proposal is badly wrong
    assert labels_wanted(ds, [near.pk, far.pk]) == {near.pk: 1, far.pk: 2}
