# syntax=docker/dockerfile:1
# gazo on NVIDIA GPUs: diffusers models on CUDA (and the built-in offline model besides).
#   docker build -t gazo:cuda .
#   docker run --rm --gpus all -p 8000:8000 -v gazo-data:/data --stop-timeout 30 gazo:cuda \
#     serve --host 0.0.0.0 --require-auth --config /data/gazo.toml
# The host needs an NVIDIA driver new enough for torch's CUDA build and the NVIDIA Container Toolkit.
# See docs/deploy.md (GPU notes, first API key, environment variables, compose.yaml).

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# ---- build ----
FROM ${PYTHON_IMAGE} AS build
# Where torch==2.13.0 comes from. PyPI's wheel is a CUDA build that carries its own CUDA runtime
# (nvidia-* wheels), so the base image needs none; for an older driver pick a PyTorch index of an
# older CUDA, e.g. --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128
ARG TORCH_INDEX_URL=https://pypi.org/simple
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/gazo
ENV PATH=/opt/gazo/bin:$PATH
RUN pip install --no-cache-dir --index-url "${TORCH_INDEX_URL}" --extra-index-url https://pypi.org/simple "torch==2.13.0"
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir . \
 && python -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__; assert torch.version.cuda, 'not a CUDA build'"

# ---- runtime ----
FROM ${PYTHON_IMAGE}
# A fixed numeric uid/gid (10001), so Kubernetes' runAsNonRoot can check it and volumes can be chowned to it.
RUN groupadd --system --gid 10001 gazo \
 && useradd --system --uid 10001 --gid gazo --home-dir /home/gazo --create-home --shell /usr/sbin/nologin gazo \
 && mkdir -p /data \
 && chown gazo:gazo /data
COPY --from=build /opt/gazo /opt/gazo
# NVIDIA_*: what the NVIDIA Container Toolkit mounts into the container (compute = CUDA, utility = nvidia-smi).
ENV PATH=/opt/gazo/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    GAZO_DATA_DIR=/data \
    GAZO_BILLING__REQUIRE_AUTH=true \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
USER 10001:10001
WORKDIR /home/gazo
# The built-in model needs no GPU and no network: render one image at build time as a smoke test.
RUN --network=none gazo generate "a lighthouse at dusk" --quality low --size 256x256 \
        --data-dir /tmp/gazo-smoke -o /tmp/gazo-smoke.png \
 && rm -rf /tmp/gazo-smoke /tmp/gazo-smoke.png /home/gazo/.cache
VOLUME ["/data"]
EXPOSE 8000
# /readyz turns 200 once every configured model has loaded: give large checkpoints time.
HEALTHCHECK --interval=15s --timeout=5s --start-period=300s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4).status != 200)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["gazo"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--require-auth"]
