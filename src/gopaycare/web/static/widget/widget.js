/* GoPay Care's chat widget (docs/adr/0025-customer-pages.md). One tag on any page:
 *
 *   <script src="https://<gopaycare>/static/widget/widget.js" defer></script>
 *
 * optional attributes: data-lang="zh-CN|en|id" (else the browser's language), data-token="<the GoPay
 * app's session token>" (a logged-in wallet user: recognised, and their conversation goes on); on GoPay
 * Care's own signed-in pages, data-session="<the page's ticket URL>" with data-csrf (the session stays in
 * its HttpOnly cookie: the page hands out socket tickets instead). A page on another site needs its
 * origin in GoPay Care's GOPAYCARE_WIDGET_ORIGINS (the API answers CORS for it, without credentials).
 *
 * It talks to the customer live-chat API and nothing else: a visitor token (POST /api/v1/chat/visitors),
 * a single-use socket ticket (POST /api/v1/me/chat/ws/tickets), the chat socket (/api/v1/me/chat/ws),
 * the conversation list (GET /api/v1/me/conversations), uploads (POST /api/v1/me/attachments). Plain
 * JavaScript, no build step, no inline script or style (it runs under a strict CSP); every text a person
 * wrote goes into the page with textContent, never as HTML.
 */
(function () {
  "use strict";
  if (window.__gopayCareWidget) { return; }
  window.__gopayCareWidget = true;

  var script = document.currentScript || document.querySelector("script[src$='widget/widget.js']");
  var base = new URL(script.getAttribute("src"), window.location.href).origin;
  var API = base + "/api/v1";
  var LANGS = ["zh-CN", "en", "id"];
  var customerToken = script.getAttribute("data-token") || "";
  var sessionUrl = script.getAttribute("data-session") || "";
  var sessionCsrf = script.getAttribute("data-csrf") || "";
  var store = (function () { try { return window.localStorage; } catch (e) { return null; } })();

  function kept(key) { try { return store ? store.getItem("gpc-w:" + key) : null; } catch (e) { return null; } }
  function keep(key, value) {
    try { if (store) { if (value === null) { store.removeItem("gpc-w:" + key); } else { store.setItem("gpc-w:" + key, value); } } }
    catch (e) { /* private mode: nothing kept */ }
  }

  function browserLanguage() {
    var asked = script.getAttribute("data-lang") || kept("lang");
    if (LANGS.indexOf(asked) >= 0) { return asked; }
    var list = navigator.languages || [navigator.language || ""];
    for (var i = 0; i < list.length; i++) {
      var tag = String(list[i]).toLowerCase();
      if (tag.indexOf("zh") === 0) { return "zh-CN"; }
      if (tag.indexOf("en") === 0) { return "en"; }
      if (tag.indexOf("id") === 0 || tag.indexOf("in") === 0) { return "id"; }
    }
    return "zh-CN";
  }

  var state = {
    lang: browserLanguage(), texts: {}, visitor: kept("visitor") || "", conversation: null, last: 0,
    socket: null, opened: false, retry: 0, files: [], clientSeq: 0, rated: {}
  };

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }
  function t(key, values) {
    var s = state.texts[key] || key;
    if (values) { Object.keys(values).forEach(function (k) { s = s.split("{" + k + "}").join(values[k]); }); }
    return s;
  }

  // ------------------------------------------------------------------ the panel

  var css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = base + "/static/widget/widget.css";
  document.head.appendChild(css);

  var root = el("div", "gpc-w");
  var launch = el("button", "gpc-w-launch");
  launch.type = "button";
  var panel = el("section", "gpc-w-panel");
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-labelledby", "gpc-w-title");
  var head = el("div", "gpc-w-head");
  var title = el("h2");
  title.id = "gpc-w-title";
  var langSelect = el("select");
  LANGS.forEach(function (code) {
    var option = el("option", null, { "zh-CN": "中文", en: "English", id: "Indonesia" }[code]);
    option.value = code;
    langSelect.appendChild(option);
  });
  var humanButton = el("button", "gpc-w-human");
  humanButton.type = "button";
  var closeButton = el("button", "gpc-w-close");
  closeButton.type = "button";
  head.appendChild(title);
  head.appendChild(langSelect);
  head.appendChild(humanButton);
  head.appendChild(closeButton);
  var status = el("div", "gpc-w-status");
  status.setAttribute("role", "status");
  var log = el("ol", "gpc-w-log");
  log.setAttribute("aria-live", "polite");
  var quick = el("div", "gpc-w-quick");
  var rate = el("div", "gpc-w-rate");
  rate.hidden = true;
  var note = el("div", "gpc-w-note");
  var form = el("form", "gpc-w-form");
  var fileInput = el("input", "gpc-w-file");
  fileInput.type = "file";
  fileInput.id = "gpc-w-file";
  fileInput.accept = "image/*,application/pdf";
  var attach = el("label", "gpc-w-attach", "+");
  attach.setAttribute("for", "gpc-w-file");
  var input = el("textarea");
  input.rows = 1;
  input.maxLength = 4000;
  input.id = "gpc-w-input";
  var inputLabel = el("label", "gpc-w-file");
  inputLabel.setAttribute("for", "gpc-w-input");
  var send = el("button", "gpc-w-send");
  send.type = "submit";
  form.appendChild(fileInput);
  form.appendChild(attach);
  form.appendChild(inputLabel);
  form.appendChild(input);
  form.appendChild(send);
  [head, status, log, rate, quick, note, form].forEach(function (n) { panel.appendChild(n); });
  root.appendChild(launch);
  root.appendChild(panel);

  function label() {
    launch.textContent = t("open");
    title.textContent = t("title");
    humanButton.textContent = t("human");
    closeButton.textContent = "✕";
    closeButton.setAttribute("aria-label", t("close"));
    attach.setAttribute("aria-label", t("attach"));
    attach.title = t("attach");
    input.placeholder = t("placeholder");
    inputLabel.textContent = t("placeholder");
    send.textContent = t("send");
    langSelect.value = state.lang;
    langSelect.setAttribute("aria-label", "Language");
    var words = rate.querySelector(".gpc-w-rate-q");
    if (words) { words.textContent = t("rate"); }
    showQuick(lastChoices);
  }

  function loadTexts() {
    return fetch(base + "/widget/texts.json?lang=" + encodeURIComponent(state.lang))
      .then(function (r) { return r.json(); })
      .then(function (body) { state.texts = body.texts || {}; label(); });
  }

  // ------------------------------------------------------------------ messages

  var lastChoices = [];

  function who(m) {
    if (m.direction === "in") { return t("you"); }
    return m.author_type === "agent" ? t("agent") : m.author_type === "bot" ? t("bot") : "GoPay";
  }

  function choicesOf(body) {
    // The assistant's explicit choices: "Reply with its number" followed by lines "1. …".
    var found = [];
    String(body).split("\n").forEach(function (line) {
      var m = /^\s*(\d{1,2})[.)、]\s*(.+)$/.exec(line);
      if (m) { found.push({ value: m[1], text: m[1] + ". " + m[2].slice(0, 40) }); }
    });
    return found.length >= 2 ? found : [];
  }

  function isSurvey(m) {
    return m.author_type === "system" && m.direction === "out" && /(^|\D)1\D[\s\S]*(\D)5(\D|$)/.test(m.body);
  }

  function show(m) {
    if (m.seq <= state.last) { return; }
    state.last = m.seq;
    keep(identity() + ":last", String(m.seq));
    var item = el("li", "gpc-w-msg " + (m.direction === "in" ? "gpc-w-out" : m.author_type === "system" ? "gpc-w-system" : "gpc-w-in"));
    item.setAttribute("data-seq", String(m.seq));
    item.setAttribute("data-author", m.author_type);
    item.appendChild(el("span", "gpc-w-who", who(m)));
    item.appendChild(document.createTextNode(m.body));
    (m.attachments || []).forEach(function (a) {
      var link = el("a", null, t("attach") + ": " + (a.name || a.id));
      link.href = base + (a.url || ("/api/v1/me/attachments/" + a.id));
      link.target = "_blank";
      link.rel = "noopener";
      item.appendChild(link);
    });
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
    if (m.direction === "out") {
      status.textContent = "";
      lastChoices = choicesOf(m.body);
      showQuick(lastChoices);
      if (isSurvey(m)) { askRating(m.seq); }
    }
  }

  function showQuick(choices) {
    quick.textContent = "";
    var list = choices && choices.length ? choices : ["payment", "refund", "login", "app", "promo"].map(function (k) {
      return { value: t("quick_" + k), text: t("quick_" + k) };
    });
    list.forEach(function (choice) {
      var b = el("button", null, choice.text);
      b.type = "button";
      b.addEventListener("click", function () { say(choice.value); });
      quick.appendChild(b);
    });
  }

  function askRating(seq) {
    if (state.rated[seq]) { return; }
    rate.textContent = "";
    rate.appendChild(el("span", "gpc-w-rate-q", t("rate")));
    [1, 2, 3, 4, 5].forEach(function (n) {
      var b = el("button", null, n + " ★");
      b.type = "button";
      b.setAttribute("aria-label", n + " / 5");
      b.addEventListener("click", function () {
        state.rated[seq] = true;
        say(String(n));
        rate.textContent = t("rated");
      });
      rate.appendChild(b);
    });
    rate.hidden = false;
  }

  // ------------------------------------------------------------------ the API

  function identity() { return customerToken ? "customer" : sessionUrl ? "session" : "visitor"; }
  function bearer() { return customerToken || state.visitor; }

  function call(method, path, body, headers) {
    var h = { authorization: "Bearer " + bearer() };
    Object.keys(headers || {}).forEach(function (k) { h[k] = headers[k]; });
    var init = { method: method, headers: h, credentials: "omit" };
    if (body !== undefined) {
      if (body instanceof Blob) { init.body = body; } else { h["content-type"] = "application/json"; init.body = JSON.stringify(body); }
    }
    return fetch(API + path, init).then(function (r) {
      if (!r.ok) { var e = new Error("HTTP " + r.status); e.status = r.status; throw e; }
      return r.status === 204 ? null : r.json();
    });
  }

  function visitorToken() {
    // A visitor's own token (kept in this browser); renewed on each open so it does not expire mid-chat.
    return fetch(API + "/chat/visitors", {
      method: "POST", headers: { "content-type": "application/json" }, credentials: "omit",
      body: JSON.stringify(state.visitor ? { token: state.visitor } : {})
    }).then(function (r) {
      if (r.status === 401 || r.status === 422) { state.visitor = ""; keep("visitor", null); return visitorToken(); }
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    }).then(function (body) { state.visitor = body.token; keep("visitor", body.token); });
  }

  function latestConversation() {
    return call("GET", "/me/conversations?limit=1").then(function (body) {
      var c = body.items && body.items[0];
      // Only a conversation of the chat itself (the app's or the web's) goes on here.
      if (c && c.status === "open" && (c.channel === "chat" || c.channel === "web")) {
        state.conversation = c.id;
        if (String(c.id) !== kept(identity() + ":conversation")) { keep(identity() + ":conversation", String(c.id)); }
      }
    });
  }

  function ticket() {
    if (sessionUrl && !customerToken) {
      return fetch(sessionUrl, { method: "POST", credentials: "same-origin", headers: { "x-csrf-token": sessionCsrf } })
        .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
        .then(function (body) {
          if (!state.conversation && body.conversation_id) { state.conversation = body.conversation_id; }
          return body;
        });
    }
    var body = customerToken && state.visitor ? { visitor_token: state.visitor } : {};
    return call("POST", "/me/chat/ws/tickets", body).catch(function (e) {
      if (customerToken && state.visitor) { state.visitor = ""; keep("visitor", null); return call("POST", "/me/chat/ws/tickets", {}); }
      throw e;
    });
  }

  function connect() {
    status.textContent = t("connecting");
    return ticket().then(function (body) {
      var url = base.replace(/^http/, "ws") + "/api/v1/me/chat/ws?ticket=" + encodeURIComponent(body.ticket);
      if (state.conversation) { url += "&conversation_id=" + state.conversation + "&after=" + state.last; }
      var ws = new WebSocket(url);
      state.socket = ws;
      ws.onopen = function () { state.retry = 0; status.textContent = ""; flush(); };
      ws.onmessage = function (event) {
        var frame;
        try { frame = JSON.parse(event.data); } catch (e) { return; }
        if (frame.type === "message") { show(frame); }
        else if (frame.type === "conversation") { state.conversation = frame.conversation_id; keep(identity() + ":conversation", String(frame.conversation_id)); }
        else if (frame.type === "typing") { status.textContent = (frame.who === "agent" ? t("agent") : t("bot")) + " " + t("typing"); }
        else if (frame.type === "error") { status.textContent = t("error"); }
      };
      ws.onclose = function (event) {
        state.socket = null;
        if (!state.opened) { return; }
        if (event.code === 4404 || event.code === 4422) {  // that conversation is not ours to follow: a new one
          state.conversation = null;
          keep(identity() + ":conversation", null);
        }
        status.textContent = t("offline");
        state.retry = Math.min(state.retry + 1, 6);
        window.setTimeout(function () { if (state.opened && !state.socket) { connect().catch(function () {}); } },
          500 * state.retry * state.retry);
      };
    });
  }

  var outbox = [];
  function flush() {
    while (outbox.length && state.socket && state.socket.readyState === 1) {
      state.socket.send(JSON.stringify(outbox.shift()));
    }
  }

  function say(text) {
    var body = String(text || "").slice(0, 4000);
    if (!body.trim() && !state.files.length) { return; }
    state.clientSeq += 1;
    outbox.push({ type: "message", client_id: "w-" + Date.now().toString(36) + "-" + state.clientSeq, body: body,
                  language: state.lang, attachments: state.files.splice(0) });
    note.textContent = "";
    flush();
  }

  function upload(file) {
    var name = encodeURIComponent(file.name.slice(0, 200));
    var kind = { "content-type": file.type || "application/octet-stream" };
    var sent;
    if (customerToken) {
      sent = call("POST", "/me/attachments?name=" + name, file, kind);
    } else if (sessionUrl) {
      kind["x-csrf-token"] = sessionCsrf;
      sent = fetch(base + "/account/chat/attachments?name=" + name, { method: "POST", credentials: "same-origin",
                                                                      headers: kind, body: file })
        .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); });
    } else { note.textContent = t("attach_login"); return; }
    sent.then(function (body) { state.files.push(body.id); note.textContent = t("attached", { name: file.name }); })
      .catch(function () { note.textContent = t("error"); });
  }

  // ------------------------------------------------------------------ wiring

  function start() {
    var ready = customerToken ? Promise.resolve().then(latestConversation)
      : sessionUrl ? Promise.resolve() : visitorToken().then(latestConversation);
    return ready.then(function () {
      state.last = 0;  // the socket replays the conversation from its start
      log.textContent = "";
      log.appendChild(el("li", "gpc-w-msg gpc-w-in", t("welcome")));
      return connect();
    }).catch(function () { status.textContent = t("error"); });
  }

  launch.addEventListener("click", function () {
    state.opened = true;
    launch.hidden = true;
    panel.hidden = false;
    input.focus();
    if (!state.socket) { start(); }
  });
  closeButton.addEventListener("click", function () {
    state.opened = false;
    panel.hidden = true;
    launch.hidden = false;
    if (state.socket) { state.socket.close(); }
    launch.focus();
  });
  humanButton.addEventListener("click", function () { say(t("human_text")); });
  langSelect.addEventListener("change", function () {
    state.lang = langSelect.value;
    keep("lang", state.lang);
    loadTexts();
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    say(input.value);
    input.value = "";
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); form.requestSubmit(); }
  });
  fileInput.addEventListener("change", function () {
    if (fileInput.files && fileInput.files[0]) { upload(fileInput.files[0]); }
    fileInput.value = "";
  });
  panel.addEventListener("keydown", function (event) { if (event.key === "Escape") { closeButton.click(); } });

  function mount() {
    document.body.appendChild(root);
    loadTexts().catch(function () { label(); });
  }
  if (document.body) { mount(); } else { document.addEventListener("DOMContentLoaded", mount); }
}());
