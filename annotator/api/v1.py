"""REST API v1: datasets, images, faces, proposals, annotations (with revisions
and reviews), exports, tokens. Thin: who-sees-what comes from annotator.access,
writes from the services. Objects outside the caller's reach answer 404."""
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator import access, labeling, selectors, services, tokens
from annotator.api import filters
from annotator.api.errors import error_responses
from annotator.api.resources import (
    AnnotationSerializer,
    AnnotationWriteSerializer,
    CreatedTokenSerializer,
    DatasetDetailSerializer,
    DatasetSerializer,
    FaceSerializer,
    ImageSerializer,
    MeSerializer,
    ProposalSerializer,
    ReviewSerializer,
    RevisionSerializer,
    TokenCreateSerializer,
    TokenSerializer,
)
from annotator.models import ApiToken, Face
from annotator.roles import user_roles

ERRORS = error_responses(400, 401, 403, 404)


class ListAPI(generics.ListAPIView):
    """A cursor-paginated list; the query string is parsed by `filter_class`
    (a bad value is a 400 naming it), the rows come from a selector."""

    filter_class = filters.ListFilters

    def filters(self) -> dict:
        if not hasattr(self, "_filters"):
            self._filters = filters.parse(self.filter_class, self.request)
        return self._filters


# --- who am I -----------------------------------------------------------------

class MeAPI(APIView):
    @extend_schema(responses={200: MeSerializer, **ERRORS})
    def get(self, request):
        user = request.user
        token = request.auth if isinstance(request.auth, ApiToken) else None
        return Response(MeSerializer({
            "id": user.pk, "username": user.get_username(), "roles": sorted(user_roles(user)), "token": token,
            "datasets": {
                "visible": sorted(access.visible_dataset_ids(user)),
                "labels_readable": sorted(access.label_reader_dataset_ids(user)),
                "labeling": sorted(access.annotator_dataset_ids(user)),
                "reviewing": sorted(access.reviewer_dataset_ids(user)),
            },
        }).data)


# --- datasets, images, faces, proposals -------------------------------------------

class DatasetListAPI(ListAPI):
    serializer_class = DatasetSerializer

    def get_queryset(self):
        return selectors.with_counts(selectors.visible_datasets(self.request.user))


class DatasetDetailAPI(generics.RetrieveAPIView):
    serializer_class = DatasetDetailSerializer

    def get_queryset(self):
        return selectors.with_counts(selectors.visible_datasets(self.request.user))


@extend_schema(parameters=filters.parameters(filters.ImageFilters))
class ImageListAPI(ListAPI):
    serializer_class = ImageSerializer
    filter_class = filters.ImageFilters

    def get_queryset(self):
        return selectors.image_list(self.request.user, self.filters())


class ImageDetailAPI(generics.RetrieveAPIView):
    serializer_class = ImageSerializer

    def get_queryset(self):
        return selectors.visible_images(self.request.user)


@extend_schema(parameters=filters.parameters(filters.FaceFilters))
class FaceListAPI(ListAPI):
    serializer_class = FaceSerializer
    filter_class = filters.FaceFilters

    def get_queryset(self):
        return selectors.face_list(self.request.user, self.filters())


class FaceDetailAPI(generics.RetrieveAPIView):
    serializer_class = FaceSerializer

    def get_queryset(self):
        return selectors.visible_faces(self.request.user)


@extend_schema(parameters=filters.parameters(filters.ProposalFilters))
class ProposalListAPI(ListAPI):
    serializer_class = ProposalSerializer
    filter_class = filters.ProposalFilters

    def get_queryset(self):
        return selectors.proposal_list(self.request.user, self.filters())


class ProposalDetailAPI(generics.RetrieveAPIView):
    serializer_class = ProposalSerializer

    def get_queryset(self):
        return selectors.visible_proposals(self.request.user)


# --- annotations -------------------------------------------------------------------

@extend_schema_view(get=extend_schema(parameters=filters.parameters(filters.AnnotationFilters)))
class AnnotationListAPI(ListAPI):
    serializer_class = AnnotationSerializer
    filter_class = filters.AnnotationFilters

    def get_queryset(self):
        return selectors.annotation_list(self.request.user, self.filters())

    @extend_schema(request=AnnotationWriteSerializer, responses={
        201: AnnotationSerializer, 200: AnnotationSerializer, **error_responses(409, 413), **ERRORS})
    def post(self, request):
        """Save the caller's own label of a face (an annotator of its dataset).
        expected_version 0 creates it (201); the current version updates it (200)."""
        payload = AnnotationWriteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        face_id = data.pop("face")
        try:
            face = labeling.face_for_labeling(request.user, face_id)
        except Face.DoesNotExist:  # a body field naming nothing: invalid input, not a missing resource
            raise serializers.ValidationError({"face": ["No such face."]}) from None
        annotation = labeling.save_label(request.user, face, labeling.LabelInput(**data))
        code = status.HTTP_201_CREATED if annotation.version == 1 else status.HTTP_200_OK
        return Response(AnnotationSerializer(annotation).data, status=code)


class AnnotationDetailAPI(generics.RetrieveAPIView):
    serializer_class = AnnotationSerializer

    def get_queryset(self):
        return selectors.readable_annotations(self.request.user)


class AnnotationRevisionsAPI(ListAPI):
    serializer_class = RevisionSerializer

    def get_queryset(self):
        annotation = selectors.readable_annotations(self.request.user).get(pk=self.kwargs["pk"])
        return annotation.revisions.select_related("author")


class AnnotationReviewAPI(APIView):
    @extend_schema(request=ReviewSerializer,
                   responses={200: AnnotationSerializer, **error_responses(409, 413), **ERRORS})
    def post(self, request, pk: int):
        """A reviewer's verdict on an annotation (reviewers assigned to its dataset, admins)."""
        annotation = selectors.annotation_for_review(request.user, pk)
        body = ReviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        annotation = services.review_annotation(annotation=annotation, reviewer=request.user, **body.validated_data)
        return Response(AnnotationSerializer(annotation).data)


# --- tokens -----------------------------------------------------------------------

class TokenListAPI(ListAPI):
    serializer_class = TokenSerializer

    def get_queryset(self):
        return tokens.tokens_of(self.request.user)

    @extend_schema(request=TokenCreateSerializer, responses={201: CreatedTokenSerializer, **error_responses(413),
                                                               **ERRORS})
    def post(self, request):
        """Create a personal token; the key is in this response only. A read-only
        token cannot create tokens (the permission check refuses its POST)."""
        body = TokenCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        token, key = tokens.create_token(user=request.user, **body.validated_data)
        token.key = key  # shown in this response only
        return Response(CreatedTokenSerializer(token).data, status=status.HTTP_201_CREATED)


class TokenDetailAPI(APIView):
    @extend_schema(responses={200: TokenSerializer, **ERRORS})
    def get(self, request, pk: int):
        return Response(TokenSerializer(tokens.tokens_of(request.user).get(pk=pk)).data)

    @extend_schema(responses={200: TokenSerializer, **ERRORS})
    def delete(self, request, pk: int):
        """Revoke the token (it stays listed, with revoked_at)."""
        token = tokens.revoke_token(tokens.tokens_of(request.user).get(pk=pk))
        return Response(TokenSerializer(token).data)

