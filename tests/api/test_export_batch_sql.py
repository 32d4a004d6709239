"""The export's fast path (issue 27: 50k faces/s) and the reference agree byte for
byte: exports.services.write (PostgreSQL: batch_sql's one query with LATERAL
sub-queries; the CSV formatted as columns, label_columns) against the rows read
source by source (the sources' own readers in labeling, proposals, quality)
through write_export's LabelRow writers, on a dataset with every origin and the
edge cases the fast path touches: several labels of one face (the latest wins),
corrected / rejected / draft labels, ground truth, two proposers, a face
without any label, t null, an R stored 3 x 3 (a batch the columns leave to the
rows), a pose the rules refuse, a face in a sequence, an image name the CSV
quotes (a name with a comma), landmark pins, landmarks present and absent; every
labels kind, with a split and a proposer; batches small enough to span several."""

import io
import re
from datetime import timedelta

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from annotator.common import poses
from annotator.datasets.models import Dataset, Face, Split
from annotator.exports import selectors
from annotator.exports import services as exports
from annotator.labeling.models import Annotation
from annotator.proposals.models import Proposal
from annotator.sequences.models import Sequence
from tests.browser.data import make_image
from workers.core import geometry
from workers.core.exports import InvalidRow, InvalidRowsError, write_export

pytestmark = pytest.mark.django_db
KINDS = ["best", "accepted", "ground_truth", "proposals", "annotations", "track", "consensus"]


def pose(seed: int):
    rng = np.random.default_rng(seed)
    R = geometry.euler_to_matrix(rng.uniform([-70, -30, -20], [70, 30, 20]))
    return R.reshape(-1).tolist(), [
        float(rng.uniform(-50, 50)),
        float(rng.uniform(-50, 50)),
        float(rng.uniform(600, 1200)),
    ]


def build(refused: bool = True) -> Dataset:
    users = [get_user_model().objects.create(username=name) for name in ("ann", "bob", "quoted,name")]
    ds = Dataset.objects.create(name="agree")
    seq = Sequence.objects.create(dataset=ds, name="clip, one", fps=25)
    now = timezone.now()
    faces = []
    for i in range(23):
        name = f"img{i:03d}.jpg" if i % 7 else f'dir/odd "name", {i}.jpg'
        image = make_image(ds, name, seed=i)
        if i in (4, 5):
            image.sequence, image.frame_index = seq, i
            image.save()
        lm = None if i % 5 == 0 else (np.random.default_rng(i).uniform(0, 320, (68, 2))).tolist()
        faces.append(
            Face.objects.create(image=image, box=[10.5, 20, 110, 140.25], landmarks_2d=lm, landmark_scheme="ibug68")
        )

    def label(face, user, seed, minutes, **kw):
        R, t = pose(seed)
        a = Annotation.objects.create(
            face=face,
            dataset=ds,
            origin="annotator",
            author=user,
            R=R,
            t=kw.pop("t", t),
            status=kw.pop("status", "accepted"),
            **kw,
        )
        Annotation.objects.filter(pk=a.pk).update(updated_at=now + timedelta(minutes=minutes))
        return a

    def proposal(face, seed, proposer="p1", version="1", minutes=0):
        R, t = pose(seed)
        p = Proposal.objects.create(
            face=face, proposer=proposer, proposer_version=version, weights_sha256="ab" * 32, score=0.5, R=R, t=t
        )
        Proposal.objects.filter(pk=p.pk).update(created_at=now + timedelta(minutes=minutes))
        return p

    ann, bob, quoted = users
    for i, face in enumerate(faces):
        if i % 3 == 0:
            proposal(face, 100 + i, "p1", "1", minutes=1)
            proposal(face, 200 + i, "p2", "2", minutes=2 if i % 2 else 0)  # newest on odd faces only
        if i % 4 == 1:
            R, t = pose(300 + i)
            Annotation.objects.create(
                face=face, dataset=ds, origin="ground_truth", status="ground_truth", R=R, t=t if i % 8 else None
            )
    p = proposal(faces[2], 400)
    label(faces[2], ann, 1, 5, proposal=p, moved_deg=1.5, moved_mm=2.25)
    label(faces[2], bob, 2, 9, status="corrected", landmark_pins=[{"index": 30, "x": 100.5, "y": 80.0}])  # latest
    label(faces[3], ann, 3, 1, review_state="rejected")  # rejected: the next source's
    label(faces[6], ann, 4, 1, status="draft")  # not finished
    label(faces[7], bob, 5, 1, t=None)  # t null
    label(faces[8], quoted, 6, 1)  # a username the CSV quotes
    label(faces[4], ann, 7, 1)  # a frame of the sequence
    a = label(faces[9], ann, 8, 1)
    R = np.asarray(a.R).reshape(3, 3).tolist()  # stored 3 x 3: its batch goes the LabelRow way
    Annotation.objects.filter(pk=a.pk).update(R=R)
    if refused:  # a pose the rules refuse (behind the camera)
        label(faces[10], bob, 9, 1, t=[0.0, 0.0, -650.0])
    Face.objects.create(image=make_image(ds, "zzz-nothing.jpg"), box=[0, 0, 10, 10])  # no label of any kind
    return ds


def reference(dataset, options, monkeypatch) -> tuple[bytes, list]:
    """The rows source by source (no batch_sql) through write_export, as before the fast path."""
    with monkeypatch.context() as m:
        m.setattr(selectors, "_BATCH_SQL", {})
        split = exports.resolve_split(dataset, options.get("split"))
        rows = selectors.label_rows(
            dataset, options["labels"], options.get("proposer") or None, split, exports.landmark_columns(options)
        )
        out = io.BytesIO()
        skipped: list[InvalidRow] | None = [] if options.get("skip_invalid") else None
        write_export(
            options["format"], rows, out, exports._meta(dataset, options, split), skipped=skipped, limits=poses.limits()
        )
        return out.getvalue(), skipped or []


def fast(dataset, options) -> tuple[bytes, list]:
    out = io.BytesIO()
    written = exports.write(dataset, options, out)
    return out.getvalue(), written.skipped


def same(a: bytes, b: bytes) -> bool:
    stamp = re.compile(rb'"exported_at": "[^"]*"')
    return stamp.sub(b"", a) == stamp.sub(b"", b)


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(selectors, "BATCH", 4)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json"])
@pytest.mark.parametrize("labels", KINDS)
def test_fast_path_and_reference_agree_byte_for_byte(small_batches, monkeypatch, fmt, labels):
    ds = build()
    for landmarks in ("2d", "full", "none") if fmt != "csv" else ("2d",):
        options = {"format": fmt, "labels": labels, "landmarks": landmarks, "skip_invalid": True}
        got, want = fast(ds, options), reference(ds, options, monkeypatch)
        assert same(got[0], want[0]), (labels, landmarks)
        assert [r.to_dict() for r in got[1]] == [r.to_dict() for r in want[1]]
        assert got[0].count(b"\n") > 3 or labels == "consensus"  # (no face here has a consensus)


@pytest.mark.parametrize("labels", ["best", "proposals", "accepted"])
def test_with_a_split_and_a_proposer(small_batches, monkeypatch, labels):
    ds = build()
    split = Split.objects.create(dataset=ds, name="test", version=1)
    split.images.set(ds.images.order_by("file_name")[::2])
    for fmt in ("csv", "jsonl"):
        options = {"format": fmt, "labels": labels, "split": split.pk, "proposer": "p1", "skip_invalid": True}
        got, want = fast(ds, options), reference(ds, options, monkeypatch)
        assert same(got[0], want[0]) and len(got[0].splitlines()) > 1


def test_a_refused_pose_refuses_both_ways_naming_the_same_faces(small_batches, monkeypatch):
    ds = build()
    for fmt in ("csv", "jsonl"):
        options = {"format": fmt, "labels": "best"}
        with pytest.raises(InvalidRowsError) as got:
            fast(ds, options)
        with pytest.raises(InvalidRowsError) as want:
            reference(ds, options, monkeypatch)
        assert [r.to_dict() for r in got.value.invalid] == [r.to_dict() for r in want.value.invalid]
        assert len(got.value.invalid) == 1


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_rows_stream_on_a_connection_of_their_own(monkeypatch):
    """A worker's export (autocommit): batch_sql streams from a second connection; the same bytes."""
    ds = build(refused=False)
    for fmt in ("csv", "jsonl"):
        options = {"format": fmt, "labels": "best"}
        got, want = fast(ds, options), reference(ds, options, monkeypatch)
        assert same(got[0], want[0])
