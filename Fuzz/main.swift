import Foundation
import MMCDevTools
import MMCWire

// libFuzzer entry points over the targets `mmc fuzz` runs: every wire decoder and the
// configuration parser. Built by scripts/fuzz.sh only (an executable target that exists when
// MMCD_FUZZ_BUILD is set, compiled with -sanitize=fuzzer); never part of a shipped product.
//
// MMCD_FUZZ_TARGET names the target; each input must decode (and survive the target's round
// trip) or be refused with an error. A broken property traps, which libFuzzer reports as a
// crash and saves the input of.

/// The target `MMCD_FUZZ_TARGET` names.
enum Fuzz {
    /// Every target, by `mmc fuzz` name.
    static let targets = FuzzTarget.wireTargets + [FuzzTarget.configuration]

    static let selected: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["MMCD_FUZZ_TARGET"] ?? ""
        guard let target = targets.first(where: { $0.name == name }) else {
            fatalError("set MMCD_FUZZ_TARGET to one of \(targets.map(\.name).joined(separator: ", ")), got \"\(name)\"")
        }
        return target
    }()
}

/// One input: a trap when the target reports a broken property.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = size == 0 || data == nil ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    if case .failed(let property) = Fuzz.selected.check(input) {
        fatalError("\(Fuzz.selected.name): \(property)")
    }
    return 0
}

/// libFuzzer's driver (compiler-rt, linked by -sanitize=fuzzer). SwiftPM gives an executable its
/// own `main`, so libFuzzer's is not linked and this one calls the driver itself. Pointer and
/// integer arguments are passed alike by the Swift and C conventions on the platforms built for.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ test: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

// With MMCD_FUZZ_WRITE_CORPUS=DIR, write the target's seed inputs to DIR (this is how
// Fuzz/corpus/ was made); otherwise fuzz.
if let directory = ProcessInfo.processInfo.environment["MMCD_FUZZ_WRITE_CORPUS"] {
    for (index, input) in Fuzz.selected.corpus.enumerated() {
        _ = FileManager.default.createFile(atPath: "\(directory)/seed-\(index)", contents: Data(input))
    }
    exit(0)
}
_ = Fuzz.selected
var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(runFuzzerDriver(&argc, &argv, fuzzOneInput))
