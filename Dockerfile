# syntax=docker/dockerfile:1
# The one Python image of every service: `nowplaying <subcommand>` (extract, clean, enrich, load, serve,
# sandbox, migrate, …). Build: docker build -t nowplaying:0.1.0 .
# Secrets never go into a layer: they come from the environment at run time.
# The base comes in through a build ARG (`make images` passes a stand-in where Docker Hub is out of reach).

ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY requirements.lock docker/requirements-runtime.txt ./
RUN pip install -r requirements-runtime.txt -c requirements.lock
COPY pyproject.toml README.md ./
COPY services ./services
COPY spark-jobs ./spark-jobs
RUN pip install --no-deps . && nowplaying --help >/dev/null

FROM ${PYTHON_IMAGE}
RUN groupadd --gid 10001 nowplaying \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin nowplaying
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    LAKE_DIR=/lake \
    GATEWAY_HOST=0.0.0.0 \
    SANDBOX_HOST=0.0.0.0
USER 10001:10001
WORKDIR /tmp
EXPOSE 8000 8900
ENTRYPOINT ["nowplaying"]
CMD ["serve"]
