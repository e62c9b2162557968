#!/usr/bin/env bash
# Makes sure what `make run` and `make test` need is on the machine:
#   deploy/prereqs.sh postgres           PostgreSQL's server binaries (initdb, pg_ctl) and pg_trgm
#   deploy/prereqs.sh postgres engines   …and a JDK and Maven for Kafka and Elasticsearch (deploy/engines)
# What is missing is installed from Debian's packages when this runs as root on
# a Debian/Ubuntu machine (as CI and the project's machines do); anywhere else
# it stops and says what to install. Nothing is done when everything is there.
set -euo pipefail

missing=() packages=()
for want in "$@"; do
  case $want in
  postgres)
    if ! command -v initdb >/dev/null 2>&1 && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
      missing+=("PostgreSQL server (initdb, pg_ctl)"); packages+=(postgresql postgresql-contrib)
    fi ;;
  engines)
    if ! command -v java >/dev/null 2>&1 || ! command -v javac >/dev/null 2>&1; then
      missing+=("a JDK (17 or newer)"); packages+=(openjdk-17-jdk-headless)
    fi
    if ! command -v mvn >/dev/null 2>&1; then
      missing+=("Maven"); packages+=(maven)
    fi ;;
  *) echo "prereqs: unknown part $want (postgres, engines)" >&2; exit 2 ;;
  esac
done
[ ${#packages[@]} -eq 0 ] && exit 0
what=$(IFS=,; echo "${missing[*]}"); what=${what//,/, }

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "prereqs: installing $what: apt-get install ${packages[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq "${packages[@]}" >/dev/null
  exit 0
fi
echo "prereqs: missing $what." >&2
echo "  Debian/Ubuntu: sudo apt-get install ${packages[*]}" >&2
echo "  macOS: brew install postgresql@16 openjdk@17 maven" >&2
exit 1
