#!/usr/bin/env bash
# Rebuilds the README's dashboard screenshots from a real run: the incident of
# tests/fixtures/samples/incident.py in a private network namespace, the release binary in a
# 100x30 tmux window, each view captured with its escapes and turned into SVG. Needs root,
# tmux and python3. Usage: bash assets/screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
netns=sockscope-shots
ip netns del "$netns" 2>/dev/null || true
ip netns add "$netns"
ip netns exec "$netns" ip link set lo up
ip netns exec "$netns" python3 tests/fixtures/samples/incident.py &
load=$!
server=sockscope-shots-$$
cleanup() { tmux -L "$server" kill-server 2>/dev/null || true; kill "$load" 2>/dev/null || true; ip netns del "$netns" 2>/dev/null || true; }
trap cleanup EXIT
sleep 2
tmux -L "$server" -f /dev/null new-session -d -x 100 -y 30 \
    "TERM=xterm-256color ip netns exec $netns ./target/release/sockscope"
sleep 25 # let the history fill
shot() { tmux -L "$server" capture-pane -e -p | python3 assets/ansi2svg.py 100 30 > "assets/dashboard-$1.svg"; }
keys() { for key in "$@"; do tmux -L "$server" send-keys "$key"; sleep 0.4; done; sleep 1.2; }
shot overview
keys 2 Enter; shot listener-details
keys 3; sleep 1.5; keys j j Enter; shot connections
keys 4; shot states
keys 8; shot findings
keys 1 '?'; shot help
keys q
