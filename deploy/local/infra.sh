#!/usr/bin/env bash
# Local infrastructure for Switchboard, without Docker:
#   Kafka 3.9.1 (single node, KRaft, jars resolved with Maven) and
#   FerretDB v1.24.2 (MongoDB wire protocol on SQLite, built with Go, patched by
#   deploy/local/ferretdb/*.patch to use the _id index and to update documents atomically).
#
# Usage: deploy/local/infra.sh provision|up|down|status|reset
#   provision  resolve the Kafka jars and build the patched FerretDB (idempotent, cached)
#   up         provision, start what is not running, wait until both answer
#   down       stop the processes started by this script (PID files only)
#   status     show what is running
#   reset      down, then delete Kafka and FerretDB data (keeps jars and binary)
#
# Environment: CACHE (default <repo>/.local), KAFKA_PORT (9092),
# KAFKA_CONTROLLER_PORT (9093), MONGO_PORT (27017), KAFKA_HEAP_OPTS,
# START_TIMEOUT (180 s), STOP_TIMEOUT (30 s), PYTHON (for readiness probes).
# Servers listen on 127.0.0.1 only. Requires java, mvn and go on PATH.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
mkdir -p "${CACHE:=$ROOT/.local}"
CACHE=$(cd "$CACHE" && pwd)

KAFKA_PORT=${KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
MONGO_PORT=${MONGO_PORT:-27017}
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}
START_TIMEOUT=${START_TIMEOUT:-180}
STOP_TIMEOUT=${STOP_TIMEOUT:-30}
PYTHON=${PYTHON:-python3}

FERRETDB_MODULE=github.com/FerretDB/FerretDB
FERRETDB_VERSION=v1.24.2
DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

KAFKA_LIBS=$CACHE/kafka-libs
KAFKA_DATA=$CACHE/kafka-data
KAFKA_CONF=$CACHE/kafka/server.properties
KAFKA_LOG4J=$HERE/kafka/log4j.properties
FERRETDB_BIN=$CACHE/bin/ferretdb
FERRETDB_PATCHES=$HERE/ferretdb
FERRETDB_DATA=$CACHE/ferretdb-data
LOGS=$CACHE/logs
RUN=$CACHE/run
BUILD_TMP=""
trap '[[ -z $BUILD_TMP ]] || rm -rf "$BUILD_TMP"' EXIT

log() { printf '[infra] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

require() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || die "'$tool' is not on PATH"
  done
}

# Serialise concurrent invocations (two `up` at once must not start two brokers).
# The lock descriptor (9) is closed for the servers started below.
take_lock() {
  mkdir -p "$RUN"
  command -v flock >/dev/null || return 0
  exec 9>"$RUN/infra.lock"
  flock -w 1200 9 || die "another infra.sh is still running (lock $RUN/infra.lock)"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Prints the PID of service $1 if its PID file names a live process of ours.
pid_of() {
  local pidfile=$RUN/$1.pid pid cmdline marker
  [[ -r $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  case $1 in
    kafka) marker="kafka.Kafka $KAFKA_CONF" ;;
    ferretdb) marker=$FERRETDB_BIN ;;
  esac
  [[ $cmdline == *"$marker"* ]] || return 1
  echo "$pid"
}

# --- provision ---------------------------------------------------------------

build_failed() {
  tail -n 30 "$1" >&2 || true
  die "$2 (full output: $1)"
}

provision_kafka() {
  local stamp=$KAFKA_LIBS/.complete
  if [[ -f $stamp && $stamp -nt $HERE/kafka/pom.xml ]]; then return 0; fi
  require java mvn
  log "resolving Kafka jars with Maven into $KAFKA_LIBS (first time: about a minute)"
  rm -rf "$KAFKA_LIBS.tmp"
  mvn -B -q -f "$HERE/kafka/pom.xml" "$DEPENDENCY_PLUGIN:copy-dependencies" -DincludeScope=runtime \
    -DoutputDirectory="$KAFKA_LIBS.tmp" >"$LOGS/kafka-maven.log" 2>&1 ||
    build_failed "$LOGS/kafka-maven.log" "Maven could not resolve the Kafka jars"
  rm -rf "$KAFKA_LIBS"
  mv "$KAFKA_LIBS.tmp" "$KAFKA_LIBS"
  touch "$stamp"
  log "Kafka jars ready ($(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars)"
}

# The patches FerretDB is built with (deploy/local/ferretdb/*.patch, each saying what upstream
# defect it mends); their digest is kept beside the binary, so a binary built from other patches,
# or none, is rebuilt.
ferretdb_patches_digest() {
  cat "$FERRETDB_PATCHES"/*.patch | sha256sum | cut -d' ' -f1
}

ferretdb_current() {
  "$FERRETDB_BIN" --version >/dev/null 2>&1 &&
    [[ -f $FERRETDB_BIN.patches && $(<"$FERRETDB_BIN.patches") == "$(ferretdb_patches_digest)" ]]
}

# `go install ...@v1.24.2` gives a binary that panics (build/version/version.txt is
# generated upstream and missing from the module zip), so build from a copy of the module.
provision_ferretdb() {
  if ferretdb_current; then return 0; fi
  require go git
  log "building FerretDB $FERRETDB_VERSION with $(ls "$FERRETDB_PATCHES"/*.patch | wc -l) patches into $FERRETDB_BIN (first time: a few minutes)"
  BUILD_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ferretdb-build.XXXXXX")
  local module_dir patch pid
  module_dir=$(cd "$BUILD_TMP" && go mod download -json "$FERRETDB_MODULE@$FERRETDB_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p') || die "go mod download failed"
  [[ -d $module_dir ]] || die "go mod download gave no module directory"
  cp -R "$module_dir" "$BUILD_TMP/src"
  chmod -R u+w "$BUILD_TMP/src"
  for patch in "$FERRETDB_PATCHES"/*.patch; do
    (cd "$BUILD_TMP/src" && git apply -p1 "$patch") || die "patch $(basename "$patch") does not apply"
  done
  printf '%s\n' "$FERRETDB_VERSION" >"$BUILD_TMP/src/build/version/version.txt"
  mkdir -p "$(dirname "$FERRETDB_BIN")"
  (cd "$BUILD_TMP/src" && CGO_ENABLED=0 go build -p 2 -trimpath -buildvcs=false \
    -o "$FERRETDB_BIN.tmp" ./cmd/ferretdb) >"$LOGS/ferretdb-build.log" 2>&1 ||
    build_failed "$LOGS/ferretdb-build.log" "FerretDB build failed"
  if pid=$(pid_of ferretdb); then
    log "stopping the running FerretDB (pid $pid): it was built without the current patches"
    stop_service ferretdb
  fi
  mv "$FERRETDB_BIN.tmp" "$FERRETDB_BIN"
  ferretdb_patches_digest >"$FERRETDB_BIN.patches"
  rm -rf "$BUILD_TMP"
  "$FERRETDB_BIN" --version >/dev/null || die "the built FerretDB binary does not run"
  log "FerretDB built"
}

cmd_provision() {
  mkdir -p "$LOGS" "$RUN"
  provision_kafka
  provision_ferretdb
}

# --- start -------------------------------------------------------------------

render_kafka_config() {
  mkdir -p "$(dirname "$KAFKA_CONF")" "$KAFKA_DATA"
  sed -e 's|${KAFKA_LOG_DIR}|'"$KAFKA_DATA"'|g' \
    -e 's|${KAFKA_PORT}|'"$KAFKA_PORT"'|g' \
    -e 's|${KAFKA_CONTROLLER_PORT}|'"$KAFKA_CONTROLLER_PORT"'|g' \
    "$HERE/kafka/server.properties.in" >"$KAFKA_CONF"
}

# A 22-character base64url id, generated once and kept in the cache.
kafka_cluster_id() {
  local file=$CACHE/kafka/cluster-id id=-
  if [[ ! -s $file ]]; then
    while [[ $id == -* ]]; do # a leading '-' would read as a command-line option
      id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | cut -c1-22)
    done
    printf '%s\n' "$id" >"$file"
  fi
  cat "$file"
}

format_kafka_storage() {
  [[ -f $KAFKA_DATA/meta.properties ]] && return 0
  log "formatting Kafka storage in $KAFKA_DATA"
  java -Xmx256m -XX:TieredStopAtLevel=1 -Dlog4j.configuration="file:$KAFKA_LOG4J" \
    -Dkafka.logs.dir="$LOGS" -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool format \
    -t "$(kafka_cluster_id)" -c "$KAFKA_CONF" --ignore-formatted >>"$LOGS/kafka-format.log" 2>&1 ||
    { tail -n 20 "$LOGS/kafka-format.log" >&2; die "formatting Kafka storage failed"; }
}

start_kafka() {
  render_kafka_config
  format_kafka_storage
  [[ ! -f $LOGS/kafka.log ]] || mv "$LOGS/kafka.log" "$LOGS/kafka-previous.log"
  log "starting Kafka on 127.0.0.1:$KAFKA_PORT (controller 127.0.0.1:$KAFKA_CONTROLLER_PORT)"
  # shellcheck disable=SC2086 # KAFKA_HEAP_OPTS holds several options
  nohup setsid java $KAFKA_HEAP_OPTS -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$KAFKA_LOG4J" -Dkafka.logs.dir="$LOGS" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_CONF" >"$LOGS/kafka.out" 2>&1 </dev/null 9>&- &
  echo $! >"$RUN/kafka.pid"
}

# A database dropped while a connection still had it open can leave its -wal/-shm files behind;
# FerretDB then fails to start on them. They belong to no database any more: remove them.
remove_orphan_wal() {
  local side
  for side in "$FERRETDB_DATA"/*.sqlite-wal "$FERRETDB_DATA"/*.sqlite-shm; do
    [ -e "$side" ] || continue
    if [ ! -e "${side%-*}" ]; then
      log "removing $(basename "$side"): its database was dropped"
      rm -f "$side"
    fi
  done
}

# A crash mid-creation can leave a database file with no tables at all, which FerretDB refuses
# to load. It holds no data; it is moved aside, never deleted.
move_aside_empty_databases() {
  local db aside="$CACHE/ferretdb-aside"
  for db in "$FERRETDB_DATA"/*.sqlite; do
    [ -e "$db" ] || continue
    if "$PYTHON" "$HERE/probe.py" sqlite-empty "$db" >/dev/null 2>&1; then
      mkdir -p "$aside"
      log "moving $(basename "$db") to $aside: it has no tables"
      local stamp side
      stamp=$(date +%s)
      for side in "$db" "$db-wal" "$db-shm"; do
        [ -e "$side" ] && mv "$side" "$aside/$(basename "$side").$stamp"
      done
    fi
  done
}

start_ferretdb() {
  mkdir -p "$FERRETDB_DATA"
  have_python && move_aside_empty_databases
  remove_orphan_wal
  log "starting FerretDB on 127.0.0.1:$MONGO_PORT (data in $FERRETDB_DATA)"
  nohup setsid "$FERRETDB_BIN" --handler=sqlite --sqlite-url="file:$FERRETDB_DATA/" \
    --listen-addr="127.0.0.1:$MONGO_PORT" --state-dir=- --debug-addr=- \
    --telemetry=disable --log-level=warn >>"$LOGS/ferretdb.log" 2>&1 </dev/null 9>&- &
  echo $! >"$RUN/ferretdb.pid"
}

# ensure_started NAME PORT... : start NAME unless it already runs; refuse foreign listeners.
ensure_started() {
  local name=$1 port pid
  shift
  if pid=$(pid_of "$name"); then
    log "$name already running (pid $pid)"
    return 0
  fi
  rm -f "$RUN/$name.pid"
  for port in "$@"; do
    ! port_open "$port" || die "127.0.0.1:$port is in use by a process not started by infra.sh"
  done
  "start_$name"
}

# --- readiness ---------------------------------------------------------------

have_python() { command -v "$PYTHON" >/dev/null 2>&1; }
probe() { "$PYTHON" "$HERE/probe.py" "$@" >/dev/null 2>&1; }

kafka_ready() {
  port_open "$KAFKA_PORT" || return 1
  if have_python; then probe kafka "$KAFKA_PORT"; else grep -q 'Kafka Server started' "$LOGS/kafka.log"; fi
}

ferretdb_ready() {
  port_open "$MONGO_PORT" || return 1
  if have_python; then probe mongo "$MONGO_PORT"; fi
}

# wait_ready NAME PORT LOGFILE...
wait_ready() {
  local name=$1 port=$2 deadline=$((SECONDS + START_TIMEOUT))
  shift 2
  until "${name}_ready"; do
    pid_of "$name" >/dev/null || start_failed "$name exited during start-up" "$@"
    ((SECONDS < deadline)) ||
      start_failed "$name not ready after ${START_TIMEOUT}s (still running; '$0 down' stops it)" "$@"
    sleep 0.3
  done
  log "$name ready on 127.0.0.1:$port (pid $(pid_of "$name"))"
}

# start_failed MESSAGE LOGFILE...: show the end of each non-empty log, then exit 1.
start_failed() {
  local message=$1 logfile
  shift
  for logfile in "$@"; do
    [[ -s $logfile ]] || continue
    log "---- last lines of $logfile ----"
    tail -n 30 "$logfile" >&2
  done
  die "$message"
}

cmd_up() {
  local started=$SECONDS
  cmd_provision
  ensure_started kafka "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"
  ensure_started ferretdb "$MONGO_PORT"
  wait_ready kafka "$KAFKA_PORT" "$LOGS/kafka.log" "$LOGS/kafka.out"
  wait_ready ferretdb "$MONGO_PORT" "$LOGS/ferretdb.log"
  log "up in $((SECONDS - started))s: kafka 127.0.0.1:$KAFKA_PORT, mongodb://127.0.0.1:$MONGO_PORT/"
}

# --- stop, status, reset -----------------------------------------------------

stop_service() {
  local name=$1 pid deadline
  if ! pid=$(pid_of "$name"); then
    rm -f "$RUN/$name.pid"
    log "$name is not running"
    return 0
  fi
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name did not stop within ${STOP_TIMEOUT}s; sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$RUN/$name.pid"
}

cmd_down() {
  stop_service kafka
  stop_service ferretdb
}

# status_service NAME PORT; returns 1 unless the service runs and listens.
status_service() {
  local name=$1 port=$2 pid rss
  if pid=$(pid_of "$name"); then
    rss=$(ps -o rss= -p "$pid" | tr -d ' ')
    if port_open "$port"; then
      printf '%-9s running   pid %-7s 127.0.0.1:%-6s rss %s MiB\n' "$name" "$pid" "$port" "$((rss / 1024))"
      return 0
    fi
    printf '%-9s starting  pid %-7s 127.0.0.1:%s not listening yet\n' "$name" "$pid" "$port"
  elif port_open "$port"; then
    printf '%-9s foreign   127.0.0.1:%s is in use by a process not started by infra.sh\n' "$name" "$port"
  else
    printf '%-9s stopped\n' "$name"
  fi
  return 1
}

cmd_status() {
  local rc=0
  status_service kafka "$KAFKA_PORT" || rc=1
  status_service ferretdb "$MONGO_PORT" || rc=1
  return "$rc"
}

cmd_reset() {
  cmd_down
  log "removing $KAFKA_DATA and $FERRETDB_DATA"
  rm -rf "$KAFKA_DATA" "$FERRETDB_DATA"
}

main() {
  case ${1:-} in
    provision | up | down | reset)
      take_lock
      "cmd_$1"
      ;;
    status) cmd_status ;;
    *) sed -n '2,18s/^# \{0,1\}//p' "$0" >&2 && exit 2 ;;
  esac
}

main "$@"
