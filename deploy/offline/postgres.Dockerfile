# PostgreSQL 15 from Debian's packages, for a machine that cannot pull postgres:15. Its entrypoint
# does what docker-compose.yml asks of the official image: POSTGRES_USER, POSTGRES_PASSWORD and
# POSTGRES_DB on first start, the scripts in /docker-entrypoint-initdb.d, data in
# /var/lib/postgresql/data, PGPORT, and extra server options as the command (-c name=value).
FROM pension-transfer-base:bookworm
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN chmod 0755 /usr/local/bin/docker-entrypoint.sh && mkdir -p /docker-entrypoint-initdb.d
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data
STOPSIGNAL SIGINT
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
