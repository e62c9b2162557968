#!/usr/bin/env bash
# Starts (or reuses) one Elasticsearch node whose files live under <dir>
# (home/, data/, logs/, build/), waits until it answers, and prints exactly
# one line on stdout:  ELASTICSEARCH_URL=http://127.0.0.1:<port>
#
# The node is the server and HTTP transport Elastic publishes to Maven
# Central, run by our launcher (pom.xml, src/); the first start resolves them
# with Maven, later ones run from the Maven cache. Needs a JDK 17+ (java,
# javac) and Maven.
#
# Environment: ELASTICSEARCH_PORT (HTTP port; default: any free port),
# ES_JAVA_OPTS (default: -Xms512m -Xmx1g), JAVA_HOME.
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 <dir>" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
dir=$(cd "$1" && pwd)
mkdir -p "$dir/logs" "$dir/tmp"

java=java
[ -n "${JAVA_HOME:-}" ] && java="$JAVA_HOME/bin/java"
for tool in "$java" mvn curl; do
	if ! command -v "$tool" >/dev/null; then
		echo "elasticsearch: '$tool' not found. Elasticsearch runs from Maven Central's artifacts and needs a JDK 17+ and Maven:" >&2
		echo "  apt-get update && apt-get install -y openjdk-17-jdk-headless maven curl" >&2
		exit 1
	fi
done

# One start at a time per directory (test binaries and make may race).
exec 9>"$dir/start.lock"
flock 9

url() { echo "http://$(head -n1 "$dir/logs/http.ports")"; }

# ours: the pid in es.pid is alive and is our launcher for this directory
# (a stale file's pid may have been reused by anything).
ours() {
	[ -f "$dir/es.pid" ] || return 1
	local pid
	pid=$(cat "$dir/es.pid")
	[ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "contacts.engines.elasticsearch.Launcher $dir "
}

answers() {
	[ -s "$dir/logs/http.ports" ] &&
		curl -fsS -o /dev/null --max-time 5 "$(url)/_cluster/health?wait_for_status=yellow&timeout=4s"
}

if ours && answers; then
	echo "ELASTICSEARCH_URL=$(url)"
	exit 0
fi
if ours; then
	# Alive but not answering: still starting (another caller) or wedged.
	for _ in $(seq 1 120); do
		answers && { echo "ELASTICSEARCH_URL=$(url)"; exit 0; }
		ours || break
		sleep 1
	done
	echo "elasticsearch: node $(cat "$dir/es.pid") in $dir does not answer; stop it with stop.sh $dir" >&2
	exit 1
fi

# Compile the launcher and resolve the class path when the sources changed.
build="$dir/build"
if [ ! -s "$build/classpath.txt" ] || [ -n "$(find "$here/pom.xml" "$here/src" -newer "$build/classpath.txt" -print -quit)" ]; then
	echo "elasticsearch: building the launcher with Maven (the first run downloads ~100 MB into ~/.m2)" >&2
	mvn=(mvn -B -q -f "$here/pom.xml" -Dengine.build.dir="$build" compile)
	# Offline first: with the Maven cache filled, no network is needed.
	if ! "${mvn[@]}" -o >"$dir/logs/maven.log" 2>&1 && ! "${mvn[@]}" >"$dir/logs/maven.log" 2>&1; then
		tail -n 40 "$dir/logs/maven.log" >&2
		echo "elasticsearch: Maven failed (log: $dir/logs/maven.log)" >&2
		exit 1
	fi
	touch "$build/classpath.txt"
fi

rm -f "$dir/logs/http.ports" "$dir/logs/transport.ports"
# setsid: the node must outlive an interrupted caller (Ctrl-C in make stack).
# shellcheck disable=SC2086
setsid "$java" ${ES_JAVA_OPTS:--Xms512m -Xmx1g} -XX:+UseG1GC -XX:+HeapDumpOnOutOfMemoryError \
	-XX:HeapDumpPath="$dir/logs" -Djava.io.tmpdir="$dir/tmp" -Dlog4j2.formatMsgNoLookups=true \
	-Dfile.encoding=UTF-8 -Djava.awt.headless=true \
	-cp "$build/classes:$(cat "$build/classpath.txt")" \
	contacts.engines.elasticsearch.Launcher "$dir" "${ELASTICSEARCH_PORT:-0}" \
	</dev/null >"$dir/logs/elasticsearch.log" 2>&1 9>&- &
pid=$!
echo "$pid" >"$dir/es.pid"

for _ in $(seq 1 180); do
	# kill -0, not ours(): right after the fork /proc shows the shell's
	# command line, not yet the launcher's.
	if ! kill -0 "$pid" 2>/dev/null; then
		tail -n 40 "$dir/logs/elasticsearch.log" >&2
		echo "elasticsearch: the node exited (log: $dir/logs/elasticsearch.log)" >&2
		rm -f "$dir/es.pid"
		exit 1
	fi
	if answers; then
		echo "ELASTICSEARCH_URL=$(url)"
		exit 0
	fi
	sleep 0.5
done
echo "elasticsearch: no answer after 90 s; stopping it (log: $dir/logs/elasticsearch.log)" >&2
"$here/stop.sh" "$dir"
exit 1
