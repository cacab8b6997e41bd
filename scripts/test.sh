#!/usr/bin/env bash
# Runs every test: installs the system packages, builds, runs the fast set, then the end-to-end
# suites; then builds the Debian package and tests it installed under a real systemd (as root;
# skipped, saying so, where systemd cannot be booted in a namespace).
#
# scripts/test.sh --fast builds and runs the fast set alone (the suites tagged .unit).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
swift build --build-tests
# Swift Testing's tags cannot be selected from `swift test` (its --filter and --skip match
# names), so the suites tagged .endToEnd or .browser carry EndToEnd in their names: those run
# the daemon or mmc as processes, or the daemon in the test process, with deadlines of seconds.
# On two cores the clustering tests can hold every thread of the test process's pool for a
# while, so the two sets run one after the other, not side by side.
swift test --skip-build --skip EndToEnd
[ "${1:-}" = "--fast" ] && exit 0
swift test --skip-build --filter EndToEnd
clients/python/run-tests.sh
# Coverage-guided fuzzing, a short budget per target (a release build of its own, .build-fuzz).
scripts/fuzz.sh --seconds 5
scripts/package.sh
scripts/systemd_test.py
