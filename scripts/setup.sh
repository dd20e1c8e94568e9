#!/usr/bin/env bash
# Installs everything this project needs on a fresh Debian/Ubuntu machine:
# the system libraries for headless MuJoCo rendering (EGL/Mesa) and ffmpeg, then
# the pinned Python packages and this repository as an editable package.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
if command -v apt-get >/dev/null; then
  missing=""
  for pkg in libegl1 libgl1-mesa-dri libopengl0 libosmesa6 ffmpeg; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
  done
  if [ -n "$missing" ]; then
    echo "Installing Debian packages:$missing"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
  fi
else
  echo "No apt-get: install EGL/Mesa (libegl1, libgl1-mesa-dri) and ffmpeg with your package manager." >&2
fi
python -m pip install -q --disable-pip-version-check -r requirements.txt
python -m pip install -q --disable-pip-version-check --no-deps -e .
echo "Setup done."
