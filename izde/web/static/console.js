// izde console: every change goes through the JSON API with this page's CSRF token; errors from the
// service (for example "the second review must come from a different operator") are shown as they are.
"use strict";

const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

async function call(url, method, body, isForm) {
  const headers = { "X-CSRF-Token": csrf(), Accept: "application/json" };
  if (!isForm && body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : isForm ? body : JSON.stringify(body),
  });
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  if (!response.ok) {
    const message = data && data.error ? data.error + (data.hint ? " (" + data.hint + ")" : "") : "HTTP " + response.status;
    throw new Error(message);
  }
  return data;
}

function formBody(form) {
  const body = {};
  for (const el of form.elements) {
    if (!el.name || el.type === "submit") continue;
    const type = el.dataset.type;
    if (type === "bool") { body[el.name] = el.checked; continue; }
    if (type === "list") { body[el.name] = Array.from(el.selectedOptions).map((o) => o.value); continue; }
    // Checkboxes sharing a name (roles): the values of those ticked, as one list.
    if (type === "checks") { body[el.name] = body[el.name] || []; if (el.checked) body[el.name].push(el.value); continue; }
    if (el.value === "") continue;
    if (type === "csv") body[el.name] = el.value.split(",").map((s) => s.trim()).filter(Boolean);
    else if (type === "number") body[el.name] = Number(el.value);
    else if (type === "datetime") body[el.name] = new Date(el.value).toISOString();
    else if (type === "json") body[el.name] = JSON.parse(el.value);  // a choice of true/false/null
    else body[el.name] = el.value;
  }
  return body;
}

function after(target, data) {
  if (target && data && data.id) window.location.assign(target.replace("{id}", encodeURIComponent(data.id)));
  else if (target) window.location.assign(target);
  else window.location.reload();
}

function showError(el, error) {
  if (el) el.textContent = error.message;
}

document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!form.dataset.api) return;
  event.preventDefault();
  const errorEl = form.querySelector('[role="alert"]');
  if (errorEl) errorEl.textContent = "";
  const isForm = form.enctype === "multipart/form-data";
  const button = form.querySelector('button[type="submit"]');
  if (button) button.disabled = true;
  try {
    const data = await call(form.dataset.api, form.dataset.method || "POST", isForm ? new FormData(form) : formBody(form), isForm);
    after(form.dataset.next, data);
  } catch (e) {
    showError(errorEl, e);
  } finally {
    if (button) button.disabled = false;
  }
});

document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
  const errorEl = document.getElementById("action-error");
  if (errorEl) errorEl.textContent = "";
  button.disabled = true;
  try {
    const method = button.dataset.method || "POST";
    const body = method === "DELETE" ? undefined : JSON.parse(button.dataset.body || "{}");
    await call(button.dataset.action, method, body, false);
    after(button.dataset.next, null);
  } catch (e) {
    showError(errorEl, e);
    button.disabled = false;
  }
});

// Keyboard shortcuts on the alert page: c confirms, r rejects (never while typing in a field).
document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const tag = (event.target.tagName || "").toLowerCase();
  if (tag === "input" || tag === "textarea" || tag === "select") return;
  const id = { c: "confirm", r: "reject" }[event.key];
  const button = id && document.getElementById(id);
  if (button && !button.disabled) { event.preventDefault(); button.click(); }
});

// The live queue: new alerts arrive over Server-Sent Events and are added at the top without a reload.
function startQueue() {
  const table = document.getElementById("alert-queue");
  if (!table || !window.EventSource) return;
  const live = document.getElementById("live");
  const source = new EventSource(table.dataset.stream);
  source.addEventListener("open", () => { live.textContent = "Live: connected."; });
  source.addEventListener("error", () => { live.textContent = "Live: reconnecting…"; });
  source.addEventListener("alert", (message) => {
    const a = JSON.parse(message.data);
    const body = table.tBodies[0];
    if (body.querySelector(`tr[data-alert="${a.id}"]`)) return;
    const empty = body.querySelector("tr.empty");
    if (empty) empty.remove();
    const row = document.createElement("tr");
    row.dataset.alert = a.id;
    row.className = "status-" + a.status + " new";
    const cells = [
      a.created_at.replace("T", " ").slice(0, 19), a.camera, a.person_name,
      a.distance.toFixed(3) + " / " + a.threshold.toFixed(3), a.status,
    ];
    for (const text of cells) { const td = document.createElement("td"); td.textContent = text; row.appendChild(td); }
    row.children[4].className = "status";
    const link = document.createElement("a");
    link.href = "/alerts/" + encodeURIComponent(a.id);
    link.textContent = "Review";
    const td = document.createElement("td"); td.appendChild(link); row.appendChild(td);
    body.insertBefore(row, body.firstChild);
    live.textContent = `New alert: ${a.person_name} on ${a.camera}.`;
  });
}

document.addEventListener("DOMContentLoaded", startQueue);
