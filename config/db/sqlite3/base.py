"""SQLite that creates the folder of its file when it first connects, so a
fresh clone's `manage.py migrate` works without anyone making data/ first.

The settings run it in WAL mode (config/settings.py), which keeps a `-wal` and a
`-shm` file beside the database while it is open: removing a test database
removes them too, so a run that was killed never leaves a stale log that a new
database of the same name would replay."""

import contextlib
import os
from pathlib import Path

from django.db.backends.sqlite3 import base, creation

WAL_SIDECARS = ("-wal", "-shm", "-journal")


def remove_sidecars(name: str) -> None:
    for suffix in WAL_SIDECARS:
        with contextlib.suppress(FileNotFoundError):
            os.remove(name + suffix)


class DatabaseCreation(creation.DatabaseCreation):
    def _create_test_db(self, verbosity, autoclobber, keepdb=False):
        name = self._get_test_db_name()
        if not keepdb and not self.is_in_memory_db(name):
            remove_sidecars(name)
        return super()._create_test_db(verbosity, autoclobber, keepdb)

    def _destroy_test_db(self, test_database_name, verbosity):
        super()._destroy_test_db(test_database_name, verbosity)
        if test_database_name and not self.is_in_memory_db(test_database_name):
            remove_sidecars(test_database_name)


class DatabaseWrapper(base.DatabaseWrapper):
    creation_class = DatabaseCreation

    def get_new_connection(self, conn_params):
        name = str(conn_params.get("database", ""))
        if name and name != ":memory:" and not name.startswith("file:"):
            Path(name).parent.mkdir(parents=True, exist_ok=True)
        return super().get_new_connection(conn_params)
