// Draws one chart per practice from the page's embedded JSON: ED visits per month split by
// closed / open / unknown hours (stacked bars) and the avoidable share (line, right axis),
// with the extended-hours program's first month marked in the title.
(function () {
  function draw() {
    var data = JSON.parse(document.getElementById("evidence-data").textContent);
    var holder = document.getElementById("charts");
    var byPractice = {};
    data.rows.forEach(function (r) { (byPractice[r.practice_id] = byPractice[r.practice_id] || []).push(r); });
    Object.keys(byPractice).sort().forEach(function (pid) {
      var rows = byPractice[pid];
      var months = [], seen = {};
      rows.forEach(function (r) { if (!seen[r.month]) { seen[r.month] = { closed: 0, open: 0, unknown: 0, visits: 0, avoidable: 0 }; months.push(r.month); }
        var m = seen[r.month]; m.closed += r.closed_hours; m.open += r.open_hours; m.unknown += r.unknown_hours; m.visits += r.visits; m.avoidable += r.avoidable; });
      var fig = document.createElement("figure");
      fig.className = "chart";
      fig.dataset.practice = pid;
      var canvas = document.createElement("canvas");
      canvas.setAttribute("role", "img");
      var start = data.starts[pid];
      canvas.setAttribute("aria-label", "ED visits by month for practice " + pid + (start ? ", program from " + start : ""));
      var caption = document.createElement("figcaption");
      caption.textContent = pid + (start ? " — extended hours from " + start : " — no extended-hours program");
      fig.appendChild(caption);
      fig.appendChild(canvas);
      holder.appendChild(fig);
      new Chart(canvas, {
        data: {
          labels: months,
          datasets: [
            { type: "bar", label: "closed hours", data: months.map(function (m) { return seen[m].closed; }), stack: "v", order: 1, backgroundColor: "#b03a2e" },
            { type: "bar", label: "open hours", data: months.map(function (m) { return seen[m].open; }), stack: "v", order: 1, backgroundColor: "#2874a6" },
            { type: "bar", label: "time unknown (claims only)", data: months.map(function (m) { return seen[m].unknown; }), stack: "v", order: 1, backgroundColor: "#aab7b8" },
            { type: "line", label: "avoidable share", yAxisID: "share", borderColor: "#1e8449", order: 0,
              data: months.map(function (m) { return seen[m].visits ? seen[m].avoidable / seen[m].visits : null; }) }
          ]
        },
        options: { animation: false, responsive: true,
          scales: { y: { stacked: true, title: { display: true, text: "ED visits" } },
                    share: { position: "right", min: 0, max: 1, grid: { drawOnChartArea: false },
                             ticks: { callback: function (v) { return Math.round(v * 100) + "%"; } } } } }
      });
    });
    document.body.dataset.chartsReady = String(Object.keys(byPractice).length);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
