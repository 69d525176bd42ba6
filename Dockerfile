# Production image; web, worker, beat and release all run from it (see Procfile and
# docker-compose.yml). Not needed for `make run` / `make test`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    PORT=8000

# pg_dump (postgresql-client) is used when building the tenant template schema (settings.PG_DUMP);
# a newer pg_dump can dump an older server.
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements/ requirements/
RUN pip install -r requirements/production.txt

COPY . .
RUN useradd --system --create-home --home-dir /home/quayside quayside
USER quayside

EXPOSE 8000
CMD ["sh", "-c", "exec gunicorn config.wsgi:application --bind 0.0.0.0:${PORT} --access-logfile -"]
