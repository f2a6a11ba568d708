#!/usr/bin/env bash
# Makes sure RabbitMQ (with its management plugin) and PostgreSQL answer on 127.0.0.1:
# starts them when installed but stopped, installs them from Debian's packages when
# missing (as root), and otherwise says what to do. Safe to run any number of times.
set -euo pipefail

PG_PASSWORD="${PG_PASSWORD:-postgres}"
is_root() { [ "$(id -u)" -eq 0 ]; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {  # port, seconds, what
  for _ in $(seq 1 "$2"); do port_open "$1" && return 0; sleep 1; done
  echo "error: $3 did not start listening on 127.0.0.1:$1 within $2 s" >&2; return 1
}
apt_install() {
  if ! is_root; then
    echo "error: $1 is not installed. Install it with: sudo apt-get install -y $*" >&2; exit 1
  fi
  echo "installing $* from Debian's packages"
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_rabbitmq() {
  if ! port_open 5672; then
    command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
    if ! port_open 5672; then
      echo "starting RabbitMQ"
      if is_root; then rabbitmq-server -detached; else
        echo "error: RabbitMQ is stopped; start it with: sudo rabbitmq-server -detached" >&2; exit 1
      fi
      wait_port 5672 90 RabbitMQ
    fi
  fi
  if ! port_open 15672; then
    # The tests create a virtual host per test through the management API.
    if is_root; then
      rabbitmqctl await_startup >/dev/null 2>&1 || true
      rabbitmq-plugins enable rabbitmq_management >/dev/null
    else
      echo "error: enable the management plugin: sudo rabbitmq-plugins enable rabbitmq_management" >&2; exit 1
    fi
    wait_port 15672 60 "RabbitMQ management"
  fi
  # Runs killed before their clean-up leave virtual hosts whose queues hold the broker's files open.
  python3 "$(dirname "$0")/sweep-vhosts.py" || echo "warning: could not sweep stale virtual hosts" >&2
  echo "RabbitMQ ready on 127.0.0.1:5672 (management on :15672)"
}

ensure_python() {
  # Debian ships python3.11 without venv/ensurepip; the project needs both.
  if ! command -v python3.11 >/dev/null || ! python3.11 -c "import ensurepip, venv" 2>/dev/null; then
    apt_install python3.11 python3.11-venv
  fi
}

pg_ok() { PGPASSWORD="$PG_PASSWORD" psql -h 127.0.0.1 -U postgres -d postgres -tAc "select 1" >/dev/null 2>&1; }

ensure_postgres() {
  if ! command -v psql >/dev/null || ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    if port_open 5432; then command -v psql >/dev/null || apt_install postgresql-client
    else apt_install postgresql postgresql-client; fi
  fi
  if ! port_open 5432; then
    echo "starting PostgreSQL"
    if is_root; then
      for version in $(ls /etc/postgresql); do
        pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
      done
    else
      echo "error: PostgreSQL is stopped; start it with: sudo pg_ctlcluster <version> main start" >&2; exit 1
    fi
    wait_port 5432 60 PostgreSQL
  fi
  if ! pg_ok; then
    # A fresh Debian cluster wants a password over TCP: give the postgres role a known one.
    if is_root && command -v runuser >/dev/null; then
      runuser -u postgres -- psql -qc "ALTER USER postgres PASSWORD '$PG_PASSWORD'" >/dev/null
    fi
    for _ in $(seq 1 20); do pg_ok && break; sleep 1; done
    pg_ok || { echo "error: cannot log in to PostgreSQL as postgres on 127.0.0.1:5432" >&2; exit 1; }
  fi
  echo "PostgreSQL ready on 127.0.0.1:5432"
}

ensure_node() {
  command -v node >/dev/null && command -v npm >/dev/null && return 0
  apt_install nodejs npm
}

ensure_chromium() {
  # The browser tests drive Debian's Chromium (browser downloads fail on these machines).
  command -v chromium >/dev/null || apt_install chromium fonts-noto-core
  echo "Chromium ready: $(command -v chromium)"
}

ensure_pdf() {
  # The printable certificates: WeasyPrint lays them out with Pango in Debian's Noto fonts (every
  # Vietnamese letter); the tests read the PDFs back with poppler's pdftotext and pdftoppm.
  local missing=() package
  for package in libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-core poppler-utils; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
  done
  [ "${#missing[@]}" -eq 0 ] || apt_install "${missing[@]}"
  echo "PDF rendering ready (Pango, Noto fonts, poppler-utils)"
}

for what in "$@"; do "ensure_$what"; done
