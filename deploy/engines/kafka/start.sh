#!/usr/bin/env bash
# Starts one Apache Kafka broker (KRaft, broker and controller in one JVM) on
# loopback ports, with its data, config and log in DIR (default
# <repo>/.engines/kafka), and prints `KAFKA_BROKERS=127.0.0.1:<port>` once it
# serves. A broker already running from DIR is reused.
#
#   deploy/engines/kafka/start.sh [DIR]
#
# The broker is the Maven artifact org.apache.kafka:kafka_2.13 pinned in
# pom.xml beside this script; Maven resolves it (and its dependencies) into
# ~/.m2 on the first start, later starts are offline. The ports are chosen
# on the first start (KAFKA_PORT and KAFKA_CONTROLLER_PORT, when set, are
# used instead) and kept in DIR/server.properties: the broker advertises
# them, so a restart must get the same ones. ENGINE_WATCH_PID, when set, is
# a process (a test binary) after whose end the broker is stopped and DIR
# removed, whatever way it ends.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
dir=${1:-$root/.engines/kafka}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"

need_java_maven

props=$dir/server.properties
pidfile=$dir/kafka.pid
mark="-Dcontacts.engine.dir=$dir "

port_of() { sed -n "s/^$1=.*:\([0-9]*\)$/\1/p" "$props"; }

if [ -f "$props" ] && alive "$pidfile" "$mark"; then
  port=$(sed -n 's/^advertised.listeners=PLAINTEXT:\/\/127.0.0.1:\([0-9]*\)$/\1/p' "$props")
  if wait_port "$port" 1; then
    echo "KAFKA_BROKERS=127.0.0.1:$port"
    exit 0
  fi
fi

# The class path is cached beside the engines (not in DIR, which `make test`
# removes after each run), for every DIR alike.
cp=$(classpath "$here/pom.xml" "$root/.engines/cache/kafka.classpath")

if [ ! -f "$props" ]; then
  port=${KAFKA_PORT:-$(free_port)}
  cport=${KAFKA_CONTROLLER_PORT:-$(free_port "$port")}
  cat > "$props" <<PROPS
# Written by deploy/engines/kafka/start.sh on the first start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
# As deploy/docker-compose.yml: topics are auto-created with 4 partitions
# (the relay keys by stream id; never add partitions later) and kept forever
# so a new consumer group can read the whole stream.
auto.create.topics.enable=true
num.partitions=4
log.retention.ms=-1
# One node: every internal topic has one replica.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# Small: a developer's machine, many test topics.
num.network.threads=2
num.io.threads=4
log.segment.bytes=16777216
PROPS
fi
port=$(sed -n 's/^advertised.listeners=PLAINTEXT:\/\/127.0.0.1:\([0-9]*\)$/\1/p' "$props")
cport=$(sed -n 's/^controller.quorum.voters=1@127.0.0.1:\([0-9]*\)$/\1/p' "$props")

mkdir -p "$dir/logs"
if [ ! -f "$dir/data/meta.properties" ]; then
  # A cluster id is 16 random bytes in URL-safe base64 without padding.
  id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
  java -cp "$cp" -Dlog4j2.configurationFile="$here/log4j2.properties" -Dkafka.logs.dir="$dir/logs" \
    kafka.tools.StorageTool format -t "$id" -c "$props" > "$dir/logs/format.log" 2>&1 || {
      cat "$dir/logs/format.log" >&2; echo "kafka: formatting $dir/data failed" >&2; exit 1; }
fi

for p in "$port" "$cport"; do
  if wait_port "$p" 0; then
    echo "kafka: port $p (from $props) is taken by another process; stop it or remove $dir" >&2
    exit 1
  fi
done

# Readiness is read from this start's log alone.
[ -f "$dir/logs/server.log" ] && mv "$dir/logs/server.log" "$dir/logs/server.log.prev"
began=$(date +%s%N)
# setsid: the broker outlives this script and the terminal's Ctrl-C.
setsid java -Xms128m -Xmx${KAFKA_HEAP:-512m} -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
  -Djava.awt.headless=true \
  -Dkafka.logs.dir="$dir/logs" -Dlog4j2.configurationFile="$here/log4j2.properties" \
  -Dcontacts.engine.dir="$dir" \
  -cp "$cp" kafka.Kafka "$props" > "$dir/logs/stdout.log" 2>&1 < /dev/null &
echo $! > "$pidfile"
if [ -n "${ENGINE_WATCH_PID:-}" ] && [ ! -f "$dir/watched" ]; then
  watch_pid "$ENGINE_WATCH_PID" "$here/stop.sh" "$dir"
  touch "$dir/watched"
fi

deadline=$(( $(date +%s) + ${KAFKA_START_TIMEOUT:-120} ))
until grep -q "Kafka Server started" "$dir/logs/server.log" 2>/dev/null && wait_port "$port" 1; do
  if ! alive "$pidfile" "$mark"; then
    tail -n 30 "$dir/logs/stdout.log" "$dir/logs/server.log" >&2 2>/dev/null || true
    echo "kafka: the broker exited during start-up (log: $dir/logs)" >&2
    rm -f "$pidfile"
    exit 1
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "kafka: not serving after ${KAFKA_START_TIMEOUT:-120}s (log: $dir/logs); stopping it" >&2
    "$here/stop.sh" "$dir" >&2 || true
    exit 1
  fi
  sleep 0.2
done
echo "kafka: serving on 127.0.0.1:$port after $(( ($(date +%s%N) - began) / 1000000 )) ms (pid $(cat "$pidfile"), data $dir)" >&2
echo "KAFKA_BROKERS=127.0.0.1:$port"
