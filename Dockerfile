# The driftline command line: producers, the worker and `serve` (see docker-compose.yml,
# which builds this once as driftline:<version> and runs it for every driftline service).
#
#   docker build -t driftline:0.1.0 .
#   docker run --rm driftline:0.1.0           # driftline --help
#   docker run --rm -e DRIFTLINE_KAFKA_BOOTSTRAP=... driftline:0.1.0 driftline produce flights
#
# Health probes use the image's python (urllib), so no curl is installed:
#   python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9100/readyz')"
#
# Dependencies are installed at the versions pinned in constraints.txt.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

RUN groupadd --system --gid 10001 driftline \
    && useradd --system --uid 10001 --gid driftline --create-home \
       --home-dir /home/driftline --shell /usr/sbin/nologin driftline

WORKDIR /src
# README.md: pyproject.toml names it as the package's readme
COPY pyproject.toml constraints.txt README.md ./
COPY pipeline/ pipeline/
COPY producers/ producers/
COPY consumers/ consumers/
RUN ln -s pipeline driftline
RUN pip install --no-cache-dir -c constraints.txt . \
    && rm -rf build ./*.egg-info

USER driftline
# the local state (.driftline/) and the cache (~/.cache/driftline) go to the user's home
WORKDIR /home/driftline

CMD ["driftline", "--help"]
