#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer) of every wire decoder and the configuration parser.
#
#   scripts/fuzz.sh                    # CI: 5 s per target from Fuzz/corpus, fails on a crash
#   scripts/fuzz.sh --seconds 600      # longer
#   scripts/fuzz.sh --runs 1000000     # a fixed number of executions per target
#   scripts/fuzz.sh --target config    # one target (binary-batch json-batch update request reply config)
#
# Builds Fuzz/Harness.swift with -sanitize=fuzzer into .build-fuzz (every Swift module is
# instrumented; the harness exists only when MMCD_FUZZ_BUILD is set). A crash leaves its input
# in .build-fuzz/findings/TARGET/crash-* and exits non-zero. New inputs the fuzzer finds go to
# .build-fuzz/findings/TARGET, never into the seed corpus in the repo.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=5
runs=""
targets=(binary-batch json-batch update request reply config)
while (($#)); do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --runs) runs="$2"; shift 2 ;;
        --target) targets=("$2"); shift 2 ;;
        *) echo "usage: $0 [--seconds N | --runs N] [--target NAME]" >&2; exit 2 ;;
    esac
done

MMCD_FUZZ_BUILD=1 swift build -c release --scratch-path .build-fuzz --product mmcd-fuzz \
    -Xswiftc -sanitize=fuzzer >&2
binary=.build-fuzz/release/mmcd-fuzz

for target in "${targets[@]}"; do
    findings=.build-fuzz/findings/$target
    mkdir -p "$findings"
    # The shipped configuration, as it is now, seeds the parser beside the corpus's fragments.
    if [[ $target == config ]]; then cp config/mmcd.toml "$findings/shipped.toml"; fi
    budget=(-max_total_time="$seconds")
    [[ -n "$runs" ]] && budget=(-runs="$runs")
    echo "fuzz: $target" >&2
    # Inputs up to 64 KiB; leaks are not checked (no leak sanitizer in this build).
    MMCD_FUZZ_TARGET=$target "$binary" "${budget[@]}" -max_len=65536 -print_final_stats=1 \
        -artifact_prefix="$findings/" "$findings" "Fuzz/corpus/$target"
done
