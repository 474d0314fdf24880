"""The real imagery the project may train on (see ``docs/training.md``): photos for backgrounds and object cut-outs
with alpha, fetched from Debian packages and scikit-image, never from a dataset hub.

``fetch_imagery(dir)`` downloads the Debian packages with ``apt-get download``, unpacks them with ``dpkg -x`` (no
root side effects) and writes a compact cache: backgrounds (longest side at most 1024 px, JPEG) and cut-outs (RGBA
PNG, longest side at most 256 px), with ``index.json``. scikit-image's bundled photos are always added as
backgrounds, so a cache exists even where Debian packages cannot be had. Unless told not to, it also self-labels the
real camera sequences of Debian's ``visp-images-data`` into ``real-video/`` (MOTChallenge layout; see
:mod:`automatch_jax.data.self_label`), the ``real-video`` training source.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from automatch_jax.errors import AutomatchError

BACKGROUND_PACKAGES = ("mate-backgrounds", "plasma-workspace-wallpapers", "gnome-backgrounds")
CUTOUT_PACKAGES = ("tuxpaint-stamps-default",)
SKIMAGE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry", "retina")
# Held out from training: the demo's photos.
DEMO_PHOTOS = ("chelsea", "rocket")
MAX_BACKGROUND = 1024
MAX_CUTOUT = 256
INDEX = "index.json"
REAL_VIDEO = "real-video"  # the self-labelled real camera sequences, a MOTChallenge folder in the cache


def default_imagery_dir() -> Path:
    """``$AUTOMATCH_IMAGERY`` or ``~/.cache/automatch/imagery``."""
    env = os.environ.get("AUTOMATCH_IMAGERY")
    return Path(env) if env else Path.home() / ".cache" / "automatch" / "imagery"


def _resize_max(image: np.ndarray, longest: int) -> np.ndarray:
    scale = longest / max(image.shape[:2])
    if scale >= 1:
        return image
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _download(packages: tuple[str, ...], work: Path, log: Callable[[str], None]) -> Path:
    unpacked = work / "root"
    for package in packages:
        result = subprocess.run(["apt-get", "download", package], cwd=work, capture_output=True, text=True)
        debs = sorted(work.glob(f"{package}_*.deb"))
        if result.returncode != 0 or not debs:
            log(f"skipped {package}: apt-get download failed ({result.stderr.strip().splitlines()[-1:]})")
            continue
        subprocess.run(["dpkg", "-x", str(debs[-1]), str(unpacked)], check=True)
        debs[-1].unlink()
        log(f"unpacked {package}")
    return unpacked


def fetch_imagery(out: Path | None = None, log: Callable[[str], None] = print, real_video: bool = True,
                  workers: int = 2) -> Path:
    """Build the imagery cache in ``out`` (default :func:`default_imagery_dir`); returns its folder. With
    ``real_video`` the visp sequences are self-labelled into ``out/real-video`` too (about 3 CPU-minutes, spread
    over ``workers`` processes)."""
    from skimage import data as photos

    out = Path(out or default_imagery_dir())
    (out / "backgrounds").mkdir(parents=True, exist_ok=True)
    (out / "cutouts").mkdir(parents=True, exist_ok=True)
    backgrounds, cutouts = [], []
    for name in SKIMAGE_PHOTOS:
        if name in DEMO_PHOTOS:
            continue
        image = getattr(photos, name)()
        bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        path = out / "backgrounds" / f"skimage_{name}.jpg"
        cv2.imwrite(str(path), _resize_max(bgr, MAX_BACKGROUND), [cv2.IMWRITE_JPEG_QUALITY, 92])
        backgrounds.append(path.name)
    debian = bool(shutil.which("apt-get") and shutil.which("dpkg"))
    if debian:
        with tempfile.TemporaryDirectory() as tmp:
            root = _download(BACKGROUND_PACKAGES + CUTOUT_PACKAGES, Path(tmp), log)
            seen = set()
            for path in sorted(root.glob("usr/share/**/*")):
                suffix = path.suffix.lower()
                if suffix not in (".jpg", ".jpeg", ".png", ".webp") or "screenshot" in path.name:
                    continue
                if "tuxpaint" in path.parts:
                    if "alphabets" in path.parts:
                        continue
                    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
                    if image is None or image.ndim != 3 or image.shape[2] != 4 or image[..., 3].max() == 0:
                        continue
                    name = f"{len(cutouts):04d}_{path.stem}.png"
                    cv2.imwrite(str(out / "cutouts" / name), _resize_max(image, MAX_CUTOUT))
                    cutouts.append(name)
                else:
                    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
                    if image is None or min(image.shape[:2]) < 300:
                        continue
                    key = (path.parent.parent.name if path.parent.name.startswith("images") else path.stem)
                    if key in seen:  # one size per wallpaper
                        continue
                    seen.add(key)
                    name = f"{len(backgrounds):04d}_{path.stem}.jpg"
                    cv2.imwrite(str(out / "backgrounds" / name), _resize_max(image, MAX_BACKGROUND),
                                [cv2.IMWRITE_JPEG_QUALITY, 92])
                    backgrounds.append(name)
    else:
        log("apt-get/dpkg not available: only scikit-image photos fetched")
    (out / INDEX).write_text(json.dumps({"backgrounds": backgrounds, "cutouts": cutouts}, indent=1))
    log(f"{len(backgrounds)} backgrounds, {len(cutouts)} cut-outs in {out}")
    if real_video and debian:
        from automatch_jax.data.self_label import fetch_real_video

        fetch_real_video(out / REAL_VIDEO, lambda packages, work: _download(packages, work, log),
                         workers=workers, log=log)
    return out


@dataclasses.dataclass
class Imagery:
    """Loaded imagery: ``backgrounds`` (BGR uint8) and ``cutouts`` (BGRA uint8), split deterministically into
    training and validation parts by :meth:`split`; ``folder`` is the cache it was loaded from (None when built in
    memory), where the ``real-video`` source finds its tracks."""

    backgrounds: list[np.ndarray]
    cutouts: list[np.ndarray]
    folder: Path | None = None

    @classmethod
    def load(cls, folder: Path | None = None) -> Imagery:
        folder = Path(folder or default_imagery_dir())
        index_path = folder / INDEX
        if not index_path.is_file():
            raise AutomatchError(f"{folder}: no imagery cache (run `automatch fetch-imagery --out {folder}`)")
        index = json.loads(index_path.read_text())
        backgrounds = [cv2.imread(str(folder / "backgrounds" / n), cv2.IMREAD_COLOR) for n in index["backgrounds"]]
        cutouts = [cv2.imread(str(folder / "cutouts" / n), cv2.IMREAD_UNCHANGED) for n in index["cutouts"]]
        backgrounds = [b for b in backgrounds if b is not None]
        cutouts = [c for c in cutouts if c is not None and c.ndim == 3 and c.shape[2] == 4]
        if not backgrounds:
            raise AutomatchError(f"{folder}: the imagery cache holds no readable background")
        return cls(backgrounds, cutouts, folder)

    @classmethod
    def builtin(cls, cutouts: int = 24, seed: int = 0) -> Imagery:
        """Imagery that needs no download: scikit-image's photos (except the demo's) as backgrounds, and
        cut-outs of their regions under random elliptical alpha masks. For tests and smoke runs."""
        from skimage import data as photos

        rng = np.random.default_rng(seed)
        backgrounds = []
        for name in SKIMAGE_PHOTOS:
            if name in DEMO_PHOTOS:
                continue
            image = getattr(photos, name)()
            backgrounds.append(_resize_max(np.ascontiguousarray(image[..., ::-1]), 512))
        objects = []
        for i in range(cutouts):
            source = backgrounds[i % len(backgrounds)]
            h, w = rng.integers(40, 120, 2)
            y, x = rng.integers(0, source.shape[0] - h), rng.integers(0, source.shape[1] - w)
            alpha = np.zeros((h, w), np.uint8)
            cv2.ellipse(alpha, (w // 2, h // 2), (w // 2 - 1, h // 2 - 1), 0, 0, 360, 255, -1)
            objects.append(np.dstack([source[y : y + h, x : x + w], alpha]))
        return cls(backgrounds, objects)

    def split(self, validation_fraction: float = 0.1) -> tuple[Imagery, Imagery]:
        """(train, validation): every ``round(1 / fraction)``-th image goes to validation."""
        k = max(2, round(1 / max(validation_fraction, 1e-6)))

        def part(items: list, keep_validation: bool) -> list:
            chosen = [x for i, x in enumerate(items) if (i % k == k - 1) == keep_validation]
            return chosen or items

        return (Imagery(part(self.backgrounds, False), part(self.cutouts, False), self.folder),
                Imagery(part(self.backgrounds, True), part(self.cutouts, True), self.folder))
