# teampuls as a container: `docker build -t teampuls .`, then `docker run --env-file .env
# -v teampuls:/var/lib/teampuls teampuls` (or compose.yaml, with PostgreSQL). It starts
# `teampuls run`; every start brings the database schema up to date. See docs/going-live.md.

# Debian 12 with its own Python 3.11, kept up to date by Debian's security updates.
FROM debian:bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot bot
COPY charts charts
COPY commands commands
COPY metrics metrics
COPY storage storage
RUN python3 -m venv /opt/teampuls \
 && /opt/teampuls/bin/pip install --no-cache-dir '.[postgres]'

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 ca-certificates tzdata tini \
 && rm -rf /var/lib/apt/lists/*
# The charts draw in DejaVu Sans (matplotlib's default family; charts/style.py sets no other),
# which ships inside matplotlib's wheel: no system font is needed. The build checks that it is
# there and that every character the charts and their da/nb/en texts use has a glyph (a
# missing glyph would draw as an empty box), and writes matplotlib's font cache once, so the
# bot neither searches for fonts nor needs a writable home at start.
ENV PATH=/opt/teampuls/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    LANG=C.UTF-8 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLCONFIGDIR=/opt/teampuls/matplotlib \
    DATABASE_URL=sqlite:////var/lib/teampuls/teampuls.db
COPY --from=build /opt/teampuls /opt/teampuls
RUN useradd --uid 10001 --user-group --home-dir /var/lib/teampuls --create-home \
        --shell /usr/sbin/nologin teampuls \
 && install -d -o teampuls -g teampuls /opt/teampuls/matplotlib
USER teampuls
RUN python -c "from matplotlib import font_manager as fm; from matplotlib.ft2font import FT2Font; \
path = fm.findfont(fm.FontProperties(family='DejaVu Sans'), fallback_to_default=False); \
missing = [c for c in 'æøåÆØÅéü–—−±↑↓→·•…%' if FT2Font(path).get_char_index(ord(c)) == 0]; \
assert not missing, (path, missing); print('charts draw in', path)"
WORKDIR /var/lib/teampuls
VOLUME ["/var/lib/teampuls"]
# HTTP mode: Slack's requests on /slack/events and the health check on /healthz. In Socket
# Mode (SLACK_APP_TOKEN set) teampuls serves no HTTP, so the check can only say the process
# is running (Docker's own restart policy covers a process that has ended).
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["python", "-c", "import os, sys, urllib.request\nif os.environ.get('SLACK_APP_TOKEN'):\n    sys.exit(0)\nurllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4)"]
# tini as PID 1: the kernel gives PID 1 no default signal actions, so without it `docker stop`'s
# SIGTERM would be ignored until the SIGKILL; tini passes it on and reaps the drawing processes.
ENTRYPOINT ["tini", "--", "teampuls"]
CMD ["run", "--host", "0.0.0.0", "--port", "3000"]
