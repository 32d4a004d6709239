"""The weights dir is read from the environment once, by the settings (the core
takes it as an argument): HEADPOSE_WEIGHTS_DIR, else HEADPOSE_SHARED_DIR/weights."""

import os
import subprocess
import sys

from tests.conftest import REPO_ROOT


def weights_dir_setting(**env) -> str:
    base = {k: v for k, v in os.environ.items() if k not in ("HEADPOSE_WEIGHTS_DIR", "HEADPOSE_SHARED_DIR")}
    base.update(env, DEBUG="1")
    proc = subprocess.run(
        [sys.executable, "-c", "import config.settings as s; print(s.HEADPOSE_WEIGHTS_DIR)"],
        cwd=REPO_ROOT,
        env=base,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip()


def test_the_weights_dir_defaults_to_the_shared_folder(tmp_path):
    assert weights_dir_setting(HEADPOSE_SHARED_DIR=str(tmp_path)) == str(tmp_path / "weights")


def test_the_weights_dir_setting_wins(tmp_path):
    assert weights_dir_setting(HEADPOSE_SHARED_DIR=str(tmp_path), HEADPOSE_WEIGHTS_DIR=str(tmp_path / "w")) == str(
        tmp_path / "w"
    )
