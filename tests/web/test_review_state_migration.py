"""annotator 0017 (one word per idea): the review state a reviewer's correction
leaves, "corrected", is stored as "amended" after the migration and as
"corrected" again after migrating back; the annotation status "corrected" (an
annotator's save) is untouched both ways."""

import pytest

from tests.migration_steps import migrate, migrate_to_latest, old_image

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE, AFTER = ("annotator", "0016_sequence_input_name"), ("annotator", "0017_review_state_amended")


@pytest.fixture
def old_world():
    apps = migrate(BEFORE)
    Dataset, Face, Annotation = (apps.get_model("annotator", m) for m in ("Dataset", "Face", "Annotation"))
    User = apps.get_model("auth", "User")
    ds = Dataset.objects.create(name="old", kind="aflw2000")
    image = old_image(apps, ds)
    pose = {"R": [1, 0, 0, 0, 1, 0, 0, 0, 1], "t": [0, 0, 600], "origin": "annotator", "status": "corrected"}
    ids = {}
    for index, (name, state) in enumerate((("amended", "corrected"), ("approved", "approved"), ("pending", ""))):
        face = Face.objects.create(image=image, index=index, box=[0, 0, 9, 9])
        user = User.objects.create(username=name)
        ids[name] = Annotation.objects.create(face=face, dataset=ds, author=user, review_state=state, **pose).pk
    yield ids
    migrate_to_latest()


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
