#!/bin/sh
# The image's smoke test (`make image-smoke`): the daily pipeline inside the image with no
# network, as its non-root user, on fresh volumes and a read-only root file system:
# generate -> load -> build (and test) -> publish, a second day through the default command
# (make daily), then the published marts read back.
#
#   deploy/smoke.sh IMAGE
set -eu
image=${1:?usage: deploy/smoke.sh IMAGE}
podman=${PODMAN:-podman --runtime runc}
# the limits podman's defaults exceed in some sandboxes; ample for the job
limits="--ulimit nofile=1024:1024 --ulimit nproc=1024:1024"
tag=elt-smoke-$$
volumes="$tag-data $tag-warehouse $tag-state"
trap '$podman volume rm -f $volumes >/dev/null 2>&1 || true' EXIT
for v in $volumes; do $podman volume create "$v" >/dev/null; done

run() {
  $podman run --rm --network none $limits --read-only --tmpfs /tmp --tmpfs /app/target:U \
    --tmpfs /app/logs:U -v "$tag-data:/data" -v "$tag-warehouse:/warehouse" -v "$tag-state:/state" \
    -e ELT_EMAIL_HASH_KEY=smoke-test-only-email-hash-key-0123456789 "$@"
}

echo "smoke: user $(run "$image" id -un) ($(run "$image" id -u)), network: none"
run -e SCALE=0.002 -e DAYS=3 "$image" make --no-print-directory data load build publish
# the next day through the image's default command (make daily: load, build, publish, report)
run "$image" make --no-print-directory generate
run "$image"
run "$image" elt versions
run "$image" test -s /warehouse/report/monitoring.html
run "$image" python -c '
import duckdb
con = duckdb.connect("/warehouse/published.duckdb", read_only=True)
for mart in ("fct_orders", "fct_order_items", "dim_customer", "rpt_daily_sales"):
    (rows,) = con.execute(f"select count(*) from analytics.{mart}").fetchone()
    assert rows > 0, mart
    print(f"smoke: analytics.{mart}: {rows} rows")
'

# PostgreSQL (SMOKE_POSTGRES=host:port, a server the host reaches, its admin without a
# password): the image's set-up, load, build and publish into a throwaway database
if [ -n "${SMOKE_POSTGRES:-}" ]; then
  db=elt_image_smoke_$$
  pg="--network host -e ELT_TARGET=postgres -e ELT_PG_HOST=${SMOKE_POSTGRES%:*} \
      -e ELT_PG_PORT=${SMOKE_POSTGRES##*:} -e ELT_PG_DATABASE=$db -e ELT_PG_SSLMODE=prefer"
  $podman volume create "$tag-pgdata" >/dev/null
  volumes="$volumes $tag-pgdata"
  pgrun() {
    $podman run --rm $limits $pg -v "$tag-pgdata:/data" \
      -e ELT_EMAIL_HASH_KEY=smoke-test-only-email-hash-key-0123456789 "$@"
  }
  drop() {
    pgrun "$image" python -c "import psycopg2; c = psycopg2.connect(host='${SMOKE_POSTGRES%:*}', \
      port=${SMOKE_POSTGRES##*:}, user='postgres', dbname='postgres'); c.autocommit = True; \
      c.cursor().execute('drop database if exists $db with (force)')"
  }
  trap 'drop; $podman volume rm -f $volumes >/dev/null 2>&1 || true' EXIT
  pgrun -e SCALE=0.002 -e DAYS=3 "$image" make --no-print-directory pg-setup data load build publish
  # what analysts see: the published schema, as the analyst role
  pgrun "$image" python -c "
import psycopg2
con = psycopg2.connect(host='${SMOKE_POSTGRES%:*}', port=${SMOKE_POSTGRES##*:}, user='elt_analyst', dbname='$db')
cur = con.cursor()
cur.execute('select count(*) from analytics.fct_orders')
(rows,) = cur.fetchone()
assert rows > 0
print(f'smoke: PostgreSQL analytics.fct_orders: {rows} rows, read as elt_analyst')
"
  echo "smoke: PostgreSQL $SMOKE_POSTGRES, database $db: published"
fi

# the Airflow image (SMOKE_AIRFLOW_IMAGE): the repository's DAG imports in it, with no network
if [ -n "${SMOKE_AIRFLOW_IMAGE:-}" ]; then
  $podman run --rm --network none $limits --tmpfs /tmp -e AIRFLOW_HOME=/tmp/airflow \
    -e AIRFLOW__CORE__DAGS_FOLDER=/app/orchestration/airflow/dags -e AIRFLOW__CORE__LOAD_EXAMPLES=False \
    -e AIRFLOW__COSMOS__ENABLE_TELEMETRY=False -e DO_NOT_TRACK=1 -e SCARF_ANALYTICS=false \
    "$SMOKE_AIRFLOW_IMAGE" sh -c '
      airflow db migrate > /tmp/migrate.log 2>&1 || { tail -20 /tmp/migrate.log; exit 1; }
      errors=$(airflow dags list-import-errors -o plain 2>/dev/null)
      case "$errors" in *"No data found"*|"") ;; *) echo "$errors"; exit 1 ;; esac
      tasks=$(airflow tasks list elt_warehouse_daily 2>/dev/null | grep -c .)
      [ "$tasks" -gt 10 ] || { echo "the DAG has $tasks tasks"; exit 1; }
      echo "smoke: the Airflow image imports elt_warehouse_daily ($tasks tasks)"'
fi
echo "smoke: passed"
