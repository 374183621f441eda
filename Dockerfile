# syntax=docker/dockerfile:1
# One image for every govperf component; the command picks which one runs:
#   docker run govperf:latest govperf serve indicator
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    GOVPERF_HOST=0.0.0.0 \
    GOVPERF_DATA_DIR=/app/var

RUN groupadd --system --gid 10001 govperf \
    && useradd --system --uid 10001 --gid govperf --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin govperf

# Build from a scratch directory and drop it afterwards: the package (code, migrations,
# Alembic templates) lives in site-packages, nothing is imported from the source tree.
WORKDIR /tmp/govperf-src
COPY pyproject.toml README.md ./
COPY services/ services/
COPY gateway/ gateway/
COPY migrations/ migrations/
COPY govperf/ govperf/
RUN pip install --no-cache-dir . \
    && cd / && rm -rf /tmp/govperf-src

WORKDIR /app
RUN mkdir -p /app/var && chown -R govperf:govperf /app

USER 10001:10001

# gateway 8000, indicator 8001, evaluation 8002, disclosure 8003, feedback 8004
EXPOSE 8000 8001 8002 8003 8004

CMD ["govperf", "serve", "gateway"]
