#!/usr/bin/env bash
# Train on every GPU of one machine: `automatch train` runs one pmap replica per local device.
#   launch/multi_gpu.sh configs/automatch_resnet50.py runs/resnet50 [extra automatch train flags]
# The global batch (train.batch_size) is split evenly over the devices; it must be divisible by their number.
# On a CPU, XLA_FLAGS=--xla_force_host_platform_device_count=2 makes two devices (tests/train/test_launch.py).
set -euo pipefail
CONFIG=${1:?config}; OUT=${2:?output folder}; shift 2
export XLA_PYTHON_CLIENT_PREALLOCATE=${XLA_PYTHON_CLIENT_PREALLOCATE:-false}
# AUTOMATCH_COMMAND=search runs the BCM search instead (OUT is then the ARCH.json path).
exec automatch "${AUTOMATCH_COMMAND:-train}" --config "$CONFIG" --out "$OUT" "$@"
