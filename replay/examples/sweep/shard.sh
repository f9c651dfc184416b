#!/bin/sh
# One shard of a Lockstep parameter sweep. The shard number comes from the scheduler:
# Slurm job arrays set SLURM_ARRAY_TASK_ID (and SLURM_ARRAY_TASK_COUNT), Kubernetes Indexed
# Jobs set JOB_COMPLETION_INDEX (SHARD_COUNT comes from the manifest). Every shard writes
# $OUT_DIR/shard-<I>.json; `replay sweep-merge $OUT_DIR/shard-*.json` joins them and refuses
# duplicates or gaps, so a failed shard is simply run again.
#
# Settings (environment): REPLAY (the binary, default `replay`), STRATEGY, GRID, TAPE (a tape
# file; unset: the synthetic market with EVENTS events), BAR (default 1m), OUT_DIR.
set -eu
I="${SLURM_ARRAY_TASK_ID:-${JOB_COMPLETION_INDEX:?set SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX}}"
N="${SLURM_ARRAY_TASK_COUNT:-${SHARD_COUNT:?set SLURM_ARRAY_TASK_COUNT or SHARD_COUNT}}"
REPLAY="${REPLAY:-replay}"
STRATEGY="${STRATEGY:-avellaneda-stoikov}"
GRID="${GRID:-gamma=0.05,0.1,0.2;k=50,100}"
OUT_DIR="${OUT_DIR:-sweep-out}"
mkdir -p "$OUT_DIR"
if [ -n "${TAPE:-}" ]; then
    set -- --tape "$TAPE"
else
    set -- --events "${EVENTS:-200000}"
fi
exec "$REPLAY" sweep --strategy "$STRATEGY" --grid "$GRID" --bar "${BAR:-1m}" "$@" \
    --shard "$I/$N" --out "$OUT_DIR/shard-$I.json"
