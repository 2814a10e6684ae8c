# The `tests` profile's image for a machine without a registry. The main file's tests service
# builds the suite inside the official Swift image; here the suite is the test bundle built on the
# host (swift build --build-tests), with the Swift runtime libraries it links copied from the host's
# toolchain, and transfer-audit, transfer-demo (the load scripts/compose offers while it stops a
# destination instance) and office-token from the host's release builds. It runs as root, as the
# main file's tests stage does: the suite reads the token issuer's private key to mint its token.
# scripts/compose prepares the build context:
#   bin/    transfer-audit, transfer-demo, office-token (release)    lib/  librdkafka.so.1
#   swift/  the toolchain's runtime libraries (lib*.so from its runtimeLibraryPaths)
#   tests/  pension-transferPackageTests.xctest
FROM pension-transfer-base:bookworm
COPY lib/ /usr/local/lib/
COPY swift/ /usr/local/lib/swift/
COPY bin/ /usr/local/bin/
COPY tests/ /usr/local/libexec/pension-transfer/
RUN echo /usr/local/lib/swift > /etc/ld.so.conf.d/swift-runtime.conf && ldconfig
WORKDIR /tmp
ENTRYPOINT ["/bin/sh", "-c"]
