import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from workers.core import geometry
from workers.core.proposers import (
    InvalidInputError,
    MissingWeightsError,
    PoseProposal,
    Proposer,
    ProposerConfig,
    UnknownProposerError,
    _registry,
    available_proposers,
    create_proposer,
    get_config,
    list_proposers,
    register_proposer,
)

REPO = Path(__file__).resolve().parents[3]


class _Fixed(Proposer):
    def propose_faces(self, images, Ks, faces):
        return [[] for _ in images]


@pytest.fixture
def temp_proposer():
    """Registers 'test-needs-weights' (weights file under a sub folder) for one test."""
    name = "test-needs-weights"
    config = ProposerConfig(
        name=name,
        version="0.1",
        description="test",
        licence="none",
        weights_file="testnet/net.bin",
        input_size=(64, 64),
    )
    register_proposer(name, config=config)(lambda c, p, d: _Fixed(c, p, d))
    yield name
    _registry._REGISTRY.pop(name, None)


def test_it_lists_the_default_proposer_with_a_complete_config():
    assert "landmarks-fit" in list_proposers()
    cfg = get_config("landmarks-fit")
    assert cfg.weights_file is None
    assert cfg.version and cfg.licence and cfg.description and cfg.crop
    assert cfg.color_order in ("BGR", "RGB")
    assert set(cfg.to_dict()) >= {
        "name",
        "version",
        "crop",
        "input_size",
        "color_order",
        "mean",
        "std",
        "weights_file",
        "licence",
        "description",
    }


def test_every_registered_config_is_named_after_its_key():
    for name in list_proposers():
        assert get_config(name).name == name


def test_it_rejects_an_unknown_name():
    with pytest.raises(UnknownProposerError, match="unknown proposer 'nope'"):
        create_proposer("nope")
    with pytest.raises(ValueError):  # callers may catch the ValueError base
        get_config("nope")


def test_it_rejects_a_second_proposer_with_the_same_name(temp_proposer):
    cfg = get_config(temp_proposer)
    with pytest.raises(ValueError, match="already registered"):
        register_proposer(temp_proposer, config=cfg)(lambda c, p, d: None)
    with pytest.raises(ValueError, match="differs"):
        register_proposer("other-name", config=cfg)


def test_a_missing_weights_file_names_the_path_and_the_setting(temp_proposer, tmp_path):
    with pytest.raises(MissingWeightsError) as info:
        create_proposer(temp_proposer, weights_dir=tmp_path)
    message = str(info.value)
    assert str(tmp_path / "testnet" / "net.bin") in message
    assert "HEADPOSE_SHARED_DIR" in message and "weights" in message
    assert isinstance(info.value, FileNotFoundError)


def test_the_weights_dir_is_passed_in_never_read_from_the_environment(temp_proposer, tmp_path, monkeypatch):
    (tmp_path / "weights" / "testnet").mkdir(parents=True)
    (tmp_path / "weights" / "testnet" / "net.bin").write_bytes(b"weights")
    monkeypatch.setenv("HEADPOSE_WEIGHTS_DIR", str(tmp_path / "weights"))
    monkeypatch.setenv("HEADPOSE_SHARED_DIR", str(tmp_path))
    with pytest.raises(MissingWeightsError, match="none was given") as info:
        create_proposer(temp_proposer)
    assert "testnet/net.bin" in str(info.value) and "HEADPOSE_WEIGHTS_DIR" in str(info.value)
    assert temp_proposer not in available_proposers()
    assert "landmarks-fit" in available_proposers()  # needs no weights, so no dir either
    built = create_proposer(temp_proposer, weights_dir=tmp_path / "weights")
    assert built.weight_files.directory == tmp_path / "weights"


def test_available_proposers_follow_the_files_and_the_hash_is_of_the_file(temp_proposer, tmp_path):
    assert temp_proposer not in available_proposers(tmp_path)
    assert "landmarks-fit" in available_proposers(tmp_path)
    (tmp_path / "testnet").mkdir()
    payload = b"not really a network" * 100
    (tmp_path / "testnet" / "net.bin").write_bytes(payload)
    assert temp_proposer in available_proposers(tmp_path)
    proposer = create_proposer(temp_proposer, weights_dir=tmp_path)
    assert proposer.weights_sha256 == hashlib.sha256(payload).hexdigest()
    assert proposer.weight_files.path == tmp_path / "testnet" / "net.bin"
    assert proposer.config.input_size == (64, 64)


def test_companion_files_are_required_and_hashed_after_the_weights_file(tmp_path):
    name = "test-two-files"
    config = ProposerConfig(
        name=name,
        version="0.1",
        description="test",
        licence="none",
        weights_file="two/a.bin",
        companion_files=("two/b.bin",),
    )
    register_proposer(name, config=config)(lambda c, w, d: _Fixed(c, w, d))
    try:
        (tmp_path / "two").mkdir()
        (tmp_path / "two" / "a.bin").write_bytes(b"first")
        with pytest.raises(MissingWeightsError) as info:
            create_proposer(name, weights_dir=tmp_path)
        assert str(tmp_path / "two" / "b.bin") in str(info.value)
        assert str(tmp_path / "two" / "a.bin") not in str(info.value)  # only the missing one is named
        assert name not in available_proposers(tmp_path)
        (tmp_path / "two" / "b.bin").write_bytes(b"second")
        proposer = create_proposer(name, weights_dir=tmp_path)
        assert proposer.weight_files.paths == (tmp_path / "two" / "a.bin", tmp_path / "two" / "b.bin")
        assert proposer.weights_sha256 == hashlib.sha256(b"firstsecond").hexdigest()
    finally:
        _registry._REGISTRY.pop(name, None)
    with pytest.raises(ValueError, match="companion_files need a weights_file"):
        ProposerConfig(name="x", version="1", description="", licence="", companion_files=("b",))


def test_a_module_dropped_into_the_package_is_registered(tmp_path):
    """Discovery: no list of modules to edit. A fresh interpreter, so this
    process's registry is left alone; the module is removed afterwards."""
    module = REPO / "workers" / "core" / "proposers" / f"dropped_in_{os.getpid()}.py"
    module.write_text(
        textwrap.dedent("""
        from workers.core.proposers import Proposer, ProposerConfig, register_proposer

        class DroppedIn(Proposer):
            def propose_faces(self, images, Ks, faces):
                return [[] for _ in images]

        @register_proposer("dropped-in", config=ProposerConfig(name="dropped-in", version="1", description="test",
                                                               licence="none"))
        def build(config, weights, device):
            proposer = DroppedIn(config, weights, device)
            proposer.weights_sha256 = "0" * 64
            return proposer
    """)
    )
    code = (
        "import json; from workers.core.proposers import create_proposer, list_proposers; "
        "print(json.dumps([list_proposers(), repr(create_proposer('dropped-in'))]))"
    )
    try:
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        proc = subprocess.run(
            [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
        )
    finally:
        module.unlink()
    assert proc.returncode == 0, proc.stderr[-2000:]
    names, built = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "dropped-in" in names and {"landmarks-fit", "fused", "fsanet"} <= set(names)
    assert built.startswith("<DroppedIn dropped-in v1")
    assert "dropped-in" not in list_proposers()  # this process never saw the file


def test_the_default_hash_is_the_hash_of_its_assets():
    from workers.core.proposers.parts.reference_face import ASSET_PATH

    proposer = create_proposer("landmarks-fit")
    assert proposer.weights_sha256 == hashlib.sha256(ASSET_PATH.read_bytes()).hexdigest()


def test_a_proposal_refuses_a_matrix_that_is_not_a_rotation():
    with pytest.raises(ValueError, match="rotation"):
        PoseProposal(box=(0, 0, 1, 1), R=np.diag([1.0, 1.0, -1.0]), t=None, score=1.0)
    with pytest.raises(ValueError, match="scheme"):
        PoseProposal(box=(0, 0, 1, 1), R=np.eye(3), t=None, score=1.0, landmark_scheme="dlib5")


def test_a_proposal_serialises_and_reads_back_its_euler_angles():
    R = geometry.euler_to_matrix([20.0, -10.0, 5.0])
    p = PoseProposal(box=(1, 2, 3, 4), R=R, t=[1, 2, 300], score=0.9)
    d = p.to_dict()
    assert np.allclose(np.array(d["R"]), R) and d["t"] == [1.0, 2.0, 300.0] and d["landmarks_2d"] is None
    assert np.allclose(p.euler, [20.0, -10.0, 5.0])


@pytest.mark.parametrize(
    "images, Ks, match",
    [
        ([np.zeros((10, 10, 3), np.uint8)], [], "1 images but 0"),
        ([np.zeros((10, 10, 3), np.float32)], [np.eye(3)], "uint8"),
        ([np.zeros((10, 10, 4), np.uint8)], [np.eye(3)], "BGR"),
        ([np.zeros((10, 10, 3), np.uint8)], [np.zeros((3, 3))], "positive focal"),
        (np.zeros((10, 10, 3), np.uint8), [np.eye(3)], "list of images"),
    ],
)
def test_propose_rejects_bad_batches_with_a_message(images, Ks, match):
    proposer = create_proposer("landmarks-fit")
    with pytest.raises(InvalidInputError, match=match):
        proposer.propose(images, Ks)


def test_a_rotation_proposer_gives_each_face_its_rotation_and_no_translation():
    from types import SimpleNamespace

    from workers.core.proposers.base import RotationProposer

    class ByIndex(RotationProposer):
        def rotations(self, images, index):
            self.calls = getattr(self, "calls", 0) + 1
            return geometry.euler_to_matrix([[10.0 * (i + 1), f.score, 0.0] for i, f in index])

    config = ProposerConfig(name="by-index", version="1", description="test", licence="none")
    p = ByIndex(config)
    face = lambda score: SimpleNamespace(box=(0, 0, 10, 10), score=score)  # noqa: E731
    out = p.propose_faces([None, None, None], [None] * 3, [[face(1.0), face(2.0)], [], [face(3.0)]])
    assert [len(o) for o in out] == [2, 0, 1] and p.calls == 1  # one batched call
    np.testing.assert_allclose([pr.euler for pr in out[0] + out[2]], [[10, 1, 0], [10, 2, 0], [30, 3, 0]], atol=1e-9)
    assert all(pr.t is None and pr.box == (0.0, 0.0, 10.0, 10.0) for pr in out[0] + out[2])
    empty = ByIndex(config)
    assert empty.propose_faces([None], [None], [[]]) == [[]] and not hasattr(empty, "calls")  # no faces, no call
