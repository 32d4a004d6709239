import hashlib

import numpy as np
import pytest

from workers.core import geometry
from workers.core.proposers import registry
from workers.core.proposers.registry import (
    InvalidInputError, MissingWeightsError, PoseProposal, Proposer, ProposerConfig,
    UnknownProposerError, available_proposers, create_proposer, get_config, list_proposers,
    register_proposer,
)


class _Fixed(Proposer):
    def propose_faces(self, images, Ks, faces):
        return [[] for _ in images]


@pytest.fixture
def temp_proposer():
    """Registers 'test-needs-weights' (weights file under a sub folder) for one test."""
    name = "test-needs-weights"
    config = ProposerConfig(name=name, version="0.1", description="test", licence="none",
                            weights_file="testnet/net.bin", input_size=(64, 64))
    register_proposer(name, config=config)(lambda c, p, d: _Fixed(c, p, d))
    yield name
    registry._REGISTRY.pop(name, None)


def test_it_lists_the_default_proposer_with_a_complete_config():
    assert "landmarks-fit" in list_proposers()
    cfg = get_config("landmarks-fit")
    assert cfg.weights_file is None
    assert cfg.version and cfg.licence and cfg.description and cfg.crop
    assert cfg.color_order in ("BGR", "RGB")
    assert set(cfg.to_dict()) >= {"name", "version", "crop", "input_size", "color_order", "mean", "std",
                                   "weights_file", "licence", "description"}


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


def test_the_env_setting_chooses_the_weights_dir(temp_proposer, tmp_path, monkeypatch):
    monkeypatch.delenv("HEADPOSE_WEIGHTS_DIR", raising=False)
    monkeypatch.setenv("HEADPOSE_SHARED_DIR", str(tmp_path))
    with pytest.raises(MissingWeightsError, match=str(tmp_path / "weights" / "testnet")):
        create_proposer(temp_proposer)


def test_available_proposers_follow_the_files_and_the_hash_is_of_the_file(temp_proposer, tmp_path):
    assert temp_proposer not in available_proposers(tmp_path)
    assert "landmarks-fit" in available_proposers(tmp_path)
    (tmp_path / "testnet").mkdir()
    payload = b"not really a network" * 100
    (tmp_path / "testnet" / "net.bin").write_bytes(payload)
    assert temp_proposer in available_proposers(tmp_path)
    proposer = create_proposer(temp_proposer, weights_dir=tmp_path)
    assert proposer.weights_sha256 == hashlib.sha256(payload).hexdigest()
    assert proposer.config.input_size == (64, 64)


def test_the_default_hash_is_the_hash_of_its_assets():
    from workers.core.proposers.reference_face import ASSET_PATH

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


@pytest.mark.parametrize("images, Ks, match", [
    ([np.zeros((10, 10, 3), np.uint8)], [], "1 images but 0"),
    ([np.zeros((10, 10, 3), np.float32)], [np.eye(3)], "uint8"),
    ([np.zeros((10, 10, 4), np.uint8)], [np.eye(3)], "BGR"),
    ([np.zeros((10, 10, 3), np.uint8)], [np.zeros((3, 3))], "positive focal"),
    (np.zeros((10, 10, 3), np.uint8), [np.eye(3)], "list of images"),
])
def test_propose_rejects_bad_batches_with_a_message(images, Ks, match):
    proposer = create_proposer("landmarks-fit")
    with pytest.raises(InvalidInputError, match=match):
        proposer.propose(images, Ks)
