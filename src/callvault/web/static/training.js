/* callvault training pages: play-through before approval, jumping to review regions and
   notes, and keyboard control in the presentation mode. The pages work without this file:
   the server refuses an approval until the clip's audio was fetched since its last change. */
(function () {
  "use strict";

  function clipAudio() {
    return document.querySelector("[data-clip-player] audio, audio[data-present-audio]");
  }

  function requirePlaythrough(audio) {
    var approve = document.querySelector("[data-needs-playthrough]");
    var hint = document.getElementById("playthrough-hint");
    if (!approve || !hint || hint.hidden) return;
    approve.disabled = true;
    audio.addEventListener("ended", function () {
      approve.disabled = false;
      hint.hidden = true;
      approve.setAttribute("data-played-through", "true");
    });
  }

  function seekButtons(audio) {
    document.querySelectorAll("[data-seek]").forEach(function (button) {
      button.addEventListener("click", function () {
        audio.currentTime = parseFloat(button.getAttribute("data-seek")) || 0;
        audio.play();
      });
    });
    document.querySelectorAll("[data-now-target]").forEach(function (input) {
      input.addEventListener("focus", function () {
        if (!input.value && audio.currentTime > 0) input.value = audio.currentTime.toFixed(1);
      });
    });
  }

  function typing(target) {
    var name = (target && target.tagName) || "";
    return name === "INPUT" || name === "TEXTAREA" || name === "SELECT" || (target && target.isContentEditable);
  }

  function presentationKeys(audio) {
    var box = document.querySelector("[data-presentation]");
    if (!box) return;
    document.addEventListener("keydown", function (event) {
      if (typing(event.target) || event.altKey || event.ctrlKey || event.metaKey) return;
      var next = box.getAttribute("data-next");
      var previous = box.getAttribute("data-previous");
      var key = event.key;
      if (key === " " && audio) {
        event.preventDefault();
        if (audio.paused) audio.play(); else audio.pause();
      } else if ((key === "n" || key === "N" || key === "ArrowRight") && next) {
        window.location.href = next;
      } else if ((key === "p" || key === "P" || key === "ArrowLeft") && previous) {
        window.location.href = previous;
      } else if ((key === "j" || key === "J") && audio) {
        audio.currentTime = Math.max(0, audio.currentTime - 5);
      } else if ((key === "l" || key === "L") && audio) {
        audio.currentTime = audio.currentTime + 5;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var audio = clipAudio();
    if (audio) {
      requirePlaythrough(audio);
      seekButtons(audio);
    }
    presentationKeys(audio);
  });
})();
