"""Tests of data migrations: move the test database to a point in the migration graph."""

from typing import Any

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate_to(targets: list[tuple[str, str]]) -> Any:
    """Migrate (forwards or backwards) to `targets`; → the app registry there (Any: its
    historical models are not the current ones the type checker knows)."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def migrate_to_latest() -> Any:
    """Migrate to the newest migration of every app (what the suite runs on)."""
    return migrate_to(MigrationExecutor(connection).loader.graph.leaf_nodes())
