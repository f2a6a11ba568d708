#!/usr/bin/env bash
# `make run`: migrations, seed data, the services, demo data; then prints where to look.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
API=127.0.0.1:8000
mkdir -p var/log

if (exec 3<>/dev/tcp/127.0.0.1/8000) 2>/dev/null; then
  echo "error: something already listens on $API (an earlier 'make run'?); stop it first" >&2
  exit 1
fi

.venv/bin/alembic -c services/submission/alembic.ini upgrade head
$PY -m submission.cli seed

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

WEB_SERVER_ADDRESS=$API $PY -m chassis.run submission submission.service:SubmissionService \
  >var/log/submission.log 2>&1 &
pids+=($!)
# What another union system would run: a plain pika subscriber for Hà Nội's initiatives.
$PY contracts/examples/subscriber.py --queue demo-subscriber.hn --binding 'initiative.*.HN' \
  >var/log/subscriber-hn.log 2>&1 &
pids+=($!)

ready() { $PY -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" "http://$API/readyz" 2>/dev/null; }
for _ in $(seq 1 60); do ready && break; sleep 0.5; done
ready || { echo "submission did not become ready; see var/log/submission.log" >&2; exit 1; }

$PY scripts/demo_data.py "http://$API"

cat <<INFO

The platform is up (Ctrl-C stops it):
  API                 http://$API/api/v1/units, /api/v1/initiatives (bearer token)
  OpenAPI             http://$API/api/v1/openapi.json
  Metrics / health    http://$API/metrics  http://$API/readyz
  RabbitMQ            http://127.0.0.1:15672 (guest/guest), exchange submission.events
  Logs                var/log/submission.log, var/log/subscriber-hn.log (events a pika subscriber got)
  Databases           var/*.db (set SUBMISSION_DATABASE_URL=postgresql://... for PostgreSQL)
Try it:
  TOKEN=\$(make -s token ROLE=support_team UNIT=HN-KL | tail -1)
  curl -s -H "Authorization: Bearer \$TOKEN" 'http://$API/api/v1/initiatives?unit=HN-KL&limit=5'
INFO
wait "${pids[0]}"
