#!/usr/bin/env bash
# A single-node Apache Kafka broker (KRaft mode) for the tests and benchmarks, on loopback.
#
#   bash scripts/setup-kafka.sh start    # fetch the jars (once), format storage (once), start, wait until ready
#   bash scripts/setup-kafka.sh stop     # stop the broker (SIGTERM, then SIGKILL after 20 s)
#   bash scripts/setup-kafka.sh status   # exit 0 when the broker answers on its port
#   bash scripts/setup-kafka.sh env      # prints KAFKA_BROKERS=127.0.0.1:<port>
#
# Idempotent: `start` on a running broker only checks it. The jars come from Maven Central through
# tools/kafka/pom.xml into $KAFKA_HOME/libs (Maven keeps its own copy in ~/.m2, so a fresh
# KAFKA_HOME costs a copy, not a download). Needs Java 17 and Maven (both on the machine).
#
# Environment: KAFKA_HOME (default ~/.cache/refinery-kafka), KAFKA_PORT (default 19092),
# KAFKA_CONTROLLER_PORT (default 19093), KAFKA_MAX_MESSAGE_BYTES (default 1048588, the broker default).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
home=${KAFKA_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/refinery-kafka}
port=${KAFKA_PORT:-19092}
controller_port=${KAFKA_CONTROLLER_PORT:-19093}
max_message_bytes=${KAFKA_MAX_MESSAGE_BYTES:-1048588}
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$repo/tools/kafka/pom.xml")
libs="$home/libs-$version"
data="$home/data"
pidfile="$home/broker.pid"
logfile="$home/broker.log"

log() { echo "setup-kafka: $*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

running_pid() {
  [[ -f $pidfile ]] || return 1
  local pid
  pid=$(cat "$pidfile")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

fetch_jars() {
  [[ -f "$libs/.complete" ]] && return 0
  command -v java >/dev/null || { log "java not found (Java 17 is needed)"; exit 1; }
  command -v mvn >/dev/null || { log "mvn not found (Maven is needed to fetch the Kafka jars)"; exit 1; }
  log "fetching Apache Kafka $version jars from Maven Central into $libs"
  rm -rf "$libs" && mkdir -p "$libs"
  mvn -q -B -f "$repo/tools/kafka/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$libs" >"$home/mvn.log" 2>&1 \
    || { log "maven failed, see $home/mvn.log"; tail -20 "$home/mvn.log" >&2; exit 1; }
  touch "$libs/.complete"
}

write_config() {
  mkdir -p "$data"
  cat >"$home/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$data
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
message.max.bytes=$max_message_bytes
log.retention.hours=24
log.segment.bytes=67108864
EOF
  cat >"$home/log4j2.properties" <<EOF
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $logfile
appender.file.append = true
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = warn
logger.apache.name = org.apache.kafka
logger.apache.level = warn
logger.started.name = kafka.server.KafkaRaftServer
logger.started.level = info
EOF
}

java_opts=(-Xms256m -Xmx512m -XX:+UseG1GC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true
  "-Dlog4j2.configurationFile=$home/log4j2.properties" -cp "$libs/*")
run_java() { java "${java_opts[@]}" "$@"; }

format_storage() {
  [[ -f "$data/meta.properties" ]] && return 0
  local cluster_id
  cluster_id=$(run_java kafka.tools.StorageTool random-uuid)
  log "formatting storage in $data (cluster id $cluster_id)"
  run_java kafka.tools.StorageTool format -t "$cluster_id" -c "$home/server.properties" \
    >>"$logfile" 2>&1 || { log "format failed, see $logfile"; tail -20 "$logfile" >&2; exit 1; }
}

start() {
  mkdir -p "$home"
  if pid=$(running_pid); then
    wait_ready "$pid"
    log "broker already running (pid $pid) at 127.0.0.1:$port"
    return 0
  fi
  if port_open; then
    log "port $port is taken by another process; set KAFKA_PORT"
    exit 1
  fi
  fetch_jars
  write_config
  # A fresh log per start: readiness is read from it.
  if [[ -f $logfile ]]; then mv -f "$logfile" "$logfile.previous"; fi
  format_storage
  log "starting Kafka $version on 127.0.0.1:$port (log: $logfile)"
  # setsid: the broker outlives this script and the CI step that called it.
  setsid java "${java_opts[@]}" kafka.Kafka "$home/server.properties" >>"$logfile" 2>&1 </dev/null &
  echo $! >"$pidfile"
  wait_ready "$!"
  log "ready at 127.0.0.1:$port"
}

wait_ready() {
  local pid=$1
  for _ in $(seq 1 240); do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "broker exited during start; last lines of $logfile:"
      tail -30 "$logfile" >&2
      exit 1
    fi
    # The port opens before the controller has elected itself; the broker logs this line once it serves.
    if port_open && grep -q "Kafka Server started" "$logfile" 2>/dev/null; then
      return 0
    fi
    sleep 0.25
  done
  log "broker not ready after 60 s; last lines of $logfile:"
  tail -30 "$logfile" >&2
  exit 1
}

stop() {
  local pid
  if ! pid=$(running_pid); then
    rm -f "$pidfile"
    log "not running"
    return 0
  fi
  kill "$pid"
  for _ in $(seq 1 80); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; log "stopped"; return 0; }
    sleep 0.25
  done
  log "broker did not stop within 20 s: SIGKILL"
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

status() {
  if pid=$(running_pid) && port_open; then
    log "running (pid $pid) at 127.0.0.1:$port"
    return 0
  fi
  log "not running"
  return 1
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) status ;;
  env) echo "KAFKA_BROKERS=127.0.0.1:$port" ;;
  *) echo "usage: $0 start|stop|restart|status|env" >&2; exit 2 ;;
esac
