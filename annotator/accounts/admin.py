from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from annotator.accounts.models import ApiToken
from annotator.accounts.tokens import revoke_token

User = get_user_model()


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Admins see and revoke anyone's tokens; keys are created by their owners
    (the key is shown once, to them) on /account/tokens/."""

    list_display = ("name", "user", "prefix", "read_only", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = ("read_only", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "user__username", "prefix")
    readonly_fields = (
        "user",
        "name",
        "prefix",
        "key_hash",
        "read_only",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        for token in queryset:
            revoke_token(token)
        messages.success(request, f"{queryset.count()} token(s) revoked.")


admin.site.unregister(User)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Django's user admin; a password set here revokes the user's API tokens
    (accounts/signals.py), and the page says so."""

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            messages.info(
                request,
                "Their API tokens were revoked: a new password revokes every token of the "
                "account (they create new ones on /account/tokens/).",
            )
        return response
