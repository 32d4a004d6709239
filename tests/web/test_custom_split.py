import pytest
from django.core.management import CommandError, call_command

from annotator.models import Split

pytestmark = pytest.mark.django_db


def test_a_custom_split_from_a_name_list_is_versioned(aflw_samples_dir, tmp_path):
    call_command("import_aflw2000", str(aflw_samples_dir), dataset="aflw", verbosity=0)
    names = tmp_path / "names.txt"
    names.write_text("# my hard cases\nimage00050.jpg\nimage00081.jpg\n")
    call_command("make_split", str(names), dataset="aflw", name="hard")
    names.write_text("image00050.jpg\n")
    call_command("make_split", str(names), dataset="aflw", name="hard")
    versions = list(Split.objects.filter(name="hard").order_by("version"))
    assert [len(s.sample_names) for s in versions] == [2, 1]
    assert [s.version for s in versions] == [1, 2]
    assert versions[0].images.count() == 2  # the old version is kept as it was


def test_unknown_names_are_listed(aflw_samples_dir, tmp_path):
    call_command("import_aflw2000", str(aflw_samples_dir), dataset="aflw", verbosity=0)
    names = tmp_path / "names.txt"
    names.write_text("image00050.jpg\nnope.jpg\n")
    with pytest.raises(CommandError, match=r"nope\.jpg"):
        call_command("make_split", str(names), dataset="aflw", name="bad")
    assert not Split.objects.filter(name="bad").exists()
