"""A small world for the API tests: three datasets, one user per role, a token each.

  pub     public;  erin annotates it (and has a label on it)
  priv    private; bob annotates it, dave reviews it (bob has a label on it)
  hidden  private; nobody assigned
Every dataset has ground truth and a proposal on each face."""

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from annotator.accounts.tokens import create_token
from annotator.labeling.services import save_annotation, set_ground_truth
from annotator.models import Assignment, Face, Role
from tests.browser.data import add_proposal, make_dataset
from workers.core import geometry


def user(django_user_model, name, *roles, **extra):
    u = django_user_model.objects.create_user(name, f"{name}@example.com", "pw-" + name, **extra)
    for role in roles:
        u.groups.add(Group.objects.get_or_create(name=role)[0])
    return u


def label(face, author, euler, status="corrected"):
    R = geometry.euler_to_matrix(euler).reshape(-1).tolist()
    return save_annotation(face=face, author=author, R=R, t=[0.0, 0.0, 600.0], status=status, expected_version=0)


@pytest.fixture
def world(db, django_user_model, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed: 5 users per test
    return build_world(django_user_model)


def build_world(django_user_model) -> dict:
    """The world's rows (a fixture of a wider scope may build it once: tests/api/test_schemathesis.py)."""
    users = {
        "admin": user(django_user_model, "alice", Role.ADMIN, is_staff=True, is_superuser=True),
        "annotator": user(django_user_model, "bob", Role.ANNOTATOR),
        "reviewer": user(django_user_model, "dave", Role.REVIEWER),
        "researcher": user(django_user_model, "carol", Role.RESEARCHER),
        "other_annotator": user(django_user_model, "erin", Role.ANNOTATOR),
    }
    datasets = {name: make_dataset(name, n_faces=2, with_files=True) for name in ("pub", "priv", "hidden")}
    datasets["pub"].is_public = True
    datasets["pub"].save()
    Assignment.objects.create(dataset=datasets["priv"], user=users["annotator"], role=Role.ANNOTATOR)
    Assignment.objects.create(dataset=datasets["priv"], user=users["reviewer"], role=Role.REVIEWER)
    Assignment.objects.create(dataset=datasets["pub"], user=users["other_annotator"], role=Role.ANNOTATOR)
    objects = {}
    for key, ds in datasets.items():
        faces = list(Face.objects.filter(image__dataset=ds).order_by("pk"))
        for i, face in enumerate(faces):
            set_ground_truth(face=face, R=geometry.euler_to_matrix([5.0 * i, 2.0, -3.0]), t=[1, 2, 650])
            add_proposal(face, "landmarks-fit", euler=(4.0 * i, 1.0, -2.0))
        objects[key] = {
            "dataset": ds,
            "face": faces[0],
            "unlabeled_face": faces[1],
            "image": faces[0].image,
            "proposal": faces[0].proposals.first(),
            "ground_truth": faces[0].annotations.get(origin="ground_truth"),
        }
    objects["priv"]["annotation"] = label(objects["priv"]["face"], users["annotator"], [10.0, 0.0, 0.0])
    objects["pub"]["annotation"] = label(objects["pub"]["face"], users["other_annotator"], [-10.0, 0.0, 0.0])
    keys = {role: create_token(user=u, name="tests")[1] for role, u in users.items()}
    return {"users": users, "datasets": datasets, "objects": objects, "keys": keys}


@pytest.fixture
def api_as(world):
    def make(role: str | None, key: str | None = None) -> APIClient:
        client = APIClient()
        if role is not None or key is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Token {key or world['keys'][role]}")
        return client

    return make


# Two users with two roles, one in each of two datasets (issue 25): their rights in
# a dataset are those of their role in it, never borrowed from the other one nor
# from their global groups. Each has a label of their own in the dataset they annotate.
MIXED = {
    # reviewer of pub, annotator of priv
    "rev_pub_ann_priv": ("mia", {"pub": Role.REVIEWER, "priv": Role.ANNOTATOR}),
    # reviewer of priv, annotator of pub (a public dataset: the reviewer group reads
    # public datasets, but not one this user annotates)
    "rev_priv_ann_pub": ("max", {"priv": Role.REVIEWER, "pub": Role.ANNOTATOR}),
}


@pytest.fixture
def mixed_roles(world, django_user_model):
    """The world plus MIXED's users (in world["users"] and world["keys"] under their
    role names); world["own_labels"][role]: the label each made."""
    world["own_labels"] = {}
    for role, (name, roles) in MIXED.items():
        u = user(django_user_model, name, Role.ANNOTATOR, Role.REVIEWER)
        for key, dataset_role in roles.items():
            Assignment.objects.create(dataset=world["datasets"][key], user=u, role=dataset_role)
            if dataset_role == Role.ANNOTATOR:
                world["own_labels"][role] = label(world["objects"][key]["face"], u, [7.0, 1.0, 0.0])
        world["users"][role] = u
        world["keys"][role] = create_token(user=u, name="tests")[1]
    return world
