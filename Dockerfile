# Production image; web, worker, checks worker, beat and the release step all run from it (see the
# Procfile, docker-compose.yml and deploy/kubernetes/). Not needed for `make run` / `make test`.
#
#   docker build -t registry.example.com/quayside:0.1.0 .
#
# It runs as uid/gid 10001 (numeric, so Kubernetes' runAsNonRoot can verify it) and writes nothing
# to its own filesystem at run time: the code and the collected static files belong to root and
# are read-only to the app, so the image also runs with readOnlyRootFilesystem (give it a writable
# /tmp, as deploy/kubernetes/ does).
ARG PYTHON_IMAGE=python:3.11-slim
FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    PORT=8000

# pg_dump (postgresql-client) renders the tenant schema template in `manage.py release`
# (settings.PG_DUMP): its major version must be at least the server's (the Debian release of
# PYTHON_IMAGE decides which one this is; set PG_DUMP or pick another base image for a newer one).
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# The lock file pins every package (requirements/production.in -> production.txt); --no-deps makes
# pip install exactly that list and nothing it would resolve on its own.
COPY requirements/ requirements/
RUN pip install --no-deps -r requirements/production.txt

COPY . .
# Static files are collected into the image (STATIC_ROOT = /app/staticfiles) and served by
# WhiteNoise from there (CompressedStaticFilesStorage: gzip and brotli copies made here, once).
# Settings need a SECRET_KEY to import; this one exists only during this build step.
RUN SECRET_KEY=collectstatic-only-not-a-secret python manage.py collectstatic --noinput \
    && groupadd --system --gid 10001 quayside \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /tmp quayside
USER 10001:10001

EXPOSE 8000
# WEB_CONCURRENCY sets gunicorn's worker count (gunicorn reads it); worker, checks and beat
# override the command (Procfile, deploy/kubernetes/base/*.yaml).
CMD ["sh", "-c", "exec gunicorn config.wsgi:application --bind 0.0.0.0:${PORT} --access-logfile -"]
