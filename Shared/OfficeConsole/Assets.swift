import Crypto
import Foundation

/// The console's static files: served under names that carry a hash of their content, so a
/// browser may keep them for a year and a new version is a new name.
public struct Assets: Sendable {
    public struct File: Sendable {
        public var name: String
        public var contentType: String
        public var body: String
    }

    /// By hashed name (`console.3f2a9c1e0b7d.css`).
    public let files: [String: File]
    /// Hashed name by plain name (`console.css` -> ...), for the templates.
    public let names: [String: String]

    public init(_ sources: [(name: String, contentType: String, body: String)] = Assets.sources) {
        var files: [String: File] = [:]
        var names: [String: String] = [:]
        for source in sources {
            let digest = SHA256.hash(data: Data(source.body.utf8)).prefix(6).map { String(format: "%02x", $0) }.joined()
            let dot = source.name.lastIndex(of: ".")!
            let hashed = "\(source.name[..<dot]).\(digest)\(source.name[dot...])"
            files[hashed] = File(name: hashed, contentType: source.contentType, body: source.body)
            names[source.name] = hashed
        }
        self.files = files
        self.names = names
    }

    public static let sources: [(name: String, contentType: String, body: String)] = [
        ("console.css", "text/css; charset=utf-8", css),
        ("console.js", "text/javascript; charset=utf-8", javascript),
    ]

    static let css = #"""
        :root { --ink: #1b1f24; --muted: #4a5560; --line: #c9d1d9; --accent: #0b5cad; --bad: #a4161a; --good: #1a6b2f; --warn: #8a5a00; --paper: #ffffff; --band: #eef2f6; }
        * { box-sizing: border-box; }
        body { margin: 0; font-family: "Noto Sans CJK SC", "Noto Sans", "Segoe UI", sans-serif; color: var(--ink); background: var(--paper); line-height: 1.45; }
        a { color: var(--accent); }
        a:focus, button:focus, input:focus, select:focus { outline: 3px solid #f2b400; outline-offset: 1px; }
        .skip { position: absolute; left: -10000px; }
        .skip:focus { left: 8px; top: 8px; background: #fff; padding: 6px; z-index: 10; }
        header.top { display: flex; flex-wrap: wrap; align-items: center; gap: 12px 24px; padding: 10px 20px; background: #123a63; color: #fff; }
        header.top a { color: #fff; }
        header.top .brand { font-weight: 700; }
        header.top nav ul { list-style: none; display: flex; flex-wrap: wrap; gap: 14px; margin: 0; padding: 0; }
        header.top .who { margin-left: auto; display: flex; gap: 12px; align-items: center; }
        header.top form { margin: 0; }
        header.top button { background: transparent; color: #fff; border: 1px solid #fff; padding: 3px 10px; cursor: pointer; }
        main { padding: 16px 20px 40px; max-width: 1180px; }
        h1 { font-size: 1.5rem; margin: 8px 0 14px; }
        h2 { font-size: 1.15rem; margin: 22px 0 8px; }
        table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
        th, td { border-bottom: 1px solid var(--line); padding: 6px 8px; text-align: left; vertical-align: top; }
        th { background: var(--band); }
        td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
        .notice { padding: 10px 12px; border-left: 4px solid var(--accent); background: var(--band); margin: 10px 0; }
        .notice.bad { border-color: var(--bad); }
        .notice.good { border-color: var(--good); }
        .bad { color: var(--bad); }
        .good { color: var(--good); }
        .warn { color: var(--warn); }
        form.filters { display: flex; flex-wrap: wrap; gap: 10px 16px; align-items: flex-end; padding: 10px; background: var(--band); }
        form.filters div { display: flex; flex-direction: column; }
        form.stacked div.field { margin: 0 0 12px; display: flex; flex-direction: column; max-width: 420px; }
        label { font-weight: 600; }
        input, select { font: inherit; padding: 5px 6px; border: 1px solid #6b7785; border-radius: 3px; }
        input[aria-invalid="true"], select[aria-invalid="true"] { border: 2px solid var(--bad); }
        .field-error { color: var(--bad); margin-top: 3px; }
        .hint { color: var(--muted); font-size: 0.92rem; }
        button.primary { background: var(--accent); color: #fff; border: 0; padding: 7px 16px; font: inherit; cursor: pointer; border-radius: 3px; }
        button.danger { background: var(--bad); color: #fff; border: 0; padding: 7px 16px; font: inherit; cursor: pointer; border-radius: 3px; }
        .pager { display: flex; gap: 16px; align-items: center; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; }
        dl.facts dt { font-weight: 600; }
        dl.facts dd { margin: 0; }
        .lang a[aria-current="true"] { font-weight: 700; text-decoration: none; }
        svg.chart { max-width: 100%; height: auto; }
        svg.chart .label, svg.chart .value, svg.chart .tick { font-size: 11px; fill: var(--ink); }
        svg.chart .axis { stroke: var(--muted); }
        svg.chart .series0 { fill: #1f6fb2; }
        svg.chart .series1 { fill: #2e8540; }
        .cards { display: flex; flex-wrap: wrap; gap: 14px; }
        .card { border: 1px solid var(--line); padding: 10px 14px; min-width: 180px; }
        .card .big { font-size: 1.8rem; font-weight: 700; }
        .receipt { max-width: 760px; border: 1px solid var(--line); padding: 18px 24px; }
        @media print {
          header.top, .no-print, .skip { display: none; }
          main { padding: 0; }
          .receipt { border: 0; }
        }
        """#

    static let javascript = #"""
        // Progressive enhancement only: every page works without this file.
        (function () {
          "use strict";
          // A case page that is still open reloads itself every 10 seconds while it is visible.
          var live = document.querySelector("[data-live-refresh]");
          if (live) {
            var seconds = parseInt(live.getAttribute("data-live-refresh"), 10) || 10;
            setInterval(function () {
              if (document.visibilityState === "visible") { window.location.reload(); }
            }, seconds * 1000);
          }
          // Print buttons (the receipt).
          document.querySelectorAll("[data-print]").forEach(function (button) {
            button.hidden = false;
            button.addEventListener("click", function () { window.print(); });
          });
        })();
        """#
}
