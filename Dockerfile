# syntax=docker/dockerfile:1
#
# finkportal service images: one named target per service under services/.
#
#   docker build --target ingest -t finkportal/ingest:0.1.0 .
#   docker build --target indexer -t finkportal/indexer:0.1.0 .
#   docker build --target query -t finkportal/query:0.1.0 .
#   docker build --target fitter -t finkportal/fitter:0.1.0 .
#   docker build --target portal -t finkportal/portal:0.1.0 .
#
# Stages: `builder` holds uv and the workspace manifests; each `<service>-venv` stage
# installs that service's locked dependencies, then the workspace packages themselves
# (not editable), into /opt/venv; each service target copies only that virtual
# environment onto the slim `runtime` stage, so no build tool, uv, cache or source
# tree reaches a final image. The portal's browser assets come from npm in a Node stage
# of their own (`portal-assets`), whose one output file is copied into the portal's
# sources before the portal package is installed: Node never reaches an image either.
#
# Adding a service = adding its pyproject.toml to the builder's COPY lines, then
# copying the two-stage "ingest" block at the end and changing the package name,
# the FINK_<SERVICE>_* variables, the exposed port and the entry point.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
# Same uv as the one that wrote uv.lock, from PyPI.
ARG UV_VERSION=0.13.9
# Only runs `npm ci` for the portal's assets (services/portal/package-lock.json).
ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------- builder
FROM ${PYTHON_IMAGE} AS builder
ARG UV_VERSION
RUN pip install --no-cache-dir --root-user-action=ignore "uv==${UV_VERSION}"
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/opt/venv
WORKDIR /src
# Only the manifests here: a service's dependency layer is then rebuilt only when
# the lock file or a pyproject changes, not on every source edit.
COPY pyproject.toml uv.lock ./
COPY libs/core/pyproject.toml libs/core/
COPY services/ingest/pyproject.toml services/ingest/
COPY services/indexer/pyproject.toml services/indexer/
COPY services/query/pyproject.toml services/query/
COPY services/fitter/pyproject.toml services/fitter/
COPY services/portal/pyproject.toml services/portal/
COPY tools/pyproject.toml tools/

# ---------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime
# A fixed numeric uid/gid (also in deploy/k8s) so Kubernetes can check runAsNonRoot
# without a name lookup. The base image's pip/setuptools/wheel go: the services run
# from /opt/venv, which never sees them, and nothing is installed at run time.
RUN groupadd --system --gid 10001 finkportal \
    && useradd --system --uid 10001 --gid finkportal --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin finkportal \
    && install -d -o finkportal -g finkportal -m 0750 /var/lib/finkportal \
    && python -m pip uninstall --yes --quiet pip setuptools wheel
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# The embedded store's home (a volume in docker-compose.yml); unused with HBase.
WORKDIR /var/lib/finkportal
# Services finish their current batch and commit on SIGTERM.
STOPSIGNAL SIGTERM
USER 10001:10001

# ---------------------------------------------------------------- ingest
FROM builder AS ingest-venv
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package finkportal-ingest
COPY libs libs
COPY services services
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package finkportal-ingest

FROM runtime AS ingest
COPY --from=ingest-venv /opt/venv /opt/venv
# Prometheus must reach /metrics from outside the container.
ENV FINK_INGEST_METRICS_HOST=0.0.0.0 \
    FINK_INGEST_METRICS_PORT=9101
EXPOSE 9101
ENTRYPOINT ["finkportal-ingest"]

# ---------------------------------------------------------------- indexer
FROM builder AS indexer-venv
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package finkportal-indexer
COPY libs libs
COPY services services
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package finkportal-indexer

FROM runtime AS indexer
COPY --from=indexer-venv /opt/venv /opt/venv
# Prometheus must reach /metrics from outside the container.
ENV FINK_INDEXER_METRICS_HOST=0.0.0.0 \
    FINK_INDEXER_METRICS_PORT=9102
EXPOSE 9102
# `finkportal-indexer reindex [--drop] [--restart]` rebuilds the index tables (docs/deploy.md).
ENTRYPOINT ["finkportal-indexer"]

# ---------------------------------------------------------------- query
FROM builder AS query-venv
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package finkportal-query
COPY libs libs
COPY services services
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package finkportal-query

FROM runtime AS query
COPY --from=query-venv /opt/venv /opt/venv
# The REST API, /health and Prometheus' /metrics share one port, reached from outside
# the container. Matplotlib (cutout images) needs a writable config/cache directory:
# the home directory does not exist and Kubernetes mounts the root read-only.
ENV FINK_QUERY_HOST=0.0.0.0 \
    FINK_QUERY_PORT=8000 \
    MPLCONFIGDIR=/tmp/matplotlib
EXPOSE 8000
ENTRYPOINT ["finkportal-query"]

# ---------------------------------------------------------------- fitter
FROM builder AS fitter-venv
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package finkportal-fitter
COPY libs libs
COPY services services
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package finkportal-fitter

FROM runtime AS fitter
COPY --from=fitter-venv /opt/venv /opt/venv
# The fit API (POST /fits, GET /fits/{id}), /health and Prometheus' /metrics share one
# port, reached from outside the container. The fits run in worker processes forked from
# a fork server, whose socket lives in /tmp (an emptyDir in Kubernetes, where the root is
# read-only). No MPLCONFIGDIR, unlike query: matplotlib comes with pyLIMA's dependencies
# but no fit imports it (only pyLIMA's plotting does).
ENV FINK_FITTER_HOST=0.0.0.0 \
    FINK_FITTER_PORT=8002
EXPOSE 8002
ENTRYPOINT ["finkportal-fitter"]

# ---------------------------------------------------------------- portal
# Aladin Lite and plotly.js's basic bundle from npm, exactly as package-lock.json pins
# them (npm checks each tarball's integrity hash; no install script runs). Served by the
# portal itself: no CDN.
FROM ${NODE_IMAGE} AS portal-assets
WORKDIR /assets
COPY services/portal/package.json services/portal/package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund

FROM builder AS portal-venv
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package finkportal-portal
COPY libs libs
COPY services services
# Into the sources before the package is built: the wheel ships assets/vendor
# (services/portal/pyproject.toml, `artifacts`; the directory is git- and docker-ignored).
COPY --from=portal-assets /assets/node_modules/aladin-lite/dist/aladin.js \
    services/portal/src/finkportal_portal/assets/vendor/aladin.js
COPY --from=portal-assets \
    /assets/node_modules/plotly.js-basic-dist-min/plotly-basic.min.js \
    services/portal/src/finkportal_portal/assets/vendor/plotly-basic.min.js
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package finkportal-portal

FROM runtime AS portal
COPY --from=portal-venv /opt/venv /opt/venv
# The pages, /health, /health/live and Prometheus' /metrics share one port, reached from
# outside the container. Data comes only from the query API and the fitter, over HTTP
# (FINK_PORTAL_QUERY_URL, FINK_PORTAL_FITTER_URL): no store, no Kafka.
ENV FINK_PORTAL_HOST=0.0.0.0 \
    FINK_PORTAL_PORT=8050
EXPOSE 8050
ENTRYPOINT ["finkportal-portal"]
