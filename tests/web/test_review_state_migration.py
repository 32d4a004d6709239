"""annotator 0017 (one word per idea): the review state a reviewer's correction
leaves, "corrected", is stored as "amended" after the migration and as
"corrected" again after migrating back; the annotation status "corrected" (an
annotator's save) is untouched both ways."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE, AFTER = ("annotator", "0016_sequence_input_name"), ("annotator", "0017_review_state_amended")


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])
    return executor.loader.project_state([target]).apps


@pytest.fixture
def old_world():
    apps = migrate(BEFORE)
    Dataset, Image, Face, Annotation = (
        apps.get_model("annotator", m) for m in ("Dataset", "Image", "Face", "Annotation")
    )
    User = apps.get_model("auth", "User")
    ds = Dataset.objects.create(name="old", kind="aflw2000")
    image = Image.objects.create(
        dataset=ds,
        file="images/x.jpg",
        file_name="x.jpg",
        width=10,
        height=10,
        size_bytes=1,
        checksum="c" * 64,
        K=[10, 0, 4.5, 0, 10, 4.5, 0, 0, 1],
    )
    pose = {"R": [1, 0, 0, 0, 1, 0, 0, 0, 1], "t": [0, 0, 600], "origin": "annotator", "status": "corrected"}
    ids = {}
    for index, (name, state) in enumerate((("amended", "corrected"), ("approved", "approved"), ("pending", ""))):
        face = Face.objects.create(image=image, index=index, box=[0, 0, 9, 9])
        user = User.objects.create(username=name)
        ids[name] = Annotation.objects.create(face=face, dataset=ds, author=user, review_state=state, **pose).pk
    yield ids
    migrate(max(MigrationExecutor(connection).loader.graph.leaf_nodes("annotator")))


def test_forward_then_backward(old_world):
    Annotation = migrate(AFTER).get_model("annotator", "Annotation")
    states = {name: Annotation.objects.get(pk=pk) for name, pk in old_world.items()}
    assert {n: a.review_state for n, a in states.items()} == {
        "amended": "amended",
        "approved": "approved",
        "pending": "",
    }
    assert {a.status for a in states.values()} == {"corrected"}  # the annotation status keeps its name

    Annotation = migrate(BEFORE).get_model("annotator", "Annotation")
    assert Annotation.objects.get(pk=old_world["amended"]).review_state == "corrected"
    assert Annotation.objects.get(pk=old_world["approved"]).review_state == "approved"
    assert Annotation.objects.get(pk=old_world["amended"]).status == "corrected"
