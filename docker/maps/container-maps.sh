#!/bin/sh
# The shipped station's maps for containers: in plc-maps/ every PLC is
# on 127.0.0.1 (lock-sim beside the bridge on one machine); in a compose
# stack lock-sim is another host.  This copies SRC/*.yaml to DST with
#   - every PLC's `host: 127.0.0.1` made `host: HOST` (the ports stay),
#   - the station's `web:` line made LISTEN, with `insecure: true` when
#     LISTEN is not loopback (plain HTTP to the published port; the map
#     refuses that unless it is written down) and /metrics behind a bearer
#     token from $LB_METRICS_TOKEN (a scraper in another container is not
#     on the bridge's loopback, so `access: loopback` would refuse it),
#   - `auth: {anonymous: viewer}` (the demo's dashboard shows without a
#     login; acting still needs one),
#   - with --influx URL, an `influx:` destination (database DB).
# The image runs it at build time for /usr/share/lockbridge/demo/ (the
# compose demo's station); tests/container/test_container.py runs it with
# loopback values to start the image's binaries against it.
#
#   docker/maps/container-maps.sh [--host HOST] [--listen ADDR:PORT]
#       [--influx URL [--database DB]] SRC_DIR DST_DIR
set -eu

host=lock-sim
listen=0.0.0.0:8080
influx=
database=lock
usage() {
    echo "usage: $0 [--host HOST] [--listen ADDR:PORT] [--influx URL [--database DB]] SRC_DIR DST_DIR" >&2
    exit 64
}
while [ $# -gt 0 ]; do
    case $1 in
    --host) [ $# -ge 2 ] || usage; host=$2; shift 2 ;;
    --listen) [ $# -ge 2 ] || usage; listen=$2; shift 2 ;;
    --influx) [ $# -ge 2 ] || usage; influx=$2; shift 2 ;;
    --database) [ $# -ge 2 ] || usage; database=$2; shift 2 ;;
    --) shift; break ;;
    -*) usage ;;
    *) break ;;
    esac
done
[ $# -eq 2 ] || usage
src=$1
dst=$2
[ -f "$src/station.yaml" ] || { echo "$0: no $src/station.yaml" >&2; exit 1; }
# Values go into sed replacements and YAML flow mappings unquoted.
case $host$listen$influx$database in
*[!A-Za-z0-9.:/_\[\]-]*) echo "$0: unexpected character in an option value" >&2; exit 64 ;;
esac
mkdir -p "$dst"

for f in "$src"/*.yaml; do
    name=$(basename "$f")
    [ "$name" = station.yaml ] && continue
    sed "s/^host: 127\.0\.0\.1\$/host: $host/" "$f" >"$dst/$name"
    # A PLC file whose host is not the simulator's loopback would be left
    # pointing somewhere unexpected: refuse instead.
    if grep -q '^host:' "$f" && ! grep -qx "host: $host" "$dst/$name"; then
        echo "$0: $f: no 'host: 127.0.0.1' line to rewrite" >&2
        exit 1
    fi
done

case $listen in
127.*|\[::1\]:*) web="web: {listen: $listen, metrics: {access: token, token_env: LB_METRICS_TOKEN}}" ;;
*) web="web: {listen: $listen, insecure: true, metrics: {access: token, token_env: LB_METRICS_TOKEN}}" ;;
esac
[ "$(grep -c '^web:' "$src/station.yaml")" -eq 1 ] ||
    { echo "$0: $src/station.yaml: expected one 'web:' line" >&2; exit 1; }
{
    echo "# Generated from $src/station.yaml by docker/maps/container-maps.sh"
    echo "# (PLCs on $host, dashboard on $listen): edit that script, not this file."
    sed "s|^web:.*|$web|" "$src/station.yaml"
    echo
    echo "auth: {anonymous: viewer}"
    if [ -n "$influx" ]; then
        echo "influx: {url: \"$influx\", database: $database}"
    fi
} >"$dst/station.yaml"
