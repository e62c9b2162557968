#!/usr/bin/env bash
# Runs one of Kafka's command-line tools against the project's broker, from
# the same Maven artifacts as the broker (the Java classes behind Kafka's
# bin/*.sh scripts). For example, the relay's topic from the start:
#
#   deploy/engines/kafka/tool.sh console-consumer --bootstrap-server "$KAFKA_BROKERS" \
#     --topic contacts.events --from-beginning --property print.key=true --timeout-ms 5000
#
# Tools: console-consumer, console-producer, topics, consumer-groups,
# get-offsets; or a class name.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
. "$here/../lib.sh"
need_java_maven
[ $# -ge 1 ] || { sed -n '2,11p' "$0" >&2; exit 2; }
tool=$1; shift
case "$tool" in
  console-consumer) class=org.apache.kafka.tools.consumer.ConsoleConsumer ;;
  console-producer) class=org.apache.kafka.tools.ConsoleProducer ;;
  topics)           class=org.apache.kafka.tools.TopicCommand ;;
  consumer-groups)  class=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
  get-offsets)      class=org.apache.kafka.tools.GetOffsetShell ;;
  *)                class=$tool ;;
esac
cp=$(classpath "$here/pom.xml" "$root/.engines/cache/kafka.classpath")
exec java -Xmx256m -Dlog4j2.level=WARN -cp "$cp" "$class" "$@"
