#!/bin/sh
# PostgreSQL first-boot script (mounted into /docker-entrypoint-initdb.d): one database and one login
# role per service, each owning only its own database (no service reads another's tables).
# Passwords come from secret files: ${ZHIFA_DB_SECRETS_DIR:-/run/secrets}/db_<service>_password.
# Runs once, when the data volume is empty; to add a role later run the same statements by hand
# (docs/RUNBOOK.md#restore-from-backup).
set -eu
secrets="${ZHIFA_DB_SECRETS_DIR:-/run/secrets}"
prefix="${ZHIFA_DB_PREFIX:-zhifa_}"
for svc in records review disclosure complaints evaluation; do
  file="$secrets/db_${svc}_password"
  if [ ! -r "$file" ]; then
    echo "init-databases: $file is missing" >&2
    exit 1
  fi
  password=$(cat "$file")
  name="${prefix}${svc}"
  psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
       -v name="$name" -v password="$password" <<'SQL'
CREATE ROLE :"name" LOGIN PASSWORD :'password';
CREATE DATABASE :"name" OWNER :"name" ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"name" TO :"name";
SQL
  psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname "$name" \
       -v name="$name" <<'SQL'
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO :"name";
SQL
  echo "init-databases: $name ready"
done
