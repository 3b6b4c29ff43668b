# Shared shell functions for ./up, ./down and ./test: make sure Redis and
# RabbitMQ run (installing them from the distribution's packages when they
# are missing), reusing ones already listening on their standard ports.
# Sourced, not executed.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RUN="$ROOT/deploy/local/run"
mkdir -p "$RUN"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Run as root, or through sudo when available.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root (or sudo) to run: $*"; fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # port seconds what
  local i
  for ((i = 0; i < $2 * 10; i++)); do port_open "$1" && return 0; sleep 0.1; done
  die "$3 did not open port $1 within $2 s"
}

APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null || die "$* missing and this is not a Debian/Ubuntu machine: install it yourself"
  if [ "$APT_UPDATED" = 0 ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_redis() {
  if port_open 6379; then say "Redis: reusing the one on 127.0.0.1:6379"; return; fi
  command -v redis-server >/dev/null || { say "Redis: installing redis-server"; apt_install redis-server; }
  # The package may have started its own service (systemd machines).
  if port_open 6379; then say "Redis: the package's service is running on 127.0.0.1:6379"; return; fi
  say "Redis: starting on 127.0.0.1:6379 (data in $RUN/redis)"
  mkdir -p "$RUN/redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --dir "$RUN/redis" \
    --appendonly yes --pidfile "$RUN/redis.pid" --logfile "$RUN/redis.log"
  wait_port 6379 20 Redis
  echo redis >>"$RUN/started-services"
}

ensure_rabbitmq() {
  if port_open 5672; then say "RabbitMQ: reusing the one on 127.0.0.1:5672"; return; fi
  if ! command -v rabbitmq-server >/dev/null; then
    say "RabbitMQ: installing rabbitmq-server"
    apt_install rabbitmq-server
    # On systemd machines the package starts its own service: give it time.
    local i
    for ((i = 0; i < 300; i++)); do
      if port_open 5672; then say "RabbitMQ: the package's service is running on 127.0.0.1:5672"; return; fi
      [ -d /run/systemd/system ] || break
      sleep 0.1
    done
  fi
  say "RabbitMQ: starting (this takes a few seconds)"
  as_root rabbitmq-server -detached
  wait_port 5672 90 RabbitMQ
  as_root rabbitmqctl await_startup >/dev/null 2>&1 || true
  echo rabbitmq >>"$RUN/started-services"
}

ensure_toolchain() {
  command -v cargo >/dev/null || die "cargo not found: install the Rust toolchain (https://rustup.rs) first"
}

# A master key for the local stack, made once and kept in run/.
ensure_master_key() {
  if [ ! -s "$RUN/master.key" ]; then
    head -c 32 /dev/urandom | base64 >"$RUN/master.key"
    chmod 600 "$RUN/master.key"
  fi
  export BRIDGE_MASTER_KEY_FILE="$RUN/master.key"
}

# Headless Chromium and its WebDriver for the admin-page browser tests
# (tests/e2e/tests/web/browser.rs); Debian's packages, no browser download.
ensure_chromium() {
  if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then return; fi
  say "Chromium: installing chromium and chromium-driver (browser tests)"
  apt_install chromium chromium-driver
}

# Debian's promtool and prometheus binaries, unpacked from the `prometheus`
# package into target/tools/prometheus (usr/bin/{prometheus,promtool})
# WITHOUT installing the package: installing it would start a Prometheus
# service on port 9090, where the simulator listens. Used by deploy/check
# (promtool) and by the e2e test that runs a real Prometheus
# (PROMETHEUS_BIN). Prints nothing on success.
PROMETHEUS_TOOLS="$ROOT/target/tools/prometheus"
ensure_prometheus_tools() {
  local dir="$PROMETHEUS_TOOLS"
  if [ -x "$dir/usr/bin/prometheus" ] && [ -x "$dir/usr/bin/promtool" ]; then return 0; fi
  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null \
    || die "promtool missing and this is not a Debian/Ubuntu machine: put prometheus and promtool into $dir/usr/bin"
  local tmp
  tmp="$(mktemp -d)"
  chmod 755 "$tmp" # lets apt's _apt user write the download (no sandbox warning)
  if ! (cd "$tmp" && apt-get download -q prometheus) >"$tmp/log" 2>&1; then
    # No package lists yet (a fresh machine): fetch them once, then retry.
    if ! { as_root apt-get update -qq && (cd "$tmp" && apt-get download -q prometheus); } >>"$tmp/log" 2>&1; then
      cat "$tmp/log" >&2
      rm -rf "$tmp"
      die "could not download Debian's prometheus package"
    fi
  fi
  local deb
  deb="$(ls "$tmp"/prometheus_*.deb)"
  mkdir -p "$(dirname "$dir")"
  rm -rf "$dir.tmp.$$"
  if ! dpkg-deb -x "$deb" "$dir.tmp.$$" >>"$tmp/log" 2>&1 \
    || [ ! -x "$dir.tmp.$$/usr/bin/promtool" ] || [ ! -x "$dir.tmp.$$/usr/bin/prometheus" ]; then
    cat "$tmp/log" >&2
    rm -rf "$tmp" "$dir.tmp.$$"
    die "unpacking $deb did not give usr/bin/prometheus and usr/bin/promtool"
  fi
  # Another run may have unpacked it meanwhile: keep whichever landed first.
  mv -T "$dir.tmp.$$" "$dir" 2>/dev/null || rm -rf "$dir.tmp.$$"
  rm -rf "$tmp"
}

# cargo-deny, the dependency policy check (deny.toml), at a pinned version
# installed into ~/.cargo/bin with `cargo install --locked` when missing or
# older (a few minutes, once).
CARGO_DENY_VERSION=0.20.2
ensure_cargo_deny() {
  if command -v cargo-deny >/dev/null \
    && [ "$(cargo-deny --version 2>/dev/null | awk '{print $2}')" = "$CARGO_DENY_VERSION" ]; then
    return 0
  fi
  say "cargo-deny: installing $CARGO_DENY_VERSION (cargo install --locked, a few minutes)"
  cargo install --locked "cargo-deny@$CARGO_DENY_VERSION"
}

# `cargo deny check`: licenses, bans and sources always. Advisories need the
# RustSec database, a git repository on GitHub: when it cannot be fetched
# (a machine that reaches only package registries) the check is skipped
# with a banner that cannot be missed, never passed silently; with
# CARGO_DENY_ADVISORIES=require an unreachable database fails the run.
cargo_deny_check() {
  cargo deny check licenses bans sources
  local log
  log="$(mktemp)"
  if cargo deny --log-level error fetch db >"$log" 2>&1; then
    rm -f "$log"
    cargo deny --log-level error check advisories
    return
  fi
  printf '\033[1;31m' >&2
  printf '%s\n' \
    '######################################################################' \
    '#  ADVISORIES NOT CHECKED: the RustSec advisory database could not   #' \
    '#  be fetched (no network to github.com?). Licenses, bans and        #' \
    '#  sources were checked; known vulnerabilities were NOT.             #' \
    '#  Run: cargo deny check advisories, where GitHub is reachable.      #' \
    '######################################################################' >&2
  printf '\033[0m' >&2
  sed 's/^/  cargo deny fetch: /' "$log" | tail -n 5 >&2
  rm -f "$log"
  if [ "${CARGO_DENY_ADVISORIES:-}" = require ]; then
    die "CARGO_DENY_ADVISORIES=require and the advisory database is unreachable"
  fi
}
