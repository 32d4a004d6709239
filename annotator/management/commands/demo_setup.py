import shutil

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from annotator.common.models import Job
from annotator.datasets import importing
from annotator.datasets.demo import write_demo_folder
from annotator.datasets.models import Assignment, Dataset, Role

DEMO_DATASET = "demo"


class Command(BaseCommand):
    help = "Create the demo admin (prints the login) and load the demo dataset; safe to run again."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", default="headpose-demo")

    def handle(self, *args, username, password, **options):
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_superuser(username, f"{username}@example.com", password)
            self.stdout.write(f"Created the demo admin: {username} / {password}")
        else:
            self.stdout.write(f"Demo admin exists: {username} (password unchanged)")
        for role in Role.values:
            user.groups.add(Group.objects.get_or_create(name=role)[0])

        if not Dataset.objects.filter(name=DEMO_DATASET).exists():
            folder = write_demo_folder()
            try:
                job = importing.create_import_job(
                    kind=Job.Kind.IMPORT_IMAGES, dataset_name=DEMO_DATASET, server_path=str(folder), user=user
                )
                job = importing.run_import_job(job.pk)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            Dataset.objects.filter(name=DEMO_DATASET).update(
                description="Three real photos shipped by scikit-image and matplotlib.", is_public=True
            )
            self.stdout.write(f"Loaded the demo dataset: {job.succeeded} images")
        dataset = Dataset.objects.get(name=DEMO_DATASET)
        Assignment.objects.get_or_create(dataset=dataset, user=user, role=Role.ANNOTATOR)
