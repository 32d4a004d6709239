"""System checks of the deployment mode (registered by annotator.apps)."""

from django.conf import settings
from django.core.checks import Warning, register


@register()
def development_mode(app_configs=None, **kwargs):
    if settings.HEADPOSE_ENV == "production":
        return []
    key = (
        "from SECRET_KEY" if settings.SECRET_KEY_FROM_ENV else f"generated, kept in {settings.DATA_DIR / 'secret_key'}"
    )
    return [
        Warning(
            f"DEVELOPMENT MODE - not for production (DEBUG={'on' if settings.DEBUG else 'off'}, secret key {key}).",
            hint="On a server set HEADPOSE_ENV=production, SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL (docs/CONFIGURATION.md: Production).",
            id="headpose.W001",
        )
    ]
