import pytest
from django.contrib.auth.models import Group

from annotator.models import Assignment, Dataset, Role


def _user(django_user_model, name, *roles, **extra):
    user = django_user_model.objects.create_user(name, f"{name}@example.com", "pw-" + name, **extra)
    for role in roles:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


@pytest.fixture
def alice(django_user_model):
    """An admin."""
    return _user(django_user_model, "alice", Role.ADMIN, is_staff=True, is_superuser=True)


@pytest.fixture
def bob(django_user_model):
    """An annotator."""
    return _user(django_user_model, "bob", Role.ANNOTATOR)


@pytest.fixture
def carol(django_user_model):
    """A researcher."""
    return _user(django_user_model, "carol", Role.RESEARCHER)


@pytest.fixture
def admin_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def assigned(bob):
    def assign(dataset: Dataset, user=bob, role=Role.ANNOTATOR):
        Assignment.objects.get_or_create(dataset=dataset, user=user, role=role)
        return dataset

    return assign
