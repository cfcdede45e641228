#!/usr/bin/env bash
# Makes sure the services the CI half of the suite needs are up on this machine:
# PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379.  Starts a stopped
# one where its server is installed; never fails by itself (the tests that
# need a service report it clearly when it is still unreachable).
set -uo pipefail

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {  # port, name
  for _ in $(seq 1 30); do up "$1" && { echo "$2 is up on 127.0.0.1:$1"; return 0; }; sleep 1; done
  echo "$2 is still not reachable on 127.0.0.1:$1" >&2
}

if ! up 5432 && command -v pg_ctlcluster >/dev/null 2>&1; then
  for version in $(ls /etc/postgresql 2>/dev/null); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
  wait_for 5432 PostgreSQL
fi

if ! up 6379 && command -v redis-server >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || true
  wait_for 6379 Redis
fi
exit 0
