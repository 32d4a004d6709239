"""The annotation resource's hand-built representation (fast path) says exactly
what the generic DRF field walk over its declared fields says."""

import pytest
from rest_framework import serializers

from annotator.labeling.api import AnnotationSerializer
from annotator.models import Annotation
from annotator.review.services import review_annotation

pytestmark = pytest.mark.django_db


def test_fast_representation_equals_the_generic_one(world):
    reviewed = world["objects"]["priv"]["annotation"]
    review_annotation(
        annotation=reviewed,
        reviewer=world["users"]["reviewer"],
        decision="rejected",
        note="chin too low",
        expected_version=reviewed.version,
    )
    rows = list(Annotation.objects.select_related("author", "reviewed_by"))
    assert any(a.reviewed_by_id for a in rows) and any(a.author_id is None for a in rows)
    for a in rows:
        fast = AnnotationSerializer(a).data
        generic = serializers.ModelSerializer.to_representation(AnnotationSerializer(), a)
        assert dict(fast) == dict(generic), a.pk
