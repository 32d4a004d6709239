"""/api/v1/datasets/ID/quality/ (annotator scores, consensus figures, noise floor)
and /api/v1/datasets/ID/honeypots/ (list, mark, unmark): reviewers of the
dataset and admins; annotators get 403 and never learn which faces are honeypots."""

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.common.errors import error_responses
from annotator.quality.models import Honeypot
from annotator.quality.services import dataset_for_quality, mark_honeypots, report, unmark_honeypots

ERRORS = error_responses(400, 401, 403, 404)


class AbsYawBinSerializer(serializers.Serializer):
    yaw_from = serializers.FloatField(help_text="|yaw| from (degrees, inclusive)")
    yaw_to = serializers.FloatField(help_text="|yaw| to (degrees, exclusive)")
    n = serializers.IntegerField()
    median = serializers.FloatField(allow_null=True, help_text="degrees")
    p90 = serializers.FloatField(allow_null=True, help_text="degrees")


class ChartsSerializer(serializers.Serializer):
    error_kind = serializers.ChoiceField(
        choices=["honeypot", "agreement"], help_text="What the error charts show: honeypot errors when there are any"
    )
    error_histogram = serializers.ListField(
        child=serializers.IntegerField(), help_text="Counts per 1-degree bin from 0 to 30, then 30-180"
    )
    error_by_abs_yaw = AbsYawBinSerializer(many=True)
    throughput_hours = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField()),
        help_text="[hour start (epoch seconds), labels finished]",
    )


class NoiseBinSerializer(serializers.Serializer):
    yaw_from = serializers.FloatField(help_text="|yaw| from (degrees, inclusive)")
    yaw_to = serializers.FloatField(help_text="|yaw| to (degrees, exclusive)")
    noise_deg = serializers.FloatField(allow_null=True)


@extend_schema_serializer(deprecate_fields=["corrected"])
class AnnotatorScoreSerializer(serializers.Serializer):
    username = serializers.CharField()
    user_id = serializers.IntegerField()
    faces = serializers.IntegerField(help_text="Faces finished (accepted, corrected, skipped, flagged)")
    median_time_s = serializers.FloatField(allow_null=True)
    p90_time_s = serializers.FloatField(allow_null=True)
    throughput_per_hour = serializers.FloatField(allow_null=True, help_text="Faces per hour of labeling time")
    honeypot_answers = serializers.IntegerField()
    honeypot_geodesic_median = serializers.FloatField(allow_null=True, help_text="degrees, vs the trusted label")
    honeypot_geodesic_p90 = serializers.FloatField(allow_null=True)
    honeypot_share_over_10 = serializers.FloatField(allow_null=True, help_text="Share of answers over 10 degrees")
    agreement_faces = serializers.IntegerField()
    agreement_geodesic_median = serializers.FloatField(
        allow_null=True, help_text="Median geodesic distance to the consensus of the other annotators (degrees)"
    )
    agreement_geodesic_p90 = serializers.FloatField(allow_null=True)
    consensus_rejected = serializers.IntegerField(help_text="Labels left out of their face's consensus as outliers")
    approved = serializers.IntegerField()
    rejected = serializers.IntegerField(help_text="Labels a reviewer rejected")
    amended = serializers.IntegerField(help_text="Labels a reviewer amended (replaced the pose of)")
    corrected = serializers.IntegerField(help_text="Deprecated: amended")
    approval_rate = serializers.FloatField(allow_null=True)
    rejection_rate = serializers.FloatField(allow_null=True)
    proposal_moved_median = serializers.FloatField(
        allow_null=True, help_text="Median geodesic distance from the proposal started from to the label (degrees)"
    )
    noise_deg = serializers.FloatField(
        allow_null=True,
        help_text="The annotator's robust noise estimate (geodesic RMS, degrees), learned jointly with the consensus",
    )
    noise_interval = serializers.ListField(
        child=serializers.FloatField(), allow_null=True, help_text="95 % bootstrap interval of noise_deg [low, high]"
    )
    noise_by_abs_yaw = NoiseBinSerializer(many=True, help_text="noise_deg per |yaw| range of the consensus")
    noise_pairs = serializers.IntegerField(help_text="Label pairs behind the noise estimate")
    agreement_interval = serializers.ListField(
        child=serializers.FloatField(),
        allow_null=True,
        help_text="95 % bootstrap interval of agreement_geodesic_median [low, high]",
    )
    agreement_pair_only_share = serializers.FloatField(
        allow_null=True, help_text="Share of agreement measured on faces of two labels, where it cannot tell who is off"
    )
    accepted_unmoved_share = serializers.FloatField(
        allow_null=True, help_text="Share of labels within 0.5 degrees of the proposal they started from"
    )
    contested_faces = serializers.IntegerField(
        help_text="Labels on faces where the others' consensus is over 5 degrees from the proposal"
    )
    rubber_stamp_share = serializers.FloatField(
        allow_null=True, help_text="Share of the contested faces' labels that left the proposal unmoved"
    )
    rubber_stamp = serializers.BooleanField(help_text="Accepts proposals unmoved where the others disagree with them")
    consensus_weight_median = serializers.FloatField(
        allow_null=True, help_text="Median weight of the annotator's labels in their faces' consensus"
    )
    charts = ChartsSerializer()


class QualityDatasetSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    overlap = serializers.IntegerField()
    honeypot_share = serializers.FloatField()


class QualityReportSerializer(serializers.Serializer):
    dataset = QualityDatasetSerializer()
    computed_at = serializers.CharField()
    review_threshold_deg = serializers.FloatField()
    faces = serializers.IntegerField()
    honeypots = serializers.IntegerField()
    faces_labeled = serializers.IntegerField(help_text="Faces with at least one accepted/corrected label")
    faces_with_overlap = serializers.IntegerField(help_text="Faces with two or more")
    faces_needing_review = serializers.IntegerField()
    dispersion_median = serializers.FloatField(allow_null=True)
    dispersion_p90 = serializers.FloatField(allow_null=True)
    noise_floor = AbsYawBinSerializer(many=True, help_text="Inter-annotator dispersion per |yaw| bin of the consensus")
    consensus_method = serializers.CharField(help_text="reliability_weighted (workers/core/reliability.py)")
    noise_rounds = serializers.IntegerField(help_text="Rounds of the joint noise + consensus estimate")
    noise_prior_deg = serializers.FloatField(help_text="The noise a newcomer starts from (degrees)")
    proposer_noise_deg = serializers.FloatField(
        allow_null=True, help_text="The proposals' noise: the weight of an unmoved accept (degrees)"
    )
    faces_pair_only = serializers.IntegerField(
        help_text="Faces with exactly two labels: agreement cannot tell who is off there; honeypots can"
    )
    annotators = AnnotatorScoreSerializer(many=True)


class QualityAPI(APIView):
    @extend_schema(responses={200: QualityReportSerializer, **ERRORS})
    def get(self, request, pk: int):
        """Annotator scores, consensus figures and the noise floor of a dataset (its reviewers, admins)."""
        dataset = dataset_for_quality(request.user, pk)
        return Response(QualityReportSerializer(report(dataset)).data)


class HoneypotSerializer(serializers.ModelSerializer):
    answers = serializers.IntegerField(source="answers.count", read_only=True)

    class Meta:
        model = Honeypot
        fields = ["id", "face", "trusted", "trusted_annotation", "created_at", "answers"]


class HoneypotChangeSerializer(serializers.Serializer):
    faces = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**31 - 1), min_length=1, max_length=10000
    )
    remove = serializers.BooleanField(default=False, help_text="Unmark these faces instead")


class HoneypotsAPI(APIView):
    @extend_schema(responses={200: HoneypotSerializer(many=True), **ERRORS})
    def get(self, request, pk: int):
        dataset = dataset_for_quality(request.user, pk)
        return Response(HoneypotSerializer(dataset.honeypots.order_by("pk"), many=True).data)

    @extend_schema(
        request=HoneypotChangeSerializer,
        responses={200: HoneypotSerializer(many=True), **error_responses(413), **ERRORS},
    )
    def post(self, request, pk: int):
        """Mark faces with a trusted label (ground truth, or a reviewer-approved label) as
        honeypots, or unmark them with remove=true. A face without one is a 400 naming it."""
        dataset = dataset_for_quality(request.user, pk)
        body = HoneypotChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if body.validated_data["remove"]:
            unmark_honeypots(dataset, body.validated_data["faces"])
        else:
            mark_honeypots(dataset, body.validated_data["faces"], by=request.user)
        return Response(HoneypotSerializer(dataset.honeypots.order_by("pk"), many=True).data)
