#!/usr/bin/env bash
# Every GPU check of issue 20 in one go (about 6-7 minutes on an H200), from the repository root:
#
#     OUT=/some/dir bash bench/gpu_check.sh
#
# 1. nvidia-smi summary;
# 2. bench/gpu_train.py: training throughput, ours (chunk 8 s) and ESPnet's Conformer at the
#    0.6B shape, 8 s x 60 ... 60 min x 1 (-> gpu_mfu_30s=, gpu_speedup_300s=);
# 2b. bench/gpu_train.py --profile 30x16: one profiled step of ours, the kernels by device time
#    and the share in matmuls (-> gpu_profile_matmul_share=): what the next MFU lever is;
# 3. bench/gpu_train.py --longform: stream decoding RTFx of 10- and 60-min recordings, 64 and
#    256 s windows, one recording and batches of 4 (-> gpu_longform_rtfx_60min_batch4=,
#    gpu_longform_rtfx_60min=);
# 4. if time is left: torch.compile of ours at 30 s x 16 (compile time and throughput).
#
# Python packages the GPU machine lacks (espnet2, typeguard, ...) come in .devsite/: build it
# here with `bash bench/make_devsite.sh` and carry it (the device tool's carry: [".devsite"]);
# the tiny dry run below passed with a Python holding only the GPU image's packages. Logs and JSON go to $OUT (default ./gpu_check_out);
# everything is also in $OUT/gpu_check.log. Each step has its own timeout, so the script
# ends within BUDGET seconds (default 420) even if a step hangs.
# GPU_CHECK_TINY=1: a dry run of the script on the CPU (tiny model, short inputs).

set -u
OUT=${OUT:-$PWD/gpu_check_out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
export PYTHONPATH=$PWD/.devsite:$PWD
BUDGET=${BUDGET:-420}
TINY=()
if [ "${GPU_CHECK_TINY:-0}" = 1 ]; then
    TINY=(--tiny)
    BUDGET=${BUDGET_TINY:-400}
fi
LOG=$OUT/gpu_check.log
: > "$LOG"
START=$SECONDS

left() { echo $((BUDGET - (SECONDS - START))); }

step() {  # step NAME MAX_SECONDS CMD...: run CMD under a timeout of min(MAX, time left - 5)
    local name=$1 max=$2
    shift 2
    local t
    t=$(left)
    t=$((t - 5))
    [ "$t" -gt "$max" ] && t=$max
    if [ "$t" -lt 20 ]; then
        echo "=== $name: skipped (only $(left) s of the budget left)" | tee -a "$LOG"
        return 0
    fi
    echo "=== $name (timeout ${t} s, $((SECONDS - START)) s elapsed): $*" | tee -a "$LOG"
    timeout -k 10 "$t" "$@" 2>&1 | tee -a "$LOG"
    local rc=${PIPESTATUS[0]}
    echo "=== $name: exit $rc after $((SECONDS - START)) s$([ "$rc" = 124 ] && echo ' (TIMED OUT)')" | tee -a "$LOG"
}

{
    echo "=== gpu_check: $(date -u +%FT%TZ) on $(hostname)"
    if command -v nvidia-smi > /dev/null; then
        timeout 20 nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version,clocks.max.sm,power.limit \
            --format=csv
    else
        echo "(no nvidia-smi)"
    fi
    python3 -c "import sys, torch; print('python', sys.version.split()[0], 'torch', torch.__version__, \
'cuda', torch.version.cuda, 'available', torch.cuda.is_available())"
    python3 -c "import espnet2, typeguard; print('espnet2 from', espnet2.__file__)"
} 2>&1 | tee -a "$LOG"

if [ ${#TINY[@]} -gt 0 ]; then
    LF_MIN=0.5,1
    COMPILE_CASE=30x2
    PROFILE_CASE=30x2
else
    LF_MIN=10,60
    COMPILE_CASE=30x16
    PROFILE_CASE=30x16
fi

step train 240 python3 bench/gpu_train.py "${TINY[@]}" --json "$OUT/gpu_train.json"
step profile 60 python3 bench/gpu_train.py "${TINY[@]}" --profile "$PROFILE_CASE" --json "$OUT/gpu_profile.json"
step longform 100 python3 bench/gpu_train.py "${TINY[@]}" --longform "$LF_MIN" --lf-windows 64,256 \
    --lf-batch 1,4 --json "$OUT/gpu_longform.json"
step compile 240 python3 bench/gpu_train.py "${TINY[@]}" --compile --models ours --cases "$COMPILE_CASE" \
    --json "$OUT/gpu_train_compile.json"

echo "=== summary ($((SECONDS - START)) s)" | tee -a "$LOG"
grep -E '^(gpu_|ours|espnet|longform|# matmul|# SDPA|# device|# profile)' "$LOG" | tee "$OUT/summary.txt"
