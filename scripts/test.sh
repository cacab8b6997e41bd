#!/usr/bin/env bash
# Runs every test: installs the system packages, builds, then runs the whole test suite; then
# builds the Debian package and tests it installed under a real systemd (as root; skipped, saying
# so, where systemd cannot be booted in a namespace).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
swift build --build-tests
swift test --skip-build
clients/python/run-tests.sh
# Coverage-guided fuzzing, a short budget per target (a release build of its own, .build-fuzz).
scripts/fuzz.sh --seconds 5
scripts/package.sh
scripts/systemd_test.py
