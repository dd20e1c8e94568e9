#!/usr/bin/env bash
# Sets this project up in a virtual environment `.venv` at the repository root.
# Assumes Debian or Ubuntu (apt-get) with Python >= 3.10, run as root or with sudo for
# the Debian packages: python3 + python3-venv, EGL/Mesa and OSMesa for headless
# MuJoCo rendering, ffmpeg for video summaries. Then the pinned requirements.txt and
# this repository (editable: your checkout's code runs) go into .venv.
# Idempotent: a re-run installs only what is missing and skips pip when neither
# requirements.txt nor pyproject.toml changed since the last successful run.
# Offline/wheelhouse installs work through pip's own PIP_FIND_LINKS / PIP_NO_INDEX.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

if command -v apt-get >/dev/null; then
  missing=""
  for pkg in python3 python3-venv libegl1 libgl1-mesa-dri libopengl0 libosmesa6 ffmpeg; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
  done
  if [ -n "$missing" ]; then
    if [ -n "$SUDO" ] && ! command -v sudo >/dev/null; then
      echo "error: need root or sudo to install the Debian packages:$missing" >&2
      exit 1
    fi
    echo "Installing Debian packages:$missing"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
  fi
else
  echo "No apt-get: install Python >= 3.10 with venv, EGL/Mesa (libegl1, libgl1-mesa-dri) and ffmpeg" \
       "with your package manager." >&2
fi

if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
  echo "error: needs Python >= 3.10 as python3 (found: $(python3 --version 2>&1 || echo none))." >&2
  exit 1
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "Creating the virtual environment $VENV"
  python3 -m venv "$VENV"
fi

# What the installed environment was built from; pip runs only when it changed.
stamp="$VENV/.apv-setup"
want="$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1) $(pwd)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$VENV/bin/python" -c 'import dreamerv2, apv_ext' 2>/dev/null; then
  echo "Setup already done ($VENV is up to date)."
  exit 0
fi
pip=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${pip[@]}" install -q -r requirements.txt
"${pip[@]}" install -q --no-deps -e .
"${pip[@]}" check
echo "$want" > "$stamp"
echo "Setup done: $VENV/bin/python (console scripts in $VENV/bin: apv-pretrain, apv-train, dreamerv2-train, apv-sweep, apv-eval, apv-plot, apv-doctor)."
