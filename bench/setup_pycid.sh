#!/usr/bin/env bash
# pycid pins pgmpy==0.1.17 and pygambit==16.0.2 (source only, needs Cython < 3), which
# clash with our numpy 2 / pgmpy 1.x: it gets its own venv, driven by bench_decisions.py.
# torch==2.13.0 first takes the CPU build on this machine's disk instead of CUDA wheels.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv-pycid"
python3 -m venv "$venv"
"$venv/bin/pip" install -q -U pip
"$venv/bin/pip" install -q torch==2.13.0 || echo "torch 2.13.0 CPU build not found; pgmpy 0.1.17 will pull torch itself"
"$venv/bin/pip" install -q 'setuptools<81' 'numpy<2' 'pandas<3' 'cython<3'
printf 'cython<3\n' > "$venv/cython-constraint.txt"
PIP_CONSTRAINT="$venv/cython-constraint.txt" "$venv/bin/pip" install -q \
    --build-constraint "$venv/cython-constraint.txt" pycid
"$venv/bin/python" -c "import pycid; print('pycid', pycid.__version__ if hasattr(pycid, '__version__') else 'ok')"
