"""Rebuild the evaluation example bundled with the package (``automatch eval --example``).

Runs OpenCV's CSRT and KCF trackers, and a baseline that never moves its first box, on the real OTB
sequences Crossing and MotorRolling, and writes their results in the ``RESULTS/<tracker>/<seq>.txt`` layout
(with ``<seq>_time.txt`` per-frame times) next to the sequences' official ground truth (annotation only).

    python scripts/make_eval_example.py --sequences ../shared/data/sequences
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import cv2
import numpy as np

SEQUENCES = ("Crossing", "MotorRolling")
OUT = Path(__file__).resolve().parents[1] / "automatch_jax" / "assets" / "eval_example"


def _read_gt(path: Path) -> np.ndarray:
    text = path.read_text().replace(",", " ").replace("\t", " ")
    return np.array(text.split(), dtype=float).reshape(-1, 4)


def _run(make_tracker, frames: list[Path], init: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    boxes, times = [init.copy()], [0.0]
    tracker = make_tracker()
    first = cv2.imread(str(frames[0]))
    start = time.perf_counter()
    tracker.init(first, tuple(round(v) for v in init))
    times[0] = time.perf_counter() - start
    for frame_path in frames[1:]:
        frame = cv2.imread(str(frame_path))
        start = time.perf_counter()
        ok, box = tracker.update(frame)
        times.append(time.perf_counter() - start)
        boxes.append(np.asarray(box, dtype=float) if ok else boxes[-1])
    return np.stack(boxes), np.asarray(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sequences", type=Path, required=True, help="folder holding Crossing/ and MotorRolling/"
    )
    args = parser.parse_args()
    trackers = {
        "CSRT": cv2.TrackerCSRT.create,
        "KCF": cv2.TrackerKCF.create,
    }
    if OUT.exists():
        shutil.rmtree(OUT)
    for seq in SEQUENCES:
        src = args.sequences / seq
        (OUT / "otb" / seq).mkdir(parents=True)
        shutil.copy(src / "groundtruth_rect.txt", OUT / "otb" / seq / "groundtruth_rect.txt")
        gt = _read_gt(src / "groundtruth_rect.txt")
        frames = sorted((src / "img").glob("*.jpg"))
        results = {name: _run(make, frames, gt[0]) for name, make in trackers.items()}
        results["Static"] = (np.repeat(gt[:1], len(gt), axis=0), np.full(len(gt), 1e-4))
        for name, (boxes, times) in results.items():
            folder = OUT / "results" / name
            folder.mkdir(parents=True, exist_ok=True)
            np.savetxt(folder / f"{seq}.txt", boxes, fmt="%.2f", delimiter=",")
            np.savetxt(folder / f"{seq}_time.txt", times, fmt="%.6f")
        print(seq, "done")


if __name__ == "__main__":
    main()
