from django.contrib import admin, messages

from annotator.accounts.models import ApiToken
from annotator.accounts.tokens import revoke_token


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Admins see and revoke anyone's tokens; keys are created by their owners
    (the key is shown once, to them) on /account/tokens/."""

    list_display = ("name", "user", "prefix", "read_only", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = ("read_only", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "user__username", "prefix")
    readonly_fields = ("user", "name", "prefix", "key_hash", "read_only", "created_at", "expires_at", "last_used_at",
                       "revoked_at")
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        for token in queryset:
            revoke_token(token)
        messages.success(request, f"{queryset.count()} token(s) revoked.")
