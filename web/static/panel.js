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
const LANG = document.documentElement.lang || "en";
// Durations, figures and relative times as core/formatting.py writes them (units from the page).
export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "—";
  let left = Math.floor(Math.abs(seconds));
  if (left < 60) return `${left} ${t("unit_s")}`;
  const pieces = [];
  for (const [key, size] of [["d", 86400], ["h", 3600], ["min", 60]]) {
    const count = Math.floor(left / size);
    left -= count * size;
    if (count || pieces.length) pieces.push([count, key]);
  }
  return pieces.slice(0, 2).filter(([count]) => count).map(([count, key]) => `${count} ${t(`unit_${key}`)}`).join(" ");
}
export const number = (value, digits = 1) => (value === null || value === undefined ? "—"
  : new Intl.NumberFormat(LANG, { maximumFractionDigits: digits }).format(value));
const relativeFormat = new Intl.RelativeTimeFormat(LANG, { numeric: "always" });
export function relative(iso) {
  if (!iso) return "—";
  const seconds = (new Date(iso).getTime() - Date.now()) / 1000;
  const size = Math.abs(seconds);
  if (size < 45) return t("unit_now");
  for (const [unit, span] of [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400], ["hour", 3600], ["minute", 60]]) {
    if (size >= span) return relativeFormat.format(Math.round(seconds / span), unit);
  }
  return relativeFormat.format(Math.round(seconds), "second");
}
// A <time> that says how long ago, with the exact time on hover; refreshed every 30 s.
function timeNode(iso, attrs = {}) {
  return el("time", { ...attrs, class: `rel ${attrs.class || ""}`.trim(), datetime: iso || "", "data-iso": iso || "", title: when(iso), text: relative(iso) });
}
setInterval(() => { for (const node of $$("time.rel[data-iso]")) node.textContent = relative(node.dataset.iso); }, 30000);

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
    // `after`: the server replays what this page has not seen, then goes live (no resume round trip).
    const socket = new WebSocket(`${scheme}//${location.host}/ws?after=${this.lastId}`);
    this.socket = socket;
    socket.addEventListener("message", (message) => this.receive(JSON.parse(message.data)));
    socket.addEventListener("close", () => { if (this.socket === socket) this.retry(); });
  }
  receive(frame) {
    this.lastFrameAt = Date.now();
    if (frame.type === "hello") {
      this.connects += 1;
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
  const header = $("#top");
  const toggle = $("#menu-toggle");
  toggle?.addEventListener("click", () => {
    const open = !header.classList.contains("open");
    header.classList.toggle("open", open);
    toggle.setAttribute("aria-expanded", String(open));
  });
  // One open dropdown at a time; a click elsewhere closes them.
  document.addEventListener("click", (event) => {
    for (const menu of $$("details.menu[open]")) if (!menu.contains(event.target)) menu.open = false;
  });
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
    const seconds = (new Date(due).getTime() - now) / 1000;
    const overdue = seconds < 0;
    const text = overdue ? `${t(key)}: ${t("overdue")} ${duration(-seconds)}` : `${t(key)}: ${duration(seconds)}`;
    badges.push(el("span", { class: `sla-badge ${overdue ? "overdue" : seconds < 1800 ? "soon" : "ok"}`, text, "data-due": due, title: when(due) }));
  }
  return badges;
}

// ---------------------------------------------------------------- keyboard

// A page's single-key shortcuts: `handler(key)` returns true when it used the key. Keys typed into a
// field, or with Ctrl/Alt/Meta, are the field's; Esc leaves a field; ? opens the list (#keys-help).
function onKeys(handler) {
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.altKey || event.metaKey || event.isComposing) return;
    const target = event.target;
    const typing = target instanceof HTMLElement && (target.isContentEditable || /^(TEXTAREA|SELECT)$/.test(target.tagName)
      || (target.tagName === "INPUT" && !["checkbox", "radio", "button", "submit"].includes(target.type)));
    if (typing) {
      if (event.key === "Escape") target.blur();
      return;
    }
    if ($("#keys-help")?.open) return;
    if (event.key === "?") { $("#keys-help")?.showModal(); event.preventDefault(); return; }
    if (target instanceof HTMLElement && /^(A|BUTTON|SUMMARY)$/.test(target.tagName) && event.key === "Enter") return;
    if (handler(event.key)) event.preventDefault();
  });
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

  const CHANNEL_ICONS = { telegram: "✈️", email: "✉️", web: "💬" };
  const preview = (last) => {
    if (!last) return "";
    const who = last.author_kind === "operator" ? (last.operator_id === ME.id ? t("you") : last.author_name || t("operator"))
      : last.author_kind === "customer" ? "" : t(last.author_kind);
    const text = last.line && I18N[`line_${last.line}`] ? t(`line_${last.line}`, last.params || {})
      : last.text || (last.file_type ? (last.file_type.startsWith("image/") ? t("photo_preview") : t("file_preview")) : "");
    return who ? `${who}: ${text}` : text;
  };
  const assignMe = (ticket) => {
    if (ticket.assignee_id === ME.id || ticket.status === "closed") return null;
    const button = el("button", { type: "button", class: "link assign-me", text: t("assign_to_me") });
    button.addEventListener("click", async () => {
      button.disabled = true;
      try { await api("PATCH", `/api/tickets/${ticket.id}`, { assignee_id: ME.id }); load(true); }
      catch (error) { button.disabled = false; alert(error.message); }
    });
    return button;
  };
  const picked = new Set();
  const pickBox = (ticket) => {
    const box = el("input", { type: "checkbox", class: "pick-box", checked: picked.has(ticket.id), "aria-label": `#${ticket.id}` });
    box.addEventListener("change", () => pick(ticket.id, box.checked));
    return box;
  };
  const row = (ticket) => el("tr", { "data-ticket-id": ticket.id, "data-status": ticket.status, class: `${ticket.unread_count ? "unread" : ""} ${picked.has(ticket.id) ? "picked" : ""}`.trim() },
    el("td", { class: "pick" }, pickBox(ticket)),
    el("td", { class: "who" },
      el("div", { class: "title" },
        el("span", { class: "channel-icon", title: t(`channel_${ticket.channel}`), "aria-label": t(`channel_${ticket.channel}`), text: CHANNEL_ICONS[ticket.channel] || "•" }),
        el("a", { href: `/tickets/${ticket.id}`, class: "customer-name", text: ticket.contact_name || ticket.contact_username || "—" }),
        ticket.unread_count ? el("span", { class: "badge unread-count", text: String(ticket.unread_count) }) : null,
        el("span", { class: "ticket-number muted", text: `#${ticket.id}` })),
      ticket.match?.parts?.length ? matchLine(ticket.match)
        : el("div", { class: "preview muted", text: preview(ticket.last_message) || ticket.subject || "" })),
    el("td", { class: "state" }, el("span", { text: t(`status_${ticket.status}`) }), " ",
      el("span", { class: `priority-${ticket.priority}`, text: t(`priority_${ticket.priority}`) })),
    el("td", { class: "queue", text: ticket.queue_name }),
    el("td", { class: "assignee" }, el("span", { text: ticket.assignee_id === ME.id ? t("assigned_to_you") : ticket.assignee_name || t("unassigned") }), " ", assignMe(ticket)),
    el("td", { class: "sla" }, ...slaBadges(ticket)),
    el("td", { class: "when" }, timeNode(ticket.last_message?.created_at || ticket.updated_at)));

  // A search's matched line: [text, marked] parts from the API, each set as text, the hits in <mark>.
  const matchLine = (match) => el("div", { class: "preview match muted", "data-source": match.source },
    ...match.parts.map(([text, hit]) => (hit ? el("mark", { text }) : document.createTextNode(text))));
  let jumpTo = null;  // the ticket the search text names (a ticket or order number): Enter opens it

  async function load(reset) {
    const limit = reset ? Math.max(50, Math.min(loaded, 100)) : 50;
    const params = query(limit);
    if (!reset && cursor) params.set("cursor", cursor);
    const page = await api("GET", `/api/tickets?${params}`);
    if (reset) { rows.replaceChildren(); loaded = 0; }
    rows.append(...page.items.map(row));
    loaded += page.items.length;
    cursor = page.next_cursor;
    jumpTo = page.jump_to ?? null;
    const found = $("#search-matches");
    found.hidden = page.matches == null;
    if (page.matches != null) {
      found.textContent = t(page.matches_capped ? "search_matches_more" : "search_matches", { n: number(page.matches) });
    }
    more.hidden = !cursor;
    $("#inbox-empty").hidden = loaded > 0;
    sessionStorage.setItem("desk.inbox-order", JSON.stringify($$("tr[data-ticket-id]", rows).map((tr) => Number(tr.dataset.ticketId))));
    setCurrent(current, false);
    document.body.dataset.inboxLoads = String(Number(document.body.dataset.inboxLoads || 0) + 1);
  }

  // Selection and bulk changes (POST /api/tickets/bulk).
  const bar = $("#bulk-bar");
  function pick(id, on) {
    if (on) picked.add(id); else picked.delete(id);
    rows.querySelector(`tr[data-ticket-id="${id}"]`)?.classList.toggle("picked", on);
    const box = rows.querySelector(`tr[data-ticket-id="${id}"] .pick-box`);
    if (box) box.checked = on;
    bar.hidden = picked.size === 0;
    $("#bulk-count").textContent = t("selected", { n: picked.size });
    $("#pick-all").checked = picked.size > 0 && picked.size === $$("tr[data-ticket-id]", rows).length;
  }
  $("#pick-all").addEventListener("change", (event) => {
    for (const tr of $$("tr[data-ticket-id]", rows)) pick(Number(tr.dataset.ticketId), event.target.checked);
  });
  async function bulk(change) {
    if (!picked.size) return;
    try {
      const result = await api("POST", "/api/tickets/bulk", { ids: [...picked], ...change });
      $("#bulk-result").textContent = t("bulk_done", { changed: result.changed.length, failed: Object.keys(result.failed).length });
      for (const id of result.changed) pick(id, false);
    } catch (error) { $("#bulk-result").textContent = error.message; }
    load(true);
  }
  $("#bulk-assign").addEventListener("click", () => bulk({ assignee_id: ME.id }));
  $("#bulk-close").addEventListener("click", () => bulk({ status: "closed" }));
  $("#bulk-status").addEventListener("change", (event) => { if (event.target.value) bulk({ status: event.target.value }); event.target.value = ""; });
  $("#bulk-clear").addEventListener("click", () => { for (const id of [...picked]) pick(id, false); });

  // Keyboard: j/k move the current row, Enter opens it, x selects it, a assigns it to me, e closes it, / searches.
  let current = null;  // the current row's ticket id
  function setCurrent(id, scroll = true) {
    const all = $$("tr[data-ticket-id]", rows);
    for (const tr of all) tr.classList.toggle("current", Number(tr.dataset.ticketId) === id);
    const node = all.find((tr) => Number(tr.dataset.ticketId) === id);
    current = node ? id : null;
    if (node && scroll) node.scrollIntoView({ block: "nearest" });
  }
  function move(step) {
    const ids = $$("tr[data-ticket-id]", rows).map((tr) => Number(tr.dataset.ticketId));
    if (!ids.length) return;
    const at = ids.indexOf(current);
    setCurrent(ids[at < 0 ? 0 : Math.max(0, Math.min(ids.length - 1, at + step))]);
  }
  onKeys((key) => {
    if (key === "j") move(1);
    else if (key === "k") move(-1);
    else if (key === "/") form.q.focus();
    else if (current === null) return false;
    else if (key === "Enter" || key === "o") location.assign(`/tickets/${current}`);
    else if (key === "x") pick(current, !picked.has(current));
    else if (key === "a") api("PATCH", `/api/tickets/${current}`, { assignee_id: ME.id }).then(() => load(true), (error) => alert(error.message));
    else if (key === "e") api("PATCH", `/api/tickets/${current}`, { status: "closed" }).then(() => load(true), (error) => alert(error.message));
    else return false;
    return true;
  });

  form.addEventListener("change", (event) => { if (event.target.closest("#filters")) load(true); });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearTimeout(timer);
    await load(true);
    if (jumpTo !== null) location.assign(`/tickets/${jumpTo}`);  // "#123" or an order number + Enter
  });
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

  // A reply that threads under the customer's message, where the ticket's channel can show one.
  let replyTo = null;
  const replyingLine = $("#replying-to");
  const answerButton = (message) => {
    if (message.author_kind !== "customer" || !canReply) return null;
    const button = el("button", { type: "button", class: "link answer", text: t("reply_to") });
    button.addEventListener("click", () => {
      replyTo = message;
      const cancel = el("button", { type: "button", class: "link", text: t("cancel") });
      cancel.addEventListener("click", clearReplyTo);
      replyingLine.replaceChildren(el("span", { text: t("replying_to", { text: (message.body || "…").slice(0, 60) }) }), " ", cancel);
      replyingLine.hidden = false;
      $("#reply-body").focus();
    });
    return button;
  };
  function clearReplyTo() { replyTo = null; replyingLine.hidden = true; replyingLine.replaceChildren(); }
  let canReply = false;

  const messageNode = (message) => el("li", { class: `msg ${message.author_kind}`, "data-message-id": message.id, "data-created": message.created_at, "data-files": JSON.stringify(message.attachments || []) },
    el("div", { class: "meta" },
      el("strong", { text: message.author_kind === "operator" ? (operators.get(message.operator_id) || t("operator")) : t(message.author_kind) }),
      " ", timeNode(message.created_at), " ", deliveryNode(message), " ", answerButton(message)),
    message.reply_to_id && items.get(`m:${message.reply_to_id}`)
      ? el("div", { class: "quote", text: (items.get(`m:${message.reply_to_id}`).querySelector(".body")?.textContent || "").slice(0, 120) }) : null,
    el("div", { class: "body", text: systemLine(message) }),
    message.attachments?.length ? el("div", { class: "files" }, ...message.attachments.map(attachmentNode)) : null);

  const noteNode = (note) => el("li", { class: "msg note", "data-note-id": note.id, "data-created": note.created_at },
    el("div", { class: "meta" }, el("strong", { text: `${t("note")} · ${note.operator_name || operators.get(note.operator_id) || ""}` }),
      " ", timeNode(note.created_at)),
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
    $("#assign-me").hidden = ticket.assignee_id === ME.id || !["admin", "operator"].includes(ME.role);
    $("#sla").replaceChildren(...slaBadges(ticket));
    if (data.contact) showCustomer(data.contact);
    if (data.viewers) showViewers(data.viewers);
    if (data.channel_capabilities) showChannel(data.channel_capabilities);
  }

  // Only what the ticket's channel can do (GET /api/tickets/{id} carries its capabilities).
  function showChannel(channel) {
    $("#file-picker").hidden = !channel.files;
    if (canReply !== Boolean(channel.replies)) {
      canReply = Boolean(channel.replies);
      for (const node of $$("li.msg.customer .meta", list)) {
        const message = { author_kind: "customer", id: Number(node.parentElement.dataset.messageId), body: node.parentElement.querySelector(".body")?.textContent || "" };
        if (!node.querySelector(".answer")) node.append(" ", answerButton(message) || "");
      }
    }
    $("#reply-form").dataset.typing = channel.typing_indicator ? "yes" : "no";
  }

  function showCustomer(contact) {
    const pairs = [[t("name"), [contact.name, contact.telegram_username ? `@${contact.telegram_username}` : ""].filter(Boolean).join(" ")],
      [t("channel_email"), contact.email], [t("language"), contact.language ? contact.language.toUpperCase() : ""]];
    const card = $("#customer-card");
    card.replaceChildren();
    for (const [label, value] of pairs) if (value) card.append(el("dt", { text: label }), el("dd", { text: value }));
    card.append(el("dt", { text: t("contact_id", { id: contact.id }) }),
      ...(contact.identities || []).map((identity) => el("dd", { text: `${identity.channel}: ${identity.username ? `@${identity.username}` : identity.external_id}` })));
    if (ticket?.site) card.append(el("dt", { text: t("site_from") }), el("dd", { class: "visit site-name", text: ticket.site.name }));
    for (const identity of contact.identities || []) if (identity.channel === "web") {
      if (identity.display_name) card.append(el("dt", { text: t("visitor_name") }), el("dd", { class: "visit visitor-name", text: identity.display_name }));
      if (identity.given_email) card.append(el("dt", { text: t("visitor_email") }), el("dd", { class: "visit visitor-email", text: identity.given_email }));
    }
    for (const identity of contact.identities || []) if (identity.channel === "web" && identity.visit) card.append(...visitRows(identity.visit));
    if (contact.blocked) card.append(el("dd", { class: "warn", text: t("blocked") }));
    $("#earlier-heading").hidden = !contact.earlier_tickets.length;
    $("#earlier-tickets").replaceChildren(...contact.earlier_tickets.map((item) => el("li", {},
      el("a", { href: `/tickets/${item.id}`, text: `#${item.id} ${item.subject || ""}` }), ` · ${t(`status_${item.status}`)} · `,
      timeNode(item.created_at))));
  }

  // Assignments and changes (GET /api/tickets/{id}/history, the audit log), newest last.
  const statusWord = (value) => (I18N[`status_${value}`] ? t(`status_${value}`) : String(value ?? "—"));
  const priorityWord = (value) => (I18N[`priority_${value}`] ? t(`priority_${value}`) : String(value ?? "—"));
  function historyText(item) {
    const actor = item.actor_kind === "operator" ? (item.actor_id === ME.id ? t("you") : item.actor_name || t("operator"))
      : item.actor_kind === "contact" ? t("history_customer") : t("history_system");
    if (item.action === "assignee_id") {
      if (item.new === null || item.new === undefined) {
        return item.via === "auto" ? t("history_returned_auto") : t("history_unassigned", { actor });
      }
      const name = item.new === ME.id ? t("you") : item.new_name || `#${item.new}`;
      if (item.via === "auto") return t("history_assigned_auto", { name });
      return item.via === "reply" ? t("history_assigned_reply", { name }) : t("history_assigned", { actor, name });
    }
    if (item.action === "status") return t("history_status", { actor, old: statusWord(item.old), new: statusWord(item.new) });
    if (item.action === "priority") return t("history_priority", { actor, old: priorityWord(item.old), new: priorityWord(item.new) });
    return t("history_queue", { actor });
  }
  let historyTimer = null;
  function loadHistory() {
    clearTimeout(historyTimer);
    historyTimer = setTimeout(async () => {
      try {
        const found = await api("GET", `/api/tickets/${ticketId}/history`);
        $("#history").closest("section").hidden = !found.items.length;
        $("#history").replaceChildren(...found.items.map((item) => el("li", { "data-action": item.action, "data-via": item.via || "" },
          el("span", { class: "history-text", text: historyText(item) }), " ", timeNode(item.created_at, { class: "muted" }))));
      } catch { /* the next change reads it again */ }
    }, 150);
  }

  // What the website widget said about the visitor's visit (contact_identity.visit): text only.
  function visitRows(visit) {
    let local = visit.local_time || "";
    if (visit.time_zone) {
      try {
        local = `${new Date().toLocaleTimeString([], { timeZone: visit.time_zone, hour: "2-digit", minute: "2-digit" })} (${visit.time_zone})`;
      } catch (error) { /* a zone this browser does not know: the time as the visitor's browser said */ }
    }
    const pairs = [["visit_page", [visit.title, visit.url].filter(Boolean).join(" — ")], ["visit_referrer", visit.referrer],
      ["visit_browser", visit.user_agent], ["visit_language", visit.language], ["visit_local_time", local]];
    return pairs.filter(([, value]) => value).flatMap(([label, value]) => [el("dt", { text: t(label) }),
      el("dd", { class: `visit ${label}`, text: value })]);
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
    loadHistory();
    markRead();
  }

  let readTimer = null;
  function markRead() {
    clearTimeout(readTimer);
    readTimer = setTimeout(() => { if (!document.hidden) api("POST", `/api/tickets/${ticketId}/read`).catch(() => {}); }, 300);
  }
  document.addEventListener("visibilitychange", () => { if (!document.hidden && ticket?.unread_count) markRead(); });

  // The website visitor typing (visitor.typing, at most every 3 s while they type): shown for 5 s.
  let typingTimer = null;
  function visitorTyping(on) {
    clearTimeout(typingTimer);
    $("#visitor-typing").textContent = on ? t("visitor_typing") : "";
    if (on) typingTimer = setTimeout(() => visitorTyping(false), 5000);
  }

  // The visitor opened another page (visitor.visit): the card is read again, as the API shows it.
  let cardTimer = null;
  function reloadCard() {
    clearTimeout(cardTimer);
    cardTimer = setTimeout(async () => { try { showTicket(await api("GET", `/api/tickets/${ticketId}`)); } catch { /* next event */ } }, 200);
  }

  live.onOpen(() => live.send({ type: "view", ticket_id: ticketId }));
  live.on((event) => {
    const data = event.data || {};
    if (data.ticket_id !== ticketId && data.id !== ticketId) return;
    if (event.type === "visitor.typing") {
      visitorTyping(true);
    } else if (event.type === "visitor.visit") {
      reloadCard();
    } else if ((event.type === "message.created" || event.type === "message.updated") && data.ticket_id === ticketId) {
      if (event.type === "message.created" && data.author_kind === "customer") visitorTyping(false);
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
      loadHistory();
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

  // Keyboard: r replies, n writes a note, a assigns to me, e closes, j/k go to the next/previous ticket
  // of the inbox as it was last shown.
  onKeys((key) => {
    const order = JSON.parse(sessionStorage.getItem("desk.inbox-order") || "[]");
    const at = order.indexOf(ticketId);
    if (key === "r" || key === "n") {
      $("#as-note").checked = key === "n";
      $("#reply-body").focus();
    } else if (key === "i") $("#kb-insert").click();
    else if (key === "a") $("#assign-me").click();
    else if (key === "e") {
      $("#controls").status.value = "closed";
      $("#controls").status.dispatchEvent(new Event("change", { bubbles: true }));
    } else if ((key === "j" || key === "k") && at >= 0) {
      const next = order[at + (key === "j" ? 1 : -1)];
      if (next === undefined) return false;
      location.assign(`/tickets/${next}`);
    } else return false;
    return true;
  });

  $("#assign-me").addEventListener("click", async () => {
    $("#controls-error").textContent = "";
    try { showTicket(await api("PATCH", `/api/tickets/${ticketId}`, { assignee_id: ME.id })); }
    catch (error) { $("#controls-error").textContent = error.message; }
  });

  $("#merge-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const other = Number(event.target.other_id.value);
    $("#merge-error").textContent = "";
    if (!ticket?.contact || !confirm(t("merge_confirm", { other, id: ticket.contact.id }))) return;
    try {
      await api("POST", `/api/contacts/${ticket.contact.id}/merge`, { other_id: other });
      event.target.reset();
      showTicket(await api("GET", `/api/tickets/${ticketId}`));
    } catch (error) { $("#merge-error").textContent = error.message; }
  });

  setupArticlePicker(ticketId);
  setupReplyBox(live, ticketId, (message) => upsert(`m:${message.id}`, messageNode(message)),
    (note) => upsert(`n:${note.id}`, noteNode(note)), { target: () => replyTo, done: clearReplyTo });
  setInterval(() => ticket && $("#sla").replaceChildren(...slaBadges(ticket)), 30000);
  load();
}

// "Insert article": published articles, the customer's language first (GET /api/tickets/{id}/articles);
// the text (or the article's public link) goes into the reply box where its cursor was. Nothing is sent.
function setupArticlePicker(ticketId) {
  const dialog = $("#kb-picker");
  const query = $("#kb-picker-q");
  const list = $("#kb-picker-list");
  const box = $("#reply-body");
  let cursor = [0, 0];
  let asked = 0;
  let items = [];
  let timer = null;

  function insert(text) {
    const [start, end] = cursor;
    const before = box.value.slice(0, start);
    const after = box.value.slice(end);
    const piece = (before && !/\s$/.test(before) ? " " : "") + text + (after && !/^\s/.test(after) ? " " : "");
    box.setRangeText(piece, start, end, "end");
    dialog.close();
    box.focus();
  }
  function row(item) {
    const node = el("li", { "data-article-id": String(item.id) },
      el("span", { class: "title", "data-user-text": "", text: item.title }),
      el("span", { class: "muted", text: item.language }),
      el("button", { type: "button", class: "insert-text", text: t("kb_insert_text") }),
      item.link ? el("button", { type: "button", class: "insert-link", text: t("kb_insert_link") }) : null);
    $(".insert-text", node).addEventListener("click", () => insert(item.body));
    if (item.link) $(".insert-link", node).addEventListener("click", () => insert(item.link));
    return node;
  }
  async function load() {
    const mine = ++asked;
    const found = await api("GET", `/api/tickets/${ticketId}/articles?q=${encodeURIComponent(query.value.trim())}`);
    if (mine !== asked) return;  // an older answer after a newer question
    items = found.items;
    list.replaceChildren(...items.map(row));
    $("#kb-picker-none").hidden = items.length > 0;
  }
  $("#kb-insert").addEventListener("click", () => {
    if (dialog.open) return;
    cursor = [box.selectionStart, box.selectionEnd];  // a textarea keeps its selection when it loses focus
    dialog.showModal();
    query.select();
    load().catch(console.error);
  });
  query.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => load().catch(console.error), 200); });
  query.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.isComposing) return;
    event.preventDefault();
    if (items.length) insert(items[0].body);
  });
}

function setupReplyBox(live, ticketId, showMessage, showNote, thread) {
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
  const chosenLine = $("#reply-files-chosen");
  const showChosen = () => {
    const count = files.files?.length || 0;
    chosenLine.textContent = count === 1 ? files.files[0].name : count ? t("files_chosen", { n: count }) : "";
  };
  files.addEventListener("change", () => { errorLine.textContent = checkFiles(); showChosen(); });

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
        const replyTo = thread.target();
        let message;
        if (chosen.length) {
          const data = new FormData();
          data.append("body", body);
          data.append("client_key", key);
          if (replyTo) data.append("reply_to_id", String(replyTo.id));
          for (const file of chosen) data.append("file", file, file.name);
          message = await api("POST", `/api/tickets/${ticketId}/messages`, undefined, { form: data });
        } else {
          message = await api("POST", `/api/tickets/${ticketId}/messages`, { body, client_key: key, reply_to_id: replyTo ? replyTo.id : null });
        }
        showMessage(message);
        thread.done();
      }
      box.value = "";
      files.value = "";
      showChosen();
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
        try {
          const answer = await api("PATCH", `/api/operators/${operator.id}`, { is_active: !operator.is_active });
          const returned = answer.tickets_returned || [];
          if (returned.length) notice(t("tickets_returned", { tickets: returned.map((id) => `#${id}`).join(", ") }));
          load();
        } catch (error) { notice(error.message); }
      });
      const reset = el("button", { type: "button", class: "link", text: t("reset") });
      reset.addEventListener("click", async () => {
        try { notice(`${t("copy_link")} ${(await api("POST", `/api/operators/${operator.id}/reset`)).link}`); } catch (error) { notice(error.message); }
      });
      return el("tr", { "data-operator-id": operator.id }, el("td", { text: operator.display_name }), el("td", { "data-user-text": "", text: operator.email || "" }),
        el("td", { text: t(`role_${operator.role}`) }), el("td", { text: operator.is_active ? t("active") : t("disabled") }),
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
  const patch = (queue, change) => api("PATCH", `/api/queues/${queue.id}`, change).then(() => notice(t("saved")), (error) => notice(error.message));
  async function load() {
    const { items } = await api("GET", "/api/queues");
    rows.replaceChildren(...items.map((queue) => {
      const visible = el("input", { type: "checkbox", checked: queue.customer_visible, "aria-label": queue.display_name });
      visible.addEventListener("change", () => patch(queue, { customer_visible: visible.checked }));
      const assigns = el("input", { type: "checkbox", checked: queue.assign_on_reply, class: "assign-on-reply", "aria-label": queue.display_name });
      assigns.addEventListener("change", () => patch(queue, { assign_on_reply: assigns.checked }));
      const auto = el("input", { type: "checkbox", checked: queue.auto_assign, class: "auto-assign", "aria-label": queue.display_name });
      auto.addEventListener("change", () => patch(queue, { auto_assign: auto.checked }));
      const english = el("input", { type: "text", value: queue.name, required: true, maxLength: 128, class: "queue-name", "aria-label": queue.display_name });
      english.addEventListener("change", () => english.value.trim() && patch(queue, { name: english.value }));
      const russian = el("input", { type: "text", value: queue.name_ru || "", maxLength: 128, class: "queue-name-ru", "aria-label": queue.display_name });
      russian.addEventListener("change", () => patch(queue, { name_ru: russian.value }));
      return el("tr", { "data-queue-id": queue.id }, el("td", { text: queue.slug, "data-user-text": "" }), el("td", {}, english), el("td", {}, russian),
        el("td", {}, visible), el("td", {}, assigns), el("td", {}, auto));
    }));
  }
  $("#queue-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = formJson(event.target);
    if (!body.name_ru) delete body.name_ru;
    try { await api("POST", "/api/queues", body); event.target.reset(); notice(t("saved")); load(); } catch (error) { notice(error.message); }
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

// Connections: read once this page's own socket is up (its presence row is written before the socket's
// hello, so the admin counts themself), again when someone comes online or leaves (`presence.online`),
// and every 15 s for the socket counts.
function setupWsStats(live) {
  const role = (name) => t(`role_${name}`);
  let pending = null;
  async function load() {
    const stats = await api("GET", "/api/ws/stats");
    const pairs = [...["admin", "operator", "partner"].map((name) => [t("ws_sockets", { role: role(name) }), number(stats.sockets[name] || 0)]),
      [t("ws_listener"), stats.listener_alive ? t("ws_listener_up") : t("ws_listener_down")],
      [t("ws_last_event"), number(stats.last_event_id, 0)], [t("ws_stream"), number(stats.stream_last_id, 0)],
      ...Object.entries(stats.outbox).map(([state, count]) => [t("ws_outbox", { state: I18N[`outbox_${state}`] ? t(`outbox_${state}`) : state }), number(count)])];
    $("#ws-stats").replaceChildren(...pairs.flatMap(([label, value]) => [el("dt", { text: label }), el("dd", { text: String(value) })]));
    $("#online-list").replaceChildren(...stats.online_operators.map((who) => el("li", { "data-operator-id": String(who.operator_id), text: t("ws_online", { name: who.display_name, role: role(who.role), n: who.sockets }) })));
    $("#online-none").hidden = stats.online_operators.length > 0;
    document.body.dataset.wsLoads = String(Number(document.body.dataset.wsLoads || 0) + 1);
  }
  const soon = () => { clearTimeout(pending); pending = setTimeout(() => load().catch(console.error), 200); };
  live.onOpen(soon);
  live.on((event) => { if (event.type === "presence.online") soon(); });
  setInterval(() => { if (live.socket?.readyState === WebSocket.OPEN) soon(); }, 15000);
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
    form.examples.value = (article?.examples || []).join("\n");
    preview();
    showVotes(article);
  };
  // Example questions and synonyms steer the bot's answers: only an admin edits them (the API refuses others).
  const isAdmin = ME.role === "admin";
  document.querySelectorAll("[data-admin-only]").forEach((node) => { node.hidden = !isAdmin; node.disabled = !isAdmin; });
  // What customers' votes do to the article's ranking, per question they asked (admins only).
  async function showVotes(article) {
    const box = $("#kb-feedback");
    box.replaceChildren();
    if (!isAdmin || !article?.id) return;
    const votes = await api("GET", `/api/kb/articles/${article.id}/feedback`);
    if (form.id.value !== String(article.id)) return;  // another article was opened meanwhile
    const sign = (value) => (value > 0 ? `+${value}` : String(value));
    box.append(el("p", { text: t("kb_votes", votes) }),
      el("ul", {}, ...votes.questions.map((q) => el("li", { text: t("kb_vote_effect", { ...q, adjustment: sign(q.adjustment) }) }))));
  }
  let articles = [];
  // Missed questions: one click adds one as an example of an article (picked from a searchable list)
  // or opens a new article with it; either way, or dismissed, its group leaves the list.
  async function loadMisses() {
    if (!isAdmin) return;
    const language = $("#kb-misses-language").value;
    const { items } = await api("GET", `/api/kb/misses?language=${language}`);
    $("#kb-miss-list").replaceChildren(...(items.length ? items.map(missRow) : [el("li", { class: "muted", text: t("kb_no_misses") })]));
  }
  function missRow(group) {
    const outcomes = group.outcomes.map((outcome) => t(`kb_outcome_${outcome}`)).join(", ");
    const picker = el("input", { type: "search", placeholder: t("kb_pick_article"), "aria-label": t("kb_pick_article") });
    picker.setAttribute("list", "kb-article-options");  // `list` is a read-only property: only the attribute sets it
    const add = el("button", { type: "button", text: t("kb_add_example") });
    const draft = el("button", { type: "button", class: "link", text: t("kb_new_from_question") });
    const dismiss = el("button", { type: "button", class: "link", text: t("kb_dismiss") });
    const body = { language: group.language, keys: group.keys };
    add.addEventListener("click", async () => {
      const chosen = articles.find((article) => articleOption(article) === picker.value);
      if (!chosen) { notice(t("kb_pick_first")); picker.focus(); return; }
      try {
        const done = await api("POST", "/api/kb/misses/example", { ...body, article_id: chosen.id, question: group.example });
        fill(done.article);
        notice(t("kb_example_added"));
        loadMisses();
      } catch (error) { notice(error.message); }
    });
    draft.addEventListener("click", () => {
      fill(null);
      form.title.value = group.example;
      form.examples.value = group.example;
      form.language.value = group.language;
      form.slug.focus();
    });
    dismiss.addEventListener("click", async () => {
      try { await api("POST", "/api/kb/misses/dismiss", body); loadMisses(); } catch (error) { notice(error.message); }
    });
    return el("li", { class: "kb-miss", "data-miss-key": group.keys[0] },
      el("q", { text: group.example }),
      el("span", { class: "muted", text: ` ${t("kb_miss_meta", { n: group.count, last: when(group.last) })} · ${outcomes}` }),
      picker, el("span", { class: "actions" }, add, draft, dismiss));
  }
  const articleOption = (article) => `${article.title} (${article.language}) #${article.id}`;
  $("#kb-misses-language").value = ME.language === "ru" ? "ru" : "en";
  $("#kb-misses-language").addEventListener("change", () => loadMisses());
  async function loadSynonyms() {
    const { items, built_in: builtIn } = await api("GET", "/api/kb/synonyms");
    const rows = items.map((group) => {
      const row = el("li", { "data-synonym-id": group.id, text: `${group.terms.join(", ")} (${group.language}) ` });
      if (isAdmin) {
        const remove = el("button", { type: "button", class: "link", text: "×", "aria-label": t("delete") });
        remove.addEventListener("click", async () => { await api("DELETE", `/api/kb/synonyms/${group.id}`); loadSynonyms(); });
        row.append(remove);
      }
      return row;
    });
    for (const [language, groups] of Object.entries(builtIn)) {
      rows.push(...groups.map((terms) => el("li", { class: "muted", text: `${terms.join(", ")} (${language}, ${t("kb_built_in")})` })));
    }
    $("#kb-synonyms").replaceChildren(...rows);
  }
  $("#kb-synonym-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const terms = event.target.terms.value.split(",").map((term) => term.trim()).filter(Boolean);
    try {
      await api("POST", "/api/kb/synonyms", { terms, language: event.target.language.value });
      event.target.terms.value = "";
      loadSynonyms();
    } catch (error) { notice(error.message); }
  });
  async function load() {
    const q = encodeURIComponent($("#kb-filter").value);
    const { items } = await api("GET", `/api/kb/articles?q=${q}`);
    if (!q) {
      articles = items;
      $("#kb-article-options").replaceChildren(...items.map((article) => el("option", { value: articleOption(article) })));
    }
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
    if (isAdmin) data.examples = form.examples.value.split("\n").map((line) => line.trim()).filter(Boolean);
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
  loadSynonyms();
  load();
  loadMisses();
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
    const widget = widgetForm(store);
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
      el("h3", { text: t("settings") }), reminders,
      el("h3", { text: t("website_chat") }), widget);
  }

  // The store's website chat: the sites that may embed it, the tag to paste, a new key.
  function widgetForm(store) {
    const sites = el("textarea", { name: "origins", rows: "2", "aria-label": t("widget_sites"), placeholder: "https://shop.example" });
    const snippet = el("input", { type: "text", readonly: true, class: "widget-snippet", "aria-label": t("widget_snippet") });
    const secret = el("input", { type: "text", readonly: true, class: "widget-secret", "aria-label": t("widget_secret") });
    const greeting = el("input", { type: "text", name: "greeting", maxlength: "500", class: "widget-greeting" });
    const color = el("input", { type: "color", name: "color", class: "widget-color" });
    const hours = el("input", { type: "text", name: "hours", maxlength: "200", class: "widget-hours" });
    const off = el("p", { class: "muted" });
    const show = (widget) => {
      sites.value = widget.origins.join("\n");
      snippet.value = widget.snippet;
      secret.value = widget.secret;
      greeting.value = widget.greeting; color.value = widget.color; hours.value = widget.hours;
      off.textContent = widget.enabled ? "" : t("widget_off");
    };
    const save = (renew, renewSecret = false) => async () => {
      const origins = sites.value.split("\n").map((line) => line.trim()).filter(Boolean);
      show(await api("PUT", `/api/stores/${store.id}/widget`, {
        origins, renew_key: renew, renew_secret: renewSecret, greeting: greeting.value, color: color.value, hours: hours.value }));
      notice(t("saved"));
    };
    const form = el("form", { class: "widget-form" },
      el("label", {}, t("widget_sites"), sites),
      el("label", {}, t("widget_snippet"), snippet), off,
      el("label", {}, t("widget_greeting"), greeting), el("label", {}, t("widget_color"), color),
      el("label", {}, t("widget_hours"), hours),
      el("label", {}, t("widget_secret"), secret),
      el("p", {}, el("button", { type: "submit", text: t("save") }), " ", action(t("new_widget_key"), save(true)), " ",
        action(t("new_widget_secret"), save(false, true))));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try { await save(false)(); } catch (error) { notice(error.message); }
    });
    api("GET", `/api/stores/${store.id}/widget`).then(show).catch((error) => notice(error.message));
    return form;
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

// ---------------------------------------------------------------- sites (admin)

// The websites that embed the chat: one form per site (name, origins, look, queue, store, pre-chat
// form), the tag to paste and the secret with its renewal; a form on top makes a new one.
async function setupSites() {
  const list = $("#site-list");
  const [queues, stores] = await Promise.all([api("GET", "/api/queues"), api("GET", "/api/stores")]);

  function select(name, label, empty, items, value) {
    return el("label", {}, label, el("select", { name, class: `site-${name}` }, el("option", { value: "", text: empty }),
      ...items.map((item) => el("option", { value: String(item.id), text: item.display_name || item.name, selected: String(item.id) === String(value ?? "") }))));
  }

  function siteForm(site) {
    const origins = el("textarea", { name: "origins", rows: "2", class: "site-origins", placeholder: "https://shop.example" });
    origins.value = (site?.origins || []).join("\n");
    const prechat = el("select", { name: "prechat", class: "site-prechat" },
      ...["off", "optional", "required"].map((mode) => el("option", { value: mode, text: t(`prechat_${mode}`), selected: (site?.prechat || "off") === mode })));
    const form = el("form", { class: "widget-form site-form" },
      el("label", {}, t("site_name"), el("input", { type: "text", name: "name", required: true, maxlength: "100", class: "site-name", value: site?.name || "" })),
      el("label", {}, t("site_origins"), origins),
      el("label", {}, t("widget_greeting"), el("input", { type: "text", name: "greeting", maxlength: "500", value: site?.greeting || "" })),
      el("label", {}, t("widget_color"), el("input", { type: "color", name: "color", value: site?.color || "#2563eb" })),
      el("label", {}, t("widget_hours"), el("input", { type: "text", name: "hours", maxlength: "200", value: site?.hours || "" })),
      select("queue_id", t("site_queue"), t("site_queue_topic"), queues.items || [], site?.queue_id),
      select("store_id", t("site_store"), t("site_store_none"), stores.items || [], site?.store_id),
      el("label", {}, t("site_prechat"), prechat));
    if (site) {
      form.append(el("label", {}, t("widget_snippet"), el("input", { type: "text", readonly: true, class: "widget-snippet", value: site.snippet })),
        el("label", {}, t("widget_secret"), el("input", { type: "text", readonly: true, class: "widget-secret", value: site.secret || "" })));
      if (!site.enabled) form.append(el("p", { class: "muted", text: t("widget_off") }));
    }
    const buttons = el("p", {}, el("button", { type: "submit", text: site ? t("save") : t("create_site") }));
    if (site) {
      buttons.append(" ", action(t("new_widget_secret"), async () => { await api("POST", `/api/sites/${site.id}/secret`); load(); }),
        " ", action(t("delete_site"), async () => { await api("DELETE", `/api/sites/${site.id}`); notice(t("site_deleted")); load(); }));
    }
    form.append(buttons);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      const body = { name: data.get("name"), origins: String(data.get("origins") || "").split("\n").map((line) => line.trim()).filter(Boolean),
        greeting: data.get("greeting"), color: data.get("color"), hours: data.get("hours"), prechat: data.get("prechat"),
        queue_id: data.get("queue_id") ? Number(data.get("queue_id")) : null, store_id: data.get("store_id") ? Number(data.get("store_id")) : null };
      try {
        if (site) { await api("PUT", `/api/sites/${site.id}`, body); notice(t("saved")); }
        else { await api("POST", "/api/sites", body); form.reset(); notice(t("site_created")); }
        load();
      } catch (error) { notice(error.message); }
    });
    return form;
  }

  function action(text, handler) {
    const button = el("button", { type: "button", class: "link", text });
    button.addEventListener("click", async () => { try { await handler(); } catch (error) { notice(error.message); } });
    return button;
  }

  async function load() {
    const { items } = await api("GET", "/api/sites");
    list.replaceChildren(...items.map((site) => el("section", { class: "card site", "data-site-id": site.id },
      el("h2", { text: site.name }), siteForm(site))));
  }
  $("#site-new").replaceChildren(siteForm(null));
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
  queueSelect.replaceChildren(...queues.map((queue) => el("option", { value: String(queue.id), text: queue.display_name })));

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

// ---------------------------------------------------------------- staff group (staff read, admins pick the queue and unlink)

function setupStaffGroup(live) {
  const rows = $("#staff-group-rows");
  const texts = $("#staff-group-texts").dataset;
  let queues = [];
  function queueCell(item) {
    if (!texts.admin) return el("td", { text: item.queue_name || texts.default });
    const select = el("select", { class: "serves", "aria-label": texts.serves },
      el("option", { value: "", text: texts.default }),
      ...queues.map((q) => el("option", { value: String(q.id), text: q.display_name })));
    select.value = item.queue_id === null ? "" : String(item.queue_id);
    select.addEventListener("change", async () => {
      try {
        const saved = await api("PATCH", `/api/staff-groups/${item.id}`,
          { queue_id: select.value === "" ? null : Number(select.value) });
        notice(texts.saved.replace("{count}", String(saved.topics)));
        load();
      } catch (error) {
        notice(error.message);
        select.value = item.queue_id === null ? "" : String(item.queue_id);
      }
    });
    return el("td", {}, select);
  }
  function row(item) {
    const cells = [el("td", { text: item.title || String(item.chat_id) }),
      queueCell(item),
      el("td", { class: "state", "data-state": item.state, text: item.state_text }),
      el("td", {}, el("code", { text: item.problem || "" }))];
    const unlink = el("button", { type: "button", class: "unlink", text: texts.unlink, hidden: !texts.admin });
    unlink.addEventListener("click", async () => {
      try { await api("DELETE", `/api/staff-groups/${item.id}`); load(); } catch (error) { notice(error.message); }
    });
    return el("tr", { "data-staff-group-id": item.id }, ...cells, el("td", {}, unlink));
  }
  async function load() {
    if (texts.admin && !queues.length) queues = (await api("GET", "/api/queues")).items;
    const page = await api("GET", "/api/staff-groups");
    rows.replaceChildren(...page.items.map(row));
    $("#staff-group-empty").hidden = page.items.length > 0;
    $("#telegram-linked").hidden = !page.telegram_linked;
  }
  $("#telegram-link").addEventListener("click", async () => {
    try {
      const made = await api("POST", "/api/staff-groups/telegram-link");
      const link = $("#telegram-link-url");
      link.textContent = made.link || "";
      if (made.link) link.href = made.link;
      $("#telegram-link-start").textContent = made.link ? "" : `/start ${made.start}`;
      $("#telegram-link-out").hidden = false;
    } catch (error) { notice(error.message); }
  });
  live.on((event) => { if (event.type === "staff_group.updated") load(); });
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
  else if (page === "admin-ws") setupWsStats(live);
  else if (page === "kb") setupKb();
  else if (page === "orders") setupOrders(live);
  else if (page === "admin-stores") setupStores();
  else if (page === "admin-sites") setupSites();
  else if (page === "admin-sla") setupSla();
  else if (page === "admin-mail") setupQuarantine(live);
  else if (page === "admin-dead-letters") setupDeadLetters(live);
  else if (page === "admin-staff-group") setupStaffGroup(live);
  live.connect();
}
