#!/usr/bin/env bash
# Make sure a RabbitMQ broker answers at AMQP_URI (default 127.0.0.1:5672). If none does, install
# RabbitMQ from the OS packages (Debian/Ubuntu: apt) and start it. Used by `make run` / `make bench`.
set -euo pipefail
uri="${AMQP_URI:-amqp://guest:guest@127.0.0.1:5672/}"
hostport="${uri#*@}"; hostport="${hostport%%/*}"
host="${hostport%%:*}"; port="${hostport##*:}"; [ "$port" = "$host" ] && port=5672

answers() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }

if answers; then echo "broker: RabbitMQ answers at $host:$port"; exit 0; fi
if [ "$host" != "127.0.0.1" ] && [ "$host" != "localhost" ]; then
  echo "broker: nothing answers at $host:$port and it is not this machine — start it there" >&2; exit 1
fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
if ! command -v rabbitmq-server >/dev/null 2>&1 && [ ! -x /usr/sbin/rabbitmq-server ]; then
  echo "broker: installing rabbitmq-server from the OS packages"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq rabbitmq-server
fi
echo "broker: starting RabbitMQ"
# quorum queues (issue 20): each replica takes ~3 of the broker's file handles; the default 1024 fits only
# ~300 of them, then the broker stops accepting connections (docs/RUNBOOK.md#quorum-queues)
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
  $SUDO systemctl start rabbitmq-server || $SUDO rabbitmq-server -detached
else
  $SUDO rabbitmq-server -detached || true
fi
for _ in $(seq 1 60); do
  if answers; then echo "broker: up at $host:$port"; exit 0; fi
  sleep 1
done
echo "broker: RabbitMQ did not come up on $host:$port within 60 s (see /var/log/rabbitmq)" >&2
exit 1
