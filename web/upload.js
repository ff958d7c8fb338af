// DNU Vault: an upload's progress, where JavaScript runs. The forms work
// without it; with it, a form marked data-progress sends its file with
// XMLHttpRequest and shows how much has left the device (an applicant on
// a phone and a slow line sees it move), then goes where the form would
// have gone: the page the server redirected to, or the server's answer
// (a refusal shown by the field) in place of the page.
(function () {
  "use strict";
  function enhance(form) {
    var wrap = document.createElement("div");
    wrap.className = "dnu-progress";
    wrap.hidden = true;
    var id = "progression-" + Math.random().toString(36).slice(2);
    var label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = "Envoi du fichier";
    var bar = document.createElement("progress");
    bar.id = id;
    bar.max = 100;
    bar.value = 0;
    var said = document.createElement("p");
    said.setAttribute("role", "status");
    wrap.appendChild(label);
    wrap.appendChild(bar);
    wrap.appendChild(said);
    form.appendChild(wrap);
    form.addEventListener("submit", function (event) {
      if (!window.FormData || !window.XMLHttpRequest) return;
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      wrap.hidden = false;
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) return;
        var pct = Math.floor((e.loaded / e.total) * 100);
        bar.value = pct;
        said.textContent = "Envoi : " + pct + " %";
      });
      xhr.upload.addEventListener("load", function () {
        bar.value = 100;
        said.textContent = "Fichier envoyé : analyse en cours…";
      });
      xhr.addEventListener("load", function () {
        if (xhr.status < 400 && xhr.responseURL && xhr.responseURL !== form.action) {
          window.location.assign(xhr.responseURL);
          return;
        }
        // A refusal: the server's page, whose field says why.
        var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
        var main = doc.getElementById("contenu");
        var here = document.getElementById("contenu");
        if (main && here) {
          here.innerHTML = main.innerHTML;
          document.title = doc.title;
          var alert = here.querySelector("[role=alert]");
          if (alert && alert.id) {
            var field = here.querySelector("[aria-describedby='" + alert.id + "']");
            (field || alert).focus();
          }
          here.querySelectorAll("form[data-progress]").forEach(enhance);
        } else {
          window.location.reload();
        }
      });
      xhr.addEventListener("error", function () {
        if (button) button.disabled = false;
        said.textContent = "L'envoi a échoué : vérifiez la connexion et renvoyez le fichier.";
      });
      xhr.send(new FormData(form));
    });
  }
  document.querySelectorAll("form[data-progress]").forEach(enhance);
})();
