# syntax=docker/dockerfile:1
# The offices and the audit tool in one image.
#
#   docker build -t pension-transfer .
#   docker compose up            (see docker-compose.yml)
#
# Build stage: the official Swift image on Ubuntu 24.04, whose librdkafka-dev (2.3.0) is above the
# project's 2.2.0 floor, so no librdkafka is built here.
FROM swift:6.2-noble AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends librdkafka-dev libsqlite3-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so source edits do not refetch them.
COPY Package.swift ./
RUN swift package resolve
COPY Shared ./Shared
COPY Services ./Services
COPY Tools ./Tools
COPY Tests ./Tests
# One product per `swift build`: given several --product options it builds only the last.
RUN for product in origin-office destination-office transfer-audit office-token event-keys; do \
      swift build -c release --static-swift-stdlib --product "$product" || exit 1; \
    done \
 && mkdir -p /out \
 && cd "$(swift build -c release --show-bin-path)" \
 && cp origin-office destination-office transfer-audit office-token event-keys /out/

# Runtime stage: only the shared libraries the binaries link (librdkafka, SQLite), curl for the
# health check, and a non-root user.
FROM ubuntu:24.04
RUN apt-get update \
 && apt-get install -y --no-install-recommends librdkafka1 libsqlite3-0 ca-certificates curl tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --create-home office
COPY --from=build /out/ /usr/local/bin/
USER office
WORKDIR /data
ENV HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080 \
    LOG_LEVEL=info
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${HTTP_PORT}/health" || exit 1
# Which office runs is the container's command: origin-office or destination-office.
CMD ["origin-office"]
