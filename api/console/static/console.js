/* Progressive enhancement: every page works without this file. It adds the audit log's live
   tail (server-sent events; the browser reconnects when the server ends a stream, sending the
   last entry's id) and draws the event chart from the JSON the page carries. */
(function () {
  "use strict";
  var source = null;

  function tail(rows) {
    var status = document.getElementById("tail-status");
    if (source) source.close();
    source = new EventSource(rows.dataset.tailUrl);
    source.addEventListener("open", function () {
      rows.dataset.live = "open";
      if (status) status.textContent = "Live: new entries appear at the top.";
    });
    source.addEventListener("entry", function (event) {
      if (document.getElementById("entry-" + event.lastEventId)) return;
      rows.insertAdjacentHTML("afterbegin", event.data);
      rows.firstElementChild.classList.add("fresh");
      var empty = document.getElementById("no-entries");
      if (empty) empty.remove();
      if (status) status.textContent = "New entry: " + rows.firstElementChild.cells[1].textContent;
    });
    source.addEventListener("error", function () {
      rows.dataset.live = "reconnecting";
    });
  }

  var PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];

  function chart(canvas) {
    if (typeof Chart === "undefined" || canvas.dataset.drawn) return;
    var data = JSON.parse(document.getElementById(canvas.dataset.source).textContent);
    var datasets = Object.keys(data.series).map(function (topic, i) {
      return { label: topic, data: data.series[topic], backgroundColor: PALETTE[i % PALETTE.length] };
    });
    new Chart(canvas, {
      type: "bar",
      data: { labels: data.minutes, datasets: datasets },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { position: "bottom" } }
      }
    });
    canvas.dataset.drawn = "yes";
  }

  function enhance(root) {
    root.querySelectorAll("tbody[data-tail-url]").forEach(tail);
    root.querySelectorAll("canvas[data-source]").forEach(chart);
  }

  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:afterSettle", function (event) { enhance(event.target); });
})();
