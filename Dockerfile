# syntax=docker/dockerfile:1
# One image per service: docker build --build-arg SERVICE=review -t <registry>/sangkien-review:<tag> .
# (`make images` builds every service that exists.) Services run as
#   python -m chassis.run <service> <service>.service:<Class>
# with migrations as a separate Job: alembic -c services/<service>/alembic.ini upgrade head.

# Exact patch release of the base, the same Debian (bookworm) the project is tested on.
# Pin the digest too where a registry is reachable: FROM python:3.11.14-slim-bookworm@sha256:...
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm
# Only runs npm for the portal's front-end packages (Swagger UI); nothing of it reaches the image but them.
ARG NODE_IMAGE=node:22.12.0-bookworm-slim

# --- build: the locked runtime dependencies in a virtual environment -------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml requirements.lock ./
# Runtime dependencies only (not pytest, ruff...), each at the version requirements.lock pins.
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > runtime.txt \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install --constraint requirements.lock --requirement runtime.txt

# --- assets: the portal's pinned npm packages, served by the portal itself (no CDN) -----
# services/portal/assets/package-lock.json pins them; runtime dependencies only (not axe-core, which
# the browser tests use), no install scripts (the packages need none; scarf's only reports usage).
# For any other service this stage leaves /out empty and the COPY below adds nothing.
FROM ${NODE_IMAGE} AS assets
ARG SERVICE
WORKDIR /src
COPY services/portal/assets/package.json services/portal/assets/package-lock.json ./
RUN mkdir -p /out \
    && if [ "${SERVICE}" = portal ]; then \
         SCARF_ANALYTICS=false npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
         && mkdir -p /out/services/portal/assets && mv node_modules /out/services/portal/assets/; \
       fi

# --- runtime: the venv, the chassis, one service and the event contracts ---------------
FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE
RUN test -n "${SERVICE}" || { echo "build with --build-arg SERVICE=<submission|review|...>" >&2; exit 1; } \
    && groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent app
# The portal prints certificates with WeasyPrint: Pango and fonts with every Vietnamese letter.
RUN if [ "${SERVICE}" = portal ]; then \
         apt-get update \
         && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-core \
         && rm -rf /var/lib/apt/lists/*; \
       fi
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# The repository layout is kept: chassis finds contracts/ three levels above its config module.
COPY libs/chassis/chassis libs/chassis/chassis
COPY contracts contracts
COPY services/${SERVICE} services/${SERVICE}
# The portal's services/portal/assets/node_modules (Swagger UI at /static/vendor/...); else nothing.
COPY --from=assets /out/ ./
# The root filesystem is read-only at run time: compile now, write nothing later.
RUN /opt/venv/bin/python -m compileall -q libs services
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app/libs/chassis:/app/services/${SERVICE} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SERVICE=${SERVICE} \
    VAR_DIR=/tmp/var \
    WEB_SERVER_ADDRESS=0.0.0.0:8000
USER 10001:10001
EXPOSE 8000
# Arguments name the service and its class, e.g. `submission submission.service:SubmissionService`;
# the migration Job overrides the command with alembic.
ENTRYPOINT ["python", "-m", "chassis.run"]
