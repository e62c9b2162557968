#!/usr/bin/env bash
# The project's distributed engines on this machine, no containers: Apache
# Kafka (deploy/engines/kafka) and Elasticsearch (deploy/engines/elasticsearch),
# each one node in a JVM, resolved by Maven from Central, data under DIR.
#
#   engines.sh start [DIR]         start both (reusing running ones), print
#                                  KAFKA_BROKERS=… and ELASTICSEARCH_URL=…
#                                  (stdout, one per line: ready for eval)
#   engines.sh stop [DIR] [--wipe] stop both; --wipe also removes their data
#
# DIR defaults to <repo>/.engines. Each engine is a pair of scripts,
# <engine>/start.sh DIR/<engine> (prints its NAME=value line once it serves;
# the engine must outlive the script and the terminal's Ctrl-C: setsid) and
# <engine>/stop.sh DIR/<engine> (stops only what start.sh started there).
# `make engines`, `make engines-stop`, `make stack` and `make test` call this.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

cmd=${1:-}
dir=${2:-$root/.engines}
engines=(kafka elasticsearch)

case "$cmd" in
start)
  need_java_maven
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # Both at once: each takes seconds to start, most of it waiting.
  declare -A pids
  for e in "${engines[@]}"; do
    if [ ! -x "$here/$e/start.sh" ]; then
      echo "engines: $here/$e/start.sh is missing: $e not started" >&2
      continue
    fi
    "$here/$e/start.sh" "$dir/$e" > "$tmp/$e.out" &
    pids[$e]=$!
  done
  failed=()
  for e in "${!pids[@]}"; do
    wait "${pids[$e]}" || failed+=("$e")
  done
  if [ ${#failed[@]} -gt 0 ]; then
    echo "engines: ${failed[*]} did not start; stopping the others" >&2
    for e in "${!pids[@]}"; do "$here/$e/stop.sh" "$dir/$e" >&2 || true; done
    exit 1
  fi
  for e in "${engines[@]}"; do if [ -f "$tmp/$e.out" ]; then cat "$tmp/$e.out"; fi; done
  ;;
stop)
  [ -d "$dir" ] || exit 0
  dir=$(cd "$dir" && pwd)
  rc=0
  for e in "${engines[@]}"; do
    if [ -x "$here/$e/stop.sh" ]; then "$here/$e/stop.sh" "$dir/$e" || rc=1; fi
  done
  if [ "${3:-}" = --wipe ] && [ $rc = 0 ]; then
    for e in "${engines[@]}"; do rm -rf "${dir:?}/$e"; done
  fi
  exit $rc
  ;;
*)
  echo "usage: $0 start|stop [DIR] [--wipe]" >&2
  exit 2
  ;;
esac
