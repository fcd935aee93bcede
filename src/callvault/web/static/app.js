/* callvault pages: charts and the waveform player. Everything works without this file too:
   charts have tables, the player is a native <audio controls>. */
(function () {
  "use strict";

  function drawCharts() {
    if (typeof window.Chart === "undefined") return;
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var spec;
      try { spec = JSON.parse(canvas.getAttribute("data-chart")); } catch (e) { return; }
      var palette = ["#1b6e2d", "#a4161a", "#4a5360", "#0b4f8a", "#7a4b00"];
      spec.data.datasets.forEach(function (set, i) {
        set.backgroundColor = set.backgroundColor || palette[i % palette.length];
        set.borderColor = set.borderColor || palette[i % palette.length];
      });
      new window.Chart(canvas, {
        type: spec.type || "bar",
        data: spec.data,
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          scales: spec.stacked ? { x: { stacked: true }, y: { stacked: true, beginAtZero: true } }
                               : { y: { beginAtZero: true } },
          plugins: { legend: { position: "bottom" } }
        }
      });
    });
  }

  // Peaks for the waveform, from one fetch of the audio; playback itself stays on the <audio>
  // element, which streams (HTTP Range when seeking) from /recordings/{id}/audio; the stated
  // reason travels in the session's cookie, never in the URL.
  function peaksOf(decoded, points) {
    var channels = [];
    for (var c = 0; c < decoded.numberOfChannels; c++) {
      var data = decoded.getChannelData(c);
      var size = Math.max(1, Math.floor(data.length / points));
      var peaks = new Float32Array(Math.ceil(data.length / size));
      for (var i = 0, p = 0; i < data.length; i += size, p++) {
        var max = 0;
        for (var j = i; j < Math.min(i + size, data.length); j++) {
          var v = Math.abs(data[j]);
          if (v > max) max = v;
        }
        peaks[p] = max;
      }
      channels.push(peaks);
    }
    return channels;
  }

  function startPlayers() {
    if (typeof window.WaveSurfer === "undefined") return;
    document.querySelectorAll("[data-player]").forEach(function (box) {
      var audio = box.querySelector("audio");
      var container = box.querySelector(".waveform");
      // Absolute, as the element reports it, so loading the peaks does not reset playback.
      var src = new URL(box.getAttribute("data-src"), window.location.href).href;
      var masked = [];
      try { masked = JSON.parse(box.getAttribute("data-masked") || "[]"); } catch (e) { masked = []; }
      var plugins = [];
      var regions = null;
      if (window.WaveSurfer.Regions) {
        regions = window.WaveSurfer.Regions.create();
        plugins.push(regions);
      }
      var player = window.WaveSurfer.create({
        container: container,
        media: audio,
        height: 96,
        waveColor: "#4a5360",
        progressColor: "#0b4f8a",
        cursorColor: "#1b1f24",
        normalize: true,
        plugins: plugins
      });
      player.on("decode", function () {
        if (regions) {
          var label = box.getAttribute("data-masked-label") || "masked";
          regions.clearRegions();  // "decode" can come again (peaks, then media): draw once
          masked.forEach(function (m) {
            regions.addRegion({
              start: m.start, end: m.end, drag: false, resize: false,
              color: "rgba(164, 22, 26, 0.30)", content: label
            });
          });
        }
        box.setAttribute("data-waveform", "ready");
      });
      fetch(src, { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.arrayBuffer(); })
        .then(function (buffer) {
          var Context = window.AudioContext || window.webkitAudioContext;
          return new Context().decodeAudioData(buffer);
        })
        .then(function (decoded) {
          return player.load(src, peaksOf(decoded, 2000), decoded.duration);
        })
        .catch(function () { box.setAttribute("data-waveform", "failed"); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts();
    startPlayers();
  });
})();

// "Report an identifier here" on a recording: the moment field takes the player's position.
document.addEventListener("DOMContentLoaded", function () {
  var audio = document.querySelector("[data-player] audio");
  if (!audio) return;
  document.querySelectorAll("#leak-report [data-now-target]").forEach(function (input) {
    input.addEventListener("focus", function () {
      if (!input.value && audio.currentTime > 0) input.value = audio.currentTime.toFixed(1);
    });
  });
});
