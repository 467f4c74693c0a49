#!/usr/bin/env bash
# Copy of ../shared/tools/rabbitmq-cluster.sh (the reference, used when it is beside the repository),
# so that a clone on its own can start throwaway nodes too.
# A throwaway RabbitMQ cluster on loopback, for failover tests. Needs Debian's rabbitmq-server.
# It never touches the default node on 5672.
#
#   rabbitmq-cluster.sh start [N]     start N nodes (default 3) on ports 5701..570N and cluster them
#   rabbitmq-cluster.sh urls          print one AMQP URL per node
#   rabbitmq-cluster.sh stop-node I   stop node I gracefully
#   rabbitmq-cluster.sh kill-node I   kill node I hard (SIGKILL of its Erlang VM)
#   rabbitmq-cluster.sh start-node I  start node I again (it rejoins the cluster)
#   rabbitmq-cluster.sh status        cluster status as seen from node 1
#   rabbitmq-cluster.sh stop          stop every node and remove the data
#
# Data lives under $AM_CLUSTER_DIR (default: ${TMPDIR:-/tmp}/am-rabbit-cluster).
set -euo pipefail
dir=${AM_CLUSTER_DIR:-${TMPDIR:-/tmp}/am-rabbit-cluster}
base_port=${AM_CLUSTER_BASE_PORT:-5700}
dist_base=${AM_CLUSTER_DIST_BASE:-25700}

node() { echo "hare$1@localhost"; }
ctl() { local i=$1; shift; rabbitmqctl -q -n "$(node "$i")" "$@"; }

start_node() {
  local i=$1 d="$dir/n$1"
  mkdir -p "$d"
  chown -R rabbitmq:rabbitmq "$dir" 2>/dev/null || true # the Debian script drops to the rabbitmq user
  env RABBITMQ_NODENAME="$(node "$i")" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODE_PORT=$((base_port + i)) RABBITMQ_DIST_PORT=$((dist_base + i)) \
    RABBITMQ_MNESIA_BASE="$d/mnesia" RABBITMQ_LOG_BASE="$d/log" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$d/enabled_plugins" RABBITMQ_PID_FILE="$d/pid" \
    RABBITMQ_SERVER_START_ARGS="-kernel inet_dist_listen_min $((dist_base + i)) -kernel inet_dist_listen_max $((dist_base + i))" \
    rabbitmq-server -detached
  # -detached returns before the node registers with epmd: wait for it, then for the broker to boot
  for _ in $(seq 1 120); do rabbitmqctl -q -n "$(node "$i")" ping >/dev/null 2>&1 && break; sleep 1; done
  rabbitmqctl -q -n "$(node "$i")" await_startup --timeout 120
}

count() { ls -d "$dir"/n* 2>/dev/null | wc -l; }

case ${1:-} in
start)
  n=${2:-3}
  for i in $(seq 1 "$n"); do start_node "$i"; done
  for i in $(seq 2 "$n"); do
    ctl "$i" stop_app
    ctl "$i" join_cluster "$(node 1)"
    ctl "$i" start_app
  done
  "$0" urls
  ;;
urls)
  for i in $(seq 1 "$(count)"); do echo "amqp://guest:guest@127.0.0.1:$((base_port + i))"; done
  ;;
stop-node) ctl "$2" stop ;;
kill-node) kill -9 "$(cat "$dir/n$2/pid")" ;;
start-node) start_node "$2" ;;
status) ctl 1 cluster_status ;;
stop)
  for i in $(seq "$(count)" -1 1); do ctl "$i" stop 2>/dev/null || true; done
  rm -rf "$dir"
  ;;
*)
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
  ;;
esac
