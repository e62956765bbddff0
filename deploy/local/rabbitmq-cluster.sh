#!/usr/bin/env bash
# A three-node RabbitMQ cluster on 127.0.0.1 from the installed rabbitmq-server (issue 20, PLAT-1): for
# the chaos tests (tests/chaos/cluster.py) and for trying quorum queues by hand. The machine's own broker
# (rabbit@localhost, 5672) is not touched: the nodes have their own names, ports, data, logs, config and
# Erlang cookie, all under <dir>.
#
#   rabbitmq-cluster.sh start  <dir>            start the nodes, join 2 and 3 to 1, wait until clustered
#   rabbitmq-cluster.sh stop   <dir>            stop every node (kill -9 what does not stop in 60 s)
#   rabbitmq-cluster.sh status <dir>            the cluster status as node 1 sees it
#   rabbitmq-cluster.sh stop-node  <dir> <n>    stop node n only (the chaos fault) / start it again
#   rabbitmq-cluster.sh start-node <dir> <n>
#   rabbitmq-cluster.sh ctl    <dir> <n> <rabbitmqctl arguments…>     e.g. ctl /tmp/c 1 list_queues
#   rabbitmq-cluster.sh queues <dir> <n> <rabbitmq-queues arguments…>
#   rabbitmq-cluster.sh uri    <dir> [vhost]    the services' AMQP_URI: amqp://…:5701/v;amqp://…:5702/v;…
#   rabbitmq-cluster.sh ports  <dir>            every TCP port the nodes and their CLI bind, one a line
#
# Node n is <name><n>@localhost (ZHIFA_CLUSTER_NAME, default zhifa: zhifa1@localhost …) with AMQP on
# 127.0.0.1:BASE+n-1 (ZHIFA_CLUSTER_BASE_PORT, default 5701: 5701–5703), Erlang distribution on
# BASE+20000+n-1 (25701–25703), the CLI's own distribution ports from BASE+10100, ten a node
# (15801–15830); management and every other plugin off. Every port stays below the kernel's ephemeral
# range (32768–60999): there, the short connections of a test run (TIME_WAIT) hold ports a node or its
# CLI then cannot bind — CLI ports at BASE+30100 made CI fail with "no free ports". The name and base
# port chosen at start are kept in <dir>/cluster.env, so the other commands need only <dir>.
set -euo pipefail

NODES=3
SBIN=/usr/lib/rabbitmq/bin
[ -x "$SBIN/rabbitmq-server" ] || SBIN="$(dirname "$(command -v rabbitmq-server)")"

usage() { sed -n '2,23p' "$0" >&2; exit 2; }
[ $# -ge 2 ] || usage
cmd="$1"; dir="$(mkdir -p "$2" && cd "$2" && pwd)"; shift 2
if [ -f "$dir/cluster.env" ]; then
  . "$dir/cluster.env"
else
  BASE="${ZHIFA_CLUSTER_BASE_PORT:-5701}"; NAME="${ZHIFA_CLUSTER_NAME:-zhifa}"
  printf 'BASE=%s\nNAME=%s\n' "$BASE" "$NAME" >"$dir/cluster.env"
fi

node_name() { echo "$NAME$1@localhost"; }
amqp_port() { echo $((BASE + $1 - 1)); }
dist_port() { echo $((BASE + 20000 + $1 - 1)); }
ctl_port_min() { echo $((BASE + 10100 + 10 * ($1 - 1))); }

# The environment of node n (server and CLI alike): everything points into <dir>, nothing at /etc/rabbitmq.
node_env() {
  local n="$1" home="$dir/node$1"
  export HOME="$dir"                                  # the shared cookie: $dir/.erlang.cookie
  export RABBITMQ_NODENAME="$(node_name "$n")"
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT="$(amqp_port "$n")"
  export RABBITMQ_DIST_PORT="$(dist_port "$n")"
  export RABBITMQ_CTL_DIST_PORT_MIN="$(ctl_port_min "$n")"
  export RABBITMQ_CTL_DIST_PORT_MAX=$((RABBITMQ_CTL_DIST_PORT_MIN + 9))
  export RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf"
  export RABBITMQ_CONFIG_FILE="$home/rabbitmq.conf"
  export RABBITMQ_ADVANCED_CONFIG_FILE="$home/advanced.config"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins"
  export RABBITMQ_MNESIA_BASE="$home/mnesia"
  export RABBITMQ_LOG_BASE="$home/log"
  export RABBITMQ_PID_FILE="$home/rabbitmq.pid"
  export RABBITMQ_SCHEDULER_BIND_TYPE=u               # four Erlang VMs share two cores: do not pin
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="+S 2:2 +A 8"
  export ERL_EPMD_ADDRESS=127.0.0.1
}

ctl() { local n="$1"; shift; ( node_env "$n"; "$SBIN/rabbitmqctl" -n "$(node_name "$n")" "$@" ); }
queues() { local n="$1"; shift; ( node_env "$n"; "$SBIN/rabbitmq-queues" -n "$(node_name "$n")" "$@" ); }

prepare() {
  if [ ! -f "$dir/.erlang.cookie" ]; then
    (umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr 'a-f' 'A-F' >"$dir/.erlang.cookie")
    chmod 400 "$dir/.erlang.cookie"
  fi
  echo "[]." >"$dir/enabled_plugins"
  printf 'ERL_EPMD_ADDRESS=127.0.0.1\nexport ERL_FLAGS="-kernel inet_dist_use_interface {127,0,0,1}"\n' \
    >"$dir/rabbitmq-env.conf"
  for n in $(seq 1 $NODES); do
    mkdir -p "$dir/node$n/mnesia" "$dir/node$n/log"
    cat >"$dir/node$n/rabbitmq.conf" <<EOF
listeners.tcp.1 = 127.0.0.1:$(amqp_port "$n")
loopback_users = none
cluster_partition_handling = pause_minority
queue_leader_locator = balanced
log.file.level = info
log.console = false
vm_memory_high_watermark.relative = 0.2
disk_free_limit.absolute = 100MB
EOF
    echo "[]." >"$dir/node$n/advanced.config"
  done
}

running() { ctl "$1" -q -t 10 status >/dev/null 2>&1; }

start_node() {
  local n="$1"
  if running "$n"; then return 0; fi
  # ~3 file handles per quorum-queue replica: the default 1024 fits only ~300 (docs/RUNBOOK.md#quorum-queues)
  ( node_env "$n"; ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true; setsid nohup "$SBIN/rabbitmq-server" >"$dir/node$n/log/startup.log" 2>&1 </dev/null & )
  # await_startup waits for the boot to finish (a restarted cluster member waits for its peers)
  for _ in $(seq 1 120); do
    if ctl "$n" -q -t 10 await_startup >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  echo "rabbitmq-cluster: node $n ($(node_name "$n")) did not start; see $dir/node$n/log" >&2
  return 1
}

stop_node() {
  local n="$1" pid
  pid="$(cat "$dir/node$n/rabbitmq.pid" 2>/dev/null || true)"
  ctl "$n" -q -t 60 shutdown >/dev/null 2>&1 || true
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
}

clustered() {   # every node sees all NODES running
  local out
  out="$(ctl 1 -q cluster_status --formatter json 2>/dev/null)" || return 1
  python3 - "$NODES" "$out" <<'EOF'
import json, sys
status = json.loads(sys.argv[2])
sys.exit(0 if len(status.get("running_nodes", [])) == int(sys.argv[1]) else 1)
EOF
}

case "$cmd" in
  start)
    prepare
    for n in $(seq 1 $NODES); do start_node "$n"; done
    for n in $(seq 2 $NODES); do
      if ! ctl 1 -q cluster_status 2>/dev/null | grep -q "$(node_name "$n")"; then
        ctl "$n" -q stop_app
        ctl "$n" -q join_cluster "$(node_name 1)"
        ctl "$n" -q start_app
      fi
    done
    for _ in $(seq 1 60); do clustered && break; sleep 1; done
    clustered || { echo "rabbitmq-cluster: the nodes did not form a cluster" >&2; exit 1; }
    echo "rabbitmq-cluster: $NODES nodes running in $dir: $("$0" uri "$dir")"
    ;;
  stop)
    for n in $(seq $NODES -1 1); do stop_node "$n"; done
    ;;
  status) ctl 1 cluster_status ;;
  stop-node) stop_node "$1" ;;
  start-node) prepare; start_node "$1" ;;
  ctl) n="$1"; shift; ctl "$n" "$@" ;;
  queues) n="$1"; shift; queues "$n" "$@" ;;
  uri)
    vhost="${1:-}"; uris=()
    for n in $(seq 1 $NODES); do uris+=("amqp://guest:guest@127.0.0.1:$(amqp_port "$n")/$vhost"); done
    (IFS=';'; echo "${uris[*]}")
    ;;
  ports)
    for n in $(seq 1 $NODES); do
      amqp_port "$n"; dist_port "$n"; seq "$(ctl_port_min "$n")" $(($(ctl_port_min "$n") + 9))
    done
    ;;
  *) usage ;;
esac
