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
# OUT must be storage every host reaches (orbax writes checkpoints collectively).
set -euo pipefail
CONFIG=${1:?config}; OUT=${2:?output folder}; shift 2
if [[ -z "${JAX_COORDINATOR_ADDRESS:-}" ]]; then export AUTOMATCH_DISTRIBUTED=1; fi
# AUTOMATCH_COMMAND=search runs the BCM search instead (OUT is then the ARCH.json path).
exec automatch "${AUTOMATCH_COMMAND:-train}" --config "$CONFIG" --out "$OUT" "$@"
