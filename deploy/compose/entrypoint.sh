#!/bin/sh
# zhifa container entrypoint (compose and Kubernetes). POSIX sh: the image is python:3.11-slim.
#
# 1. Secret files: NAME__FILE=/path sets NAME to the file's contents (docker secrets, Kubernetes
#    secret volumes) unless NAME is already set. Trailing newlines are dropped.
# 2. Connection strings from their parts, so one secret (a password) serves every consumer of it:
#      AMQP_URI            <- ZHIFA_AMQP_USER, ZHIFA_AMQP_PASSWORD, ZHIFA_AMQP_HOST[:ZHIFA_AMQP_PORT],
#                             ZHIFA_AMQP_VHOST
#      ZHIFA_<SVC>_DB      <- ZHIFA_<SVC>_DB_PASSWORD, ZHIFA_DB_HOST[:ZHIFA_DB_PORT], or with
#                             ZHIFA_DB_HOSTS="h1:5432,h2:5432" a multi-host URL
#                             postgresql://u:p@/db?host=h1:5432&host=h2:5432&target_session_attrs=read-write
#                             (issue 20, PLAT-1: every connection goes to whichever host is the primary)
#                             (user and database are both ${ZHIFA_DB_PREFIX:-zhifa_}<svc>: one per service;
#                             a prefix such as zhifa_320200_ lets two city suites share one PostgreSQL
#                             server — init-databases.sh takes the same ZHIFA_DB_PREFIX)
#    Passwords go into URLs as they are: generate them URL-safe (deploy/compose/make-secrets.sh does).
# 3. ZHIFA_REQUIRE="VAR VAR …": refuse to start when one of them is empty or still a template
#    placeholder (CHANGE-ME…), rather than falling back to the embedded defaults (SQLite under var/,
#    a random token secret per replica) that are wrong in a deployment.
# 4. exec the command (nameko run …, zhifa …).
set -eu

for name in $(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)__FILE=.*$/\1/p'); do
  eval "path=\${${name}__FILE}"
  eval "current=\${${name}:-}"
  if [ -z "$current" ]; then
    if [ ! -r "$path" ]; then
      echo "zhifa-entrypoint: ${name}__FILE=$path is not readable" >&2
      exit 64
    fi
    value=$(cat "$path")
    export "$name=$value"
  fi
  unset "${name}__FILE"
done

if [ -z "${AMQP_URI:-}" ] && [ -n "${ZHIFA_AMQP_PASSWORD:-}" ]; then
  AMQP_URI="amqp://${ZHIFA_AMQP_USER:?ZHIFA_AMQP_USER is required with ZHIFA_AMQP_PASSWORD}:${ZHIFA_AMQP_PASSWORD}@${ZHIFA_AMQP_HOST:-rabbitmq}:${ZHIFA_AMQP_PORT:-5672}/${ZHIFA_AMQP_VHOST:?ZHIFA_AMQP_VHOST is required with ZHIFA_AMQP_PASSWORD}"
  export AMQP_URI
fi

for svc in records review disclosure complaints evaluation; do
  upper=$(echo "$svc" | tr '[:lower:]' '[:upper:]')
  eval "url=\${ZHIFA_${upper}_DB:-}"
  eval "password=\${ZHIFA_${upper}_DB_PASSWORD:-}"
  if [ -z "$url" ] && [ -n "$password" ]; then
    name="${ZHIFA_DB_PREFIX:-zhifa_}${svc}"
    if [ -n "${ZHIFA_DB_HOSTS:-}" ]; then
      query=""
      for host in $(echo "$ZHIFA_DB_HOSTS" | tr ',' ' '); do
        case "$host" in *:*) ;; *) host="${host}:${ZHIFA_DB_PORT:-5432}" ;; esac
        query="${query}host=${host}&"
      done
      export "ZHIFA_${upper}_DB=postgresql://${name}:${password}@/${name}?${query}target_session_attrs=read-write"
    else
      export "ZHIFA_${upper}_DB=postgresql://${name}:${password}@${ZHIFA_DB_HOST:-postgres}:${ZHIFA_DB_PORT:-5432}/${name}"
    fi
  fi
done

missing=""
for name in ${ZHIFA_REQUIRE:-}; do
  eval "value=\${${name}:-}"
  case "$value" in
    "" | CHANGE-ME* | *CHANGE-ME*) missing="$missing $name" ;;
  esac
done
if [ -n "$missing" ]; then
  echo "zhifa-entrypoint: missing or placeholder settings:$missing (see docs/RUNBOOK.md#secrets)" >&2
  exit 64
fi

exec "$@"
