#!/usr/bin/env bash
# A team deployment on one machine: one store, N app replicas, M engine workers.
#
#   bash scripts/team.sh [--replicas N] [--workers M] [--port FIRST_PORT] [--address ADDRESS]
#                        [--postgres] [--bucket] [--sandbox]
#
#   --postgres   start a PostgreSQL server of our own in $SORA_DATA_DIR/postgres (Debian's package:
#                apt-get install postgresql); without it DATABASE_URL is used (a managed PostgreSQL:
#                postgresql+psycopg://user:password@host/db), else SQLite (one machine only).
#   --bucket     start a local S3-compatible server (moto) and keep media in a bucket there; without
#                it SORA_MEDIA_URL=s3://bucket/prefix (with the usual AWS_* variables and
#                AWS_ENDPOINT_URL for a server that is not AWS) is used, else the data folder's media/.
#   --sandbox    no key: one shared sandbox process stands in for GrsAI (demos); otherwise set
#                GRSAI_API_KEY (and GRSAI_BASE_URL) in the environment or .streamlit/secrets.toml.
#   --address    where the replicas listen (default 127.0.0.1). Anything else needs a login:
#                SORA_TEAM_PASSWORD or an OIDC provider under [auth] in .streamlit/secrets.toml.
#
# Replicas only queue and read (SORA_ENGINE=external); the workers send, follow and copy. Ctrl-C
# (or SIGTERM) stops everything; workers release their leases as they go.
set -euo pipefail
cd "$(dirname "$0")/.."
REPLICAS=2 WORKERS=2 PORT=8501 ADDRESS=127.0.0.1 POSTGRES=0 SANDBOX=0 BUCKET=0
while [ $# -gt 0 ]; do
  case "$1" in
    --replicas) REPLICAS=$2; shift 2 ;;
    --workers) WORKERS=$2; shift 2 ;;
    --port) PORT=$2; shift 2 ;;
    --address) ADDRESS=$2; shift 2 ;;
    --postgres) POSTGRES=1; shift ;;
    --sandbox) SANDBOX=1; shift ;;
    --bucket) BUCKET=1; shift ;;
    *) echo "unknown option $1 (see the top of $0)" >&2; exit 2 ;;
  esac
done
export SORA_DATA_DIR=${SORA_DATA_DIR:-$PWD/data}
mkdir -p "$SORA_DATA_DIR"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
PIDS=()
stop() { for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; wait || true
         if [ "$POSTGRES" = 1 ]; then $AS "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast stop >/dev/null || true; fi; }
trap stop EXIT INT TERM

if [ "$POSTGRES" = 1 ]; then
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -x "$PG_BIN/initdb" ] || { echo "no PostgreSQL server here: apt-get install postgresql" >&2; exit 1; }
  PGDATA=$SORA_DATA_DIR/postgres PGPORT=${PGPORT:-5433}
  AS=""; if [ "$(id -u)" = 0 ]; then AS="runuser -u postgres --"; mkdir -p "$PGDATA"; chown postgres "$PGDATA"; fi
  [ -f "$PGDATA/PG_VERSION" ] || $AS "$PG_BIN/initdb" -D "$PGDATA" -U studio --auth=trust >/dev/null
  $AS "$PG_BIN/pg_ctl" -D "$PGDATA" -o "-p $PGPORT -k /tmp -c listen_addresses=127.0.0.1" -l "$PGDATA/server.log" -w start >/dev/null
  "$PG_BIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U studio studio 2>/dev/null || true
  export DATABASE_URL="postgresql+psycopg://studio@127.0.0.1:$PGPORT/studio"
fi
if [ -z "${DATABASE_URL:-}" ] && [ $((REPLICAS + WORKERS)) -gt 1 ]; then
  echo "note: SQLite in $SORA_DATA_DIR; for replicas on several machines use --postgres or DATABASE_URL" >&2
fi
if [ "$BUCKET" = 1 ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check "moto[server]==5.2.5"
  BUCKET_PORT=$((PORT + 101))
  .venv/bin/moto_server -H 127.0.0.1 -p "$BUCKET_PORT" >"$SORA_DATA_DIR/bucket.log" 2>&1 &
  PIDS+=($!)
  export AWS_ENDPOINT_URL="http://127.0.0.1:$BUCKET_PORT" AWS_ACCESS_KEY_ID=team AWS_SECRET_ACCESS_KEY=team \
    AWS_DEFAULT_REGION=us-east-1 SORA_MEDIA_URL=s3://studio-media/media
  for _ in $(seq 50); do .venv/bin/python -c "import boto3; boto3.client('s3').create_bucket(Bucket='studio-media')" \
    2>/dev/null && break; sleep 0.2; done
fi
if [ "$SANDBOX" = 1 ]; then
  SANDBOX_PORT=$((PORT + 100))
  REFUNDS=()  # the shared sandbox keeps a refusal's credits, as GrsAI does, unless the deployment says otherwise
  case "${GRSAI_REFUNDS_REFUSALS:-}" in 1|true|True|TRUE|yes|on) REFUNDS=(--refunds-refusals) ;; esac
  .venv/bin/python -m sandbox --port "$SANDBOX_PORT" --data-dir "$SORA_DATA_DIR/shared-sandbox" "${REFUNDS[@]}" \
    >"$SORA_DATA_DIR/sandbox.log" 2>&1 &
  PIDS+=($!)
  export GRSAI_BASE_URL="http://127.0.0.1:$SANDBOX_PORT" GRSAI_API_KEY=${GRSAI_API_KEY:-sk-team-sandbox}
fi
.venv/bin/python -m studio.migrate
for n in $(seq 1 "$WORKERS"); do
  .venv/bin/python -m studio.worker >"$SORA_DATA_DIR/worker-$n.log" 2>&1 &
  PIDS+=($!)
done
for n in $(seq 0 $((REPLICAS - 1))); do
  SORA_ENGINE=external .venv/bin/python -m streamlit run app.py --server.address "$ADDRESS" \
    --server.port $((PORT + n)) >"$SORA_DATA_DIR/replica-$n.log" 2>&1 &
  PIDS+=($!)
  echo "replica $n: http://$ADDRESS:$((PORT + n))"
done
echo "$WORKERS worker(s); logs in $SORA_DATA_DIR; Ctrl-C stops everything"
wait
