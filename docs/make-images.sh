#!/usr/bin/env bash
# Remakes the pictures in README.md ("Looking at a run") with the commands it shows.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
paxsim run scenarios/partition.yaml --trace "$work/partition.jsonl" > /dev/null
paxsim plot timeline "$work/partition.jsonl" --to 600ms -o docs/img/timeline.png
paxsim run scenarios/large.yaml --trace "$work/large.jsonl" > /dev/null
paxsim run scenarios/large.yaml --seed 2 --trace "$work/large-2.jsonl" > /dev/null
paxsim plot latency "$work/large.jsonl" "$work/large-2.jsonl" --log -o docs/img/latency.png
for s in 01 02 03 04 05 06 07 08 09 10 11 12; do
  paxsim run scenarios/lossy.yaml --seed ${s#0} --trace "$work/lossy-$s.jsonl" > /dev/null
  paxsim run scenarios/duel.yaml --seed ${s#0} --trace "$work/duel-$s.jsonl" > /dev/null
done
paxsim plot decisions "$work"/lossy-*.jsonl "$work"/duel-*.jsonl -o docs/img/decisions.png
# "See and compare runs": the page, screenshotted by headless Chromium (as root it needs --no-sandbox)
paxsim run scenarios/volatile.yaml --html "$work/volatile.html" > /dev/null || true  # it violates on purpose: exit 1
sandbox=$([ "$(id -u)" = 0 ] && echo --no-sandbox || true)
chromium --headless $sandbox --hide-scrollbars --window-size=1400,1250 --screenshot=docs/img/view.png "file://$work/volatile.html#seq=49"
