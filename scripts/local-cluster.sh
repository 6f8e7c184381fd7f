#!/usr/bin/env bash
# A production-shaped cluster on this machine, in one command: Redis and PostgreSQL from Debian's packages on
# loopback (installed when missing), N silos and the API as an Orleans client. Ctrl-C (or SIGTERM) stops
# everything it started. Data lives in .local-cluster/ and survives a restart of the script; remove it to start clean.
#
#   scripts/local-cluster.sh [silos=3]
#
# Ports: Redis 6390, PostgreSQL 5440, silos 11111.. (gateways 30000..), API 5080. Override with REDIS_PORT,
# PG_PORT, API_PORT.
set -euo pipefail
cd "$(dirname "$0")/.."

silos=${1:-3}
redis_port=${REDIS_PORT:-6390}
pg_port=${PG_PORT:-5440}
api_port=${API_PORT:-5080}
work=$PWD/.local-cluster
mkdir -p "$work/logs"
pids=()      # Redis and PostgreSQL: stopped last
app_pids=()  # silos and the API: stopped first, while their stores are still up

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
  stop_all "${app_pids[@]}"
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
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work/redis" --appendonly yes --save "" >"$work/logs/redis.log" 2>&1 &
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
run_pg "$pg_bin/postgres" -D "$work/pg" -p "$pg_port" -k "$work/pg" -c listen_addresses=127.0.0.1 -c max_connections="$max_connections" >"$work/logs/postgres.log" 2>&1 &
pids+=($!)

listening() { (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; }
for _ in $(seq 150); do listening "$pg_port" && listening "$redis_port" && break; sleep 0.1; done
listening "$redis_port" || { echo "Redis did not start on $redis_port; see $work/logs/redis.log" >&2; exit 1; }
listening "$pg_port" || { echo "PostgreSQL did not start on $pg_port; see $work/logs/postgres.log" >&2; exit 1; }

echo "building (Release)"
dotnet build -c Release Monitoring.sln -v q -nologo >"$work/logs/build.log" || { cat "$work/logs/build.log"; exit 1; }

export ConnectionStrings__Redis="127.0.0.1:$redis_port"
export ConnectionStrings__Postgres="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=postgres"
export Orleans__ServiceId=mcp-alerting Orleans__ClusterId=local
export Outbound__AllowLoopback=true # a cluster on one machine: receivers and MCP servers are on loopback too

dotnet src/Silo/bin/Release/net10.0/Monitoring.Silo.dll migrate
for i in $(seq 0 $((silos - 1))); do
  Orleans__SiloPort=$((11111 + i)) Orleans__GatewayPort=$((30000 + i)) \
    dotnet src/Silo/bin/Release/net10.0/Monitoring.Silo.dll --urls "http://127.0.0.1:$((8081 + i))" >"$work/logs/silo$i.log" 2>&1 &
  app_pids+=($!)
done
# Production demands API keys: one admin key for this run, given to the API as its hash.
admin_key="mcpk_$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')_$(head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
Auth__Keys__0__Name=local-admin Auth__Keys__0__Role=Admin Auth__Keys__0__Hash="sha256:$(printf %s "$admin_key" | sha256sum | cut -d' ' -f1)" \
  dotnet src/Api/bin/Release/net10.0/Monitoring.Api.dll --urls "http://127.0.0.1:$api_port" >"$work/logs/api.log" 2>&1 &
app_pids+=($!)

for _ in $(seq 120); do curl -sf "http://127.0.0.1:$api_port/health" >/dev/null 2>&1 && break; sleep 0.5; done

cat <<INFO

  API          http://127.0.0.1:$api_port   (try: curl -H "Authorization: Bearer $admin_key" http://127.0.0.1:$api_port/api/cluster)
  admin key    $admin_key   (this run only)
  silos        $silos, ports 11111..$((11110 + silos)), gateways 30000..$((29999 + silos)), /metrics and /health on 8081..$((8080 + silos))
  Redis        127.0.0.1:$redis_port   (membership, reminders; AOF in $work/redis)
  PostgreSQL   127.0.0.1:$pg_port user postgres, schema mcp_alerting   (data in $work/pg)
  logs         $work/logs/

  Ctrl-C stops everything.
INFO
wait
