#!/usr/bin/env bash
# gpu_check.sh: the README's CPU speed and quality figures, measured once on one GPU.
#
# For a lent GPU machine (one H100/H200, this repo checked out, packages installed, no
# internet): ONE call of at most 8 minutes. Each step reuses an existing benchmark script
# with small arguments, has its own timeout, and prints its figures beside the CPU
# figures they replace (quoted from README.md, with the section and command). Steps:
#   0 devices   what TensorFlow, JAX and PyTorch see (no GPU for TensorFlow: stop here)
#   1 tf        s per generator update, TF fit fp32 and mixed_bfloat16, WGAN-GP DIM 128
#               (train_speed.py --variants fit fit-bf16; the original loop comes along)
#   2 others    the same for JAX and PyTorch fit (train_speed.py --backend jax torch)
#   3 cifar     s per generator update of the cifar10_resnet recipe, 32 px, DIM 128,
#               batch 64 (cifar10_resnet.py --random-data; CIFAR-10 is not reachable)
#   4 generate  images/s of `keras-wgan generate` and of the bare loop (generate_speed.py)
#   5 colour    fd of DCGAN vs ResNet+DiffAugment on the Oxygen icons at equal GPU (wall)
#               seconds a cell (colour_quality.py's cells via gpu_check.py colour);
#               skipped, saying why, without /usr/share/icons/oxygen/base/64x64
# Then a summary table: figure, GPU value, CPU baseline, source. A failing step prints
# FAILED with its exit code and the script goes on; it exits 1 if any step failed.
#
# Usage:
#   bash benchmarks/gpu_check.sh --out DIR    # on the GPU machine; DIR gets each step's
#                                             # log, JSON and the children's stderr
#   bash benchmarks/gpu_check.sh              # the same into a temporary folder
#   bash benchmarks/gpu_check.sh --smoke      # any CPU: every step at tiny sizes, all
#                                             # three backends; ~100 s on 2 cores (more if shared)
#   options: --colour-seconds N (wall seconds of fit per colour cell; default: what the
#            8 minutes leave, 20 to 90), --help; env PYTHON (default python3),
#            GPU_CHECK_ICONS (default /usr/share/icons/oxygen/base/64x64)
# From the device tool: command "bash benchmarks/gpu_check.sh --out $OUT/gpu_check",
# timeout_s 540 (the script stops itself at about 470 s).

set -u

SMOKE=0
OUT=""
COLOUR_SECONDS=""
while (($#)); do
    case "$1" in
        --smoke) SMOKE=1 ;;
        --out) OUT="${2:?--out needs a folder}"; shift ;;
        --out=*) OUT="${1#--out=}" ;;
        --colour-seconds) COLOUR_SECONDS="${2:?--colour-seconds needs a number}"; shift ;;
        -h|--help) sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

OUT="${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")}"
mkdir -p "$OUT" || exit 2
OUT="$(cd "$OUT" && pwd)"  # absolute, before leaving the caller's folder
cd "$(dirname "$0")/.." || exit 2
PY="${PYTHON:-python3}"
HELPER="benchmarks/gpu_check.py"
: > "$OUT/steps.tsv"

export TF_CPP_MIN_LOG_LEVEL=2 PYTHONUNBUFFERED=1
# Several processes share the GPU (train_speed.py runs every row in its own process, in
# lockstep): TensorFlow and JAX must not each grab the whole memory at start.
export TF_FORCE_GPU_ALLOW_GROWTH=true XLA_PYTHON_CLIENT_PREALLOCATE=false
# No internet there: a download (the Inception weights of step 3, when not cached) must
# fail at once, not hang on a connection; this address refuses it.
NO_NET=(env https_proxy=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9
        http_proxy=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9)

START=$(date +%s)
if ((SMOKE)); then
    DEADLINE=600; MIN_STEP=10; NICE=(nice -n 10)
    DIM=8; STEPS=1; WARMUP=0
    # The matmul row's 2048x2048 chain cost ~4 CPU s a train_speed.py run here; 256 runs
    # the same code in milliseconds.
    SPEED=(--matmul-size 256)
    CIFAR=(--generator-updates 1 --eval-every 1 --dim 8 --batch-size 8 --n-eval 16)
    GENERATE=(--images 24 --rounds 1 --batch-size 16)  # >= 21: it checks seeds 0-20
    COLOUR=(--dim 8 --batch-size 8 --n-eval 16)
    COLOUR_SECONDS="${COLOUR_SECONDS:-5}"
    CAP_DEVICES=120; CAP_TF=240; CAP_OTHERS=240; CAP_CIFAR=200; CAP_GENERATE=200; CAP_COLOUR=240
else
    DEADLINE=460; MIN_STEP=20; NICE=()
    DIM=128; STEPS=6; WARMUP=2
    SPEED=()  # train_speed.py's own matmul row (2048x2048)
    CIFAR=(--generator-updates 60 --eval-every 20 --n-eval 256)
    GENERATE=(--images 2048 --rounds 3)  # the README's CPU figures used 4096 a round
    COLOUR=(--dim 32 --batch-size 32 --n-eval 96)
    CAP_DEVICES=30; CAP_TF=110; CAP_OTHERS=90; CAP_CIFAR=75; CAP_GENERATE=70; CAP_COLOUR=470
fi

elapsed() { echo $(($(date +%s) - START)); }

# Drop TensorFlow's start-up chatter and progress bars from a log's tail.
log_tail() {
    tr '\r' '\n' < "$1" | grep -v -e '^[IWE]0000 ' -e '^WARNING: All log messages' \
        -e 'rebuild TensorFlow' -e '^To enable the following' -e '━' -e '^\s*$' \
        | tail -n "${2:-12}" | cut -c1-240 | sed 's/^/    | /'
}

record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >> "$OUT/steps.tsv"; }

# run_step NAME DIR CAP FIGURES TITLE -- COMMAND...: run COMMAND in the repo root with
# its output in OUT/DIR/log.txt, under min(CAP, what the deadline leaves) seconds, then
# print the step's figures (gpu_check.py figures FIGURES; "-": none, the log's tail
# instead). The block is printed at once at the end (--smoke runs steps side by side).
run_step() {
    local name=$1 dir="$OUT/$2" cap=$3 figs=$4 title=$5
    shift 6
    rm -rf "$dir" && mkdir -p "$dir"
    local began left limit
    began=$(date +%s)
    left=$((DEADLINE - (began - START)))
    limit=$((cap < left ? cap : left))
    {
        echo "== step $name: $title [timeout ${limit} s, at $(elapsed) s]"
        echo "   \$ $*" | cut -c1-300
        if ((limit < MIN_STEP)); then
            echo "FAILED $name: not run, its limit ${limit} s is below ${MIN_STEP} s" \
                 "(${left} s of the ${DEADLINE} s left)"
            record "$name" "FAILED (no time left)" "-" 0
        else
            run_timed "$name" "$dir" "$limit" "$figs" "$began" "$@"
        fi
    } > "$dir/console.txt" 2>&1
    cat "$dir/console.txt"
}

# run_timed NAME DIR LIMIT FIGURES BEGAN COMMAND...: the timed part of run_step.
run_timed() {
    local name=$1 dir=$2 limit=$3 figs=$4 began=$5 rc seconds word="" why
    shift 5
    timeout --kill-after=10 "$limit" ${NICE[@]+"${NICE[@]}"} "$@" > "$dir/log.txt" 2>&1
    rc=$?
    seconds=$(($(date +%s) - began))
    if [[ $figs != - ]] && ! "$PY" "$HELPER" figures "$figs" "$OUT" && ((rc == 0)); then
        word="FAILED (figures missing from its output)"
        why="exit code 0 but figures missing"
    fi
    if ((rc == 0)) && [[ -z $word ]]; then
        echo "   ok in ${seconds} s"
        [[ $figs == - ]] && log_tail "$dir/log.txt" 8  # a step without figures: its output
        record "$name" ok 0 "$seconds"
        return
    fi
    case $rc in
        0) ;;
        124|137) word="FAILED (timed out after ${limit} s)"
                 why="exit code $rc, timed out after ${limit} s" ;;
        *) word="FAILED (exit $rc)"; why="exit code $rc after ${seconds} s" ;;
    esac
    echo "FAILED $name: $why; the end of $dir/log.txt:"
    log_tail "$dir/log.txt" 15
    record "$name" "$word" "$rc" "$seconds"
}

NVIDIA_SMI='nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader \
    || echo "nvidia-smi: absent or failed"'
step_devices() {
    run_step devices 0_devices "$CAP_DEVICES" - "devices each backend sees" -- \
        bash -c "$NVIDIA_SMI"'; exec "$1" "$2" devices' devices "$PY" "$HELPER"
}

step_tf() {
    run_step tf 1_tf "$CAP_TF" tf "TensorFlow fit fp32 and mixed_bfloat16, WGAN-GP DIM $DIM" -- \
        "$PY" benchmarks/train_speed.py --model wgan-gp --dim "$DIM" --backend tensorflow \
        --variants fit fit-bf16 --steps "$STEPS" --warmup "$WARMUP" --no-flops-check \
        --json "$OUT/1_tf/rows.json" --log-dir "$OUT/1_tf/children" ${SPEED[@]+"${SPEED[@]}"}
}

step_others() {
    local backends=(jax torch) missing=() b
    if ((!SMOKE)); then  # a backend without the GPU would train on the CPU: leave it out
        backends=()
        for b in jax torch; do
            if [[ " $GPU_BACKENDS " == *" $b "* ]]; then backends+=("$b"); else missing+=("$b"); fi
        done
    fi
    if ((${#missing[@]})); then
        echo "FAILED others: ${missing[*]} see no GPU (step devices), not timed"
        record others-gpu "FAILED (${missing[*]}: no GPU)" 1 0
    fi
    if ((${#backends[@]} == 0)); then
        record others "FAILED (no backend with a GPU)" 1 0
        return
    fi
    run_step others 2_jax_torch "$CAP_OTHERS" others "${backends[*]} fit, WGAN-GP DIM $DIM" -- \
        "$PY" benchmarks/train_speed.py --model wgan-gp --dim "$DIM" --backend "${backends[@]}" \
        --variants fit --steps "$STEPS" --warmup "$WARMUP" --no-flops-check \
        --json "$OUT/2_jax_torch/rows.json" --log-dir "$OUT/2_jax_torch/children" \
        ${SPEED[@]+"${SPEED[@]}"}
}

step_cifar() {
    run_step cifar 3_cifar_resnet "$CAP_CIFAR" cifar \
        "cifar10_resnet recipe, random 32x32x3 data" -- \
        "${NO_NET[@]}" KERAS_BACKEND=tensorflow "$PY" benchmarks/cifar10_resnet.py \
        --out "$OUT/3_cifar_resnet/run" --random-data --checkpoint-minutes 60 "${CIFAR[@]}"
    rm -f "$OUT"/3_cifar_resnet/run/model.*  # the checkpoint (tens of MB): not needed
}

step_generate() {
    run_step generate 4_generate "$CAP_GENERATE" generate \
        "keras-wgan generate images/s (TensorFlow)" -- \
        env KERAS_BACKEND=tensorflow "$PY" benchmarks/generate_speed.py "${GENERATE[@]}"
}

step_colour() {
    local icons="${GPU_CHECK_ICONS:-/usr/share/icons/oxygen/base/64x64}" seconds left
    if [[ ! -d $icons ]]; then
        echo "== step colour: SKIPPED: $icons is absent (Debian's oxygen-icon-theme is not" \
             "installed, and the machine has no internet to install it)"
        record colour "skipped (no icons)" - 0
        return
    fi
    if ((SMOKE)); then  # every 8th icon of each context: the yardstick trains in seconds
        local small="$OUT/5_icons" context
        rm -rf "$small"
        for context in "$icons"/*/; do
            mkdir -p "$small/$(basename "$context")"
            find "$context" -maxdepth 1 -type f -name '*.png' | sort | awk 'NR % 8 == 1' \
                | xargs -r cp -t "$small/$(basename "$context")"
        done
        icons=$small
    fi
    seconds=$COLOUR_SECONDS
    if [[ -z $seconds ]]; then  # what is left, less ~80 s of start, yardstick and scoring
        left=$((DEADLINE - $(elapsed)))
        seconds=$(((left - 80) / 2))
        ((seconds > 90)) && seconds=90
        ((seconds < 20)) && seconds=20
    fi
    run_step colour 5_colour "$CAP_COLOUR" colour \
        "icons fd, DCGAN vs ResNet+DiffAugment, ${seconds} s of fit a cell" -- \
        env KERAS_BACKEND=tensorflow "$PY" "$HELPER" colour --out "$OUT/5_colour" \
        --seconds "$seconds" --icons "$icons" "${COLOUR[@]}"
    rm -rf "$OUT/5_colour/data" "$OUT/5_colour/cache" "$OUT/5_icons"  # icon copies, yardstick
}

if ((SMOKE)); then MODE="SMOKE (tiny sizes on the CPU: the values mean nothing)"
else MODE="GPU check, ${DEADLINE} s at most"; fi
echo "gpu_check.sh: $MODE; out $OUT"
COMMIT=$(git rev-parse --short HEAD 2>/dev/null) \
    && { git diff --quiet HEAD 2>/dev/null || COMMIT+=" + changes"; }
echo "host $(uname -n), $(nproc) CPUs, commit ${COMMIT:-unknown}, $(date -u +%FT%TZ)"

GPU_BACKENDS=""
if ((SMOKE)); then
    # Two lanes side by side (the CPU's two cores); the GPU run is strictly sequential.
    (step_devices; step_others; step_colour) &
    lane=$!
    step_tf; step_cifar; step_generate
    wait "$lane"
else
    step_devices
    if grep -q '^GPU_BACKENDS=' "$OUT/0_devices/log.txt" 2>/dev/null; then
        GPU_BACKENDS=$(sed -n 's/^GPU_BACKENDS=//p' "$OUT/0_devices/log.txt" | tail -n 1)
    else
        echo "   (step devices gave no answer: going on with every backend)"
        GPU_BACKENDS="tensorflow jax torch"
    fi
    if [[ " $GPU_BACKENDS " != *" tensorflow "* ]]; then
        echo "FAILED devices: TensorFlow sees no GPU: every step would time the CPU; stopping"
        record devices-gpu "FAILED (TensorFlow sees no GPU)" 2 0
        "$PY" "$HELPER" summary "$OUT"
        exit 2
    fi
    step_tf
    step_others
    step_cifar
    step_generate
    step_colour
fi

"$PY" "$HELPER" summary "$OUT" $( ((SMOKE)) && echo --smoke)
echo "total $(elapsed) s; logs and JSON in $OUT"
if cut -f2 "$OUT/steps.tsv" | grep -q '^FAILED'; then
    echo "gpu_check.sh: FAILED steps:" \
         "$(awk -F'\t' '$2 ~ /^FAILED/ {printf "%s ", $1}' "$OUT/steps.tsv")"
    exit 1
fi
echo "gpu_check.sh: all steps ok"
exit 0
