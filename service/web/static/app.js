// nn-grader pages: upload with drag-and-drop and live status, sortable tables. No framework, no build.
"use strict";

function csrfToken(form) {
  const field = form.querySelector("input[name=csrf_token]");
  return field ? field.value : "";
}

function setupUpload() {
  const form = document.getElementById("upload");
  if (!form) return;
  const input = document.getElementById("file");
  const drop = document.getElementById("drop");
  const message = document.getElementById("upload-message");
  const show = (text) => { message.textContent = text; message.hidden = !text; };
  const check = (file) => {
    if (!file) return form.dataset.errNone;
    if (!file.name.toLowerCase().endsWith(".ipynb")) return form.dataset.errType;
    if (file.size > Number(form.dataset.maxBytes)) return form.dataset.errSize;
    return "";
  };
  ["dragenter", "dragover"].forEach((kind) => drop.addEventListener(kind, (event) => {
    event.preventDefault(); drop.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((kind) => drop.addEventListener(kind, () => drop.classList.remove("over")));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    if (event.dataTransfer.files.length) { input.files = event.dataTransfer.files; show(check(input.files[0])); }
  });
  input.addEventListener("change", () => show(check(input.files[0])));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = input.files[0];
    const problem = check(file);
    if (problem) { show(problem + " " + form.dataset.nothingLost); return; }
    show("");
    const button = form.querySelector("button[type=submit]");
    const label = button.textContent;
    button.disabled = true;
    button.textContent = form.dataset.uploading;
    const body = new FormData();
    body.append("file", file, file.name);
    try {
      const answer = await fetch(form.action, {method: "POST", body, headers: {
        "Accept": "application/json", "X-CSRF-Token": csrfToken(form)}, credentials: "same-origin"});
      const data = await answer.json();
      if (answer.ok && data.page) { window.location.assign(data.page); return; }
      show((data.error || answer.statusText) + " " + form.dataset.nothingLost);
    } catch (err) {
      show(String(err) + " " + form.dataset.nothingLost);
    }
    button.disabled = false;
    button.textContent = label;
  });
}

function setupStatus() {
  const box = document.getElementById("status");
  if (!box) return;
  const text = document.getElementById("status-text");
  const detail = document.getElementById("status-detail");
  const order = ["received", "queued", "running", "done"];
  const paint = (status) => {
    const reached = order.indexOf(status);
    box.querySelectorAll(".phases li").forEach((li, i) => li.classList.toggle("reached", i <= reached));
  };
  paint(box.dataset.status);
  if (!box.dataset.poll) return;
  const show = (data) => {
    text.textContent = box.dataset["label" + data.status[0].toUpperCase() + data.status.slice(1)] || data.status;
    box.dataset.status = data.status;
    paint(data.status);
    if (data.status === "queued" && data.queue_position !== null) {
      detail.textContent = "— " + box.dataset.queue.replace("{position}", data.queue_position + 1)
        .replace("{eta}", data.eta_seconds === null ? "?" : Math.round(data.eta_seconds));
    } else if (data.status === "received" && data.turn) {
      detail.textContent = "— " + box.dataset.turn.replace("{ahead}", data.turn.ahead);
    } else {
      detail.textContent = "";
    }
  };
  // A long poll: the server answers when the status is no longer the one shown (or after a bounded wait), and
  // once it is finished, with the result's HTML, swapped in here in the same instant.
  const poll = async () => {
    let again = 2000;
    try {
      const url = box.dataset.poll + "?after=" + encodeURIComponent(box.dataset.status);
      const answer = await fetch(url, {headers: {"Accept": "application/json"}, credentials: "same-origin"});
      if (answer.ok) {
        const data = await answer.json();
        show(data);
        if (typeof data.html === "string") { showResult(data.html); return; }
        again = data.waited === "busy" ? 1000 : 0;   // busy: this user's other pages hold their share of waits
      }
    } catch (err) { /* asked again below */ }
    window.setTimeout(poll, again);
  };
  poll();
}

function showResult(html) {
  // The finished page's content replaces this one's in place: the result appears without a reload.
  const fresh = new DOMParser().parseFromString(html, "text/html").body;
  const main = document.querySelector("main");
  main.replaceChildren(...Array.from(fresh.childNodes).map((node) => document.adoptNode(node)));
  setupStatus();
}

function setupSorting() {
  document.querySelectorAll("table.sortable").forEach((table) => {
    const headers = Array.from(table.tHead.rows[0].cells);
    headers.forEach((th, column) => {
      const button = th.querySelector("button");
      if (!button) return;
      button.addEventListener("click", () => {
        const ascending = th.getAttribute("aria-sort") !== "ascending";
        headers.forEach((other) => other.setAttribute("aria-sort", "none"));
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        const numeric = button.hasAttribute("data-numeric");
        const body = table.tBodies[0];
        const rows = Array.from(body.rows);
        const key = (row) => row.cells[column].dataset.value || row.cells[column].textContent;
        const missing = (row) => row.cells[column].hasAttribute("data-missing");
        rows.sort((a, b) => {
          if (missing(a) !== missing(b)) return missing(a) ? 1 : -1;   // "no submission" last either way
          const x = key(a), y = key(b);
          const order = numeric ? Number(x) - Number(y) : x.localeCompare(y);
          return ascending ? order : -order;
        });
        rows.forEach((row) => body.appendChild(row));
      });
    });
  });
}

document.addEventListener("DOMContentLoaded", () => { setupUpload(); setupStatus(); setupSorting(); });
