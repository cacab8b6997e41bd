internal import TOMLKit

/// A value from TOML or an override, before it is checked against its key.
enum ConfigurationValue: Equatable {
    case integer(Int)
    case number(Double)
    case boolean(Bool)
    case string(String)
    case list([ConfigurationValue])
    /// A table, or a date or time: never a valid value of any key. Holds its TOML text.
    case other(String)

    init(_ node: any TOMLValueConvertible) {
        switch node.type {
        case .int: self = node.int.map(Self.integer) ?? .other(node.debugDescription)
        case .double: self = node.double.map(Self.number) ?? .other(node.debugDescription)
        case .bool: self = node.bool.map(Self.boolean) ?? .other(node.debugDescription)
        case .string: self = node.string.map(Self.string) ?? .other(node.debugDescription)
        case .array: self = node.array.map { .list($0.map(ConfigurationValue.init)) } ?? .other(node.debugDescription)
        case .table, .date, .time, .dateTime: self = .other(node.debugDescription)
        }
    }

    /// Reads a command-line value the way its key's kind expects it.
    init(override raw: String, kind: ConfigurationKey.Kind) {
        switch kind {
        case .string where !(raw.hasPrefix("\"") || raw.hasPrefix("'")):
            self = .string(raw)
        case .stringList where !raw.hasPrefix("["):
            self = .list(
                raw.split(separator: ",").map { .string($0.trimmingBlanks()) }
                    .filter { $0 != .string("") })
        default:
            let document = try? TOMLTable(string: "v = \(raw)")
            defer { document?.clear() }  // TOMLKit never frees a document; see read(toml:source:)
            if let document, document.count == 1, let node = document["v"] {
                self = ConfigurationValue(node)
            } else {
                self = .string(raw)
            }
        }
    }

    /// The value as TOML, for messages.
    var literal: String {
        switch self {
        case .integer(let value): "\(value)"
        case .number(let value): "\(value)"
        case .boolean(let value): "\(value)"
        case .string(let value): TOMLLiteral.string(value)
        case .list(let items): "[" + items.map(\.literal).joined(separator: ", ") + "]"
        case .other(let text): text
        }
    }
}
