internal import Hummingbird
internal import MMCPlot
internal import NIOCore

/// The live page's routes on the HTTP server (`http.live_page = true`).
///
/// | route | content |
/// |---|---|
/// | `GET /`, `GET /live` | the page: one self-contained HTML document, no external resources |
/// | `GET /live/plot.svg` | the window's scatter plot |
/// | `GET /live/summary.json` | the latest re-clustering's summary (``LiveFeed``) |
/// | `GET /live/events` | `text/event-stream`: `summary` at once, `recluster` after each re-clustering |
///
/// The page loads the plot and summary as they change: its event stream reports each
/// re-clustering, it fetches the plot of the new model version and redraws the table and
/// counters. The browser's `EventSource` reconnects by itself after a restart.
struct LiveView: Sendable {
    let feed: LiveFeed
    /// The SVG of the latest clustering's window (the daemon's ``LivePlotCache``).
    let plot: @Sendable () async -> String
    /// How often an idle event stream is written to, so a departed reader is noticed.
    var keepAliveInterval = Duration.seconds(15)

    func addRoutes(to router: Router<BasicRequestContext>) {
        let page = ByteBuffer(string: LivePage.html)
        for path in ["/", "live"] {
            router.get(RouterPath(path)) { _, _ in
                Response(
                    status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-cache"],
                    body: ResponseBody(byteBuffer: page))
            }
        }
        let plot = plot
        router.get("live/plot.svg") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "image/svg+xml", .cacheControl: "no-cache"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: await plot())))
        }
        let feed = feed
        router.get("live/summary.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-cache"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: feed.currentSummary())))
        }
        let keepAliveInterval = keepAliveInterval
        router.get("live/events") { _, _ in
            guard feed.acceptsClients else {
                return Response(
                    status: .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8"],
                    body: ResponseBody(byteBuffer: ByteBuffer(string: "too many live pages are connected\n")))
            }
            return Response(
                status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                body: ResponseBody { writer in
                    // Subscribing here, where the stream is written, pairs every subscription
                    // with the `defer` that ends it.
                    guard let (id, events) = feed.subscribe() else { return try await writer.finish(nil) }
                    defer { feed.unsubscribe(id) }
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            while true {
                                try await Task.sleep(for: keepAliveInterval)
                                feed.keepAlive(id)
                            }
                        }
                        for await event in events {
                            try await writer.write(ByteBuffer(string: event))
                        }
                        group.cancelAll()
                    }
                    try await writer.finish(nil)
                })
        }
    }
}

/// The live page's HTML, CSS and JavaScript in one document.
enum LivePage {
    /// The page; the cluster colours come from ``PlotPalette`` so the table's swatches match
    /// the plot.
    static let html = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>mmcd live</title>
        <style>
        body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 16px; color: #222; background: #fafafa; }
        h1 { font-size: 20px; margin: 0 0 4px; }
        #connection { font-size: 13px; color: #666; }
        #counters { display: flex; flex-wrap: wrap; gap: 8px; margin: 12px 0; }
        .counter { background: #fff; border: 1px solid #ddd; border-radius: 4px; padding: 6px 10px; min-width: 110px; }
        .counter .value { font-size: 18px; font-weight: bold; }
        .counter .label { font-size: 11px; color: #666; }
        #main { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
        #plot { background: #fff; border: 1px solid #ddd; min-width: 300px; min-height: 200px; }
        #plot svg { display: block; max-width: 100%; height: auto; }
        table { border-collapse: collapse; background: #fff; font-size: 13px; }
        th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
        th { background: #f0f0f0; }
        td.event { text-align: left; }
        .swatch { display: inline-block; width: 10px; height: 10px; margin-right: 6px; }
        </style>
        </head>
        <body>
        <h1>mmcd live</h1>
        <div id="connection">connecting…</div>
        <div id="counters">
        <div class="counter"><div class="value" id="window-size">–</div><div class="label">points in window</div></div>
        <div class="counter"><div class="value" id="cluster-count">–</div><div class="label">clusters</div></div>
        <div class="counter"><div class="value" id="noise">–</div><div class="label">noise points</div></div>
        <div class="counter"><div class="value" id="rate">–</div><div class="label">points/s</div></div>
        <div class="counter"><div class="value" id="dropped">–</div><div class="label">dropped points</div></div>
        <div class="counter"><div class="value" id="rejected">–</div><div class="label">rejected points</div></div>
        <div class="counter"><div class="value" id="recluster-time">–</div><div class="label">last re-clustering</div></div>
        <div class="counter"><div class="value" id="model-version">–</div><div class="label">model version</div></div>
        <div class="counter"><div class="value" id="events-received">0</div><div class="label">re-clusterings seen here</div></div>
        </div>
        <div id="main">
        <div id="plot" data-model-version="">waiting for the first re-clustering…</div>
        <table id="clusters">
        <thead><tr><th>cluster</th><th>mass</th><th>centroid</th><th>age</th><th>last event</th></tr></thead>
        <tbody></tbody>
        </table>
        </div>
        <script>
        "use strict";
        const palette = \(PlotPalette.clusterColours);
        const byId = (id) => document.getElementById(id);
        const number = (value, digits) => Number(value.toPrecision(digits)).toString();
        function duration(seconds) {
          if (seconds < 1) return Math.round(seconds * 1000) + " ms";
          if (seconds < 120) return number(seconds, 3) + " s";
          if (seconds < 7200) return number(seconds / 60, 3) + " min";
          return number(seconds / 3600, 3) + " h";
        }
        let plotVersion = null, plotLoading = false, wantedVersion = null, seen = 0;
        async function loadPlot() {
          if (plotLoading) return;
          plotLoading = true;
          try {
            while (wantedVersion !== plotVersion) {
              const version = wantedVersion;
              const response = await fetch("live/plot.svg", { cache: "no-store" });
              if (!response.ok) break;
              const plot = byId("plot");
              plot.innerHTML = await response.text();
              plot.dataset.modelVersion = String(version);
              plotVersion = version;
            }
          } finally {
            plotLoading = false;
          }
        }
        function show(summary) {
          byId("rate").textContent = number(summary.points_per_second, 3);
          byId("dropped").textContent = summary.points_dropped;
          byId("rejected").textContent = summary.points_rejected;
          if (summary.window_size === null) return;
          byId("window-size").textContent = summary.window_size;
          byId("cluster-count").textContent = summary.clusters.length;
          byId("noise").textContent = summary.noise;
          byId("recluster-time").textContent = duration(summary.recluster_seconds);
          byId("model-version").textContent = summary.model_version;
          const rows = summary.clusters.map((cluster) => {
            const row = document.createElement("tr");
            row.dataset.cluster = cluster.id;
            const swatch = document.createElement("span");
            swatch.className = "swatch";
            swatch.style.background = palette[cluster.id % palette.length];
            const cells = [
              String(cluster.id), String(cluster.mass),
              "(" + cluster.centroid.map((value) => number(value, 4)).join(", ") + ")",
              duration(cluster.age_seconds),
              cluster.last_event + " (model " + cluster.last_event_version + ")",
            ];
            cells.forEach((text, index) => {
              const cell = document.createElement("td");
              if (index === 0) cell.appendChild(swatch);
              if (index === 4) cell.className = "event";
              cell.appendChild(document.createTextNode(text));
              row.appendChild(cell);
            });
            return row;
          });
          byId("clusters").tBodies[0].replaceChildren(...rows);
          wantedVersion = summary.model_version;
          loadPlot();
        }
        const events = new EventSource("live/events");
        events.onopen = () => { byId("connection").textContent = "live: updated after every re-clustering"; };
        events.onerror = () => { byId("connection").textContent = "disconnected; reconnecting…"; };
        events.addEventListener("summary", (event) => show(JSON.parse(event.data)));
        events.addEventListener("recluster", (event) => {
          seen += 1;
          byId("events-received").textContent = seen;
          show(JSON.parse(event.data));
        });
        </script>
        </body>
        </html>

        """
}
