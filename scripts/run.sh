#!/usr/bin/env bash
# `make run`: migrations, seed data, the services, demo data; then prints where to look.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORTAL=127.0.0.1:8080     # the one address people open: pages, login, and the whole /api/v1
IDP=127.0.0.1:9400        # the local OpenID Connect provider with the demo logins
API=127.0.0.1:8000
REVIEW=127.0.0.1:8001     # catch-all review: every top-level unit without its own deployment
REVIEW_HN=127.0.0.1:8002  # review-hn: Hà Nội's own deployment
AWARDS=127.0.0.1:8003
NOTIFY=127.0.0.1:8004
SMTP_SINK=127.0.0.1:8025    # a local mail sink: every e-mail notify sends lands in var/mail
WEBHOOK_SINK=127.0.0.1:8027 # a union system's webhook receiver, verifying signatures
WEBHOOK_SECRET=demo-webhook-secret-0123456789
DEDICATED=HN
mkdir -p var/log

for port in 8080 9400 8000 8001 8002 8003 8004 8025 8027; do
  if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
    echo "error: something already listens on 127.0.0.1:$port (an earlier 'make run'?); stop it first" >&2
    exit 1
  fi
done

.venv/bin/alembic -c services/submission/alembic.ini upgrade head
.venv/bin/alembic -c services/review/alembic.ini upgrade head
UNIT=HN .venv/bin/alembic -c services/review/alembic.ini upgrade head
.venv/bin/alembic -c services/awards/alembic.ini upgrade head
.venv/bin/alembic -c services/notify/alembic.ini upgrade head
.venv/bin/alembic -c services/portal/alembic.ini upgrade head

# Development mode: make run only. The services verify the portal's RS256 tokens through its
# JWKS, and still accept `make token`'s development tokens.
export PLATFORM_MODE=development
export JWT_JWKS_URL=http://$PORTAL/.well-known/jwks.json

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

IDP_PORT=${IDP#*:} IDP_ISSUER=http://$IDP PORTAL_REDIRECT_URIS=http://$PORTAL/auth/callback \
  PORTAL_POST_LOGOUT_REDIRECT_URIS=http://$PORTAL/ node services/portal/idp/server.mjs >var/log/idp.log 2>&1 &
pids+=($!)
PORTAL_PUBLIC_URL=http://$PORTAL OIDC_ISSUER=http://$IDP UPSTREAM_SUBMISSION=http://$API \
  UPSTREAM_REVIEW="HN=http://$REVIEW_HN,*=http://$REVIEW" UPSTREAM_AWARDS=http://$AWARDS UPSTREAM_NOTIFY=http://$NOTIFY \
  WEB_SERVER_ADDRESS=$PORTAL $PY -m chassis.run portal portal.service:PortalService >var/log/portal.log 2>&1 &
pids+=($!)

WEB_SERVER_ADDRESS=$API $PY -m chassis.run submission submission.service:SubmissionService \
  >var/log/submission.log 2>&1 &
pids+=($!)
UNITS='*' UNITS_EXCLUDE=$DEDICATED WEB_SERVER_ADDRESS=$REVIEW \
  $PY -m chassis.run review review.service:ReviewService >var/log/review.log 2>&1 &
pids+=($!)
UNIT=HN WEB_SERVER_ADDRESS=$REVIEW_HN \
  $PY -m chassis.run review review.service:ReviewService >var/log/review-hn.log 2>&1 &
pids+=($!)
WEB_SERVER_ADDRESS=$AWARDS $PY -m chassis.run awards awards.service:AwardsService >var/log/awards.log 2>&1 &
pids+=($!)
mkdir -p var/mail
$PY -m aiosmtpd -n -l $SMTP_SINK -c aiosmtpd.handlers.Mailbox var/mail/demo >var/log/smtp-sink.log 2>&1 &
pids+=($!)
$PY scripts/webhook_sink.py ${WEBHOOK_SINK#*:} $WEBHOOK_SECRET >var/log/webhook-sink.log 2>&1 &
pids+=($!)
# The demo's webhook subscriber listens on loopback: allowed here only (WEBHOOK_ALLOW_PRIVATE).
SMTP_HOST=${SMTP_SINK%:*} SMTP_PORT=${SMTP_SINK#*:} AWARDS_API_URL=http://$AWARDS WEBHOOK_ALLOW_PRIVATE=on \
  SERVICE_TOKEN_URL=http://$PORTAL/oauth/token SERVICE_CLIENT_ID=notify \
  SERVICE_CLIENT_SECRET=notify-dev-client-secret-0123456789 \
  WEB_SERVER_ADDRESS=$NOTIFY $PY -m chassis.run notify notify.service:NotifyService >var/log/notify.log 2>&1 &
pids+=($!)
# What another union system would run: a plain pika subscriber for Hà Nội's initiatives.
$PY contracts/examples/subscriber.py --queue demo-subscriber.hn --binding 'initiative.*.HN' \
  >var/log/subscriber-hn.log 2>&1 &
pids+=($!)

ready() { $PY -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" "http://$1/readyz" 2>/dev/null; }
for service in "portal $PORTAL" "submission $API" "review $REVIEW" "review-hn $REVIEW_HN" "awards $AWARDS" "notify $NOTIFY"; do
  set -- $service
  for _ in $(seq 1 60); do ready "$2" && break; sleep 0.5; done
  ready "$2" || { echo "$1 did not become ready; see var/log/$1.log" >&2; exit 1; }
done

# Seeded once the consumers' queues exist: the registry and targets reach awards as events.
$PY -m submission.cli seed
$PY scripts/demo_notify.py "http://$NOTIFY" "http://$WEBHOOK_SINK/hooks/sangkien" $WEBHOOK_SECRET
$PY scripts/demo_data.py "http://$API"
$PY scripts/demo_review.py "http://$REVIEW_HN" "http://$REVIEW"
$PY scripts/demo_awards.py "http://$AWARDS"
UPSTREAM_SUBMISSION=http://$API $PY -m portal.cli demo

cat <<INFO

================================================================================
  Open http://$PORTAL/  — the portal: log in, submit, follow, rankings, API docs
================================================================================
  Demo logins (password for all: sangkien), at the local OpenID provider http://$IDP:
    member     a member of CĐCS HN-KL-C001         support    Hà Nội KL's support team
    reviewer   reviewer of HN-KL-C001              council    reviewer, council chair of HN-KL and Hà Nội
    council2   council member of HN-KL             council3   council member of HN-KL
    unitadmin  unit admin of Hà Nội                national   national admin (VGCL)
    operator   operator                            newcomer   nobody yet: joins a union
  The whole API through the portal:  http://$PORTAL/api/v1/...  (docs: http://$PORTAL/api/docs)
  Machine clients:  curl -u demo-union-system:demo-client-secret-0123456789 \\
                      -d grant_type=client_credentials http://$PORTAL/oauth/token

The services' own ports, for operators (Ctrl-C stops everything):
  Submission API      http://$API/api/v1/units, /api/v1/initiatives (bearer token)
  Review, Hà Nội      http://$REVIEW_HN/api/v1/reviews   (review-hn: binds only *.HN routing keys)
  Review, other units http://$REVIEW/api/v1/reviews      (catch-all: every unit but $DEDICATED)
  Awards              http://$AWARDS/api/v1/rankings?programme=LDST2026, /api/v1/standings/HN?programme=LDST2026,
                      /api/v1/ledger (bearer token)
  Notify              http://$NOTIFY/api/v1/inbox (the caller's messages), /api/v1/webhooks, /api/v1/deliveries
  E-mail sink         smtp://$SMTP_SINK -> var/mail/demo (Maildir: one file per message in new/)
  Webhook subscriber  http://$WEBHOOK_SINK -> var/log/webhook-sink.log (each delivery, signature verified)
  OpenAPI             http://$API/api/v1/openapi.json  http://$REVIEW/api/v1/openapi.json
  Metrics / health    http://$API/metrics  http://$REVIEW_HN/metrics  http://$REVIEW/readyz
  RabbitMQ            http://127.0.0.1:15672 (guest/guest), exchanges submission.events, review.events;
                      queues review-hn.initiative.* and review.initiative.* show the split
  Logs                var/log/{portal,idp,submission,review,review-hn,awards,notify,subscriber-hn}.log
  Databases           var/{portal,submission,review,review-hn,awards,notify}.db (or <SERVICE>_DATABASE_URL)
Try the API through the portal (make token signs with the portal's development key):
  TOKEN=\$(make -s token ROLE=member UNIT=HN-KL-C001 SUB=dv-hn-kl-c001-01 | tail -1)
  curl -s -H "Authorization: Bearer \$TOKEN" 'http://$PORTAL/api/v1/inbox'
  TOKEN=\$(make -s token ROLE=national_admin UNIT=VGCL | tail -1)
  curl -s -H "Authorization: Bearer \$TOKEN" 'http://$PORTAL/api/v1/rankings?programme=LDST2026'
  TOKEN=\$(make -s token ROLE=reviewer UNIT=HN-KL-C001 | tail -1)
  curl -s -H "Authorization: Bearer \$TOKEN" 'http://$PORTAL/api/v1/reviews?status=all'
  TOKEN=\$(make -s token ROLE=support_team UNIT=HN-KL | tail -1)
  curl -s -H "Authorization: Bearer \$TOKEN" 'http://$PORTAL/api/v1/initiatives?unit=HN-KL&limit=5'
INFO
wait "${pids[1]}"  # the portal
