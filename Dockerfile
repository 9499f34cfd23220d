# The case tracker's image: the app under gunicorn (deploy/gunicorn.conf.py), the scheduler and the one-shot
# migrations all run from it (docker-compose.yml). Configure with environment variables (README, docs/operations.md).
# Migrations do not run at start: the compose file's `migrate` service runs them once, as the database owner.
# Bookworm: its postgresql-client (15) matches the compose file's postgres:15 (pg_dump must be at least the server's).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# pg_dump and pg_restore for `manage.py backup` and `manage.py restore_drill`.
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 clinic
COPY pyproject.toml ./
COPY clinic ./clinic
COPY cases ./cases
COPY api ./api
COPY deploy ./deploy
COPY manage.py ./
RUN pip install --no-cache-dir . \
    && SECRET_KEY=build-only-not-secret python manage.py collectstatic --noinput

# The sealer writes its anchor file here (a named volume in docker-compose.yml takes this ownership).
RUN mkdir -p /anchor && chown clinic:clinic /anchor

USER clinic
EXPOSE 8000
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "clinic.wsgi"]
