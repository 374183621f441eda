#!/bin/bash
# Run by the postgres image from /docker-entrypoint-initdb.d on the first start of an empty
# data volume: one database per govperf component, owned by $POSTGRES_USER.
# Safe to run again: a database that already exists is left alone.
set -euo pipefail

GOVPERF_DATABASES="indicator evaluation disclosure feedback gateway"

for database in $GOVPERF_DATABASES; do
    echo "init-databases: ensuring database '${database}' owned by '${POSTGRES_USER}'"
    psql -v ON_ERROR_STOP=1 --no-psqlrc \
        --username "$POSTGRES_USER" --dbname postgres \
        --set database="$database" --set owner="$POSTGRES_USER" <<-'EOSQL'
	SELECT format('CREATE DATABASE %I OWNER %I', :'database', :'owner')
	WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'database')\gexec
	EOSQL
done
