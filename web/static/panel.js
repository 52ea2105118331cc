// Desk panel: one ES module, no build step, no inline script (CSP). Every user text is set with
// textContent, never as HTML.

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));
const readJson = (id) => JSON.parse(document.getElementById(id)?.textContent || "{}");
const I18N = readJson("i18n");
const DATA = readJson("page-data");
const ME = DATA.me || {};

export function t(key, params = {}) {
  return (I18N[key] || key).replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("data-") || key.startsWith("aria-") || key === "href" || key === "src" || key === "title") node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

export async function api(method, url, body, { form } = {}) {
  const headers = { Accept: "application/json" };
  let payload;
  if (method !== "GET") headers["X-CSRF-Token"] = csrf();
  if (form) payload = form;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const response = await fetch(url, { method, headers, body: payload, credentials: "same-origin" });
  const data = await response.json().catch(() => ({}));
  if (response.status === 401 && !url.startsWith("/api/auth/")) location.assign("/login?next=" + encodeURIComponent(location.pathname));
  if (!response.ok) {
    const error = new Error(describe(data));
    error.status = response.status;
    error.data = data;
    throw error;
  }
  return data;
}

function describe(data) {
  const fields = data.fields ? Object.entries(data.fields).map(([name, text]) => `${name}: ${text}`).join("; ") : "";
  return [data.message || t("error"), fields].filter(Boolean).join(" ");
}

// Times show in the viewer's zone: the one chosen in the header (saved on the account), else the browser's.
const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
const viewerZone = DATA.me?.time_zone || browserZone;
const when = (iso) => (iso ? new Date(iso).toLocaleString(document.documentElement.lang, { timeZone: viewerZone }) : "");
// A time that belongs to a place (a booking): the viewer's time, and the place's own when its zone differs.
function placeTime(iso, zone) {
  if (!iso) return "";
  const format = (timeZone) => new Date(iso).toLocaleString(document.documentElement.lang, { timeZone, dateStyle: "short", timeStyle: "short" });
  const here = format(viewerZone);
  return !zone || zone === viewerZone ? here : `${here} (${t("store_time", { time: format(zone), zone })})`;
}

// ---------------------------------------------------------------- live connection

class Live {
  constructor() {
    this.lastId = Number(document.body.dataset.lastEventId || 0);
    this.delay = 500;
    this.handlers = [];
    this.openHandlers = [];
    this.lastFrameAt = Date.now();
    this.socket = null;
    this.connects = 0;
    setInterval(() => this.watchdog(), 10000);
  }
  on(handler) { this.handlers.push(handler); }
  onOpen(handler) { this.openHandlers.push(handler); }
  connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}/ws`);
    this.socket = socket;
    socket.addEventListener("message", (message) => this.receive(JSON.parse(message.data)));
    socket.addEventListener("close", () => { if (this.socket === socket) this.retry(); });
  }
  receive(frame) {
    this.lastFrameAt = Date.now();
    if (frame.type === "hello") {
      this.connects += 1;
      this.send({ type: "resume", after: this.lastId });
      this.delay = 500;
      setConnState("live");
      for (const handler of this.openHandlers) handler();
      return;
    }
    if (frame.type === "reset") { location.reload(); return; }
    if (typeof frame.id !== "number" || frame.id <= this.lastId) return;  // exactly once, in order
    this.lastId = frame.id;
    document.body.dataset.lastSeenEventId = String(frame.id);
    for (const handler of this.handlers) {
      try { handler(frame); } catch (error) { console.error(error); }
    }
  }
  retry() {
    setConnState("reconnecting");
    const wait = this.delay + Math.random() * this.delay / 2;
    this.delay = Math.min(this.delay * 2, 15000);
    setTimeout(() => this.connect(), wait);
  }
  watchdog() {
    if (this.socket && this.socket.readyState === WebSocket.OPEN && Date.now() - this.lastFrameAt > 60000) this.socket.close();
  }
  send(frame) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
  }
}

function setConnState(state) {
  const node = $("#conn-state");
  if (!node) return;
  node.dataset.state = state;
  node.textContent = state === "live" ? t("live") : t("reconnecting");
}

// ---------------------------------------------------------------- attention: title, sound, notifications

const attention = {
  baseTitle: document.title,
  unread: Number(document.body.dataset.unreadTotal || 0),
  muted: localStorage.getItem("desk.muted") === "1",
  setUnread(total) {
    this.unread = total;
    document.body.dataset.unreadTotal = String(total);
    document.title = total > 0 ? `(${total}) ${this.baseTitle}` : this.baseTitle;
    const badge = $("#unread-total");
    if (badge) badge.textContent = total > 0 ? String(total) : "";
  },
  async refreshUnread() {
    try { this.setUnread((await api("GET", "/api/presence")).unread_total); } catch { /* shown on next event */ }
  },
  ding() {
    if (this.muted) return;
    document.body.dataset.soundCount = String(Number(document.body.dataset.soundCount || 0) + 1);
    try {
      const audio = new (window.AudioContext || window.webkitAudioContext)();
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.value = 0.08;
      tone.connect(gain).connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.15);
    } catch { /* no audio device */ }
  },
  notify(title, body) {
    if (!document.hidden || !("Notification" in window) || Notification.permission !== "granted") return;
    new Notification(title, { body, tag: "desk" });
  },
  askOnce() {
    if (!("Notification" in window) || localStorage.getItem("desk.notify-asked")) return;
    document.addEventListener("click", () => {
      localStorage.setItem("desk.notify-asked", "1");
      if (Notification.permission === "default") Notification.requestPermission();
    }, { once: true });
  },
  showMute() {
    const button = $("#sound-toggle");
    if (!button) return;
    button.textContent = this.muted ? t("sound_off") : t("sound_on");
    button.setAttribute("aria-pressed", String(!this.muted));
  },
};

function watchForAttention(live) {
  let timer = null;
  live.on((event) => {
    if (event.type === "message.created" && event.data.author_kind === "customer") {
      attention.ding();
      attention.notify(t("new_message", { name: `#${event.data.ticket_id}` }), (event.data.body || "").slice(0, 120));
    }
    if (event.type.startsWith("ticket.") || event.type === "message.created") {
      clearTimeout(timer);
      timer = setTimeout(() => attention.refreshUnread(), 150);
    }
  });
}

// ---------------------------------------------------------------- header

function setupHeader() {
  attention.setUnread(attention.unread);
  attention.showMute();
  attention.askOnce();
  $("#sound-toggle")?.addEventListener("click", () => {
    attention.muted = !attention.muted;
    localStorage.setItem("desk.muted", attention.muted ? "1" : "0");
    attention.showMute();
  });
  $("#language")?.addEventListener("change", async (event) => {
    await api("PATCH", "/api/me", { language: event.target.value });
    location.reload();
  });
  const zones = $("#time-zone");
  if (zones) {
    const names = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
    for (const name of new Set([...names, "UTC", DATA.me?.time_zone].filter(Boolean))) {
      zones.append(el("option", { value: name, text: name }));
    }
    zones.value = DATA.me?.time_zone || "";
    zones.addEventListener("change", async (event) => {
      await api("PATCH", "/api/me", { time_zone: event.target.value });
      location.reload();
    });
  }
  $("#logout")?.addEventListener("click", async () => { await api("POST", "/api/auth/logout"); location.assign("/login"); });
  $("#logout-all")?.addEventListener("click", async () => { await api("POST", "/api/auth/logout-all"); location.assign("/login"); });
}

// ---------------------------------------------------------------- login and password pages

function safeNext() {
  const next = new URLSearchParams(location.search).get("next") || "/";  // "/" sends each role to its home
  return next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

function setupLogin() {
  const form = $("#login-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    $("#login-error").textContent = "";
    try {
      await api("POST", "/api/auth/login", { email: form.email.value, password: form.password.value });
      location.assign(safeNext());
    } catch (error) {
      $("#login-error").textContent = error.message;
    }
  });
}

function setupPassword() {
  const form = $("#password-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("POST", "/api/auth/password", { token: location.hash.slice(1), password: form.password.value });
      $("#password-error").textContent = t("password_set");
    } catch (error) {
      $("#password-error").textContent = error.message;
    }
  });
}

// ---------------------------------------------------------------- SLA badges

function slaBadges(ticket) {
  const now = Date.now();
  const badges = [];
  const clocks = [["first_response", ticket.first_response_at ? null : ticket.frt_due_at], ["resolution", ticket.ttr_due_at]];
  for (const [key, due] of clocks) {
    if (!due || ticket.status === "closed" || ticket.sla_paused_at) continue;
    const minutes = Math.round((new Date(due).getTime() - now) / 60000);
    const overdue = minutes < 0;
    const text = overdue ? `${t(key)}: ${t("overdue")} ${-minutes}m` : `${t(key)}: ${minutes}m`;
    badges.push(el("span", { class: `sla-badge ${overdue ? "overdue" : minutes < 30 ? "soon" : "ok"}`, text, "data-due": due }));
  }
  return badges;
}

// ---------------------------------------------------------------- inbox

function setupInbox(live) {
  const form = $("#filters");
  const rows = $("#ticket-rows");
  const more = $("#more");
  let cursor = null;
  let loaded = 0;
  let timer = null;

  const query = (limit) => {
    const params = new URLSearchParams();
    params.set("assignee", form.assignee.value);
    const status = form.status.value;
    if (status === "") ["open", "in_progress", "waiting_customer"].forEach((s) => params.append("status", s));
    else if (status !== "*") params.append("status", status);
    for (const name of ["queue_id", "channel", "priority", "q"]) if (form[name].value) params.set(name, form[name].value);
    params.set("limit", String(limit));
    return params;
  };

  const row = (ticket) => el("tr", { "data-ticket-id": ticket.id, class: ticket.unread_count ? "unread" : "" },
    el("td", {}, el("a", { href: `/tickets/${ticket.id}`, text: `#${ticket.id}` })),
    el("td", {}, ticket.contact_name || ticket.contact_username || "—",
      ticket.unread_count ? el("span", { class: "badge unread-count", text: String(ticket.unread_count) }) : null),
    el("td", {}, el("a", { href: `/tickets/${ticket.id}`, text: ticket.subject || "—" })),
    el("td", { text: t(`status_${ticket.status}`) }),
    el("td", { class: `priority-${ticket.priority}`, text: t(`priority_${ticket.priority}`) }),
    el("td", { text: ticket.queue_name }),
    el("td", { text: ticket.assignee_name || t("unassigned") }),
    el("td", {}, ...slaBadges(ticket)),
    el("td", { text: when(ticket.updated_at) }));

  async function load(reset) {
    const limit = reset ? Math.max(50, Math.min(loaded, 100)) : 50;
    const params = query(limit);
    if (!reset && cursor) params.set("cursor", cursor);
    const page = await api("GET", `/api/tickets?${params}`);
    if (reset) { rows.replaceChildren(); loaded = 0; }
    rows.append(...page.items.map(row));
    loaded += page.items.length;
    cursor = page.next_cursor;
    more.hidden = !cursor;
    $("#inbox-empty").hidden = loaded > 0;
    document.body.dataset.inboxLoads = String(Number(document.body.dataset.inboxLoads || 0) + 1);
  }

  form.addEventListener("change", () => load(true));
  form.addEventListener("submit", (event) => event.preventDefault());
  form.q.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => load(true), 300); });
  more.addEventListener("click", () => load(false));
  live.on((event) => {
    if (event.type.startsWith("ticket.") || event.type === "message.created") {
      clearTimeout(timer);
      timer = setTimeout(() => load(true), 120);
    }
  });
  live.onOpen(() => live.send({ type: "view", ticket_id: null }));
  setInterval(() => load(true), 60000);  // keeps SLA countdowns current
  load(true);
}

// ---------------------------------------------------------------- ticket view

function setupTicket(live) {
  const ticketId = DATA.ticket_id;
  const list = $("#messages");
  const items = new Map();  // "m:<id>" or "n:<id>" -> <li>, so every message is shown once
  const operators = new Map();
  let ticket = null;

  const attachmentNode = (file) => {
    if (!file.available) return el("span", { class: "file missing", text: `${file.file_name} (${file.problem || "—"})` });
    const url = `/api/attachments/${file.id}`;
    if (/^image\/(png|jpeg|gif|webp)$/.test(file.content_type)) {
      return el("a", { href: url, class: "preview", title: file.file_name },
        el("img", { src: `${url}?preview=1`, alt: file.file_name, loading: "lazy" }));
    }
    return el("a", { href: url, class: "file", text: `${file.file_name} (${Math.ceil(file.size / 1024)} KB)`, download: file.file_name });
  };

  const deliveryNode = (message) => {
    if (message.author_kind !== "operator" || message.delivery_state === "none") return null;
    const state = el("span", { class: `delivery ${message.delivery_state}`, text: t(message.delivery_state), title: message.delivery_error || "" });
    if (message.delivery_state !== "failed") return state;
    const retry = el("button", { type: "button", class: "link retry", text: t("retry") });
    retry.addEventListener("click", async () => {
      retry.disabled = true;
      try { await api("POST", `/api/messages/${message.id}/retry`); } catch (error) { alert(error.message); retry.disabled = false; }
    });
    const reason = message.delivery_error ? el("span", { class: "delivery-error", text: ` — ${message.delivery_error}` }) : null;
    return el("span", {}, state, reason, " ", retry);
  };

  // A fixed system line (a rating, a reopen) in the operator's language; anything else as written.
  const systemLine = (message) => {
    const line = message.meta?.line;
    return line && I18N[`line_${line}`] ? t(`line_${line}`, message.meta.params || {}) : message.body;
  };

  const messageNode = (message) => el("li", { class: `msg ${message.author_kind}`, "data-message-id": message.id, "data-created": message.created_at, "data-files": JSON.stringify(message.attachments || []) },
    el("div", { class: "meta" },
      el("strong", { text: message.author_kind === "operator" ? (operators.get(message.operator_id) || t("operator")) : t(message.author_kind) }),
      " ", el("time", { text: when(message.created_at) }), " ", deliveryNode(message)),
    el("div", { class: "body", text: systemLine(message) }),
    message.attachments?.length ? el("div", { class: "files" }, ...message.attachments.map(attachmentNode)) : null);

  const noteNode = (note) => el("li", { class: "msg note", "data-note-id": note.id, "data-created": note.created_at },
    el("div", { class: "meta" }, el("strong", { text: `${t("note")} · ${note.operator_name || operators.get(note.operator_id) || ""}` }),
      " ", el("time", { text: when(note.created_at) })),
    el("div", { class: "body", text: note.body }),
    note.attachments?.length ? el("div", { class: "files" }, ...note.attachments.map(attachmentNode)) : null);

  function upsert(key, node) {
    const existing = items.get(key);
    if (existing) { existing.replaceWith(node); items.set(key, node); return; }
    items.set(key, node);
    const stamp = node.dataset.created || "";
    const later = $$("li.msg", list).find((other) => (other.dataset.created || "") > stamp);
    if (later) list.insertBefore(node, later); else list.append(node);
    node.scrollIntoView({ block: "end" });
  }

  function showTicket(data) {
    ticket = { ...(ticket || {}), ...data };
    $("#ticket-subject").textContent = `#${ticket.id} ${ticket.subject || ""}`;
    const controls = $("#controls");
    controls.status.value = ticket.status;
    controls.priority.value = ticket.priority;
    controls.queue_id.value = String(ticket.queue_id);
    controls.assignee_id.value = ticket.assignee_id ? String(ticket.assignee_id) : "";
    $("#sla").replaceChildren(...slaBadges(ticket));
    if (data.contact) showCustomer(data.contact);
    if (data.viewers) showViewers(data.viewers);
    if (data.channel_capabilities) showChannel(data.channel_capabilities);
  }

  // Only what the ticket's channel can do (GET /api/tickets/{id} carries its capabilities).
  function showChannel(channel) {
    $("#reply-files").hidden = !channel.files;
    $("#reply-form").dataset.typing = channel.typing_indicator ? "yes" : "no";
  }

  function showCustomer(contact) {
    const pairs = [["Telegram", [contact.name, contact.telegram_username ? `@${contact.telegram_username}` : ""].filter(Boolean).join(" ")],
      ["E-mail", contact.email], ["Lang", contact.language]];
    const card = $("#customer-card");
    card.replaceChildren();
    for (const [label, value] of pairs) if (value) card.append(el("dt", { text: label }), el("dd", { text: value }));
    if (contact.blocked) card.append(el("dd", { class: "warn", text: t("blocked") }));
    $("#earlier-tickets").replaceChildren(...contact.earlier_tickets.map((item) => el("li", {},
      el("a", { href: `/tickets/${item.id}`, text: `#${item.id} ${item.subject || ""}` }), ` · ${t(`status_${item.status}`)}`)));
  }

  function showViewers(viewers) {
    const others = viewers.filter((viewer) => viewer.operator_id !== ME.id).map((viewer) => viewer.display_name);
    $("#viewers").textContent = others.length ? `${t("viewing")} ${others.join(", ")}` : "";
  }

  async function load() {
    const [card, messages, notes, staff] = await Promise.all([
      api("GET", `/api/tickets/${ticketId}`), api("GET", `/api/tickets/${ticketId}/messages`),
      api("GET", `/api/tickets/${ticketId}/notes`), api("GET", "/api/operators")]);
    const select = $("#controls").assignee_id;
    for (const operator of staff.items) {
      operators.set(operator.id, operator.display_name);
      if (operator.is_active && operator.role !== "partner") select.append(el("option", { value: String(operator.id), text: operator.display_name }));
    }
    showTicket(card);
    for (const message of messages.items) upsert(`m:${message.id}`, messageNode(message));
    for (const note of notes.items) upsert(`n:${note.id}`, noteNode(note));
    markRead();
  }

  let readTimer = null;
  function markRead() {
    clearTimeout(readTimer);
    readTimer = setTimeout(() => { if (!document.hidden) api("POST", `/api/tickets/${ticketId}/read`).catch(() => {}); }, 300);
  }
  document.addEventListener("visibilitychange", () => { if (!document.hidden && ticket?.unread_count) markRead(); });

  live.onOpen(() => live.send({ type: "view", ticket_id: ticketId }));
  live.on((event) => {
    const data = event.data || {};
    if (data.ticket_id !== ticketId && data.id !== ticketId) return;
    if ((event.type === "message.created" || event.type === "message.updated") && data.ticket_id === ticketId) {
      const known = items.get(`m:${data.id}`);
      if (event.type === "message.updated" && !data.attachments?.length && known) {
        data.attachments = JSON.parse(known.dataset.files || "[]");
      }
      const node = messageNode(data);
      upsert(`m:${data.id}`, node);
      if (data.author_kind === "customer") markRead();
    } else if (event.type === "note.created" && data.ticket_id === ticketId) {
      upsert(`n:${data.id}`, noteNode(data));
    } else if (event.type === "ticket.updated" && data.id === ticketId) {
      showTicket(data);
    } else if (event.type === "presence.viewers" && data.ticket_id === ticketId) {
      showViewers(data.viewers);
    }
  });

  $("#controls").addEventListener("change", async (event) => {
    const name = event.target.name;
    const raw = event.target.value;
    const value = name === "queue_id" ? Number(raw) : name === "assignee_id" ? (raw ? Number(raw) : null) : raw;
    $("#controls-error").textContent = "";
    try { showTicket(await api("PATCH", `/api/tickets/${ticketId}`, { [name]: value })); }
    catch (error) { $("#controls-error").textContent = error.message; showTicket({}); }
  });

  setupReplyBox(live, ticketId, (message) => upsert(`m:${message.id}`, messageNode(message)),
    (note) => upsert(`n:${note.id}`, noteNode(note)));
  setInterval(() => ticket && $("#sla").replaceChildren(...slaBadges(ticket)), 30000);
  load();
}

function setupReplyBox(live, ticketId, showMessage, showNote) {
  const form = $("#reply-form");
  const box = $("#reply-body");
  const files = $("#reply-files");
  const errorLine = $("#reply-error");
  const shortcuts = $("#shortcut-list");
  const limits = DATA.limits || { max_bytes: 20 * 1024 * 1024, max_files: 10 };
  const saved = DATA.saved_replies || [];
  let lastTyping = 0;
  let sending = false;

  const matches = () => {
    const found = /^\/([a-z0-9_-]*)$/.exec(box.value.trim());
    if (!found) return [];
    const prefix = found[1];
    const mine = saved.filter((reply) => reply.shortcut.startsWith(prefix));
    return mine.sort((a, b) => (a.language === ME.language ? -1 : 0) - (b.language === ME.language ? -1 : 0));
  };
  const insert = (reply) => { box.value = reply.body; shortcuts.hidden = true; box.focus(); };
  const showShortcuts = () => {
    const found = matches();
    shortcuts.hidden = found.length === 0;
    shortcuts.replaceChildren(...found.slice(0, 8).map((reply) => {
      const item = el("li", {}, el("button", { type: "button", class: "link", text: `/${reply.shortcut} — ${reply.title} (${reply.language})` }));
      item.firstChild.addEventListener("click", () => insert(reply));
      return item;
    }));
  };

  box.addEventListener("input", () => {
    showShortcuts();
    if (Date.now() - lastTyping > 3000 && box.value.trim() && !$("#as-note").checked && form.dataset.typing !== "no") {
      lastTyping = Date.now();
      live.send({ type: "typing", ticket_id: ticketId });
    }
  });
  box.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    const found = matches();
    if (found.length) { insert(found[0]); return; }
    form.requestSubmit();
  });

  function checkFiles() {
    const chosen = Array.from(files.files || []);
    if (chosen.length > limits.max_files) return t("too_many_files", { limit: limits.max_files });
    const big = chosen.find((file) => file.size > limits.max_bytes);
    return big ? t("file_too_large", { name: big.name, limit: Math.round(limits.max_bytes / 1048576) }) : "";
  }
  files.addEventListener("change", () => { errorLine.textContent = checkFiles(); });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (sending) return;
    const problem = checkFiles();
    if (problem) { errorLine.textContent = problem; return; }
    const body = box.value;
    const chosen = Array.from(files.files || []);
    if (!body.trim() && !chosen.length) return;
    sending = true;
    $("#send").disabled = true;
    errorLine.textContent = "";
    try {
      if ($("#as-note").checked) {
        showNote({ ...(await api("POST", `/api/tickets/${ticketId}/notes`, { body })), operator_name: "" });
      } else {
        const key = crypto.randomUUID().replaceAll("-", "");
        let message;
        if (chosen.length) {
          const data = new FormData();
          data.append("body", body);
          data.append("client_key", key);
          for (const file of chosen) data.append("file", file, file.name);
          message = await api("POST", `/api/tickets/${ticketId}/messages`, undefined, { form: data });
        } else {
          message = await api("POST", `/api/tickets/${ticketId}/messages`, { body, client_key: key });
        }
        showMessage(message);
      }
      box.value = "";
      files.value = "";
    } catch (error) {
      errorLine.textContent = error.message;
    } finally {
      sending = false;
      $("#send").disabled = false;
    }
  });
}

// ---------------------------------------------------------------- admin pages

function notice(text) { const node = $("#admin-notice"); if (node) node.textContent = text; }

function formJson(form) {
  const data = {};
  for (const [key, value] of new FormData(form).entries()) if (value !== "") data[key] = value;
  return data;
}

async function setupOperators() {
  const rows = $("#operator-rows");
  async function load() {
    const { items } = await api("GET", "/api/operators");
    rows.replaceChildren(...items.map((operator) => {
      const toggle = el("button", { type: "button", class: "link", text: operator.is_active ? t("disable") : t("enable") });
      toggle.addEventListener("click", async () => {
        try { await api("PATCH", `/api/operators/${operator.id}`, { is_active: !operator.is_active }); load(); } catch (error) { notice(error.message); }
      });
      const reset = el("button", { type: "button", class: "link", text: t("reset") });
      reset.addEventListener("click", async () => {
        try { notice(`${t("copy_link")} ${(await api("POST", `/api/operators/${operator.id}/reset`)).link}`); } catch (error) { notice(error.message); }
      });
      return el("tr", { "data-operator-id": operator.id }, el("td", { text: operator.display_name }), el("td", { text: operator.email || "" }),
        el("td", { text: operator.role }), el("td", { text: operator.is_active ? t("active") : t("disabled") }),
        el("td", {}, operator.id === ME.id ? null : toggle, " ", reset));
    }));
  }
  $("#invite-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const answer = await api("POST", "/api/operators", formJson(event.target));
      notice(`${t("copy_link")} ${answer.link}`);
      event.target.reset();
      load();
    } catch (error) { notice(error.message); }
  });
  load();
}

async function setupQueues() {
  const rows = $("#queue-rows");
  async function load() {
    const { items } = await api("GET", "/api/queues");
    rows.replaceChildren(...items.map((queue) => {
      const visible = el("input", { type: "checkbox", checked: queue.customer_visible, "aria-label": queue.name });
      visible.addEventListener("change", () => api("PATCH", `/api/queues/${queue.id}`, { customer_visible: visible.checked }).catch((error) => notice(error.message)));
      return el("tr", {}, el("td", { text: queue.slug }), el("td", { text: queue.name }), el("td", {}, visible));
    }));
  }
  $("#queue-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try { await api("POST", "/api/queues", formJson(event.target)); event.target.reset(); notice(t("saved")); load(); } catch (error) { notice(error.message); }
  });
  load();
}

async function setupSavedReplies() {
  const rows = $("#saved-reply-rows");
  async function load() {
    const { items } = await api("GET", "/api/saved-replies");
    rows.replaceChildren(...items.map((reply) => {
      const remove = el("button", { type: "button", class: "link", text: t("delete") });
      remove.addEventListener("click", async () => { await api("DELETE", `/api/saved-replies/${reply.id}`); load(); });
      return el("tr", {}, el("td", { text: `/${reply.shortcut}` }), el("td", { text: reply.language }), el("td", { text: reply.title }),
        el("td", { text: reply.body }), el("td", {}, remove));
    }));
  }
  $("#reply-template-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try { await api("POST", "/api/saved-replies", formJson(event.target)); event.target.reset(); notice(t("saved")); load(); } catch (error) { notice(error.message); }
  });
  load();
}

async function setupTokens() {
  const rows = $("#token-rows");
  async function load() {
    const everyone = ME.role === "admin" ? "?all=true" : "";
    const { items } = await api("GET", `/api/tokens${everyone}`);
    rows.replaceChildren(...items.map((token) => {
      const revoke = el("button", { type: "button", class: "link", text: t("revoke") });
      revoke.addEventListener("click", async () => { await api("DELETE", `/api/tokens/${token.id}`); load(); });
      return el("tr", {}, el("td", { text: token.name }), el("td", { text: `${token.prefix}…` }), el("td", { text: String(token.operator_id) }),
        el("td", { text: when(token.last_used_at) }), el("td", {}, revoke));
    }));
  }
  $("#token-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try { notice(`${t("token_once")} ${(await api("POST", "/api/tokens", formJson(event.target))).token}`); event.target.reset(); load(); } catch (error) { notice(error.message); }
  });
  load();
}

async function setupWsStats() {
  async function load() {
    const stats = await api("GET", "/api/ws/stats");
    const pairs = [["admin", stats.sockets.admin], ["operator", stats.sockets.operator], ["partner", stats.sockets.partner],
      ["listener", stats.listener_alive ? "up" : "DOWN"], ["last event id", stats.last_event_id], ["stream", stats.stream_last_id],
      ...Object.entries(stats.outbox).map(([state, count]) => [`outbox ${state}`, count])];
    $("#ws-stats").replaceChildren(...pairs.flatMap(([label, value]) => [el("dt", { text: label }), el("dd", { text: String(value) })]));
    $("#online-list").replaceChildren(...stats.online_operators.map((who) => el("li", { text: `${who.display_name} (${who.role}) × ${who.sockets}` })));
  }
  load();
  setInterval(load, 5000);
}

// ---------------------------------------------------------------- knowledge-base editor

function setupKb() {
  const form = $("#kb-form");
  const list = $("#kb-articles");
  const previewBox = $("#kb-preview");
  let timer = null;

  // The preview HTML comes from the server's Markdown renderer and allow-list sanitizer (nh3);
  // it is parsed into an inert document and only its nodes are adopted.
  const showHtml = (target, html) => {
    const parsed = new DOMParser().parseFromString(`<body>${html}</body>`, "text/html");
    target.replaceChildren(...Array.from(parsed.body.childNodes));
  };
  const preview = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => showHtml(previewBox, (await api("POST", "/api/kb/preview", { body: form.body.value })).html), 250);
  };
  const fill = (article) => {
    form.id.value = article?.id || "";
    form.slug.value = article?.slug || "";
    form.slug.readOnly = Boolean(article);
    form.title.value = article?.title || "";
    form.language.value = article?.language || ME.language || "en";
    form.tags.value = (article?.tags || []).join(", ");
    form.published.checked = article ? article.published : true;
    form.body.value = article?.body || "";
    preview();
  };
  async function load() {
    const q = encodeURIComponent($("#kb-filter").value);
    const { items } = await api("GET", `/api/kb/articles?q=${q}`);
    list.replaceChildren(...items.map((article) => {
      const button = el("button", { type: "button", class: "link", text: `${article.title} (${article.language})${article.published ? "" : " ✎"}` });
      button.addEventListener("click", () => fill(article));
      return el("li", { "data-article-id": article.id }, button);
    }));
  }
  form.body.addEventListener("input", preview);
  $("#kb-filter").addEventListener("input", () => load());
  $("#kb-new").addEventListener("click", () => fill(null));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = { title: form.title.value, body: form.body.value, language: form.language.value,
      tags: form.tags.value.split(",").map((tag) => tag.trim()).filter(Boolean), published: form.published.checked };
    try {
      const saved = form.id.value ? await api("PATCH", `/api/kb/articles/${form.id.value}`, data)
        : await api("POST", "/api/kb/articles", { ...data, slug: form.slug.value });
      fill(saved);
      notice(t("saved"));
      load();
    } catch (error) { notice(error.message); }
  });
  $("#kb-delete").addEventListener("click", async () => {
    if (!form.id.value) return;
    await api("DELETE", `/api/kb/articles/${form.id.value}`);
    fill(null);
    load();
  });
  $("#kb-ask").addEventListener("submit", async (event) => {
    event.preventDefault();
    const params = new URLSearchParams({ q: event.target.q.value, language: event.target.language.value });
    const result = await api("GET", `/api/kb/search?${params}`);
    const box = $("#kb-answer");
    box.replaceChildren(el("p", { class: "muted", text: t(`kb_${result.outcome}`) }));
    if (result.answer) {
      const answer = el("div", { class: "markdown" });
      showHtml(answer, result.answer.html);
      box.append(el("h3", { text: result.answer.title }), answer);
    } else if (result.found.length) {
      box.append(el("ul", {}, ...result.found.map((found) => el("li", { text: found.title }))));
    }
  });
  fill(null);
  load();
}

// ---------------------------------------------------------------- orders board

function money(minor, currency) {
  try {
    return new Intl.NumberFormat(document.documentElement.lang, { style: "currency", currency }).format(minor / 100);
  } catch (error) { return `${(minor / 100).toFixed(2)} ${currency}`; }
}

function setupOrders(live) {
  const columns = DATA.columns;  // the open statuses, from core's transition table
  const orders = new Map();
  let more = {};  // status -> newer orders the first paint left out (the board shows the oldest first)
  const filter = $("#board-store");
  const minutesAgo = (iso) => Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 60000));

  async function move(order, status, reason) {
    try {
      const body = { status, expected: order.status };
      if (reason) body.reason = reason;
      const moved = await api("PATCH", `/api/orders/${order.id}`, body);
      upsert(moved);
      notice("");
    } catch (error) {
      notice(error.message);
      load();
    }
  }

  function askReason(order, status, box) {
    const input = el("input", { type: "text", maxLength: 500, required: true, placeholder: t("reason"), "aria-label": t("reason") });
    const confirm = el("button", { type: "submit", text: DATA.action_labels[status] });
    const form = el("form", { class: "reason-form" }, input, confirm);
    form.addEventListener("submit", (event) => { event.preventDefault(); if (input.value.trim()) move(order, status, input.value.trim()); });
    box.replaceChildren(form);
    input.focus();
  }

  function card(order) {
    const actions = el("div", { class: "actions" });
    for (const status of order.actions || []) {
      const button = el("button", { type: "button", class: status === "rejected" || status === "cancelled" ? "secondary" : "",
        "data-action": status, text: DATA.action_labels[status] || status });
      button.addEventListener("click", () => {
        if ((DATA.needs_reason || []).includes(status)) askReason(order, status, actions);
        else move(order, status);
      });
      actions.append(button);
    }
    const items = (order.items || []).map((item) => `${item.quantity}× ${item.name}`).join(", ");
    return el("li", { class: `order-card${order.escalated ? " escalated" : ""}`, "data-order-id": order.id },
      el("div", { class: "meta" },
        el("strong", { text: `#${order.id}` }), " · ", DATA.stores[order.store_id] || "", " · ",
        DATA.kind_labels[order.kind] || order.kind, " · ", t("minutes_ago", { n: minutesAgo(order.created_at) }),
        order.escalated ? el("span", { class: "badge", text: t("escalated") }) : null),
      el("div", { text: order.customer_name || "—" }),
      el("div", { class: "items", text: items }),
      el("div", { class: "total", text: money(order.total_minor, order.currency) }),
      order.scheduled_at ? el("div", { class: "muted scheduled", text: `${placeTime(order.scheduled_at, DATA.store_zones[order.store_id])}${order.party_size ? ` · ${order.party_size}` : ""}` }) : null,
      order.customer_phone ? el("div", { class: "muted", text: order.customer_phone }) : null,
      order.address ? el("div", { class: "muted", text: order.address }) : null,
      order.comment ? el("div", { class: "comment", text: order.comment }) : null,
      actions);
  }

  function render() {
    const store = filter.value;
    for (const status of columns) {
      const list = [...orders.values()]
        .filter((order) => order.status === status && (!store || String(order.store_id) === store))
        .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id - b.id);
      $(`[data-cards="${status}"]`).replaceChildren(...list.map(card));
      $(`[data-count="${status}"]`).textContent = String(list.length);
      const left = $(`[data-more="${status}"]`);
      left.hidden = !more[status];
      left.textContent = more[status] ? t("more_orders", { n: more[status] }) : "";
    }
    document.body.dataset.boardRenders = String(Number(document.body.dataset.boardRenders || 0) + 1);
  }

  let reloading = null;
  function upsert(order) {
    const before = orders.get(order.id);
    if (Object.keys(more).length && (!before || before.status !== order.status)) {
      // Some columns leave orders out: which one comes in next is the server's to say (at most once a second).
      reloading ??= setTimeout(() => { reloading = null; load(); }, 1000);
      return;
    }
    if (columns.includes(order.status)) orders.set(order.id, order);
    else orders.delete(order.id);
    render();
  }

  async function load() {
    const board = await api("GET", "/api/orders/board");
    orders.clear();
    more = board.more || {};
    for (const list of Object.values(board.columns)) for (const order of list) orders.set(order.id, order);
    render();
  }

  filter.addEventListener("change", render);
  live.on((event) => {
    if (event.type === "order.created" || event.type === "order.updated") {
      const known = orders.get(event.data.id);
      if (!known || known.updated_at <= event.data.updated_at) upsert(event.data);
      if (event.type === "order.created") {
        attention.ding();
        attention.notify(t("new_order", { id: event.data.id }), DATA.stores[event.data.store_id] || "");
      }
    } else if (event.type === "order.escalated") {
      const known = orders.get(event.data.id);
      if (known) { known.escalated = true; render(); }
    }
  });
  setInterval(render, 60000);  // keeps "minutes ago" current
  load();
}

// ---------------------------------------------------------------- stores (admin)

async function setupStores() {
  const list = $("#store-list");
  const operators = ME.role === "admin" ? (await api("GET", "/api/operators")).items.filter((o) => o.role === "partner" && o.is_active) : [];

  function action(text, handler) {
    const button = el("button", { type: "button", class: "link", text });
    button.addEventListener("click", async () => { try { await handler(); } catch (error) { notice(error.message); } });
    return button;
  }

  function storeCard(store) {
    const members = el("ul", { class: "members" }, ...store.members.map((member) => el("li", { "data-member-id": member.id },
      `${member.name} (${member.telegram ? "Telegram" : t("panel_account")}, ${member.language}) `,
      action(t("remove"), async () => { await api("DELETE", `/api/stores/${store.id}/members/${member.id}`); load(); }))));
    const products = el("table", { class: "list" }, el("tbody", {}, ...store.products.map((product) => {
      const available = el("input", { type: "checkbox", checked: product.available, "aria-label": product.name });
      available.addEventListener("change", () => api("PATCH", `/api/stores/${store.id}/products/${product.id}`, { available: available.checked }).catch((error) => notice(error.message)));
      const photoUrl = `/api/stores/${store.id}/products/${product.id}/photo`;
      const upload = el("input", { type: "file", accept: "image/jpeg,image/png,image/webp", class: "photo-input", "aria-label": `${t("photo")}: ${product.name}` });
      upload.addEventListener("change", async () => {
        const form = new FormData();
        form.append("photo", upload.files[0]);
        try { await api("PUT", photoUrl, undefined, { form }); load(); } catch (error) { notice(error.message); upload.value = ""; }
      });
      const photo = el("td", { class: "photo" },
        product.photo_url ? el("img", { src: product.photo_url, alt: product.name, class: "thumb" }) : null,
        el("label", { class: "link" }, product.has_photo ? t("replace_photo") : t("add_photo"), upload),
        product.has_photo ? action(t("remove_photo"), async () => { await api("DELETE", photoUrl); load(); }) : null);
      return el("tr", { "data-product-id": product.id }, el("td", { text: product.name }), el("td", { text: money(product.price_minor, product.currency) }),
        el("td", {}, el("label", {}, available, ` ${t("available")}`)), photo);
    })));
    const productForm = el("form", { class: "inline-form product-form" },
      el("input", { type: "text", name: "name", required: true, maxLength: 128, placeholder: t("product_name"), "aria-label": t("product_name") }),
      el("input", { type: "number", name: "price", required: true, min: "0", step: "0.01", placeholder: t("price"), "aria-label": t("price") }),
      el("button", { type: "submit", text: t("add_product") }));
    productForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = formJson(productForm);
      try {
        await api("POST", `/api/stores/${store.id}/products`, { name: data.name, price_minor: Math.round(Number(data.price) * 100) });
        load();
      } catch (error) { notice(error.message); }
    });
    const reminders = el("form", { class: "inline-form reminder-form" },
      el("label", {}, `${t("time_zone")} `, el("input", { type: "text", name: "time_zone", maxLength: 64, value: store.time_zone })),
      el("label", {}, `${t("remind_after")} `, el("input", { type: "number", name: "remind_after_minutes", min: "1", max: "1440", value: store.remind_after_minutes })),
      el("label", {}, `${t("escalate_after")} `, el("input", { type: "number", name: "escalate_after_minutes", min: "2", max: "1440", value: store.escalate_after_minutes })),
      el("button", { type: "submit", text: t("save") }));
    reminders.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = formJson(reminders);
      try {
        await api("PATCH", `/api/stores/${store.id}`, { time_zone: (data.time_zone || "UTC").trim(), remind_after_minutes: Number(data.remind_after_minutes), escalate_after_minutes: Number(data.escalate_after_minutes) });
        notice(t("saved"));
      } catch (error) { notice(error.message); }
    });
    const partner = el("select", { "aria-label": t("partner_account") }, el("option", { value: "", text: t("partner_account") }),
      ...operators.map((o) => el("option", { value: String(o.id), text: `${o.display_name} <${o.email || ""}>` })));
    const link = el("form", { class: "inline-form" }, partner, el("button", { type: "submit", text: t("link_account") }));
    link.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!partner.value) return;
      try { await api("POST", `/api/stores/${store.id}/members`, { operator_id: Number(partner.value) }); load(); } catch (error) { notice(error.message); }
    });
    return el("section", { class: "card store", "data-store-id": store.id },
      el("h2", { text: `${store.name} (${store.currency})${store.is_active ? "" : ` — ${t("closed_store")}`}` }),
      el("p", {},
        action(t("invite_partner"), async () => {
          const invite = await api("POST", `/api/stores/${store.id}/invites`);
          notice(`${t("invite_link", { hours: invite.expires_in_hours })} ${invite.link || `/start ${invite.start}`}`);
          load();
        }), " ",
        action(store.has_api_token ? t("new_api_token") : t("api_token"), async () => {
          notice(`${t("token_once")} ${(await api("POST", `/api/stores/${store.id}/token`)).token}`);
          load();
        }), " ",
        action(store.is_active ? t("close_store") : t("open_store"), async () => {
          await api("PATCH", `/api/stores/${store.id}`, { is_active: !store.is_active });
          load();
        }),
        el("span", { class: "muted", text: ` ${t("open_invites", { n: store.open_invites })}` })),
      el("h3", { text: t("staff") }), members, link,
      el("h3", { text: t("products") }), products, productForm,
      el("h3", { text: t("settings") }), reminders);
  }

  async function load() {
    const { items } = await api("GET", "/api/stores");
    list.replaceChildren(...items.map(storeCard));
  }
  $("#store-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = formJson(event.target);
    const body = { name: data.name, currency: (data.currency || "RUB").toUpperCase() };
    if (data.time_zone) body.time_zone = data.time_zone.trim();
    try { await api("POST", "/api/stores", body); event.target.reset(); load(); } catch (error) { notice(error.message); }
  });
  load();
}

// ---------------------------------------------------------------- SLA (admin)

const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

async function setupSla() {
  const rows = $("#policy-rows");
  async function loadPolicies() {
    const { items } = await api("GET", "/api/sla/policies");
    rows.replaceChildren(...items.map((policy) => {
      const first = el("input", { type: "number", min: "1", value: policy.first_response_minutes, "aria-label": t("first_response") });
      const resolution = el("input", { type: "number", min: "1", value: policy.resolution_minutes, "aria-label": t("resolution") });
      const save = el("button", { type: "button", text: t("save") });
      save.addEventListener("click", async () => {
        try {
          await api("PUT", `/api/sla/policies/${policy.priority}`, { first_response_minutes: Number(first.value), resolution_minutes: Number(resolution.value) });
          notice(t("saved"));
          loadPolicies();
        } catch (error) { notice(error.message); }
      });
      const reset = el("button", { type: "button", class: "link", text: t("default") });
      reset.addEventListener("click", async () => { await api("DELETE", `/api/sla/policies/${policy.priority}`); loadPolicies(); });
      return el("tr", { "data-priority": policy.priority }, el("td", { text: t(`priority_${policy.priority}`) }), el("td", {}, first), el("td", {}, resolution),
        el("td", {}, save, " ", policy.custom ? reset : el("span", { class: "muted", text: t("default") })));
    }));
  }

  const queueSelect = $("#hours-queue");
  const form = $("#hours-form");
  const { items: queues } = await api("GET", "/api/queues");
  const { items: operators } = await api("GET", "/api/operators");
  queueSelect.replaceChildren(...queues.map((queue) => el("option", { value: String(queue.id), text: queue.name })));

  async function loadQueue() {
    const id = queueSelect.value;
    const hours = await api("GET", `/api/queues/${id}/hours`);
    form.time_zone.value = hours.time_zone || "";
    for (const day of WEEKDAYS) form[day].value = ((hours.weekly || {})[day] || []).map(([a, b]) => `${a}-${b}`).join(", ");
    form.holidays.value = hours.holidays.map((h) => `${h.day} ${h.name}`.trim()).join("\n");
    $("#hours-state").textContent = hours.time_zone ? "" : t("around_the_clock");
    const { operator_ids: members } = await api("GET", `/api/queues/${id}/members`);
    $("#member-boxes").replaceChildren(...operators.filter((o) => o.role !== "partner" && o.is_active).map((o) =>
      el("label", { class: "check" }, el("input", { type: "checkbox", value: String(o.id), checked: members.includes(o.id) }), ` ${o.display_name}`)));
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const weekly = {};
    for (const day of WEEKDAYS) {
      const spans = form[day].value.split(",").map((part) => part.trim()).filter(Boolean).map((part) => part.split("-").map((x) => x.trim()));
      if (spans.length) weekly[day] = spans;
    }
    const holidays = form.holidays.value.split("\n").map((line) => line.trim()).filter(Boolean).map((line) => {
      const [day, ...name] = line.split(/\s+/);
      return { day, name: name.join(" ") };
    });
    try {
      await api("PUT", `/api/queues/${queueSelect.value}/hours`, { time_zone: form.time_zone.value.trim(), weekly, holidays });
      notice(t("saved"));
      loadQueue();
    } catch (error) { notice(error.message); }
  });
  $("#hours-clear").addEventListener("click", async () => {
    try { await api("DELETE", `/api/queues/${queueSelect.value}/hours`); notice(t("saved")); loadQueue(); } catch (error) { notice(error.message); }
  });
  $("#members-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const ids = $$("#member-boxes input:checked").map((box) => Number(box.value));
    try { await api("PUT", `/api/queues/${queueSelect.value}/members`, { operator_ids: ids }); notice(t("saved")); } catch (error) { notice(error.message); }
  });
  queueSelect.addEventListener("change", loadQueue);
  loadPolicies();
  loadQueue();
}

// ---------------------------------------------------------------- quarantined mail (admin)

function setupQuarantine(live) {
  const rows = $("#quarantine-rows");
  const more = $("#more");
  let before = null;
  async function tryAgain(item, button) {
    button.disabled = true;
    button.textContent = t("trying_again");
    try {
      const result = await api("POST", `/api/mail/quarantine/${item.id}/retry`);
      if (!result.resolved) notice(t("retry_still_quarantined", { reason: result.reason_text }));
      else notice(result.ticket_id ? t("retry_in_ticket", { ticket: result.ticket_id }) : t("retry_already_in"));
    } catch (error) { notice(error.message); }
    load(true);
  }
  const actions = (item) => {
    if (!item.raw_available) return null;
    const button = el("button", { type: "button", class: "retry", text: t("try_again") });
    button.addEventListener("click", () => tryAgain(item, button));
    return el("div", {}, el("a", { href: `/api/mail/quarantine/${item.id}/raw`, text: t("download") }), " ", button);
  };
  const row = (item) => el("tr", { "data-quarantine-id": item.id },
    el("td", { text: when(item.created_at) }), el("td", { text: item.sender || "—" }), el("td", { text: item.subject || "—" }),
    el("td", {}, el("div", { text: item.reason_text }), item.detail ? el("div", { class: "muted", text: item.detail }) : null,
      item.retried_at ? el("div", { class: "muted retried", text: t("tried_again", { when: when(item.retried_at) }) }) : null),
    el("td", { text: `${Math.ceil(item.size / 1024)} KB` }),
    el("td", {}, actions(item)));
  async function load(reset) {
    const params = new URLSearchParams({ limit: "50" });
    if (!reset && before) params.set("before", String(before));
    const page = await api("GET", `/api/mail/quarantine?${params}`);
    if (reset) rows.replaceChildren();
    rows.append(...page.items.map(row));
    before = page.next_before;
    more.hidden = !before;
    $("#quarantine-empty").hidden = rows.children.length > 0;
  }
  more.addEventListener("click", () => load(false));
  live.on((event) => { if (event.type === "mail.quarantined" || event.type === "mail.retried") load(true); });
  load(true);
}

// ---------------------------------------------------------------- dead letters (admin)

function setupDeadLetters(live) {
  const rows = $("#dead-letter-rows");
  const showEmpty = () => { $("#dead-letter-empty").hidden = rows.children.length > 0; };
  async function tryAgain(item, button) {
    button.disabled = true;
    button.textContent = t("trying_again");
    try {
      show(await api("POST", `/api/dead-letters/${item.id}/retry`));
      notice(t("retry_waiting"));
    } catch (error) {
      notice(error.message);
      load();
    }
  }
  function row(item) {
    const waiting = item.state === "retry";
    const button = el("button", { type: "button", class: "retry", text: t(waiting ? "trying_again" : "try_again"), disabled: waiting });
    button.addEventListener("click", () => tryAgain(item, button));
    return el("tr", { "data-dead-letter-id": item.id, "data-state": item.state },
      el("td", { text: item.source_text || item.source }), el("td", { class: "update-id", text: item.external_id || "—" }),
      el("td", {}, el("code", { class: "error", text: item.error })), el("td", { class: "attempts", text: String(item.attempts) }),
      el("td", { text: when(item.updated_at || item.created_at) }), el("td", {}, button));
  }
  function show(item) {
    const old = $(`tr[data-dead-letter-id="${item.id}"]`, rows);
    if (item.state === "resolved" || item.state === "discarded") old?.remove();
    else if (old) old.replaceWith(row(item));
    else rows.prepend(row(item));
    showEmpty();
  }
  async function load() {
    const page = await api("GET", "/api/dead-letters?limit=200");
    rows.replaceChildren(...page.items.map(row));
    showEmpty();
  }
  live.on((event) => {
    if (event.type !== "dead_letter.recorded" && event.type !== "dead_letter.updated") return;
    const item = event.data;
    if (event.type === "dead_letter.updated" && item.state === "failed") notice(t("retry_failed_again", { error: item.error }));
    if (event.type === "dead_letter.updated" && item.state === "resolved") {
      notice(t("retry_went_through", { update: item.external_id || item.id }));
    }
    load();  // the list in the admin's language (the event carries no translated source)
  });
  load();
}

// ---------------------------------------------------------------- start

const page = document.body.dataset.page;
if (page === "login") setupLogin();
else if (page === "password") setupPassword();
else {
  setupHeader();
  const live = new Live();
  window.deskLive = live;  // lets the browser tests watch the connection
  watchForAttention(live);
  if (page === "inbox") setupInbox(live);
  else if (page === "ticket") setupTicket(live);
  else if (page === "admin-operators") setupOperators();
  else if (page === "admin-queues") setupQueues();
  else if (page === "admin-replies") setupSavedReplies();
  else if (page === "admin-tokens") setupTokens();
  else if (page === "admin-ws") setupWsStats();
  else if (page === "kb") setupKb();
  else if (page === "orders") setupOrders(live);
  else if (page === "admin-stores") setupStores();
  else if (page === "admin-sla") setupSla();
  else if (page === "admin-mail") setupQuarantine(live);
  else if (page === "admin-dead-letters") setupDeadLetters(live);
  live.connect();
}
