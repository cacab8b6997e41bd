#!/usr/bin/env bash
# Runs every test: installs the system packages, builds, then runs the whole test suite; then
# builds the Debian package and tests it installed under a real systemd (as root; skipped, saying
# so, where systemd cannot be booted in a namespace).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
swift build --build-tests
# The suites that run the daemon (as a process or in the test process) wait on deadlines; on two
# cores the clustering suites' CPU-bound tests can hold every thread of the test process's pool
# for a minute, so the two sets run one after the other, not side by side.
daemon_suites="EndToEndTests|DaemonRuntimeTests|LivePageBrowserTests|PlotCommandTests"
swift test --skip-build --skip "$daemon_suites"
swift test --skip-build --filter "$daemon_suites"
clients/python/run-tests.sh
# Coverage-guided fuzzing, a short budget per target (a release build of its own, .build-fuzz).
scripts/fuzz.sh --seconds 5
scripts/package.sh
scripts/systemd_test.py
