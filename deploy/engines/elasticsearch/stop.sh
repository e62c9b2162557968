#!/usr/bin/env bash
# Stops the Elasticsearch node start.sh started under <dir>, if any: SIGTERM
# (the launcher closes the node), then SIGKILL after 30 s. Stops nothing else.
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 <dir>" >&2
	exit 2
fi
[ -d "$1" ] || exit 0
dir=$(cd "$1" && pwd)
[ -f "$dir/es.pid" ] || exit 0
pid=$(cat "$dir/es.pid")

ours() {
	[ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "contacts.engines.elasticsearch.Launcher $dir "
}

if ours; then
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 60); do
		ours || break
		sleep 0.5
	done
	if ours; then
		echo "elasticsearch: node $pid did not stop in 30 s; killing it" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
fi
rm -f "$dir/es.pid" "$dir/logs/http.ports" "$dir/logs/transport.ports"
