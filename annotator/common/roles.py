"""Roles are Django groups named after Role values; superusers are admins."""

from annotator.datasets.models import Role


def has_role(user, role: str) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return role in user_roles(user)


def user_roles(user) -> set[str]:
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_headpose_roles", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True)) & set(Role.values)
        if user.is_superuser:
            cached |= {Role.ADMIN}
        user._headpose_roles = cached
    return cached
