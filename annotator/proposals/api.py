from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers

from annotator.common import filters
from annotator.common.api import ListAPI
from annotator.common.fields import EulerField, ProvenanceField, RotationField, TranslationField
from annotator.proposals.models import Proposal
from annotator.proposals.selectors import proposal_list, visible_proposals


class ProposalSerializer(serializers.ModelSerializer):
    R = RotationField()
    t = TranslationField()
    euler = EulerField(source="R")
    provenance = ProvenanceField(read_only=True)

    class Meta:
        model = Proposal
        fields = [
            "id",
            "face",
            "proposer",
            "proposer_version",
            "weights_sha256",
            "score",
            "confidence",
            "provenance",
            "R",
            "t",
            "euler",
            "created_at",
        ]


@extend_schema(parameters=filters.parameters(filters.ProposalFilters))
class ProposalListAPI(ListAPI):
    serializer_class = ProposalSerializer
    filter_class = filters.ProposalFilters

    def get_queryset(self):
        return proposal_list(self.request.user, self.filters())


class ProposalDetailAPI(generics.RetrieveAPIView):
    serializer_class = ProposalSerializer

    def get_queryset(self):
        return visible_proposals(self.request.user)
