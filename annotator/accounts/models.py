from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    """A personal API token. Only a sha256 of the key is stored: the key is shown
    once, when created. Revoked tokens stay (with revoked_at) for the audit trail."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What it is for, e.g. 'training pipeline'")
    prefix = models.CharField(max_length=16, help_text="The key's first characters, to recognise it")
    key_hash = models.CharField(max_length=64, unique=True)
    read_only = models.BooleanField(default=False, help_text="Only GET/HEAD/OPTIONS requests")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The token that created this one through the API (null: created on the tokens page):
    # a child expires no later than its parent and is revoked with it (accounts/tokens.py).
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="children",
        help_text="The token that created this one through the API",
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…) of {self.user}"

    @property
    def is_active(self) -> bool:
        from django.utils import timezone

        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())


class UserSettings(models.Model):
    """What a user changed for themselves: their keyboard map (action -> key; the
    product's defaults in static/js/keymap.js for every action not listed)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="settings")
    keymap = models.JSONField(default=dict, blank=True, help_text='{"action": "key"} overrides of the default keymap')
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"settings of {self.user}"
