// The agent console's little script: the live event stream, SLA countdowns, keyboard shortcuts.
// Plain JavaScript, no build step; loaded from /static (CSP default-src 'self': nothing inline).
"use strict";

// The ONE place that opens the agents' event socket. Today the console's socket authenticates with
// the page's HttpOnly session cookie (same origin); if socket auth moves to a header, a first
// message or a short-lived ticket, only this function changes.
function openEventSocket(path, after, onEvent, onState) {
  let lastId = after;
  let delay = 1000;
  let stopped = false;
  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(scheme + "//" + location.host + path + "?after=" + encodeURIComponent(lastId));
    socket.onopen = function () { delay = 1000; onState("online"); };
    socket.onmessage = function (message) {
      const event = JSON.parse(message.data);
      if (typeof event.id === "number" && event.id > lastId) { lastId = event.id; }
      onEvent(event);
    };
    socket.onclose = function (closed) {
      onState("offline");
      if (closed.code === 4401) { location.assign("/console/login"); return; }
      if (!stopped) { setTimeout(connect, delay); delay = Math.min(delay * 2, 30000); }
    };
  }
  connect();
  return function stop() { stopped = true; };
}

function liveStatus(state) {
  const element = document.getElementById("live-status");
  if (element) { element.textContent = element.dataset[state] || state; element.dataset.state = state; }
}

function startLive() {
  const body = document.body;
  if (!body.dataset.live) { return; }
  const ticket = body.dataset.ticket ? Number(body.dataset.ticket) : null;
  let pending = null;
  // A form on its way (a reply, an action) reloads the page itself: a reload now would cancel it.
  let leaving = false;
  document.addEventListener("submit", function () { leaving = true; });
  openEventSocket(body.dataset.live, Number(body.dataset.after || 0), function (event) {
    notifyAssigned(event);
    if (ticket === null) {
      // The inbox: refetch the rows once per burst of events (htmx swaps them in place).
      clearTimeout(pending);
      pending = setTimeout(function () { htmx.trigger(document.body, "desk-changed"); }, 150);
    } else if (event.ticket_id === ticket && event.kind === "message.created") {
      const reply = document.getElementById("reply-body");
      const notice = document.getElementById("ticket-activity");
      if (leaving) { return; }
      if (reply && reply.value.trim() === "") { location.reload(); }
      else if (notice) { notice.hidden = false; }
    }
  }, liveStatus);
}

// A browser notification when a ticket is assigned to me (by routing or by someone else), once the
// agent allowed it (the header's button asks: browsers only ask on a click).
function notifyAssigned(event) {
  const me = Number(document.body.dataset.me || 0);
  const button = document.getElementById("notify-enable");
  if (event.kind !== "ticket.assigned" || !me || event.agent_id !== me) { return; }
  if (event.payload && event.payload.previous_assignee_id === me) { return; }
  if (!("Notification" in window) || Notification.permission !== "granted" || !button) { return; }
  const shown = new Notification(button.dataset.title, { body: "#" + event.ticket_id, tag: "assigned-" + event.ticket_id });
  shown.onclick = function () { window.focus(); location.assign("/console/tickets/" + event.ticket_id); };
  document.body.dataset.notified = String(event.ticket_id);
}

function offerNotifications() {
  const button = document.getElementById("notify-enable");
  if (!button || !("Notification" in window) || Notification.permission !== "default") { return; }
  button.hidden = false;
  button.addEventListener("click", function () {
    Notification.requestPermission().then(function () { button.hidden = true; });
  });
}

// SLA timers count down: "12m 05s", "2h 10m", late ones negative and red.
function formatLeft(ms) {
  const late = ms < 0;
  let seconds = Math.floor(Math.abs(ms) / 1000);
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  seconds = seconds % 60;
  const text = hours > 0 ? hours + "h " + String(minutes).padStart(2, "0") + "m"
    : minutes + "m " + String(seconds).padStart(2, "0") + "s";
  return (late ? "-" : "") + text;
}

function tickSla() {
  document.querySelectorAll("time.sla[data-due]").forEach(function (element) {
    const left = Date.parse(element.dataset.due) - Date.now();
    if (Number.isNaN(left)) { return; }
    element.textContent = formatLeft(left);
    element.classList.toggle("sla-late", left < 0);
    element.classList.toggle("sla-soon", left >= 0 && left < 3600 * 1000);
  });
}

// Keyboard shortcuts: j/k move, Enter open, n next ticket, r reply, i note, m macro (Enter applies
// it), 1-3 a knowledge-base answer into the reply, a assign, s solve, / search, ? help. Never while
// typing in a field.
function rows() { return Array.from(document.querySelectorAll("tr.ticket-row")); }

function select(delta) {
  const all = rows();
  if (all.length === 0) { return; }
  let index = all.findIndex(function (row) { return row.classList.contains("selected"); });
  if (index >= 0) { all[index].classList.remove("selected"); }
  index = Math.max(0, Math.min(all.length - 1, index + delta));
  all[index].classList.add("selected");
  const link = all[index].querySelector("a.ticket-link");
  if (link) { link.focus(); }
}

function click(selector) {
  const element = document.querySelector(selector);
  if (element) { element.click(); return true; }
  return false;
}

function focusField(id) {
  const element = document.getElementById(id);
  if (element) { element.focus(); return true; }
  return false;
}

function onKey(event) {
  const target = event.target;
  if (event.ctrlKey || event.metaKey || event.altKey) { return; }
  if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) {
    if (event.key === "Escape") { target.blur(); }
    if (event.key === "Enter" && target.id === "macro") { event.preventDefault(); target.form.requestSubmit(); }
    return;
  }
  let handled = true;
  switch (event.key) {
    case "j": select(1); break;
    case "k": select(-1); break;
    case "n":
      if (document.body.dataset.next) { location.assign(document.body.dataset.next); }
      else { select(1); }
      break;
    case "r": handled = focusField("reply-body"); break;
    case "i": {
      const box = document.getElementById("internal");
      if (box) { box.checked = true; }
      handled = focusField("reply-body");
      break;
    }
    case "m": handled = focusField("macro"); break;
    case "1": case "2": case "3": {
      const answer = document.querySelectorAll("[data-insert]")[Number(event.key) - 1];
      if (answer) { answer.click(); } else { handled = false; }
      break;
    }
    case "a": handled = click("[data-action=assign]"); break;
    case "s": handled = click("[data-action=solve]"); break;
    case "/": handled = focusField("q"); break;
    case "?": {
      const dialog = document.getElementById("shortcuts");
      if (dialog) { dialog.showModal(); } else { handled = false; }
      break;
    }
    default: handled = false;
  }
  if (handled) { event.preventDefault(); }
}

document.addEventListener("DOMContentLoaded", function () {
  startLive();
  offerNotifications();
  tickSla();
  setInterval(tickSla, 1000);
  document.addEventListener("keydown", onKey);
  document.querySelectorAll("select[data-autosubmit]").forEach(function (element) {
    element.addEventListener("change", function () { element.form.submit(); });
  });
  // A knowledge-base answer goes into the reply box, for the agent to adapt and send.
  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-insert]");
    const reply = document.getElementById("reply-body");
    if (button && reply) {
      reply.value = (reply.value ? reply.value + "\n\n" : "") + button.dataset.insert;
      reply.focus();
    }
  });
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.target.id === "inbox") {
      tickSla();
    }
    const confirm = document.getElementById("confirm-form");
    if (event.target.id === "action-panel" && confirm) {
      const first = confirm.querySelector("input:not([type=hidden]), button");
      if (first) { first.focus(); }
    }
  });
});
