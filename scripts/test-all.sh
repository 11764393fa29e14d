#!/usr/bin/env bash
# The whole test suite on a fresh machine (`npm run test:all`, what CI runs): installs the Debian
# packages the tests use as tools and oracles when they are missing, starts PostgreSQL and Redis
# when they are down, installs the npm dependencies when node_modules is not what package-lock.json
# says, checks format, lint (Biome) and types (tsc), then runs `npm test`. On a machine already set
# up, `npm test` alone runs the suite. Nothing is skipped: a tool that cannot be installed stops
# this script, and a test whose tool is missing fails naming it.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

log "system packages"
missing=()
# docker, skopeo and podman drive the end-to-end tests; docker-compose checks the compose file;
# rpm, go, zstd and Debian's python3-packaging are the scanner tests' oracles and image builders;
# ruby (gem, bundler) and php-cli with composer are the oracles of the Ruby and PHP parsers and orders;
# chromium runs the web console's pages (playwright-core drives it).
for tool in dockerd:docker.io skopeo:skopeo podman:podman docker-compose:docker-compose \
  pg_isready:postgresql-client redis-server:redis-server rpm:rpm go:golang-go zstd:zstd \
  gem:ruby php:php-cli composer:composer chromium:chromium; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool##*:}")
done
/usr/bin/python3 -c 'import packaging' >/dev/null 2>&1 || missing+=(python3-packaging)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing: ${missing[*]}; install them (apt-get install ${missing[*]}) or run this as root" >&2
    exit 1
  fi
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

log "PostgreSQL"
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  echo "PostgreSQL is down: starting it"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432

log "Redis"
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "Redis is down: starting it"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
fi
redis-cli -h 127.0.0.1 -p 6379 ping

log "npm dependencies"
# npm keeps what it installed in node_modules/.package-lock.json: older than the lock file (or
# absent), node_modules is reinstalled exactly as the lock file says.
if [ ! node_modules/.package-lock.json -nt package-lock.json ] || [ ! node_modules/.package-lock.json -nt package.json ]; then
  npm ci --no-audit --no-fund
else
  echo "node_modules is up to date"
fi

log "format and lint (biome), types (tsc)"
npm run lint
npm run typecheck

log "tests: npm test"
mkdir -p .tmp
npm test
