#!/usr/bin/env bash
# GPU check, in one command, on a machine with an NVIDIA GPU, torch, transformers and nvidia-ml-py, and no
# internet. Missing Python packages of the harness (pydantic, for one) can be brought as wheels in .whl/
# at the repository root: they are installed into /tmp/harness-site first. See scripts/gpu_check.py.
#
#   scripts/gpu_check.sh [--model-dir HF_FOLDER | --gguf FILE.gguf] [--out DIR]
set -uo pipefail
cd "$(dirname "$0")/.."
if compgen -G ".whl/*.whl" > /dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/harness-site .whl/*.whl \
        || { echo "gpu_check: could not install the wheels in .whl/" >&2; exit 2; }
    export PYTHONPATH="/tmp/harness-site:${PYTHONPATH:-}"
fi
export PYTHONPATH="$PWD:${PYTHONPATH:-}" PYTHONUNBUFFERED=1
exec python3 scripts/gpu_check.py "$@"
