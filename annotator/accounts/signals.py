"""The accounts feature's signal receivers (connected from AnnotatorConfig.ready
via REGISTERING_MODULES): failed and successful logins feed the login throttle
(accounts/throttle.py), whichever page or form authenticated; a changed or
reset password revokes the user's API tokens."""

import logging

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver

from annotator.accounts import throttle, tokens

security_log = logging.getLogger("headpose.security")


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="headpose-password-changed")
def revoke_tokens_on_password_change(sender, instance, created, **kwargs):
    """`set_password` keeps the new raw password in `_password` until the save
    that stores it (AbstractBaseUser.save then calls password_changed): so this
    save stores a new password, from whatever path: the admin's password forms,
    a password reset, `manage.py changepassword`, a shell. A login that only
    rehashes the same password (a stronger hasher) clears `_password` first and
    keeps the tokens."""
    if created or getattr(instance, "_password", None) is None:
        return
    revoked = tokens.revoke_all_tokens(instance)
    instance.revoked_tokens = revoked  # for the page that changed it
    if revoked:
        security_log.info("password of %s changed: %d API token(s) revoked", instance.get_username(), revoked)


@receiver(user_login_failed, dispatch_uid="headpose-login-failed")
def count_failed_login(sender, credentials, request=None, **kwargs):
    if request is not None:  # a login through a page; a shell's authenticate() is not throttled
        throttle.login_failed(request, credentials.get("username", ""))


@receiver(user_logged_in, dispatch_uid="headpose-logged-in")
def clear_failed_logins(sender, request, user, **kwargs):
    throttle.login_succeeded(user.get_username())
