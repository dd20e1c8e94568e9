# CPU image: docker build -t apv . && docker run --rm -v $PWD/logs:/app/logs apv python apv_ext/train.py --configs metaworld debug --logdir logs/run
FROM python:3.11-slim-bookworm
ENV MUJOCO_GL=egl PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2
WORKDIR /app
COPY requirements.txt pyproject.toml ./
COPY scripts/setup.sh scripts/setup.sh
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends libegl1 libgl1-mesa-dri libopengl0 libosmesa6 ffmpeg \
    && rm -rf /var/lib/apt/lists/* && pip install --no-cache-dir -r requirements.txt
COPY . .
RUN pip install --no-cache-dir --no-deps -e .
CMD ["python", "-m", "pytest", "-q", "tests"]
