# The grader image: CLI, service (`grader serve`) and workers (`grader worker`), with bubblewrap for the sandbox.
FROM python:3.11-slim-bookworm

RUN apt-get update \
    && apt-get install -y --no-install-recommends bubblewrap make redis-server \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY grader ./grader
COPY service ./service
COPY workers ./workers
COPY reference ./reference
COPY assignments ./assignments
# editable: the grader finds assignments/ and reference/ beside its own source in /app
RUN pip install --no-cache-dir -e .
# the message catalogue parsed once here, so the (non-root) processes read its cache
RUN python -c "from grader import catalogue; catalogue.table('messages')"

# Not root: RLIMIT_NPROC (the fork-bomb cap) does not bind root, and bwrap needs no privileges.
RUN useradd --create-home --uid 10001 grader
USER grader
ENV GRADER_CACHE_DIR=/home/grader/.cache/nn-grader \
    GRADER_DATA_DIR=/home/grader/var
ENTRYPOINT ["grader"]
CMD ["serve", "--host", "0.0.0.0"]
