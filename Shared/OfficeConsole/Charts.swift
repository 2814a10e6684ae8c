import Foundation

/// Charts drawn on the server as SVG (no script, no inline style: the page's CSP allows neither).
/// Every label is escaped; every number is computed here.
public enum Charts {
    public struct Bar: Sendable {
        public var label: String
        public var values: [Int]
        public init(label: String, values: [Int]) {
            self.label = label
            self.values = values
        }
    }

    /// Roughly how wide `text` is at 11 px.
    static func textWidth(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { $0 + ($1.isASCII ? 7 : 12) }
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// Horizontal bars, one per label (one series), with the value written beside each bar.
    public static func horizontalBars(_ bars: [Bar], title: String) -> String {
        let rowHeight = 26, barWidth = 360
        // Room for the longest label at the charts' 11 px font (CJK characters about twice as wide).
        let labelWidth = min(420, max(120, 16 + (bars.map { textWidth($0.label) }.max() ?? 0)))
        let width = labelWidth + barWidth + 60
        let height = max(1, bars.count) * rowHeight + 10
        let maximum = max(1, bars.map { $0.values.first ?? 0 }.max() ?? 1)
        var svg = #"<svg class="chart" role="img" aria-label="\#(escape(title))" viewBox="0 0 \#(width) \#(height)" width="\#(width)" height="\#(height)" xmlns="http://www.w3.org/2000/svg"><title>\#(escape(title))</title>"#
        for (index, bar) in bars.enumerated() {
            let value = bar.values.first ?? 0
            let y = 5 + index * rowHeight
            let length = value == 0 ? 0 : max(2, value * barWidth / maximum)
            svg += #"<text x="\#(labelWidth - 8)" y="\#(y + 17)" text-anchor="end" class="label">\#(escape(bar.label))</text>"#
            svg += #"<rect x="\#(labelWidth)" y="\#(y + 3)" width="\#(length)" height="\#(rowHeight - 8)" class="series0"/>"#
            svg += #"<text x="\#(labelWidth + length + 6)" y="\#(y + 17)" class="value">\#(value)</text>"#
        }
        return svg + "</svg>"
    }

    /// Vertical bars grouped by label (one bar per series), with a legend; the labels are dates
    /// or bins, written under every `labelEvery`-th group.
    public static func groupedColumns(_ bars: [Bar], series: [String], title: String, labelEvery: Int = 1) -> String {
        let groupWidth = max(12, min(48, 640 / max(1, bars.count)))
        let plotHeight = 160, left = 40, top = 24
        let width = left + bars.count * groupWidth + 10, height = top + plotHeight + 40
        let maximum = max(1, bars.flatMap(\.values).max() ?? 1)
        var svg = #"<svg class="chart" role="img" aria-label="\#(escape(title))" viewBox="0 0 \#(width) \#(height)" width="\#(width)" height="\#(height)" xmlns="http://www.w3.org/2000/svg"><title>\#(escape(title))</title>"#
        // Axis: zero and the maximum.
        svg += #"<line x1="\#(left)" y1="\#(top + plotHeight)" x2="\#(width - 5)" y2="\#(top + plotHeight)" class="axis"/>"#
        svg += #"<text x="\#(left - 4)" y="\#(top + plotHeight)" text-anchor="end" class="value">0</text>"#
        svg += #"<text x="\#(left - 4)" y="\#(top + 8)" text-anchor="end" class="value">\#(maximum)</text>"#
        for (s, name) in series.enumerated() {
            svg += #"<rect x="\#(left + s * 110)" y="4" width="12" height="12" class="series\#(s)"/>"#
            svg += #"<text x="\#(left + s * 110 + 16)" y="14" class="label">\#(escape(name))</text>"#
        }
        let barWidth = max(3, (groupWidth - 4) / max(1, series.count))
        for (index, bar) in bars.enumerated() {
            let x0 = left + index * groupWidth + 2
            for (s, value) in bar.values.enumerated() {
                let h = value * plotHeight / maximum
                svg += #"<rect x="\#(x0 + s * barWidth)" y="\#(top + plotHeight - h)" width="\#(barWidth - 1)" height="\#(h)" class="series\#(s)"><title>\#(escape(bar.label)) \#(escape(series[safe: s] ?? "")): \#(value)</title></rect>"#
            }
            if index % max(1, labelEvery) == 0 {
                svg += #"<text x="\#(x0)" y="\#(top + plotHeight + 16)" class="tick">\#(escape(bar.label))</text>"#
            }
        }
        return svg + "</svg>"
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
