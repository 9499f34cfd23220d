# The case tracker under gunicorn. Configure with environment variables (see README); migrations run on start.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

RUN useradd --create-home --uid 10001 clinic
COPY pyproject.toml ./
COPY clinic ./clinic
COPY cases ./cases
COPY api ./api
COPY manage.py ./
RUN pip install --no-cache-dir . \
    && SECRET_KEY=build-only-not-secret python manage.py collectstatic --noinput

# The sealer writes its anchor file here (a named volume in docker-compose.yml takes this ownership).
RUN mkdir -p /anchor && chown clinic:clinic /anchor

USER clinic
EXPOSE 8000
CMD ["sh", "-c", "python manage.py migrate --noinput && exec gunicorn clinic.wsgi --bind 0.0.0.0:8000 --workers ${GUNICORN_WORKERS:-3} --access-logfile -"]
