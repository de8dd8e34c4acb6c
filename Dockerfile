# One image for all five Switchboard services; SERVICE picks which one runs.
#   docker build -t switchboard .
#   docker run -e SERVICE=triage -e HTTP_PORT=8002 -e HELPDESK_JWT_SECRET=... switchboard
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Install the project as a regular package (not editable); the source is not kept.
COPY . /tmp/src
RUN pip install /tmp/src && rm -rf /tmp/src

WORKDIR /app
RUN useradd --system --uid 10001 --no-create-home switchboard
USER switchboard

ENV SERVICE=intake \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8001

EXPOSE 8001 8002 8003 8004 8005

HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['HTTP_PORT'] + '/healthz', timeout=4)"

CMD ["sh", "-c", "exec uvicorn services.${SERVICE}.app:create_app --factory --host 0.0.0.0 --port ${HTTP_PORT}"]
