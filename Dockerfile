# syntax=docker/dockerfile:1
#
# The NODE.DC Agent Gateway image. Two stages: `build` installs the gateway and its pinned
# runtime dependencies into a virtualenv; `runtime` is a slim Python with that virtualenv
# and nothing else (no compiler, no pip cache, no sources, no tests), run as a non-root
# user. The image serves by default; migrations are their own, deliberate step:
#
#   docker run --env-file .env IMAGE migrate     # once per release, before serving
#   docker run --env-file .env -p 8000:8000 IMAGE # serve (the default command)
#   docker run --env-file .env IMAGE preflight   # check the configuration first
#
# No secret is baked in: every NODEDC_AGENT_GATEWAY_* secret comes from the environment
# at run time (docs/operations.md).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/gateway
COPY pyproject.toml requirements.lock README.md ./
COPY src ./src
# The lock pins every version (dev tools included); as constraints it pins only what the
# gateway itself needs, so test tooling never reaches the image.
RUN /opt/gateway/bin/pip install --constraint requirements.lock . \
    && /opt/gateway/bin/python -m compileall -q /opt/gateway/lib

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="NODE.DC Agent Gateway" \
      org.opencontainers.image.description="AI coding agents in Tasker, within what a human granted"
RUN groupadd --system --gid 10001 gateway \
    && useradd --system --uid 10001 --gid gateway --home-dir /home/gateway --create-home \
       --shell /usr/sbin/nologin gateway
COPY --from=build /opt/gateway /opt/gateway
ENV PATH=/opt/gateway/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    NODEDC_AGENT_GATEWAY_ENV=production \
    NODEDC_AGENT_GATEWAY_HOST=0.0.0.0 \
    NODEDC_AGENT_GATEWAY_PORT=8000
WORKDIR /home/gateway
USER 10001:10001
EXPOSE 8000
# Liveness only (the process answers); /health/ready, which also asks the database,
# Tasker and Launcher, is for the load balancer. The slim image has no curl: Python asks.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('NODEDC_AGENT_GATEWAY_PORT', '8000'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/health/live', timeout=4).status == 200 else 1)"]
ENTRYPOINT ["nodedc-gateway"]
CMD ["serve"]
