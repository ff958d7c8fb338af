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
          here.querySelectorAll("form[data-progress]").forEach(pages);
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
  // Several photos of one document: listed as pages, each movable and
  // turnable with named buttons; the file field is reordered to match and
  // the typed turns field (the no-JavaScript way) is filled and hidden.
  function pages(form) {
    var input = form.querySelector("input[type=file][multiple]");
    var block = form.querySelector("[data-turns]");
    var turns = block && block.querySelector("input");
    if (!input || !turns || !window.DataTransfer) return;
    block.hidden = true;
    var list = document.createElement("ol");
    list.className = "dnu-pages";
    var said = document.createElement("p");
    said.className = "fr-hint-text";
    said.setAttribute("role", "status");
    input.parentNode.appendChild(list);
    input.parentNode.appendChild(said);
    var items = [];
    function button(text, label, act, disabled) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "fr-btn fr-btn--sm fr-btn--tertiary";
      b.textContent = text;
      b.setAttribute("aria-label", label);
      b.disabled = disabled;
      b.addEventListener("click", act);
      return b;
    }
    function sync(focus, message) {
      var dt = new DataTransfer();
      items.forEach(function (it) { dt.items.add(it.file); });
      input.files = dt.files;
      var any = items.some(function (it) { return it.turns !== 0; });
      turns.value = any ? items.map(function (it) { return it.turns * 90; }).join(",") : "";
      render(focus);
      if (message) said.textContent = message;
    }
    function move(i, by) {
      var it = items.splice(i, 1)[0];
      items.splice(i + by, 0, it);
      sync([i + by, by < 0 ? 0 : 1], it.file.name + " est maintenant la page " + (i + by + 1) + ".");
    }
    function render(focus) {
      list.innerHTML = "";
      if (items.length === 0) return;
      items.forEach(function (it, i) {
        var li = document.createElement("li");
        var name = document.createElement("span");
        var page = "page " + (i + 1) + " (" + it.file.name + ")";
        name.textContent = "Page " + (i + 1) + " : " + it.file.name +
          (it.turns ? " — pivotée de " + it.turns * 90 + "°" : "");
        li.appendChild(name);
        var group = document.createElement("span");
        group.className = "dnu-page-actions";
        group.appendChild(button("Monter", "Monter la " + page, function () { move(i, -1); }, i === 0));
        group.appendChild(button("Descendre", "Descendre la " + page, function () { move(i, 1); },
          i === items.length - 1));
        group.appendChild(button("Pivoter", "Pivoter la " + page + " d'un quart de tour à droite", function () {
          it.turns = (it.turns + 1) % 4;
          sync([i, 2], it.file.name + " pivotée de " + it.turns * 90 + "°.");
        }, false));
        li.appendChild(group);
        list.appendChild(li);
      });
      if (focus) {
        var buttons = list.children[focus[0]].querySelectorAll("button");
        var target = buttons[focus[1]];
        if (target.disabled) target = buttons[2];
        target.focus();
      }
    }
    input.addEventListener("change", function () {
      items = Array.prototype.map.call(input.files, function (f) { return { file: f, turns: 0 }; });
      turns.value = "";
      render(null);
      said.textContent = items.length > 1
        ? items.length + " photos : elles formeront une seule pièce, dans l'ordre de la liste."
        : "";
    });
  }
  document.querySelectorAll("form[data-progress]").forEach(enhance);
  document.querySelectorAll("form[data-progress]").forEach(pages);
})();
