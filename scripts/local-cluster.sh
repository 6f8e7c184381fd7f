#!/usr/bin/env bash
# A production-shaped cluster on this machine, in one command: Redis and PostgreSQL from Debian's packages on
# loopback (installed when missing), N silos and the API as an Orleans client. Ctrl-C (or SIGTERM) stops
# everything it started. Data lives in .local-cluster/ and survives a restart of the script; remove it to start clean.
#
#   scripts/local-cluster.sh [silos=3]
#
# Ports: Redis 6390, PostgreSQL 5440, silos 11111.. (gateways 30000.., /metrics and /health 8081..), API 5080.
# Override with REDIS_PORT, PG_PORT, SILO_PORT, GATEWAY_PORT, SILO_HTTP_PORT and API_PORT. CONFIGURATION=Debug runs
# the Debug build; NO_BUILD=1 runs what is built already.
#
# Ctrl-C in a terminal reaches every process of the foreground group at once. So every process this script starts
# runs in a session of its own, and only the script hears it: it stops the API first (its cluster client leaves while
# the silos still listen), then the silos, each gracefully, and PostgreSQL and Redis last.
set -euo pipefail
cd "$(dirname "$0")/.."

silos=${1:-3}
redis_port=${REDIS_PORT:-6390}
pg_port=${PG_PORT:-5440}
api_port=${API_PORT:-5080}
silo_port=${SILO_PORT:-11111}
gateway_port=${GATEWAY_PORT:-30000}
silo_http_port=${SILO_HTTP_PORT:-8081}
configuration=${CONFIGURATION:-Release}
work=${LOCAL_CLUSTER_DIR:-$PWD/.local-cluster}
mkdir -p "$work/logs"
pids=()       # Redis and PostgreSQL: stopped last
silo_pids=()  # the silos: stopped after the API, while their stores are still up
api_pids=()   # the API: stopped first

run_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

stop_all() {
  local list=("$@")
  if [ ${#list[@]} -eq 0 ]; then return 0; fi
  for pid in "${list[@]}"; do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 300); do
    local alive=0
    for pid in "${list[@]}"; do if kill -0 "$pid" 2>/dev/null; then alive=1; fi; done
    if [ $alive -eq 0 ]; then return 0; fi
    sleep 0.1
  done
  for pid in "${list[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
}

stop() {
  trap - EXIT INT TERM
  set +e # stop everything, whatever fails on the way
  echo; echo "stopping the API and ${silos} silos, then PostgreSQL and Redis"
  stop_all "${api_pids[@]}"
  stop_all "${silo_pids[@]}"
  if [ -n "${pg_bin:-}" ] && [ -f "$work/pg/postmaster.pid" ]; then run_pg "$pg_bin/pg_ctl" -D "$work/pg" stop -m fast >/dev/null 2>&1; fi
  stop_all "${pids[@]}"
}
trap stop EXIT INT TERM

as_root=""; [ "$(id -u)" -ne 0 ] && as_root="sudo"
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  $as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)

# Redis, with AOF on: reminders (pending escalations) live there.
mkdir -p "$work/redis"
setsid redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work/redis" --appendonly yes --save "" >"$work/logs/redis.log" 2>&1 &
pids+=($!)

# PostgreSQL: a cluster of our own, trust authentication on loopback only. As root, it runs as the postgres user.
if [ ! -f "$work/pg/PG_VERSION" ]; then
  mkdir -p "$work/pg"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$work/pg"
  run_pg "$pg_bin/initdb" -D "$work/pg" -U postgres -A trust -E UTF8 >"$work/logs/initdb.log"
fi
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$work/logs" "$work/pg"
# Connections: each silo pools up to 16, the API 8 (Postgres:MaxPoolSize); leave room for psql and the migrator.
max_connections=$(( silos * 16 + 8 + 20 ))
[ "$max_connections" -lt 100 ] && max_connections=100
setsid_pg() { if [ "$(id -u)" -eq 0 ]; then setsid runuser -u postgres -- "$@"; else setsid "$@"; fi; }
setsid_pg "$pg_bin/postgres" -D "$work/pg" -p "$pg_port" -k "$work/pg" -c listen_addresses=127.0.0.1 -c max_connections="$max_connections" >"$work/logs/postgres.log" 2>&1 &
pids+=($!)

listening() { (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; }
for _ in $(seq 150); do listening "$pg_port" && listening "$redis_port" && break; sleep 0.1; done
listening "$redis_port" || { echo "Redis did not start on $redis_port; see $work/logs/redis.log" >&2; exit 1; }
listening "$pg_port" || { echo "PostgreSQL did not start on $pg_port; see $work/logs/postgres.log" >&2; exit 1; }

if [ "${NO_BUILD:-}" != 1 ]; then
  echo "building ($configuration; the first build restores packages too, about two minutes)"
  dotnet build -c "$configuration" Monitoring.sln -v q -nologo >"$work/logs/build.log" || { cat "$work/logs/build.log"; exit 1; }
fi

export ConnectionStrings__Redis="127.0.0.1:$redis_port"
export ConnectionStrings__Postgres="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=postgres"
export Orleans__ServiceId=mcp-alerting Orleans__ClusterId=local
export Outbound__AllowLoopback=true # a cluster on one machine: receivers and MCP servers are on loopback too

dotnet src/Silo/bin/$configuration/net10.0/Monitoring.Silo.dll migrate
for i in $(seq 0 $((silos - 1))); do
  Orleans__SiloPort=$((silo_port + i)) Orleans__GatewayPort=$((gateway_port + i)) \
    setsid dotnet src/Silo/bin/$configuration/net10.0/Monitoring.Silo.dll --urls "http://127.0.0.1:$((silo_http_port + i))" >"$work/logs/silo$i.log" 2>&1 &
  silo_pids+=($!)
done
# Production demands API keys: one admin key for this run, given to the API as its hash.
admin_key="mcpk_$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')_$(head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
Auth__Keys__0__Name=local-admin Auth__Keys__0__Role=Admin Auth__Keys__0__Hash="sha256:$(printf %s "$admin_key" | sha256sum | cut -d' ' -f1)" \
  setsid dotnet src/Api/bin/$configuration/net10.0/Monitoring.Api.dll --urls "http://127.0.0.1:$api_port" >"$work/logs/api.log" 2>&1 &
api_pids+=($!)

# Readiness needs no key (the detailed /health does, in production).
ready=0
for _ in $(seq 240); do
  if curl -sf "http://127.0.0.1:$api_port/health/ready" >/dev/null 2>&1; then ready=1; break; fi
  sleep 0.25
done
[ $ready -eq 1 ] || echo "the API is not ready after 60 s; see $work/logs/api.log" >&2

cat <<INFO

  API          http://127.0.0.1:$api_port   (try: curl -H "Authorization: Bearer $admin_key" http://127.0.0.1:$api_port/api/cluster)
  admin key    $admin_key   (this run only)
  silos        $silos, ports $silo_port..$((silo_port + silos - 1)), gateways $gateway_port..$((gateway_port + silos - 1)), /metrics and /health on $silo_http_port..$((silo_http_port + silos - 1))
  Redis        127.0.0.1:$redis_port   (membership, reminders; AOF in $work/redis)
  PostgreSQL   127.0.0.1:$pg_port user postgres, schema mcp_alerting   (data in $work/pg)
  logs         $work/logs/

  Every request needs the key: add -H "Authorization: Bearer $admin_key" to the README's curl commands.
  Ctrl-C stops everything: the API and the silos first, then PostgreSQL and Redis.
INFO
wait
