#!/usr/bin/env bash
# Rebuilds the default bundle that ships with vigil (models/bundles/default): trained on two days of the bank
# simulator's benign traffic (seed 101, 5,000 customers, 250,000 requests), seeded, with the detector's own parsing
# and feature code. Run it
# (npm run bundle:default) whenever the feature schema changes: the detector refuses a bundle of another schema,
# and the CLI tests check the shipped one against the current schema.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export VIGIL_PEPPER__SECRET=vigil-default-bundle-pepper-not-a-secret-0123
node "$root/services/cli/dist/bin.js" simulate --format kong --out "$work/normal.jsonl" --events 250000 --seed 101 --customers 5000 --credentials claims
rm -rf "$root/models/bundles/default"
node "$root/services/cli/dist/bin.js" train --format kong --input "$work/normal.jsonl" --out "$root/models/bundles/default" --seed 0
