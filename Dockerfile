# APV on DreamerV2, CPU image (README, "Docker"):
#   docker build -t apv .
#   docker run --rm apv                                                   # the tests
#   docker run --rm -v "$PWD/logs:/home/apv/logs" apv python scripts/pipeline.py --logdir /home/apv/logs/quickstart
# GPU image: docker build --build-arg TF_PACKAGE='tensorflow[and-cuda]==2.21.0' -t apv-gpu .
#   docker run --rm --gpus all -v "$PWD/logs:/home/apv/logs" apv-gpu apv-doctor
# BASE: any Debian/Ubuntu image with Python >= 3.10 from apt (e.g. ubuntu:24.04).
ARG BASE=debian:bookworm-slim
FROM ${BASE}
ARG TF_PACKAGE=
# Offline builds: --build-arg PIP_FIND_LINKS=/wheels --build-arg PIP_NO_INDEX=1 with a mounted wheelhouse.
ARG PIP_FIND_LINKS
ARG PIP_NO_INDEX
ENV DEBIAN_FRONTEND=noninteractive PYTHONUNBUFFERED=1 MUJOCO_GL=egl \
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \
    VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends python3 python3-venv libegl1 libgl1-mesa-dri libopengl0 \
       libosmesa6 ffmpeg \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 apv
WORKDIR /home/apv/app
# Dependencies first, so code changes rebuild only the last layers.
COPY requirements.txt ./
RUN python3 -m venv /opt/venv \
    && pip install -q -r requirements.txt \
    && if [ -n "$TF_PACKAGE" ]; then pip install -q "$TF_PACKAGE"; fi
COPY --chown=apv:apv . .
RUN pip install -q --no-deps -e . && pip check && chown -R apv:apv /home/apv/app
USER apv
CMD ["python", "-m", "pytest", "-q", "tests"]
