FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
RUN useradd --create-home --uid 1000 cashback

COPY pyproject.toml README.md ./
COPY config ./config
COPY core ./core
COPY sellers ./sellers
COPY orders ./orders
COPY fees ./fees
COPY cashback ./cashback
COPY wallet ./wallet
COPY bench ./bench
COPY templates ./templates
COPY static ./static
COPY manage.py ./
RUN pip install -e . \
 && DATABASE_URL=sqlite:////tmp/build.sqlite3 python manage.py collectstatic --noinput \
 && rm -f /tmp/build.sqlite3

USER cashback
EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
