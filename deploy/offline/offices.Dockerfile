# The offices' runtime image for a machine without a registry: the same image the main Dockerfile's
# runtime stage makes (the five binaries, user `office` uid 10001, /data, the health check, the
# default command), but from the project's offline base image and with binaries built on the host.
# scripts/compose prepares the build context:
#   bin/  origin-office destination-office transfer-audit office-token event-keys
#         (swift build -c release --static-swift-stdlib)
#   lib/  librdkafka.so.1, the one scripts/bootstrap installs (the base's Debian 12 has only 2.0.2)
FROM pension-transfer-base:bookworm
COPY lib/ /usr/local/lib/
COPY bin/ /usr/local/bin/
RUN ldconfig \
 && useradd --system --uid 10001 --home-dir /data --create-home office
USER office
WORKDIR /data
ENV HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080 \
    LOG_LEVEL=info
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${HTTP_PORT}/health" || exit 1
CMD ["origin-office"]
