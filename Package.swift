// swift-tools-version:6.1

import PackageDescription

let package = Package(
    name: "mmcd",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "MassClustering", targets: ["MassClustering"]),
        .library(name: "ZeroMQ", targets: ["ZeroMQ"]),
        .library(name: "MMCWire", targets: ["MMCWire"]),
        .library(name: "MMCPlot", targets: ["MMCPlot"]),
        .executable(name: "mmc", targets: ["mmc"]),
        .executable(name: "mmcd", targets: ["mmcd"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        // Without its default traits: FullFoundation (URL-encoded forms through Foundation's date
        // formatters, which link ICU) and ConfigurationSupport (swift-configuration), both unused.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
    ],
    targets: [
        // Decimal to binary conversion shared by the data-file parser and the JSON reader.
        .target(name: "MMCDecimal"),

        // Pure core: window, mass-estimation forest, MMC/DMC, id matching. No I/O.
        .target(name: "MassClustering", dependencies: ["MMCDecimal", "CMassKernels"]),
        // The core's distance kernels in C: AVX2 (and FMA) chosen at run time, so one x86-64 binary
        // runs everywhere and uses them where present (Swift compiles for baseline x86-64 only).
        .target(name: "CMassKernels"),

        // libzmq (Debian libzmq3-dev). Headers are on the default include path, so no pkgConfig
        // line (SwiftPM would warn about the -isystem flag it produces).
        .systemLibrary(name: "CZeroMQ", providers: [.apt(["libzmq3-dev"])]),
        // zlib, for reading .gz data files.
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        // Linux calls Glibc does not expose (thread names and priorities, malloc tuning).
        .systemLibrary(name: "CLinuxSupport"),

        // Running work off the async pool, shared by mmc, mmcd and the socket threads of ZeroMQ:
        // dedicated threads with names, stack sizes and priorities, durations in seconds, UTC
        // time stamps (the state file's move-aside names, the daemon's log lines).
        .target(name: "MMCRuntime", dependencies: ["CLinuxSupport"]),

        // Thin Swift wrapper over libzmq: every pointer and errno stays in here.
        .target(name: "ZeroMQ", dependencies: ["CZeroMQ", "MMCRuntime"]),

        // Wire protocol: encoding and total decoding of points and cluster updates. No I/O.
        .target(name: "MMCWire", dependencies: ["MMCDecimal"]),

        // Development tools: seeded generators of benchmark data (the gradient suite, the drifting
        // stream, wire payloads), the wire benchmark and the fuzz targets of `mmc fuzz` and Fuzz/.
        // Not a product, and no shipped library depends on it; `mmc` and the tests do.
        .target(name: "MMCDevTools", dependencies: ["MassClustering", "MMCWire", "MMCConfiguration", "MMCRuntime"]),

        // SVG scatter plots of a clustering (and the principal components they may show). No I/O.
        .target(name: "MMCPlot", dependencies: ["MassClustering"]),

        // The state file format: the snapshot record, its binary codec with CRC32C, atomic file
        // I/O. Shared by the daemon (writes, restores) and `mmc plot` (reads).
        .target(name: "MMCState", dependencies: ["MMCRuntime"]),

        // The daemon's configuration: the TOML file, its keys, ranges, reload plan. TOMLKit and
        // the log level only, so `mmc` can read the [clustering] settings without the server.
        .target(
            name: "MMCConfiguration",
            dependencies: [
                "MassClustering",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]
        ),

        // The daemon: services, metrics, the HTTP server.
        .target(
            name: "MMCDaemon",
            dependencies: [
                "MassClustering", "ZeroMQ", "MMCWire", "MMCPlot", "MMCState", "MMCConfiguration",
                "MMCRuntime",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "mmcd",
            dependencies: [
                "MMCDaemon", "MMCConfiguration", "CLinuxSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "mmc",
            dependencies: [
                // MMCState for `mmc plot` of a state file, MMCConfiguration for the daemon's
                // [clustering] settings; never MMCDaemon (it would pull the HTTP server in).
                "MassClustering", "MMCWire", "ZeroMQ", "CZlib", "MMCPlot", "MMCState",
                "MMCConfiguration", "MMCDevTools", "MMCRuntime", "CLinuxSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // What the test targets share: waiting on conditions, temporary directories, child
        // processes, free ports, the tags. Not a product; only test targets depend on it.
        .target(name: "MMCTestSupport", path: "Tests/MMCTestSupport"),

        .testTarget(name: "MassClusteringTests", dependencies: ["MassClustering", "CMassKernels", "MMCDevTools", "MMCTestSupport"]),
        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ", "MMCTestSupport"]),
        .testTarget(name: "MMCWireTests", dependencies: ["MMCWire", "MMCDevTools", "MMCTestSupport"]),
        .testTarget(name: "MMCPlotTests", dependencies: ["MMCPlot", "MassClustering", "MMCTestSupport"]),
        // `mmc`'s commands: parsed in process (`@testable import mmc`) and run as a process.
        .testTarget(
            name: "mmcTests",
            dependencies: [
                "mmc", "MassClustering", "MMCDevTools", "MMCTestSupport", "MMCWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "MMCDaemonTests",
            dependencies: [
                "MMCDaemon", "MMCState", "MMCConfiguration", "MMCDevTools", "ZeroMQ", "MMCWire", "MassClustering",
                "MMCRuntime", "MMCTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
    ]
)

// libFuzzer harness (Fuzz/), only when scripts/fuzz.sh builds it with -sanitize=fuzzer: it calls
// libFuzzer's driver, which an ordinary build does not link.
if Context.environment["MMCD_FUZZ_BUILD"] != nil {
    package.targets.append(
        .executableTarget(name: "mmcd-fuzz", dependencies: ["MMCWire", "MMCDevTools"], path: "Fuzz", exclude: ["corpus"]))
}

for target in package.targets where target.type != .system && target.name != "CMassKernels" {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    settings.append(.enableUpcomingFeature("InternalImportsByDefault"))
    target.swiftSettings = settings
}
