"""What the data-migration tests share: move the test database to one migration
and get that state's models, and an image row as the models of that time store
it (the rows a migration test writes before it migrates)."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(target: tuple[str, str]):
    """Migrate the test database to `target`; the historical models' registry there."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])
    return executor.loader.project_state([target]).apps


def migrate_to_latest(app_label: str = "annotator") -> None:
    migrate(max(MigrationExecutor(connection).loader.graph.leaf_nodes(app_label)))


def old_image(apps, dataset):
    """A 10x10 image row of `dataset`, through the historical Image model."""
    return apps.get_model("annotator", "Image").objects.create(
        dataset=dataset,
        file="images/x.jpg",
        file_name="x.jpg",
        width=10,
        height=10,
        size_bytes=1,
        checksum="c" * 64,
        K=[10, 0, 4.5, 0, 10, 4.5, 0, 0, 1],
    )
