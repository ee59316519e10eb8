#!/usr/bin/env bash
# A real single-node Apache Kafka broker (KRaft, broker+controller in one JVM) on 127.0.0.1,
# without Docker: the jars come from Maven Central into a cache outside the repo and run on
# the installed JDK. Every command is idempotent and safe to run concurrently (flock).
#
#   infra/kafka/broker.sh start     fetch jars if needed, format if needed, start, wait until ready;
#                                   prints the bootstrap address (127.0.0.1:PORT) on stdout
#   infra/kafka/broker.sh stop      graceful stop (SIGTERM, then SIGKILL after 30 s); keeps the data
#   infra/kafka/broker.sh restart   stop + start, same data (topics and offsets survive)
#   infra/kafka/broker.sh status    exit 0 and print the address when running and ready
#   infra/kafka/broker.sh clean     stop and delete the data/state directory
#   infra/kafka/broker.sh fetch     only resolve the jars into the cache
#   infra/kafka/broker.sh logs      tail the broker log
#
# Environment (all optional):
#   KAFKA_VERSION        3.9.1      org.apache.kafka:kafka_2.13 version
#   KAFKA_PORT           19092      client listener; the KRaft controller uses KAFKA_PORT+1
#   KAFKA_HEAP           512m       -Xmx of the broker JVM
#   KAFKA_STATE_DIR      ${TMPDIR:-/tmp}/connrca-kafka-$KAFKA_PORT   data, logs, pid file
#   CONNRCA_CACHE_DIR    ${XDG_CACHE_HOME:-$HOME/.cache}/connrca     jar cache (kafka-<version>/)
#   KAFKA_START_TIMEOUT  90         seconds to wait for readiness
#   KAFKA_OWNER          (none)     free-form tag recorded in $KAFKA_STATE_DIR/owner on start
#   KAFKA_RESET_ON_FAILURE 1        if a start with existing data fails, wipe the data and retry once
set -euo pipefail

KAFKA_VERSION="${KAFKA_VERSION:-3.9.1}"
SCALA_VERSION="2.13"
SLF4J_VERSION="1.7.36"
PORT="${KAFKA_PORT:-19092}"
CONTROLLER_PORT="$((PORT + 1))"
HEAP="${KAFKA_HEAP:-512m}"
STATE="${KAFKA_STATE_DIR:-${TMPDIR:-/tmp}/connrca-kafka-$PORT}"
CACHE="${CONNRCA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/connrca}"
JARS="$CACHE/kafka-$KAFKA_VERSION"
TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
PIDFILE="$STATE/broker.pid"
LOGDIR="$STATE/logs"
DATADIR="$STATE/data"
ADDRESS="127.0.0.1:$PORT"

say() { printf 'kafka-broker: %s\n' "$*" >&2; }
die() { say "error: $*"; exit "${2:-1}"; }

need_java() {
  command -v java >/dev/null 2>&1 || die "java not found on PATH (install a JDK/JRE 17, e.g. openjdk-17-jre-headless)" 3
  local v
  v="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\)[."].*/\1/p' | head -1)"
  [ -n "$v" ] && [ "$v" -ge 11 ] || die "java ${v:-?} found, Kafka $KAFKA_VERSION needs 11 or newer (17 recommended)" 3
}

# Resolves org.apache.kafka:kafka_2.13 and its runtime dependencies from Maven Central, plus an
# slf4j binding so the broker log lands in $LOGDIR. Done once per version; the cache is
# completed atomically (rename) so an interrupted fetch never leaves a half-filled classpath.
fetch() {
  [ -f "$JARS/.complete" ] && return 0
  command -v mvn >/dev/null 2>&1 || die "mvn not found on PATH: needed once to fetch the Kafka $KAFKA_VERSION jars into $JARS (install maven)" 3
  mkdir -p "$CACHE"
  exec 8>"$CACHE/.fetch-$KAFKA_VERSION.lock"
  flock 8
  [ -f "$JARS/.complete" ] && return 0
  say "fetching Kafka $KAFKA_VERSION jars from Maven Central into $JARS"
  local work
  work="$(mktemp -d "$CACHE/.fetch-XXXXXX")"
  cat >"$work/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>connrca.local</groupId>
  <artifactId>kafka-broker-classpath</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_$SCALA_VERSION</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>$SLF4J_VERSION</version></dependency>
  </dependencies>
</project>
EOF
  if ! (cd "$work" && mvn -q -B dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$work/libs" >"$work/mvn.log" 2>&1); then
    tail -n 20 "$work/mvn.log" >&2 || true
    rm -rf "$work"
    die "could not fetch Kafka $KAFKA_VERSION from Maven Central (see mvn output above)"
  fi
  touch "$work/libs/.complete"
  rm -rf "$JARS"
  mv "$work/libs" "$JARS"
  rm -rf "$work"
  flock -u 8
}

pid_alive() {
  [ -f "$PIDFILE" ] || return 1
  local pid
  pid="$(cat "$PIDFILE" 2>/dev/null || true)"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  # The pid may have been recycled: make sure it is our broker (its command line names our config).
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$STATE/server.properties"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Ready: this start's log says "Kafka Server started". The log rolls at 20 MB, which a broker
# loading thousands of test partitions reaches in minutes, and the line leaves server.log: once
# seen, it is remembered for this pid (a later `start` of another test worker waited 90 s for it).
ready() {
  pid_alive && port_open "$PORT" || return 1
  [ "$(cat "$STATE/ready" 2>/dev/null)" = "$(cat "$PIDFILE")" ] && return 0
  grep -q 'Kafka Server started' "$LOGDIR/server.log" 2>/dev/null || return 1
  cat "$PIDFILE" >"$STATE/ready"
}

write_config() {
  mkdir -p "$LOGDIR" "$DATADIR"
  cat >"$STATE/server.properties" <<EOF
# Generated by infra/kafka/broker.sh: single node, broker and KRaft controller in one process.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$DATADIR
# Topics are created by connrca (ensureTopics) with the configured partitions; a typo must not
# silently create a one-partition topic.
auto.create.topics.enable=false
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
# Test/dev broker: join consumer groups at once instead of waiting 3 s for more members.
group.initial.rebalance.delay.ms=0
log.retention.hours=24
EOF
  cat >"$STATE/log4j.properties" <<EOF
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$LOGDIR/server.log
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.org.apache.kafka.clients=WARN
# Lines per partition created or loaded (tests create thousands): the log would roll every minute.
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log=WARN
log4j.logger.kafka.cluster=WARN
log4j.logger.org.apache.kafka.controller=WARN
EOF
}

format_storage() {
  [ -f "$DATADIR/meta.properties" ] && return 0
  local cluster_id
  cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
  # a leading '-' would be read as an option by kafka-storage (1 start in 64 failed so)
  if [[ "$cluster_id" == -* ]]; then cluster_id="A${cluster_id:1}"; fi
  say "formatting $DATADIR (cluster $cluster_id)"
  java -Dlog4j.configuration="file:$STATE/log4j.properties" -cp "$JARS/*" kafka.tools.StorageTool \
    format -t "$cluster_id" -c "$STATE/server.properties" >"$LOGDIR/format.log" 2>&1 ||
    { cat "$LOGDIR/format.log" >&2; die "formatting the KRaft storage in $DATADIR failed"; }
}

# Returns 1 (after printing the log tail) when the broker died or did not get ready in time.
wait_ready() {
  local deadline=$((SECONDS + TIMEOUT))
  while ! ready; do
    if ! pid_alive; then
      tail -n 40 "$LOGDIR/server.log" "$LOGDIR/stdout.log" >&2 2>/dev/null || true
      say "broker exited during start-up (logs: $LOGDIR)"
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 40 "$LOGDIR/server.log" >&2 || true
      say "broker not ready after ${TIMEOUT}s (logs: $LOGDIR)"
      return 1
    fi
    sleep 0.2
  done
}

launch() {
  # A fresh log per start, so readiness is judged on this start's lines only.
  [ -f "$LOGDIR/server.log" ] && mv -f "$LOGDIR/server.log" "$LOGDIR/server.log.prev"
  rm -f "$STATE/ready"
  printf '%s\n' "${KAFKA_OWNER:-}" >"$STATE/owner"
  say "starting Kafka $KAFKA_VERSION on $ADDRESS (state $STATE)"
  # setsid: the broker outlives the shell (and test runner) that started it. The lock fds are
  # closed for it, or the broker would hold the start/stop lock for its whole life.
  setsid nohup java -Xmx"$HEAP" -Xms64m -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$STATE/log4j.properties" -Dkafka.logs.dir="$LOGDIR" \
    -cp "$JARS/*" kafka.Kafka "$STATE/server.properties" >"$LOGDIR/stdout.log" 2>&1 </dev/null 8>&- 9>&- &
  echo $! >"$PIDFILE"
  wait_ready
}

start_locked() {
  if pid_alive; then
    wait_ready || die "the running broker (pid $(cat "$PIDFILE")) is not ready; try: $0 restart"
    echo "$ADDRESS"
    return 0
  fi
  need_java
  fetch
  for p in "$PORT" "$CONTROLLER_PORT"; do
    port_open "$p" && die "port $p on 127.0.0.1 is used by another process (not the broker of $STATE); set KAFKA_PORT"
  done
  write_config
  local had_data=0
  [ -f "$DATADIR/meta.properties" ] && had_data=1
  format_storage
  if ! launch; then
    stop_locked
    # Data left by a killed broker or another Kafka version can keep it from starting. This is
    # a scratch broker: unless told otherwise, start over once with empty storage.
    [ "$had_data" = 1 ] && [ "${KAFKA_RESET_ON_FAILURE:-1}" = 1 ] || die "broker failed to start (logs: $LOGDIR)"
    say "start with the existing data failed; wiping $DATADIR and starting fresh (KAFKA_RESET_ON_FAILURE=0 to prevent)"
    rm -rf "$DATADIR"
    mkdir -p "$DATADIR"
    format_storage
    launch || { stop_locked; die "broker failed to start on empty storage too (logs: $LOGDIR)"; }
  fi
  say "ready after ${SECONDS}s"
  echo "$ADDRESS"
}

stop_locked() {
  if ! pid_alive; then
    rm -f "$PIDFILE"
    return 0
  fi
  local pid
  pid="$(cat "$PIDFILE")"
  say "stopping broker (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 150); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "broker did not stop within 30 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$PIDFILE"
}

with_lock() {
  mkdir -p "$STATE"
  exec 9>"$STATE.lock"
  flock 9
  "$@"
}

cmd="${1:-start}"
case "$cmd" in
  start) with_lock start_locked ;;
  stop) with_lock stop_locked ;;
  restart) with_lock stop_locked && with_lock start_locked ;;
  status)
    if ready; then echo "$ADDRESS"; else say "not running ($STATE)"; exit 1; fi
    ;;
  clean)
    with_lock stop_locked
    rm -rf "$STATE"
    rm -f "$STATE.lock"
    ;;
  fetch) need_java; fetch; echo "$JARS" ;;
  logs) tail -n "${2:-100}" -f "$LOGDIR/server.log" ;;
  *) die "unknown command '$cmd' (start|stop|restart|status|clean|fetch|logs)" 2 ;;
esac
