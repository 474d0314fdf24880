"""VOT short-term sequences in their native layout (VOT2013-VOT2019 style rectangles and polygons).

Layout::

    ROOT/list.txt                       optional: sequence names, one per line (else: every folder with
                                        a groundtruth.txt)
    ROOT/<seq>/color/00000001.jpg ...   frames (older editions: ROOT/<seq>/00000001.jpg)
    ROOT/<seq>/groundtruth.txt          per frame either x,y,w,h or a 4-corner polygon x1,y1,...,x4,y4
    ROOT/<seq>/<tag>.tag or .label      optional per-frame 0/1 tags (occlusion, camera_motion, ...)

Polygons are kept (``Sequence.polygons``, (N, 8)); ``Sequence.gt`` holds their axis-aligned bounding boxes, and
the ``rectangle`` flag marks the frames annotated as ``x,y,w,h`` (VOT rasterises a rectangle and the same
rectangle written as a polygon differently, see :mod:`automatch_jax.eval.vot_overlap`).
:func:`polygon_to_box` also offers the area-preserving box VOT trackers are usually initialised with.
"""

from __future__ import annotations

from collections.abc import Sequence as SequenceOf
from pathlib import Path

import numpy as np

from automatch_jax.boxes import cxcywh_to_xywh
from automatch_jax.data.sequence import FramePaths, Sequence, SequenceCollection
from automatch_jax.data.text import SEPARATORS, read_flags
from automatch_jax.errors import DatasetError

TAGS = ("camera_motion", "illum_change", "motion_change", "size_change", "occlusion")


def rect_to_polygon(rects: np.ndarray) -> np.ndarray:
    """(N, 4) ``x, y, w, h`` -> (N, 8) corners clockwise from the top-left."""
    x, y, w, h = np.asarray(rects, dtype=np.float64).T
    return np.stack([x, y, x + w, y, x + w, y + h, x, y + h], axis=1)


def polygon_to_box(polygons: np.ndarray, mode: str = "aabb") -> np.ndarray:
    """(N, 8) polygons -> (N, 4) ``x, y, w, h``.

    ``mode="aabb"``: the tightest axis-aligned box. ``mode="area"``: the box centred on the polygon's centre
    (mean of the corners) with the AABB's aspect ratio, scaled so that its area equals the rotated
    rectangle's (the VOT convention for initialising axis-aligned trackers).
    """
    p = np.asarray(polygons, dtype=np.float64)
    xs, ys = p[:, 0::2], p[:, 1::2]
    x0, x1, y0, y1 = xs.min(1), xs.max(1), ys.min(1), ys.max(1)
    if mode == "aabb":
        return np.stack([x0, y0, x1 - x0, y1 - y0], axis=1)
    if mode != "area":
        raise ValueError(f"unknown mode {mode!r}; known: aabb, area")
    cx, cy = xs.mean(1), ys.mean(1)
    side1 = np.hypot(p[:, 0] - p[:, 2], p[:, 1] - p[:, 3])
    side2 = np.hypot(p[:, 2] - p[:, 4], p[:, 3] - p[:, 5])
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.sqrt(side1 * side2 / ((x1 - x0) * (y1 - y0)))
    scale = np.where(np.isfinite(scale), scale, 1.0)
    return cxcywh_to_xywh(np.stack([cx, cy, scale * (x1 - x0), scale * (y1 - y0)], axis=1))


def read_regions(path: Path) -> np.ndarray:
    """(N, 8) polygons of a VOT ``groundtruth.txt`` whose lines hold 4 (rectangle) or 8 (polygon) values;
    a line of NaN (or 0,0,0,0, VOT's "no annotation") becomes a NaN row."""
    return read_regions_and_rectangles(path)[0]


def read_regions_and_rectangles(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """:func:`read_regions`, and (N, 4) the lines written as a rectangle ``x, y, w, h`` as they are (4 finite
    values, 0,0,0,0 included; NaN rows elsewhere)."""
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except FileNotFoundError:
        raise DatasetError(f"{path}: missing annotation file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read annotation file ({exc.__class__.__name__})") from None
    lines = text.rstrip().split("\n")
    if lines == [""]:
        raise DatasetError(f"{path}: empty annotation file")
    regions = np.full((len(lines), 8), np.nan)
    rectangles = np.full((len(lines), 4), np.nan)
    for number, line in enumerate(lines, start=1):
        if line.lstrip().startswith("m"):
            raise DatasetError(
                f"{path}: line {number} is a segmentation mask (VOT2020+), which is not supported"
            )
        cells = SEPARATORS.sub(" ", line).split()
        try:
            values = np.array(cells, dtype=np.float64)
        except ValueError:
            raise DatasetError(f"{path}: line {number} is not numeric ({line.strip()[:40]!r})") from None
        if len(values) == 4:
            if np.isfinite(values).all():
                rectangles[number - 1] = values
            if np.all(values == 0) or np.isnan(values).any():
                continue
            regions[number - 1] = rect_to_polygon(values[None])[0]
        elif len(values) == 8 or (len(values) >= 6 and len(values) % 2 == 0):
            regions[number - 1] = values[:8] if len(values) == 8 else _to_quad(values)
        else:
            raise DatasetError(f"{path}: line {number} has {len(values)} values, expected 4 or 8")
    return regions, rectangles


def _to_quad(values: np.ndarray) -> np.ndarray:
    """A polygon with other than 4 corners, replaced by its axis-aligned bounding rectangle's corners."""
    return rect_to_polygon(polygon_to_box(values[None], "aabb"))[0]


def frame_size(path: str | Path) -> tuple[int, int]:
    """``(width, height)`` of one image file; DatasetError naming it if it cannot be read."""
    import cv2  # only when a size is asked for: reading annotations never needs OpenCV

    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise DatasetError(f"{path}: missing or unreadable frame (its size bounds VOT's overlap)")
    return int(image.shape[1]), int(image.shape[0])


class VOTDataset(SequenceCollection):
    """The sequences of a VOT edition's folder (``names``: only these, whatever the others hold)."""

    _index_name = "_names"

    attribute_names = TAGS

    def __init__(self, root: Path | str, names: SequenceOf[str] | None = None):
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(f"{self.root}: dataset folder not found")
        self.name = "vot"
        list_file = self.root / "list.txt"
        if names is not None:
            names = [n for n in names if (self.root / n / "groundtruth.txt").is_file()]
        elif list_file.is_file():
            names = [n.strip() for n in list_file.read_text(encoding="utf-8").splitlines() if n.strip()]
            missing = [n for n in names if not (self.root / n / "groundtruth.txt").is_file()]
            if missing:
                raise DatasetError(
                    f"{self.root}: {len(missing)} sequences of list.txt lack groundtruth.txt "
                    f"(first: {missing[0]})"
                )
        else:
            names = sorted(
                p.parent.name
                for p in self.root.glob("*/groundtruth.txt")
                if (p.parent / "color").is_dir() or any(p.parent.glob("*.jpg"))
            )
        if not names:
            raise DatasetError(
                f"{self.root}: no VOT sequence found (expected ROOT/<seq>/groundtruth.txt and color/)"
            )
        self._names = names

    def __getitem__(self, name: str) -> Sequence:
        if name not in self._names:
            raise DatasetError(f"{self.root}: no sequence named {name!r} in vot")
        folder = self.root / name
        polygons, rectangles = read_regions_and_rectangles(folder / "groundtruth.txt")
        if np.isnan(polygons[0]).any():
            raise DatasetError(f"{folder / 'groundtruth.txt'}: the first frame has no annotation")
        gt = polygon_to_box(polygons, "aabb")
        rectangle = np.isfinite(rectangles).all(axis=1)
        drawn = rectangle & np.isfinite(polygons).all(axis=1)  # 0,0,0,0 stays "no annotation" (NaN)
        gt[drawn] = rectangles[drawn]  # as written, not recomputed from the corners
        flags = {"rectangle": rectangle}
        for tag in TAGS:
            for suffix in (".tag", ".label"):
                path = folder / f"{tag}{suffix}"
                if path.is_file():
                    values = read_flags(path).astype(bool)
                    # VOT omits trailing zeros in tag files: pad to the sequence length.
                    if len(values) > len(gt):
                        raise DatasetError(f"{path}: {len(values)} tags for {len(gt)} frames")
                    flags[tag] = np.pad(values, (0, len(gt) - len(values)))
        image_dir = folder / "color" if (folder / "color").is_dir() else folder
        return Sequence(
            name=name,
            frames=FramePaths(image_dir, len(gt)),
            gt=gt,
            dataset="vot",
            attributes=tuple(t for t in TAGS if t in flags and flags[t].any()),
            flags=flags,
            polygons=polygons,
        )
