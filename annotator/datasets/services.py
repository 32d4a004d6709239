"""Writes to a dataset's own row (imports, splits: importing.py, splits.py)."""

from annotator.datasets.models import Dataset


def change_settings(dataset: Dataset, values: dict) -> Dataset:
    """Service: set the dataset's queue settings (checked by the caller's serializer)."""
    for name, value in values.items():
        setattr(dataset, name, value)
    dataset.save(update_fields=list(values))
    return dataset
