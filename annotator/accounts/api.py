from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.accounts import tokens
from annotator.accounts.keymap import KeymapError, check_keymap, set_user_keymap, user_keymap
from annotator.accounts.models import ApiToken
from annotator.accounts.tokens import TokenError
from annotator.common import access
from annotator.common.api import ListAPI
from annotator.common.errors import body_as_a_whole, error_responses, register_error
from annotator.common.roles import user_roles
from annotator.datasets.api import ERRORS

register_error(TokenError, status.HTTP_400_BAD_REQUEST, "invalid", body_as_a_whole)


class TokenSerializer(serializers.ModelSerializer):
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "read_only",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "is_active",
            "parent",
        ]
        extra_kwargs = {
            "parent": {
                "help_text": "The token that created this one (null: made on the tokens page); "
                "it expires no later than its parent and is revoked with it"
            }
        }


class TokenDetailAPI(APIView):
    @extend_schema(responses={200: TokenSerializer, **ERRORS})
    def get(self, request, pk: int):
        return Response(TokenSerializer(tokens.tokens_of(request.user).get(pk=pk)).data)

    @extend_schema(responses={200: TokenSerializer, **ERRORS})
    def delete(self, request, pk: int):
        """Revoke the token (it stays listed, with revoked_at)."""
        token = tokens.revoke_token(tokens.tokens_of(request.user).get(pk=pk))
        return Response(TokenSerializer(token).data)


class TokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    read_only = serializers.BooleanField(default=False)
    expires_in_days = serializers.IntegerField(
        min_value=1, max_value=3650, required=False, allow_null=True, default=None
    )


class CreatedTokenSerializer(TokenSerializer):
    key = serializers.CharField(read_only=True, help_text="Shown once; store it now")

    class Meta(TokenSerializer.Meta):
        fields = TokenSerializer.Meta.fields + ["key"]


# --- tokens -----------------------------------------------------------------------


class TokenListAPI(ListAPI):
    serializer_class = TokenSerializer

    def get_queryset(self):
        return tokens.tokens_of(self.request.user)

    @extend_schema(
        request=TokenCreateSerializer, responses={201: CreatedTokenSerializer, **error_responses(413), **ERRORS}
    )
    def post(self, request):
        """Create a personal token; the key is in this response only. A read-only
        token cannot create tokens (the permission check refuses its POST). A
        token created with a token expires no later than it (`expires_at` is
        capped at the parent's) and is revoked with it."""
        body = TokenCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        parent = request.auth if isinstance(request.auth, ApiToken) else None
        token, key = tokens.create_token(user=request.user, parent=parent, **body.validated_data)
        token.key = key  # shown in this response only
        return Response(CreatedTokenSerializer(token).data, status=status.HTTP_201_CREATED)


class TokenInUseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    read_only = serializers.BooleanField()


class DatasetAccessSerializer(serializers.Serializer):
    visible = serializers.ListField(child=serializers.IntegerField(), help_text="Dataset ids you see")
    labels_readable = serializers.ListField(child=serializers.IntegerField(), help_text="... whose labels you read")
    labeling = serializers.ListField(child=serializers.IntegerField(), help_text="... you label")
    reviewing = serializers.ListField(child=serializers.IntegerField(), help_text="... you review")


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    token = TokenInUseSerializer(allow_null=True, help_text="The token of this request (null for a session)")
    datasets = DatasetAccessSerializer()


# --- who am I -----------------------------------------------------------------


class MeAPI(APIView):
    @extend_schema(responses={200: MeSerializer, **ERRORS})
    def get(self, request):
        user = request.user
        token = request.auth if isinstance(request.auth, ApiToken) else None
        return Response(
            MeSerializer(
                {
                    "id": user.pk,
                    "username": user.get_username(),
                    "roles": sorted(user_roles(user)),
                    "token": token,
                    "datasets": {
                        "visible": sorted(access.visible_dataset_ids(user)),
                        "labels_readable": sorted(access.label_reader_dataset_ids(user)),
                        "labeling": sorted(access.annotator_dataset_ids(user)),
                        "reviewing": sorted(access.reviewer_dataset_ids(user)),
                    },
                }
            ).data
        )


# --- the user's own keys (the editor pages' keymap, static/js/keymap.js) -------


class KeymapSerializer(serializers.Serializer):
    keymap = serializers.DictField(
        child=serializers.CharField(trim_whitespace=False, allow_blank=True, max_length=40),
        help_text="Your own keys, {action: key}, in place of the defaults of static/js/keymap.js (the "
        '"?" help of the labeling, review and timeline pages lists the actions): a letter in lower case, '
        "a printed character ('[', '<'), a named key (ArrowLeft, Enter, Space, Delete, F1, ...), "
        "with Ctrl+ Alt+ Shift+ in that order (Shift+ only with a letter or a named key). "
        "No two actions on one key; {} is the defaults.",
    )

    def validate_keymap(self, value):
        try:
            return check_keymap(value)
        except KeymapError as exc:
            raise serializers.ValidationError(str(exc)) from None


class KeymapAPI(APIView):
    """The signed-in user's keyboard map for the editor pages (labeling, review, timeline)."""

    @extend_schema(tags=["labeling"], responses={200: KeymapSerializer, **ERRORS})
    def get(self, request):
        return Response(KeymapSerializer({"keymap": user_keymap(request.user)}).data)

    @extend_schema(
        tags=["labeling"], request=KeymapSerializer, responses={200: KeymapSerializer, **error_responses(413), **ERRORS}
    )
    def put(self, request):
        """Replace your keys. A 400 says why a map cannot be used: an unknown action, a key
        written wrong, a key kept for the help and dialogs (?, Esc, Tab), or two actions on one key."""
        body = KeymapSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return Response(KeymapSerializer({"keymap": set_user_keymap(request.user, body.validated_data["keymap"])}).data)
