# gongji: the ledger's API (`gongji serve`) and its projection worker (`gongji projections run`).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1

WORKDIR /app
COPY pyproject.toml ./
COPY policies ./policies
COPY ledger ./ledger
COPY projections ./projections
COPY api ./api
COPY cli ./cli
COPY conformance ./conformance
RUN pip install .[crypto] \
    && useradd --system --uid 10001 --home /app gongji \
    && mkdir -p /data && chown gongji /data

USER gongji
ENV GONGJI_DATABASE_URL=/data/gongji.db
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/v1/health', timeout=2)"
CMD ["gongji", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
