# The Kafka stand-in for a machine without a registry: Tansu, the embedded broker the tests and
# `make demo` use (a static binary from its PyPI wheel, installed by scripts/bootstrap into
# .tools/tansu). It speaks the Kafka protocol the offices and transfer-audit use, keeps topics in
# memory, and has no SASL users or ACLs (see docs/compose.md for what that leaves unchecked).
FROM pension-transfer-base:bookworm
COPY tansu /usr/local/bin/tansu
USER nobody
ENTRYPOINT ["tansu"]
CMD ["broker"]
