#!/usr/bin/env bash
# Stops the Kafka broker that start.sh started from DIR (default
# <repo>/.engines/kafka). Its data stays; start.sh starts it again.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
dir=${1:-$root/.engines/kafka}
[ -d "$dir" ] || exit 0
dir=$(cd "$dir" && pwd)
. "$here/../lib.sh"
stop_pid "$dir/kafka.pid" "-Dcontacts.engine.dir=$dir " kafka
