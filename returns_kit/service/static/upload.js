// Drag and drop onto the upload form: an enhancement; the file picker works without it.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  var zone = document.getElementById("drop");
  var input = document.getElementById("file");
  if (!form || !zone || !input) {
    return;
  }
  var hint = document.getElementById("drop-hint");
  var status = document.getElementById("upload-status");
  var button = document.getElementById("upload-button");
  if (hint) {
    hint.hidden = false;
  }

  function chosen() {
    if (status && input.files && input.files.length) {
      status.textContent = "Chosen: " + input.files[0].name;
    }
  }

  function over(event) {
    event.preventDefault();
    zone.classList.add("dragging");
  }

  function leave() {
    zone.classList.remove("dragging");
  }

  // A file dropped beside the zone would make the browser open it in place of the form.
  window.addEventListener("dragover", function (event) {
    event.preventDefault();
  });
  window.addEventListener("drop", function (event) {
    event.preventDefault();
  });
  zone.addEventListener("dragenter", over);
  zone.addEventListener("dragover", over);
  zone.addEventListener("dragleave", leave);
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    event.stopPropagation();
    leave();
    var files = event.dataTransfer && event.dataTransfer.files;
    if (!files || !files.length) {
      return;
    }
    // One workbook at a time: the first file dropped is the one sent.
    var one = new DataTransfer();
    one.items.add(files[0]);
    input.files = one.files;
    chosen();
  });
  input.addEventListener("change", chosen);
  form.addEventListener("submit", function () {
    if (status) {
      status.textContent = "Checking the workbook: this takes a few seconds.";
    }
    if (button) {
      // A second click would only send the same bytes again; say it is on its way instead.
      button.disabled = true;
    }
  });
})();
