"""Training sets in their native on-disk formats, read into :class:`~automatch_jax.data.tracks.TrackSet` s.

==================== ==========================================================================================
name                 layout read (ROOT is the dataset folder given by the user)
==================== ==========================================================================================
got10k-train         ROOT/train/list.txt, ROOT/train/<seq>/groundtruth.txt, absence.label (absent frames skipped)
lasot-train          ROOT/<class>/<class>-<k>/groundtruth.txt, full_occlusion.txt, out_of_view.txt (all but the
                     280 test videos)
trackingnet-train    ROOT/TRAIN_<i>/anno/<seq>.txt, ROOT/TRAIN_<i>/frames/<seq>/<n>.jpg (chunks 0..11 present)
vid                  ImageNet VID (ILSVRC2015): ROOT/Annotations/VID/{train,val}/.../<frame>.xml and
                     ROOT/Data/VID/{train,val}/.../<frame>.JPEG; one track per (video, trackid)
det                  ImageNet DET: ROOT/Annotations/DET/{train,val}/.../<image>.xml and ROOT/Data/DET/.../<image>.JPEG;
                     every object a one-frame track
coco                 COCO: ROOT/annotations/instances_<split>.json and ROOT/<split>/<file_name>; every non-crowd
                     object a one-frame track
mot                  MOTChallenge (MOT17/MOT20, and what ``automatch label-video`` writes): ROOT/<seq>/gt/gt.txt
                     (frame, id, x, y, w, h, flag, class, visibility; 1-based frames) and ROOT/<seq>/img1/<frame:06>
                     (imDir/imExt from seqinfo.ini); one track per (seq, id), rows with flag 0 or visibility
                     below ``min_visibility`` (default 0.5) kept as invisible frames; ROOT/train/<seq> is read too
youtube-bb           YouTube-BB: ROOT/yt_bb_detection_<split>.csv (youtube_id, timestamp_ms, class_id,
                     class_name, object_id, object_presence, xmin, xmax, ymin, ymax; boxes as fractions) with the
                     decoded frames at ROOT/frames/<youtube_id>/<timestamp_ms>.jpg (``frame_pattern`` changes it)
==================== ==========================================================================================

Every reader scans once, with a progress bar, and caches the result as an index file
(:func:`automatch_jax.data.tracks.cached_scan`); :func:`load_training_set` is the one entry point.
"""

from __future__ import annotations

import configparser
import csv
import json
import os
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
from tqdm import tqdm

from automatch_jax.data.got10k import GOT10kDataset
from automatch_jax.data.lasot import LaSOTDataset
from automatch_jax.data.sequence import Sequence
from automatch_jax.data.trackingnet import SPLITS as TRACKINGNET_SPLITS
from automatch_jax.data.trackingnet import TrackingNetDataset
from automatch_jax.data.tracks import TrackBuilder, TrackSet, cached_scan
from automatch_jax.errors import DatasetError
from automatch_jax.registry import Registry, UnknownNameError

YTBB_COLUMNS = ("youtube_id", "timestamp_ms", "class_id", "class_name", "object_id", "object_presence",
                "xmin", "xmax", "ymin", "ymax")


def _progress(items: list, name: str, progress: bool) -> tqdm:
    return tqdm(items, desc=f"indexing {name}", unit="file", disable=not progress, leave=False)


def _add_sequence(builder: TrackBuilder, root: Path, sequence: Sequence) -> None:
    visible = sequence.target_visible()
    builder.add([os.path.relpath(f, root) for f in sequence.frames], sequence.gt, visible)


def _scan_benchmark_reader(name: str, reader: object, root: Path, progress: bool) -> TrackSet:
    builder = TrackBuilder(name, root)
    for seq_name in _progress(reader.sequence_names, name, progress):
        sequence = reader[seq_name]
        if not sequence.fully_annotated:
            raise DatasetError(f"{root}: sequence {seq_name} has no per-frame annotation (a test split?)")
        _add_sequence(builder, root, sequence)
    return builder.build()


def scan_got10k_train(root: Path, progress: bool = True) -> TrackSet:
    return _scan_benchmark_reader("got10k-train", GOT10kDataset(root, "train"), root, progress)


def scan_lasot_train(root: Path, progress: bool = True) -> TrackSet:
    return _scan_benchmark_reader("lasot-train", LaSOTDataset(root, "train"), root, progress)


def scan_trackingnet_train(root: Path, progress: bool = True) -> TrackSet:
    chunks = tuple(s for s in TRACKINGNET_SPLITS if s != "TEST" and (root / s / "anno").is_dir())
    if not chunks:
        raise DatasetError(f"{root}: no TRAIN_<i>/anno folder (expected the TrackingNet layout ROOT/TRAIN_0/anno)")
    return _scan_benchmark_reader("trackingnet-train", TrackingNetDataset(root, chunks), root, progress)


def _parse_xml(path: Path) -> ElementTree.Element:
    try:
        return ElementTree.parse(path).getroot()
    except (ElementTree.ParseError, OSError) as exc:
        raise DatasetError(f"{path}: corrupt annotation XML ({exc})") from None


def _voc_objects(path: Path) -> list[tuple[int, np.ndarray]]:
    """(trackid or -1, x y w h) of every object in an ILSVRC (Pascal VOC style) annotation file."""
    objects = []
    for obj in _parse_xml(path).iter("object"):
        box = obj.find("bndbox")
        try:
            x0, x1, y0, y1 = (float(box.find(k).text) for k in ("xmin", "xmax", "ymin", "ymax"))
            trackid = int(obj.findtext("trackid", "-1"))
        except (AttributeError, TypeError, ValueError):
            raise DatasetError(f"{path}: an <object> without a numeric <bndbox> (xmin, xmax, ymin, ymax)") from None
        # pytracking's convention: w = xmax - xmin, h = ymax - ymin
        objects.append((trackid, np.array([x0, y0, x1 - x0, y1 - y0], np.float32)))
    return objects


def _ilsvrc_annotation_root(root: Path, task: str) -> Path:
    folder = root / "Annotations" / task
    if not folder.is_dir():
        raise DatasetError(f"{root}: no Annotations/{task} folder (expected the ILSVRC2015 layout)")
    return folder


def scan_vid(root: Path, progress: bool = True) -> TrackSet:
    """ImageNet VID: one track per (video, trackid); frames where the object is not annotated are skipped."""
    annotations = _ilsvrc_annotation_root(root, "VID")
    videos = sorted({p.parent for p in annotations.rglob("*.xml")})
    if not videos:
        raise DatasetError(f"{annotations}: no annotation files (<video>/<frame>.xml)")
    builder = TrackBuilder("vid", root)
    for video in _progress(videos, "vid", progress):
        tracks: dict[int, tuple[list[str], list[np.ndarray]]] = defaultdict(lambda: ([], []))
        data = root / "Data" / "VID" / video.relative_to(annotations)
        for xml in sorted(video.glob("*.xml")):
            for trackid, box in _voc_objects(xml):
                frames, boxes = tracks[trackid]
                frames.append(os.path.relpath(data / f"{xml.stem}.JPEG", root))
                boxes.append(box)
        for trackid in sorted(tracks):
            frames, boxes = tracks[trackid]
            builder.add(frames, np.array(boxes))
    return builder.build()


def scan_det(root: Path, progress: bool = True) -> TrackSet:
    """ImageNet DET: every object is a one-frame track (pairs are two augmentations of the same image)."""
    annotations = _ilsvrc_annotation_root(root, "DET")
    files = sorted(annotations.rglob("*.xml"))
    if not files:
        raise DatasetError(f"{annotations}: no annotation files (<image>.xml)")
    builder = TrackBuilder("det", root)
    for xml in _progress(files, "det", progress):
        image = os.path.relpath(root / "Data" / "DET" / xml.relative_to(annotations).with_suffix(".JPEG"), root)
        for _, box in _voc_objects(xml):
            builder.add([image], box[None])
    return builder.build()


def scan_coco(root: Path, split: str = "train2017", progress: bool = True) -> TrackSet:
    """COCO instances: every non-crowd object a one-frame track."""
    path = root / "annotations" / f"instances_{split}.json"
    if not path.is_file():
        raise DatasetError(f"{root}: no annotations/instances_{split}.json (expected the COCO layout)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        images = {image["id"]: image["file_name"] for image in data["images"]}
        annotations = data["annotations"]
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: not a COCO instances file ({exc.__class__.__name__}: {exc})") from None
    builder = TrackBuilder("coco", root)
    for ann in _progress(annotations, "coco", progress):
        try:
            if ann.get("iscrowd", 0):
                continue
            box = np.array(ann["bbox"], np.float32)
            file_name = images[ann["image_id"]]
        except (KeyError, TypeError, ValueError):
            raise DatasetError(f"{path}: annotation {ann.get('id', '?')} lacks a bbox or a known image_id") from None
        if box.shape != (4,):
            raise DatasetError(f"{path}: annotation {ann.get('id', '?')} has a bbox of {box.size} values, expected 4")
        builder.add([f"{split}/{file_name}"], box[None])
    return builder.build()


def _mot_sequence_folders(root: Path) -> list[Path]:
    base = root / "train" if (root / "train").is_dir() else root
    return sorted(p.parent.parent for p in base.glob("*/gt/gt.txt"))


def _mot_image_naming(folder: Path) -> tuple[str, str]:
    """(image folder, suffix) of a MOTChallenge sequence from its seqinfo.ini (img1, .jpg when absent)."""
    info = configparser.ConfigParser()
    try:
        info.read(folder / "seqinfo.ini", encoding="utf-8")
    except configparser.Error as exc:
        raise DatasetError(f"{folder / 'seqinfo.ini'}: unreadable ({exc.__class__.__name__})") from None
    section = info["Sequence"] if info.has_section("Sequence") else {}
    return section.get("imDir", "img1"), section.get("imExt", ".jpg")


def scan_mot(root: Path, min_visibility: str = "0.5", progress: bool = True) -> TrackSet:
    """MOTChallenge ground truth: one track per (sequence, id) over the frames from its first to its last row."""
    folders = _mot_sequence_folders(root)
    if not folders:
        raise DatasetError(f"{root}: no <seq>/gt/gt.txt (expected the MOTChallenge layout)")
    try:
        threshold = float(min_visibility)
    except ValueError:
        raise DatasetError(f"mot: min_visibility {min_visibility!r} is not a number") from None
    builder = TrackBuilder("mot", root)
    for folder in _progress(folders, "mot", progress):
        image_dir, suffix = _mot_image_naming(folder)
        gt = folder / "gt" / "gt.txt"
        try:
            rows = np.loadtxt(gt, delimiter=",", ndmin=2, dtype=np.float64)
        except ValueError as exc:
            raise DatasetError(f"{gt}: not comma-separated numbers ({exc})") from None
        if rows.size == 0:
            continue
        if rows.shape[1] < 6:
            raise DatasetError(f"{gt}: {rows.shape[1]} columns, expected at least 6 (frame, id, x, y, w, h)")
        flag = rows[:, 6] if rows.shape[1] > 6 else np.ones(len(rows))
        visibility = rows[:, 8] if rows.shape[1] > 8 else np.ones(len(rows))
        keep = (flag != 0) & (visibility >= threshold)
        relative = os.path.relpath(folder / image_dir, root)
        for track_id in np.unique(rows[:, 1]):
            mine = rows[:, 1] == track_id
            frames = rows[mine, 0].astype(np.int64)
            first, last = frames.min(), frames.max()
            boxes = np.full((last - first + 1, 4), np.nan, np.float32)
            visible = np.zeros(last - first + 1, bool)
            boxes[frames - first] = rows[mine, 2:6]
            visible[frames - first] = keep[mine]
            builder.add([f"{relative}/{f:06d}{suffix}" for f in range(first, last + 1)], boxes, visible)
    return builder.build()


def scan_youtube_bb(root: Path, split: str = "train", frame_pattern: str = "frames/{youtube_id}/{timestamp_ms}.jpg",
                    progress: bool = True) -> TrackSet:
    """YouTube-BB: one track per (youtube_id, class_id, object_id), rows ordered by time; rows whose decoded frame
    is missing are left out, ``absent`` rows kept as invisible frames."""
    path = root / f"yt_bb_detection_{split}.csv"
    if not path.is_file():
        raise DatasetError(f"{root}: no yt_bb_detection_{split}.csv (expected the YouTube-BB CSV)")
    groups: dict[tuple[str, str, str], list[tuple[int, str, np.ndarray, bool]]] = defaultdict(list)
    with path.open(newline="", encoding="utf-8") as handle:
        for number, row in enumerate(_progress(list(csv.reader(handle)), "youtube-bb", progress), start=1):
            if not row:
                continue
            if len(row) != len(YTBB_COLUMNS):
                raise DatasetError(f"{path}: line {number} has {len(row)} columns, expected {len(YTBB_COLUMNS)}")
            fields = dict(zip(YTBB_COLUMNS, row, strict=True))
            try:
                time_ms = int(fields["timestamp_ms"])
                x0, x1, y0, y1 = (float(fields[k]) for k in ("xmin", "xmax", "ymin", "ymax"))
            except ValueError:
                raise DatasetError(f"{path}: line {number} is not numeric where a number is expected") from None
            present = fields["object_presence"] == "present"
            frame = frame_pattern.format(**fields)
            if not (root / frame).is_file():
                continue
            box = np.array([x0, y0, x1 - x0, y1 - y0], np.float32) if present else np.full(4, np.nan, np.float32)
            groups[fields["youtube_id"], fields["class_id"], fields["object_id"]].append((time_ms, frame, box, present))
    builder = TrackBuilder("youtube-bb", root, normalized=True)
    for key in sorted(groups):
        rows = sorted(groups[key], key=lambda r: r[0])
        builder.add([r[1] for r in rows], np.array([r[2] for r in rows]), np.array([r[3] for r in rows]))
    return builder.build()


TRAINING_SETS: Registry[Callable[..., TrackSet]] = Registry("training set")
"""Training set name -> its reader ``scan(root, progress=..., **options) -> TrackSet``."""
TRAINING_SETS.register("got10k-train", scan_got10k_train)
TRAINING_SETS.register("lasot-train", scan_lasot_train)
TRAINING_SETS.register("trackingnet-train", scan_trackingnet_train)
TRAINING_SETS.register("vid", scan_vid)
TRAINING_SETS.register("det", scan_det)
TRAINING_SETS.register("coco", scan_coco)
TRAINING_SETS.register("youtube-bb", scan_youtube_bb)
TRAINING_SETS.register("mot", scan_mot)


def load_training_set(name: str, root: Path | str, index_dir: Path | None = None, refresh: bool = False,
                      progress: bool = True, **options: str) -> TrackSet:
    """The tracks of training set ``name`` read from ``root`` (scanned once, then from the index file).

    ``options`` go to the reader (``split`` for COCO and YouTube-BB, ``frame_pattern`` for YouTube-BB).
    """
    try:
        scan = TRAINING_SETS.get(name)
    except UnknownNameError as error:
        raise DatasetError(str(error)) from None
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: dataset folder not found")
    key = json.dumps(sorted(options.items()))
    return cached_scan(name, root, key, lambda: scan(root, progress=progress, **options), index_dir, refresh)
