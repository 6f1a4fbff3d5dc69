#!/bin/bash
# Applies the official image's environment variables to /etc/cassandra, then runs the command.
set -eo pipefail
if [ "$1" = "cassandra" ]; then
  conf="${CASSANDRA_CONF:-/etc/cassandra}/cassandra.yaml"
  ip() { hostname -i 2>/dev/null | awk '{print $1}'; }
  listen="${CASSANDRA_LISTEN_ADDRESS:-auto}"; [ "$listen" = auto ] && listen=$(ip)
  broadcast="${CASSANDRA_BROADCAST_ADDRESS:-$listen}"; [ "$broadcast" = auto ] && broadcast=$(ip)
  rpc="${CASSANDRA_RPC_ADDRESS:-0.0.0.0}"
  seeds="${CASSANDRA_SEEDS:-$broadcast}"
  set_yaml() {  # key value: replace a top-level `key:` line
    sed -ri "s|^(# )?($1:).*|\\2 $2|" "$conf"
  }
  set_yaml listen_address "$listen"
  set_yaml broadcast_address "$broadcast"
  set_yaml broadcast_rpc_address "$broadcast"
  set_yaml rpc_address "$rpc"
  sed -ri "s|^(\s*- seeds:).*|\\1 \"$seeds\"|" "$conf"
  [ -n "$CASSANDRA_CLUSTER_NAME" ] && set_yaml cluster_name "'$CASSANDRA_CLUSTER_NAME'"
  [ -n "$CASSANDRA_NUM_TOKENS" ] && set_yaml num_tokens "$CASSANDRA_NUM_TOKENS"
  [ -n "$CASSANDRA_ENDPOINT_SNITCH" ] && set_yaml endpoint_snitch "$CASSANDRA_ENDPOINT_SNITCH"
  rackdc="${CASSANDRA_CONF:-/etc/cassandra}/cassandra-rackdc.properties"
  [ -n "$CASSANDRA_DC" ] && sed -ri "s|^dc=.*|dc=$CASSANDRA_DC|" "$rackdc"
  [ -n "$CASSANDRA_RACK" ] && sed -ri "s|^rack=.*|rack=$CASSANDRA_RACK|" "$rackdc"
fi
exec "$@"
