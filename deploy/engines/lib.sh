# Helpers shared by the engines' start and stop scripts (sourced).

# need_java_maven stops with what to install when java or mvn is missing.
need_java_maven() {
  local missing=()
  command -v java >/dev/null 2>&1 || missing+=(java)
  command -v mvn >/dev/null 2>&1 || missing+=(mvn)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "engines: ${missing[*]} not found. Kafka and Elasticsearch run in a JVM, resolved by Maven:" >&2
    echo "  install a JDK (17 or newer) and Maven, e.g. apt-get install openjdk-17-jdk-headless maven" >&2
    exit 1
  fi
}

# alive PIDFILE MARK: the pid in PIDFILE runs and is the engine that was
# started with MARK in its command line (e.g. -Dcontacts.engine.dir=DIR, with
# the space after it: DIR whole), not an unrelated process that got the pid
# later.
alive() {
  local pid
  [ -f "$1" ] || return 1
  pid=$(cat "$1")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "$2"
}

# stop_pid PIDFILE MARK NAME: SIGTERM (the engine shuts down cleanly), SIGKILL
# after 30 s.
stop_pid() {
  local pid i
  if ! alive "$1" "$2"; then rm -f "$1"; return 0; fi
  pid=$(cat "$1")
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 300); do
    alive "$1" "$2" || { rm -f "$1"; echo "$3: stopped (pid $pid)" >&2; return 0; }
    sleep 0.1
  done
  echo "$3: pid $pid did not stop in 30s; killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$1"
}

# wait_port PORT SECONDS: something accepts connections on 127.0.0.1:PORT
# (tried for up to SECONDS; 0 means once).
wait_port() {
  local end=$(( $(date +%s) + $2 ))
  while :; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    [ "$(date +%s)" -lt "$end" ] || return 1
    sleep 0.1
  done
}

# free_port [EXCEPT]: a port nothing listens on, in 20000-39999.
free_port() {
  local p
  while :; do
    p=$(( 20000 + RANDOM % 20000 ))
    [ "$p" != "${1:-}" ] || continue
    wait_port "$p" 0 || { echo "$p"; return; }
  done
}

# classpath POM CACHE: the runtime class path of POM's dependencies, resolved
# by Maven once and cached in CACHE (again when the pom changes or a jar is
# gone from ~/.m2).
classpath() {
  local pom=$1 cache=$2 sum jar ok=1
  sum=$(sha256sum "$pom" | cut -d' ' -f1)
  if [ -f "$cache" ] && [ "$(head -n1 "$cache")" = "$sum" ]; then
    for jar in $(sed -n 2p "$cache" | tr ':' ' '); do [ -f "$jar" ] || { ok=0; break; }; done
    if [ $ok = 1 ]; then sed -n 2p "$cache"; return; fi
  fi
  echo "engines: resolving $(dirname "$pom") with Maven (first start only)" >&2
  mkdir -p "$(dirname "$cache")"
  # (Maven's quiet mode still prints colour resets: dropped.)
  mvn -q -B -Dstyle.color=never -f "$pom" dependency:build-classpath -Dmdep.outputFile="$cache.$$" 2>&1 |
    sed 's/\x1b\[[0-9;]*m//g' | grep -v '^$' >&2 || true
  [ -s "$cache.$$" ] || {
    rm -f "$cache.$$"; echo "engines: Maven could not resolve $pom" >&2; exit 1; }
  # Written whole, then renamed: starts running in parallel read either the
  # old file or the new one.
  { echo "$sum"; cat "$cache.$$"; echo; } > "$cache.$$.full"
  rm -f "$cache.$$"
  mv "$cache.$$.full" "$cache"
  sed -n 2p "$cache"
}

# watch_pid PID STOP DIR: when process PID is gone (a test binary that died
# without its cleanup: a timeout, a panic, SIGKILL), run `STOP DIR` and
# remove DIR. Detached, so it outlives the script that starts it.
watch_pid() {
  setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; "$2" "$3" >/dev/null 2>&1; rm -rf "$3"' \
    watch "$1" "$2" "$3" < /dev/null > /dev/null 2>&1 &
}
