#!/usr/bin/env bash
# Remakes the pictures in README.md ("Looking at a run"): runs, in a scratch
# directory, exactly the commands the README shows next to each picture
# (tests/test_cli.py checks that they are the same lines), then copies the pictures here.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ln -s "$PWD/scenarios" "$work/scenarios"
(
cd "$work"
paxsim run scenarios/partition.yaml --trace partition.jsonl
paxsim plot timeline partition.jsonl --to 600ms -o timeline.png

paxsim run scenarios/large.yaml --trace large.jsonl
paxsim run scenarios/large.yaml --seed 2 --trace large-2.jsonl
paxsim plot latency large.jsonl large-2.jsonl --log -o latency.png

for s in 01 02 03 04 05 06 07 08 09 10 11 12; do
  paxsim run scenarios/lossy.yaml --seed ${s#0} --trace lossy-$s.jsonl
  paxsim run scenarios/duel.yaml --seed ${s#0} --trace duel-$s.jsonl
done
paxsim plot decisions lossy-*.jsonl duel-*.jsonl -o decisions.png
) > /dev/null
cp "$work/timeline.png" "$work/latency.png" "$work/decisions.png" docs/img/
# "See and compare runs": the page, screenshotted by headless Chromium (as root it needs --no-sandbox)
paxsim run scenarios/volatile.yaml --html "$work/volatile.html" > /dev/null || true  # it violates on purpose: exit 1
sandbox=$([ "$(id -u)" = 0 ] && echo --no-sandbox || true)
chromium --headless $sandbox --hide-scrollbars --window-size=1400,1250 --screenshot=docs/img/view.png "file://$work/volatile.html#seq=49"
