"""REST API v1: datasets, images, faces, proposals, annotations (with revisions
and reviews), exports, tokens. Thin: who-sees-what comes from annotator.access,
writes from the services. Objects outside the caller's reach answer 404."""
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator import access, labeling, services, tokens
from annotator.api import filters
from annotator.api.errors import conflict_response
from annotator.api.pagination import IdCursorPagination
from annotator.api.resources import (
    AnnotationSerializer,
    AnnotationWriteSerializer,
    CreatedTokenSerializer,
    DatasetDetailSerializer,
    DatasetSerializer,
    FaceSerializer,
    ImageSerializer,
    ProposalSerializer,
    ReviewSerializer,
    RevisionSerializer,
    TokenCreateSerializer,
    TokenSerializer,
)
from annotator.models import Annotation, ApiToken, Dataset, Face, Image, Proposal, Split
from annotator.poses import PoseError
from annotator.roles import user_roles
from annotator.selectors import with_counts

ERRORS = {400: OpenApiResponse(description="Invalid parameters: {field: [messages]}"),
          401: OpenApiResponse(description="No or invalid credentials"),
          403: OpenApiResponse(description="Not allowed (the reason is in detail)")}


# Where each model keeps its dataset: visibility is always decided by the dataset.
DATASET_PATH = {Image: "dataset_id", Face: "image__dataset_id", Proposal: "face__image__dataset_id"}


def visible(model, user):
    return model.objects.filter(**{f"{DATASET_PATH[model]}__in": access.visible_dataset_ids(user)})


def _scoped(queryset, user, filters_: dict, dataset_path: str, image_path: str | None):
    """Common filters: the caller's visible datasets, then dataset / split."""
    visible = access.visible_dataset_ids(user)
    if "dataset" in filters_:
        wanted = filters_["dataset"]
        visible = visible & {wanted}
    queryset = queryset.filter(**{f"{dataset_path}__in": visible})
    if "split" in filters_ and image_path is not None:
        split = Split.objects.filter(pk=filters_["split"], dataset_id__in=visible).first()
        if split is None:
            raise NotFound("No such split.")
        queryset = queryset.filter(**{f"{image_path}__in": split.images.values("pk")})
    return queryset


class ListAPI(generics.ListAPIView):
    pagination_class = IdCursorPagination
    filter_class = filters.ListFilters

    def get_queryset(self):
        raise NotImplementedError

    def filters(self) -> dict:
        if not hasattr(self, "_filters"):
            self._filters = filters.parse(self.filter_class, self.request)
        return self._filters


def _get(queryset, pk):
    obj = queryset.filter(pk=pk).first()
    if obj is None:
        raise Http404("Not found.")
    return obj


# --- who am I -----------------------------------------------------------------

class MeAPI(APIView):
    @extend_schema(responses={200: inline_serializer("Me", {
        "id": serializers.IntegerField(), "username": serializers.CharField(),
        "roles": serializers.ListField(child=serializers.CharField()),
        "token": serializers.DictField(allow_null=True),
        "datasets": serializers.DictField(child=serializers.ListField(child=serializers.IntegerField())),
    }), **ERRORS})
    def get(self, request):
        user = request.user
        token = request.auth if isinstance(request.auth, ApiToken) else None
        return Response({
            "id": user.pk, "username": user.get_username(), "roles": sorted(user_roles(user)),
            "token": None if token is None else {"id": token.pk, "name": token.name, "read_only": token.read_only},
            "datasets": {
                "visible": sorted(access.visible_dataset_ids(user)),
                "labels_readable": sorted(access.label_reader_dataset_ids(user)),
                "labeling": sorted(access.annotator_dataset_ids(user)),
                "reviewing": sorted(access.reviewer_dataset_ids(user)),
            },
        })


# --- datasets, images, faces, proposals -------------------------------------------

@extend_schema(parameters=filters.parameters(filters.ListFilters)[:0], responses={200: DatasetSerializer(many=True)})
class DatasetListAPI(ListAPI):
    serializer_class = DatasetSerializer

    def get_queryset(self):
        return with_counts(Dataset.objects.filter(pk__in=access.visible_dataset_ids(self.request.user)))


class DatasetDetailAPI(generics.RetrieveAPIView):
    serializer_class = DatasetDetailSerializer

    def get_queryset(self):
        return with_counts(Dataset.objects.filter(pk__in=access.visible_dataset_ids(self.request.user)))


@extend_schema(parameters=filters.parameters(filters.ImageFilters))
class ImageListAPI(ListAPI):
    serializer_class = ImageSerializer
    filter_class = filters.ImageFilters

    def get_queryset(self):
        return _scoped(Image.objects.all(), self.request.user, self.filters(), "dataset_id", "pk")


class ImageDetailAPI(generics.RetrieveAPIView):
    serializer_class = ImageSerializer

    def get_queryset(self):
        return visible(Image, self.request.user)


@extend_schema(parameters=filters.parameters(filters.FaceFilters))
class FaceListAPI(ListAPI):
    serializer_class = FaceSerializer
    filter_class = filters.FaceFilters

    def get_queryset(self):
        f = self.filters()
        qs = _scoped(Face.objects.select_related("image"), self.request.user, f, "image__dataset_id", "image_id")
        return qs.filter(image_id=f["image"]) if "image" in f else qs


class FaceDetailAPI(generics.RetrieveAPIView):
    serializer_class = FaceSerializer

    def get_queryset(self):
        return visible(Face, self.request.user).select_related("image")


@extend_schema(parameters=filters.parameters(filters.ProposalFilters))
class ProposalListAPI(ListAPI):
    serializer_class = ProposalSerializer
    filter_class = filters.ProposalFilters

    def get_queryset(self):
        f = self.filters()
        qs = _scoped(Proposal.objects.all(), self.request.user, f, "face__image__dataset_id", "face__image_id")
        if "image" in f:
            qs = qs.filter(face__image_id=f["image"])
        if "face" in f:
            qs = qs.filter(face_id=f["face"])
        if "proposer" in f:
            qs = qs.filter(proposer=f["proposer"])
        if "created_since" in f:
            qs = qs.filter(created_at__gte=f["created_since"])
        return qs


class ProposalDetailAPI(generics.RetrieveAPIView):
    serializer_class = ProposalSerializer

    def get_queryset(self):
        return visible(Proposal, self.request.user)


# --- annotations -------------------------------------------------------------------

def readable_annotations(user):
    qs = Annotation.objects.select_related("author", "reviewed_by")
    return qs if access.is_admin(user) else qs.filter(access.annotation_filter(user))


@extend_schema_view(get=extend_schema(parameters=filters.parameters(filters.AnnotationFilters)))
class AnnotationListAPI(ListAPI):
    serializer_class = AnnotationSerializer
    filter_class = filters.AnnotationFilters

    def get_queryset(self):
        f = self.filters()
        user = self.request.user
        if "dataset" in f and f["dataset"] in access.label_reader_dataset_ids(user):
            # the whole dataset is readable: no per-author OR, so the page is one
            # range of the (dataset, id) index
            qs = Annotation.objects.filter(dataset_id=f["dataset"]).select_related("author", "reviewed_by")
        else:
            qs = readable_annotations(user)
            if "dataset" in f:
                qs = qs.filter(dataset_id=f["dataset"])
        if "split" in f:
            split = Split.objects.filter(pk=f["split"], dataset_id__in=access.visible_dataset_ids(user)).first()
            if split is None:
                raise NotFound("No such split.")
            qs = qs.filter(face__image_id__in=split.images.values("pk"))
        for name, lookup in (("image", "face__image_id"), ("face", "face_id"), ("source", "source"),
                             ("author", "author__username"), ("proposer", "proposal__proposer"),
                             ("updated_since", "updated_at__gte")):
            if name in f:
                qs = qs.filter(**{lookup: f[name]})
        if f.get("status"):
            qs = qs.filter(status__in=sorted(f["status"]))
        if "review_state" in f:
            qs = qs.filter(review_state="" if f["review_state"] == "pending" else f["review_state"])
        return qs

    @extend_schema(request=AnnotationWriteSerializer, responses={
        201: AnnotationSerializer, 200: AnnotationSerializer,
        409: OpenApiResponse(description="The annotation changed since expected_version"), **ERRORS})
    def post(self, request):
        """Save the caller's own label of a face (an annotator of its dataset).
        expected_version 0 creates it (201); the current version updates it (200)."""
        payload = AnnotationWriteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        face_id = data.pop("face")
        try:
            face = labeling.face_for_labeling(request.user, face_id)
        except Face.DoesNotExist:
            raise serializers.ValidationError({"face": ["No such face."]}) from None
        except labeling.LabelingDenied as exc:
            raise PermissionDenied(str(exc)) from None
        try:
            annotation = labeling.save_label(request.user, face, labeling.LabelInput(**data))
        except services.VersionConflict as exc:
            return conflict_response(exc)
        except PoseError as exc:
            raise serializers.ValidationError({"non_field_errors": [str(exc)]}) from None
        code = status.HTTP_201_CREATED if annotation.version == 1 else status.HTTP_200_OK
        return Response(AnnotationSerializer(annotation).data, status=code)


class AnnotationDetailAPI(generics.RetrieveAPIView):
    serializer_class = AnnotationSerializer

    def get_queryset(self):
        return readable_annotations(self.request.user)


class AnnotationRevisionsAPI(ListAPI):
    serializer_class = RevisionSerializer

    def get_queryset(self):
        annotation = _get(readable_annotations(self.request.user), self.kwargs["pk"])
        return annotation.revisions.select_related("author")


class AnnotationReviewAPI(APIView):
    @extend_schema(request=ReviewSerializer, responses={200: AnnotationSerializer, 409: OpenApiResponse(
        description="The annotation changed since expected_version"), **ERRORS})
    def post(self, request, pk: int):
        """A reviewer's verdict on an annotation (reviewers assigned to its dataset, admins)."""
        annotation = _get(readable_annotations(request.user).select_related("face__image"), pk)
        if annotation.face.image.dataset_id not in access.reviewer_dataset_ids(request.user):
            raise PermissionDenied("You are not a reviewer of this dataset.")
        if annotation.source != "annotator":
            raise PermissionDenied("Ground truth from the dataset is not reviewed.")
        body = ReviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            annotation = services.review_annotation(annotation=annotation, reviewer=request.user, **body.validated_data)
        except services.VersionConflict as exc:
            return conflict_response(exc)
        return Response(AnnotationSerializer(annotation).data)


# --- tokens -----------------------------------------------------------------------

class TokenListAPI(ListAPI):
    serializer_class = TokenSerializer

    def get_queryset(self):
        return tokens.tokens_of(self.request.user)

    @extend_schema(request=TokenCreateSerializer, responses={201: CreatedTokenSerializer, **ERRORS})
    def post(self, request):
        """Create a personal token; the key is in this response only. A read-only
        token cannot create tokens (the permission check refuses its POST)."""
        body = TokenCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            token, key = tokens.create_token(user=request.user, **body.validated_data)
        except tokens.TokenError as exc:
            raise serializers.ValidationError({"non_field_errors": [str(exc)]}) from None
        data = TokenSerializer(token).data
        return Response({**data, "key": key}, status=status.HTTP_201_CREATED)


class TokenDetailAPI(APIView):
    @extend_schema(responses={200: TokenSerializer, **ERRORS})
    def get(self, request, pk: int):
        return Response(TokenSerializer(_get(tokens.tokens_of(request.user), pk)).data)

    @extend_schema(responses={200: TokenSerializer, **ERRORS})
    def delete(self, request, pk: int):
        """Revoke the token (it stays listed, with revoked_at)."""
        token = tokens.revoke_token(_get(tokens.tokens_of(request.user), pk))
        return Response(TokenSerializer(token).data)

