import Foundation
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

/// An SVG document parsed with Foundation's `XMLParser`: every element with its attributes,
/// text and the classes of its ancestors. Parsing fails the test when the document is not
/// well-formed XML.
final class SVGDocument: NSObject, XMLParserDelegate {
    struct Element {
        let name: String
        let attributes: [String: String]
        /// The `class` attribute of every ancestor, outermost first.
        let ancestorClasses: [String]
        var text = ""

        /// The nearest ancestor's `data-cluster` value.
        var cluster: String?
    }

    private(set) var elements: [Element] = []
    private var stack: [Int] = []
    private var parseError: (any Error)?

    init(_ svg: String) throws {
        super.init()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = self
        guard parser.parse() else {
            throw SVGDocumentError(
                description: "not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "unknown error") "
                    + "at line \(parser.lineNumber), column \(parser.columnNumber)")
        }
    }

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        let parents = stack.map { elements[$0] }
        var element = Element(
            name: elementName, attributes: attributes, ancestorClasses: parents.compactMap { $0.attributes["class"] })
        element.cluster = parents.last { $0.attributes["data-cluster"] != nil }?.attributes["data-cluster"]
        elements.append(element)
        stack.append(elements.count - 1)
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        stack.removeLast()
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if let current = stack.last { elements[current].text += string }
    }

    /// Elements named `name` inside an element of class `ancestorClass`.
    func elements(_ name: String, inside ancestorClass: String) -> [Element] {
        elements.filter { $0.name == name && $0.ancestorClasses.contains(ancestorClass) }
    }

    /// Elements whose own class is `className`.
    func elements(ofClass className: String) -> [Element] {
        elements.filter { $0.attributes["class"] == className }
    }
}

struct SVGDocumentError: Error, CustomStringConvertible {
    let description: String
}
