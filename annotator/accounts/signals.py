"""The accounts feature's signal receivers (connected from AnnotatorConfig.ready
via REGISTERING_MODULES): failed and successful logins feed the login throttle
(accounts/throttle.py), whichever page or form authenticated."""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from annotator.accounts import throttle


@receiver(user_login_failed, dispatch_uid="headpose-login-failed")
def count_failed_login(sender, credentials, request=None, **kwargs):
    if request is not None:  # a login through a page; a shell's authenticate() is not throttled
        throttle.login_failed(request, credentials.get("username", ""))


@receiver(user_logged_in, dispatch_uid="headpose-logged-in")
def clear_failed_logins(sender, request, user, **kwargs):
    throttle.login_succeeded(user.get_username())
