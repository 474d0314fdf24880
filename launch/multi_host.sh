#!/usr/bin/env bash
# Multi-host training (several GPU machines, or the hosts of a TPU pod slice) with jax.distributed.
# Run the same command on every host; each host draws its own share of the global batch, and gradients and
# BatchNorm statistics are averaged across all devices of all hosts.
#
# GPU machines:
#   JAX_COORDINATOR_ADDRESS=host0:1234 JAX_NUM_PROCESSES=4 JAX_PROCESS_ID=<0..3> \
#     launch/multi_host.sh configs/automatch_resnet50.py /shared/runs/resnet50
# Cloud TPU pod slice (JAX finds the coordinator and process ids itself):
#   gcloud compute tpus tpu-vm ssh NAME --worker=all --command \
#     "cd automatch && AUTOMATCH_DISTRIBUTED=1 launch/multi_host.sh configs/automatch_resnet50.py /shared/runs/r50"
# OUT must be the same path on every host, on storage every host reaches (orbax writes checkpoints collectively).
# Resume: run the same command on every host again. When a process dies the others exit non-zero within about
# AUTOMATCH_HEARTBEAT_S seconds (60); SIGTERM to any process stops all of them at one checkpointed step (exit 143).
# See docs/training.md ("A pod or multi-GPU run"); two processes on localhost: tests/train/test_launch.py.
set -euo pipefail
CONFIG=${1:?config}; OUT=${2:?output folder}; shift 2
if [[ -z "${JAX_COORDINATOR_ADDRESS:-}" ]]; then export AUTOMATCH_DISTRIBUTED=1; fi
# AUTOMATCH_COMMAND=search runs the BCM search instead (OUT is then the ARCH.json path).
exec automatch "${AUTOMATCH_COMMAND:-train}" --config "$CONFIG" --out "$OUT" "$@"
