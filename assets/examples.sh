#!/usr/bin/env bash
# Rebuilds assets/report-example.txt and assets/check-example.txt from a real run: the scenario of
# assets/example-scenario.py in a private network namespace with net.core.somaxconn = 128, then
# `sockscope report --interval 1s` and `sockscope check --interval 1s` of the release binary in
# that namespace. Needs root and python3. Usage: bash assets/examples.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
netns=sockscope-example
ip netns del "$netns" 2>/dev/null || true
ip netns add "$netns"
ip netns exec "$netns" ip link set lo up
ip netns exec "$netns" sysctl -qw net.core.somaxconn=128
coproc scenario { exec ip netns exec "$netns" python3 assets/example-scenario.py; }
cleanup() { kill "$scenario_PID" 2>/dev/null || true; ip netns del "$netns" 2>/dev/null || true; }
trap cleanup EXIT
read -r ready <&"${scenario[0]}"
[ "$ready" = READY ] || { echo "the scenario did not start" >&2; exit 1; }
sleep 3 # let the clients past the queue retry their SYNs, so drops move
ip netns exec "$netns" ./target/release/sockscope report --interval 1s > assets/report-example.txt
ip netns exec "$netns" ./target/release/sockscope check --interval 1s > assets/check-example.txt || true
