/* Desk website chat widget. One tag on a shop's page:
 *   <script src="https://DESK/widget.js" data-key="SITE_KEY" async></script>
 * Plain JavaScript, no build step. Everything is drawn in a Shadow DOM (the shop's CSS cannot reach it)
 * and every text from the desk is set with textContent, never innerHTML.
 *
 * Nothing the visitor sends is lost: each frame carries a client id and stays in localStorage until the
 * desk acknowledges it (after its commit); on every (re)connect the unacknowledged ones are sent again
 * and the desk answers a frame it already has with the same answers, so none is stored twice.
 *
 * Transport: a WebSocket; where the page's network cannot open one (it fails twice in a row without
 * ever opening) or the tag says data-transport="sse", the same frames go up as POST /widget/send and
 * come down as Server-Sent Events from /widget/events, for the rest of the page's life. */
(function () {
  "use strict";

  // the site's key: data-key, or data-site (the same key under the name shops may know it by)
  var script = document.currentScript ||
    document.querySelector('script[src*="widget.js"][data-key], script[src*="widget.js"][data-site]');
  var KEY = script && (script.getAttribute("data-key") || script.getAttribute("data-site"));
  if (!KEY) return;
  // A shop's signed-in user: their id and hex(HMAC-SHA256(widget secret, id)) from the shop's backend.
  // The desk refuses a wrong signature; an id without one is not sent (it would be ignored anyway).
  var USER = script.getAttribute("data-user-id") || "";
  var USER_HASH = USER ? script.getAttribute("data-user-hash") || "" : "";
  if (!USER_HASH) USER = "";
  var DESK = new URL(script.src, location.href).origin;
  var WS_BASE = DESK.replace(/^http/, "ws");
  var MAX_TEXT = 4000;  // the desk refuses longer messages (frames.MAX_TEXT)
  var sse = script.getAttribute("data-transport") === "sse";  // the HTTP fallback: forced, or chosen below

  var STRINGS = {
    en: {
      title: "Chat with us", open: "Open the chat", close: "Close the chat", placeholder: "Type a message…",
      send: "Send", attach: "Attach a file", typing: "An operator is typing…", connecting: "Connecting…",
      sending: "sending…", you: "You", operator: "Operator", fileFailed: "The file could not be sent.",
      fileTooBig: "The file is too large.", links: "Links:", unread: "unread replies",
      assignee: "Operator: ", closedNote: "This conversation is closed.", writeAgain: "Write again",
      offline: "Nobody is online right now.", outside: "We're outside working hours right now",
      leaveEmail: "Leave your e-mail and we'll answer there too.", emailLabel: "Your e-mail",
      emailSave: "Save", emailBad: "Please enter an e-mail address like name@example.com.",
      emailSaved: "We'll also send replies you miss to ", emailLink: "Get replies by e-mail",
      prechatIntro: "Before we start, please tell us who you are.", yourName: "Your name", email: "E-mail",
      startChat: "Start the chat", skip: "Skip", needBoth: "Please enter your name and e-mail.",
      badEmail: "Please enter a valid e-mail address.", nameTooLong: "The name is too long (100 characters at most).",
      seen: "Seen", openImage: "Open the image in full size"
    },
    ru: {
      title: "Напишите нам", open: "Открыть чат", close: "Закрыть чат", placeholder: "Напишите сообщение…",
      send: "Отправить", attach: "Прикрепить файл", typing: "Оператор печатает…", connecting: "Подключение…",
      sending: "отправляется…", you: "Вы", operator: "Оператор", fileFailed: "Не удалось отправить файл.",
      fileTooBig: "Файл слишком большой.", links: "Ссылки:", unread: "непрочитанных ответов",
      assignee: "Оператор: ", closedNote: "Этот разговор закрыт.", writeAgain: "Написать снова",
      offline: "Сейчас никого нет на связи.", outside: "Сейчас нерабочее время",
      leaveEmail: "Оставьте e-mail, и мы ответим и туда.", emailLabel: "Ваш e-mail",
      emailSave: "Сохранить", emailBad: "Введите адрес вида name@example.com.",
      emailSaved: "Пропущенные ответы мы пришлём и на ", emailLink: "Получать ответы по e-mail",
      prechatIntro: "Прежде чем начать, представьтесь, пожалуйста.", yourName: "Ваше имя", email: "E-mail",
      startChat: "Начать чат", skip: "Пропустить", needBoth: "Укажите имя и e-mail.",
      badEmail: "Укажите правильный адрес e-mail.", nameTooLong: "Имя слишком длинное (не больше 100 символов).",
      seen: "Прочитано", openImage: "Открыть изображение в полном размере"
    }
  };
  var wanted = (script.getAttribute("data-lang") || navigator.language || "en").slice(0, 2).toLowerCase();
  var LANG = STRINGS[wanted] ? wanted : "en";
  var T = STRINGS[LANG];

  // -- what the widget keeps in the shop page's localStorage ------------------------------------------
  // per widget key and per signed-in user: a user's transcript is not shown after they sign out
  var PREFIX = "desk-widget:" + KEY + ":" + (USER ? "user:" + USER + ":" : "");
  function load(name, fallback) {
    try {
      var raw = localStorage.getItem(PREFIX + name);
      return raw === null ? fallback : JSON.parse(raw);
    } catch (e) { return fallback; }
  }
  function save(name, value) {
    try { localStorage.setItem(PREFIX + name, JSON.stringify(value)); } catch (e) { /* private mode: memory only */ }
  }
  var state = {
    token: load("token", ""),
    after: load("after", 0),        // the last desk message id the widget has
    pending: load("pending", []),   // frames sent and not acknowledged yet
    log: load("log", []),           // what the chat shows, to draw it again after a reload
    seen: load("seen", []),         // closing notices already shown
    started: load("started", false),
    unread: load("unread", 0),      // desk replies that arrived while the panel was closed
    conversation: load("conversation", null),  // the last `state` frame: open/closed, the assignee
    availability: load("availability", null),  // the last `availability` frame: does a human answer now
    read: load("read", null),       // the last `read` frame: the visitor's messages an operator has read
    site: null,
    prechat: load("prechat", "")    // the site's pre-chat form: "done" or "skipped" once answered
  };
  var prechatMode = "off";  // the site's: off, optional, required (the desk's hello says)
  var verified = false;     // a shop's signed-in user: the shop knows them, no form
  function persist() {
    save("token", state.token); save("after", state.after); save("pending", state.pending);
    save("log", state.log.slice(-150)); save("seen", state.seen.slice(-50)); save("started", state.started);
    save("unread", state.unread); save("conversation", state.conversation); save("availability", state.availability);
    save("read", state.read);
    save("prechat", state.prechat);
  }
  function newId() {
    var bytes = new Uint8Array(12);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // -- drawing ------------------------------------------------------------------------------------------
  var host = document.createElement("div");
  host.setAttribute("data-desk-widget", "");
  var root = host.attachShadow({ mode: "open" });
  var style = document.createElement("style");
  style.textContent = [
    ":host{all:initial;--desk-color:#2563eb}",
    ".intro{padding:8px 12px;border-bottom:1px solid #e5e7eb;font-size:13px;color:#333}",
    ".intro[hidden]{display:none}.intro .hours{display:block;color:#666;font-size:12px}",
    "*{box-sizing:border-box;font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;font-size:14px}",
    ".bubble{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;",
    "background:var(--desk-color);color:#fff;font-size:26px;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);z-index:2147483646}",
    ".badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;padding:0 5px;border-radius:10px;",
    "background:#dc2626;color:#fff;font-size:12px;line-height:20px;text-align:center}",
    ".badge[hidden]{display:none}",
    ".panel{position:fixed;right:20px;bottom:88px;width:340px;max-width:calc(100vw - 40px);height:480px;",
    "max-height:calc(100vh - 120px);background:#fff;color:#111;border-radius:12px;display:flex;flex-direction:column;",
    "box-shadow:0 8px 30px rgba(0,0,0,.3);overflow:hidden;z-index:2147483647}",
    ".panel[hidden]{display:none}",
    ".head{background:var(--desk-color);color:#fff;padding:10px 12px;display:flex;justify-content:space-between;align-items:center}",
    ".head button{background:none;border:0;color:#fff;font-size:18px;cursor:pointer}",
    ".status{font-size:12px;color:#666;padding:2px 12px;min-height:16px}",
    ".log{flex:1;overflow-y:auto;padding:10px 12px;display:flex;flex-direction:column;gap:6px}",
    ".item{max-width:85%;padding:7px 10px;border-radius:10px;white-space:pre-wrap;overflow-wrap:anywhere}",
    ".me{align-self:flex-end;background:var(--desk-color);color:#fff}",
    ".bot,.closed,.error{align-self:flex-start;background:#f1f3f5}",
    ".op{align-self:flex-start;background:#e7f5ec}",
    ".error{color:#b42318}",
    ".who{display:block;font-size:11px;opacity:.7}",
    ".article h4{margin:0 0 4px;font-size:15px}",
    ".buttons{display:flex;flex-wrap:wrap;gap:4px;margin-top:6px}",
    ".buttons button{border:1px solid var(--desk-color);background:#fff;color:var(--desk-color);border-radius:14px;padding:4px 10px;cursor:pointer}",
    ".pending{opacity:.6}",
    ".sending{display:block;font-size:11px;opacity:.8;font-style:italic}",
    ".count{font-size:11px;color:#666;padding:0 12px 4px;text-align:right}",
    ".count.full{color:#b42318}",
    ".again{margin:8px;border:1px solid #2563eb;background:#fff;color:#2563eb;border-radius:8px;padding:8px;cursor:pointer}",
    ".again[hidden],form[hidden],.count[hidden]{display:none}",
    "form.prechat{flex-direction:column;gap:6px;padding:10px 12px;max-height:70%;overflow-y:auto}",
    ".prechat label{display:flex;flex-direction:column;gap:2px;font-size:13px}",
    ".prechat input{border:1px solid #d0d5dd;border-radius:8px;padding:7px}",
    ".prechat .row{display:flex;gap:6px}.prechat .row button{padding:8px 12px}",
    ".prechat button.skip{background:#fff;color:var(--desk-color);border:1px solid var(--desk-color)}",
    ".prechat .problem{color:#b42318;font-size:12px;min-height:14px}",
    "form.prechat[hidden]{display:none}",
    "@media (max-width:480px){.panel{inset:0;right:0;bottom:0;width:100%;max-width:none;height:100%;max-height:none;",
    "border-radius:0}.panel:not([hidden])~.bubble,.bubble.under{display:none}}",
    ".files a{display:block;color:inherit}",
    // a fixed box, so a picture that loads later moves nothing (the phone view scrolls as it was)
    ".files a.image{width:200px;max-width:100%;height:150px;margin-top:4px;border-radius:8px;overflow:hidden;background:#f1f3f5}",
    ".files img{display:block;width:100%;height:100%;object-fit:cover}",
    ".seen{display:block;font-size:11px;opacity:.8;text-align:right}",
    ".away{padding:8px 12px;border-bottom:1px solid #e5e7eb;background:#fffbeb;font-size:13px}",
    ".away[hidden],.away .email-form[hidden],.away .mailto[hidden]{display:none}",
    ".away .email-form{display:flex;padding:6px 0 0;gap:6px;align-items:center}",
    ".away input{flex:1;border:1px solid #d0d5dd;border-radius:8px;padding:6px}",
    ".away .bad{color:#b42318;display:block}.away .mailto{background:none;border:0;color:#2563eb;text-decoration:underline;cursor:pointer;padding:0}",
    "form{display:flex;gap:6px;padding:8px;border-top:1px solid #e5e7eb}",
    "textarea{flex:1;resize:none;height:38px;border:1px solid #d0d5dd;border-radius:8px;padding:8px}",
    "form button,label.attach{border:0;background:var(--desk-color);color:#fff;border-radius:8px;padding:0 12px;cursor:pointer}",
    "label.attach{background:#eef2ff;color:#2563eb;display:flex;align-items:center}",
    "input[type=file]{display:none}"
  ].join("");
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  var bubble = el("button", "bubble", "💬");
  bubble.setAttribute("aria-label", T.open);
  var badge = el("span", "badge");
  badge.hidden = true;
  bubble.appendChild(badge);
  var panel = el("div", "panel");
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", T.title);
  bubble.setAttribute("aria-expanded", "false");
  var head = el("div", "head");
  head.appendChild(el("strong", "", T.title));
  var closer = el("button", "", "×");
  closer.setAttribute("aria-label", T.close);
  head.appendChild(closer);
  var intro = el("div", "intro");
  intro.hidden = true;
  var status = el("div", "status", T.connecting);
  status.setAttribute("role", "status");
  var logView = el("div", "log");
  logView.setAttribute("aria-live", "polite");
  logView.setAttribute("role", "log");
  var form = el("form");
  var input = el("textarea");
  input.placeholder = T.placeholder;
  input.maxLength = MAX_TEXT;
  input.setAttribute("aria-label", T.placeholder);
  var counter = el("div", "count", "0/" + MAX_TEXT);
  counter.setAttribute("aria-hidden", "true");
  var again = el("button", "again", T.writeAgain);
  again.type = "button";
  again.hidden = true;
  var attach = el("label", "attach", "📎");
  attach.title = T.attach;
  var fileInput = el("input");
  fileInput.type = "file";
  attach.appendChild(fileInput);
  var sendButton = el("button", "", T.send);
  sendButton.type = "submit";
  form.appendChild(attach); form.appendChild(input); form.appendChild(sendButton);
  // nobody answers now: the notice, and the visitor's address for replies they miss (when the desk mails)
  var away = el("div", "away");
  away.hidden = true;
  away.setAttribute("role", "status");
  var awayText = el("div", "away-text");
  var mailto = el("button", "mailto", T.emailLink);
  mailto.type = "button";
  // not a <form>: the message box stays the panel's first form; Enter in the field saves as a form would
  var emailForm = el("div", "email-form");
  emailForm.setAttribute("role", "group");
  emailForm.setAttribute("aria-label", T.emailLink);
  var emailId = "desk-email-" + newId();
  var emailLabel = el("label", "", T.emailLabel);
  emailLabel.htmlFor = emailId;
  var emailInput = el("input");
  emailInput.type = "email"; emailInput.id = emailId; emailInput.maxLength = 254; emailInput.autocomplete = "email";
  var emailSave = el("button", "", T.emailSave);
  emailSave.type = "button";
  var emailBad = el("span", "bad");
  emailBad.setAttribute("role", "alert");
  emailForm.appendChild(emailLabel); emailForm.appendChild(emailInput); emailForm.appendChild(emailSave);
  away.appendChild(awayText); away.appendChild(mailto); away.appendChild(emailForm); away.appendChild(emailBad);
  // The site's pre-chat form (name, e-mail) before the first message: labelled fields, Enter submits.
  var prechatForm = el("form", "prechat");
  prechatForm.hidden = true;
  prechatForm.noValidate = true;  // checked here, with the widget's own words
  prechatForm.appendChild(el("p", "", T.prechatIntro));
  function field(label, type, max, autocomplete) {
    var wrap = el("label", "", label);
    var box = el("input");
    box.type = type; box.maxLength = max; box.autocomplete = autocomplete;
    wrap.appendChild(box);
    prechatForm.appendChild(wrap);
    return box;
  }
  var nameInput = field(T.yourName, "text", 100, "name");
  var prechatEmail = field(T.email, "email", 254, "email");
  var problem = el("div", "problem");
  problem.setAttribute("role", "alert");
  prechatForm.appendChild(problem);
  var prechatRow = el("div", "row");
  var startButton = el("button", "", T.startChat);
  startButton.type = "submit";
  var skipButton = el("button", "skip", T.skip);
  skipButton.type = "button";
  prechatRow.appendChild(startButton); prechatRow.appendChild(skipButton);
  prechatForm.appendChild(prechatRow);
  // at the bottom, where the message box is until the form is answered (after it: the panel's first form
  // stays the message box)
  panel.appendChild(head); panel.appendChild(intro); panel.appendChild(away); panel.appendChild(status); panel.appendChild(logView);
  panel.appendChild(counter); panel.appendChild(form); panel.appendChild(again); panel.appendChild(prechatForm);
  // A constructed stylesheet where the browser has them: a host page whose CSP allows no inline style
  // still styles the widget (CSP governs <style> elements, not CSSOM); else the <style> element.
  var sheet = null;
  try {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(style.textContent);
    root.adoptedStyleSheets = [sheet];
  } catch (e) { sheet = null; }
  if (!sheet) root.appendChild(style);
  root.appendChild(panel); root.appendChild(bubble);

  function draw(item) {
    var node = el("div", "item " + item.kind + (item.pending ? " pending" : ""));
    if (item.client_id) node.setAttribute("data-client-id", item.client_id);
    if (item.id) node.setAttribute("data-message-id", String(item.id));
    if (item.kind === "me") node.appendChild(el("span", "who", T.you));
    if (item.pending) node.appendChild(el("span", "sending", T.sending));
    if (item.kind === "op") node.appendChild(el("span", "who", T.operator));
    if (item.article) {
      var article = el("div", "article");
      article.appendChild(el("h4", "", item.article.title));
      article.appendChild(el("div", "", item.article.body));
      if (item.article.links && item.article.links.length) {
        article.appendChild(el("div", "", item.article.links_heading || T.links));
        item.article.links.forEach(function (link) {
          if (!/^https?:\/\//.test(link.url)) return;
          var a = el("a", "", link.title);
          a.href = link.url; a.target = "_blank"; a.rel = "noopener noreferrer";
          article.appendChild(a);
        });
      }
      node.appendChild(article);
    }
    if (item.text) node.appendChild(el("div", "text", item.text));
    if (item.files && item.files.length) {
      var files = el("div", "files");
      item.files.forEach(function (file) {
        var url = DESK + "/widget/files/" + encodeURIComponent(file.id) + "?" + query({});
        var a = el("a", "", IMAGES.indexOf(file.type) >= 0 ? null : "📎 " + file.name);
        a.href = url; a.target = "_blank"; a.rel = "noopener noreferrer";
        if (IMAGES.indexOf(file.type) >= 0) {  // shown, not linked: the same authorised URL, opened full size on click
          var img = el("img");
          img.src = url; img.alt = file.name; img.loading = "lazy"; img.decoding = "async";
          a.className = "image"; a.title = T.openImage + ": " + file.name;
          a.appendChild(img);
        }
        files.appendChild(a);
      });
      node.appendChild(files);
    }
    if (item.buttons && item.buttons.length) {
      var row = el("div", "buttons");
      item.buttons.forEach(function (line) {
        line.forEach(function (b) {
          var button = el("button", "", b.label);
          button.type = "button";
          button.addEventListener("click", function () { press(b.action); });
          row.appendChild(button);
        });
      });
      node.appendChild(row);
    }
    logView.appendChild(node);
    logView.scrollTop = logView.scrollHeight;
    return node;
  }
  // Types the desk serves inline (never SVG, which can carry script): the rest stays a link.
  var IMAGES = ["image/png", "image/jpeg", "image/gif", "image/webp"];
  function showSeen() {
    // "Seen" under the visitor's last message an operator has read (the desk's `read` frame)
    Array.prototype.forEach.call(logView.querySelectorAll(".seen"), function (n) { n.parentNode.removeChild(n); });
    var mark = state.read && state.read.message_id, last = null;
    if (!mark) return;
    state.log.forEach(function (item) { if (item.kind === "me" && item.id && item.id <= mark) last = item; });
    var node = last && logView.querySelector('[data-message-id="' + last.id + '"]');
    if (node) node.appendChild(el("span", "seen", T.seen));
  }
  function show(item) {
    state.log.push(item);
    persist();
    draw(item);
  }
  function redraw() {
    while (logView.firstChild) logView.removeChild(logView.firstChild);
    state.log.forEach(draw);
    showSeen();
  }

  // -- talking to the desk -------------------------------------------------------------------------------
  var socket = null;
  var backoff = 500;
  var typingTimer = null;
  var retryTimer = null;   // the next reconnect after a drop
  var probeTimer = null;   // a socket that does not answer a ping in time is dead
  var heard = 0;           // when the socket last brought anything
  var failures = 0;        // sockets in a row that closed without ever opening
  var greeted = false;     // the current connection's hello arrived (the fallback posts only after it)
  var posting = Promise.resolve();  // the fallback's POSTs, one after another (in the order sent)

  function query(extra) {
    var params = new URLSearchParams({ key: KEY, token: state.token || "", lang: LANG });
    if (USER) { params.set("user", USER); params.set("user_hash", USER_HASH); }
    Object.keys(extra).forEach(function (name) { params.set(name, extra[name]); });
    return params.toString();
  }
  // readyState 1 is OPEN for both a WebSocket and an EventSource; 2 and 3 are on the way out or gone
  function isOpen() { return !!socket && socket.readyState === 1 && (!sse || greeted); }
  function connect() {
    clearTimeout(retryTimer);
    retryTimer = null;
    greeted = false;
    status.textContent = T.connecting;
    if (sse) return listen();
    var current, opened = false;
    function lost() {
      if (current !== socket) return;
      if (!opened && ++failures >= 2) { sse = true; backoff = 500; }  // WebSockets do not get through here
      dropped();
    }
    try {
      current = new WebSocket(WS_BASE + "/widget/ws?" + query({ after: String(state.after || 0) }));
    } catch (e) { current = socket = { readyState: 3 }; return lost(); }
    socket = current;
    current.onopen = function () { opened = true; failures = 0; };
    current.onmessage = function (event) {
      if (current !== socket) return;  // a socket given up on: what it brings is read again by the new one
      heard = Date.now();
      clearTimeout(probeTimer);
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      receive(frame);
    };
    current.onclose = lost;
    current.onerror = function () { if (!opened) { try { current.close(); } catch (e) { /* gone */ } lost(); } };
  }
  function listen() {
    // the fallback's way down: an event stream, opened again by us (never by the browser's own retry,
    // which would reuse an old token and `after`); it ends every minute with a "bye"
    var current = new EventSource(DESK + "/widget/events?" + query({ after: String(state.after || 0) }));
    socket = current;
    current.onmessage = function (event) {
      if (current !== socket) return;
      heard = Date.now();
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame.type === "bye") { current.close(); backoff = 500; connect(); return; }
      receive(frame);
    };
    current.onerror = function () {
      if (current !== socket) return;
      current.close();
      dropped();
    };
  }
  function post(frame) {
    // the fallback's way up: the desk's answer (ack and answers, or an error frame) comes in the response
    posting = posting.then(function () {
      return fetch(DESK + "/widget/send?" + query({}), {
        method: "POST", body: JSON.stringify(frame), headers: { "Content-Type": "application/json" },
        mode: "cors", credentials: "omit"
      }).then(function (response) { return response.json(); })
        .then(function (data) { (data.frames || []).forEach(receive); });
    }).catch(function () { /* not sent: still pending, sent again after the next hello */ });
  }
  function dropped() {
    socket = null;
    clearTimeout(probeTimer);
    status.textContent = T.connecting;
    clearTimeout(retryTimer);
    // backoff after a drop, with jitter so a restarted desk is not hit by every widget at once
    retryTimer = setTimeout(connect, backoff * (0.75 + Math.random() / 2));
    backoff = Math.min(backoff * 2, 15000);
  }
  function abandon() {
    // A socket that looks open but does not answer (a phone woke up, the network changed): given up on
    // at once, not after the browser's own timeout, and replaced; the new one resyncs from `after`.
    var old = socket;
    if (old) { old.onclose = old.onerror = null; try { old.close(); } catch (e) { /* already gone */ } }
    socket = null;
    backoff = 500;
    connect();
  }
  function probe() {
    if (sse || !socket || socket.readyState !== 1) return;  // an event stream fails by itself
    socket.send(JSON.stringify({ type: "ping" }));
    clearTimeout(probeTimer);
    probeTimer = setTimeout(abandon, 4000);
  }
  function reconnectNow() {
    // the page is back (visible, online, restored from the back/forward cache): do not wait for a timer
    if (!socket || socket.readyState >= 2) {
      abandon();
    } else if (socket.readyState === 1) {
      probe();
    }
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") reconnectNow();
  });
  window.addEventListener("online", reconnectNow);
  window.addEventListener("pageshow", function (event) { if (event.persisted) reconnectNow(); });
  setInterval(function () {  // a quiet socket is checked now and then while the page is shown
    if (document.visibilityState === "visible" && Date.now() - heard > 25000) probe();
  }, 10000);
  function transmit(frame) {
    if (!isOpen()) return;
    if (sse) post(frame); else socket.send(JSON.stringify(frame));
  }
  function queue(frame) {
    state.pending.push(frame);
    persist();
    transmit(frame);
  }
  function resendPending() {
    state.pending.forEach(transmit);
  }
  function visit() {
    // where the visitor is, for the operator's customer card (the desk caps and checks each value too)
    function web(url) { return /^https?:\/\/\S+$/.test(url || "") ? url.slice(0, 2048) : ""; }
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { /* old browser */ }
    var language = navigator.language || "";
    var now = new Date();
    var offset = -now.getTimezoneOffset();
    function two(n) { return ("0" + Math.floor(Math.abs(n))).slice(-2); }
    var local = now.getFullYear() + "-" + two(now.getMonth() + 1) + "-" + two(now.getDate()) + "T" + two(now.getHours()) +
      ":" + two(now.getMinutes()) + ":" + two(now.getSeconds()) + (offset < 0 ? "-" : "+") + two(offset / 60) + ":" +
      two(offset % 60);
    return {
      url: web(location.href), title: (document.title || "").slice(0, 300), referrer: web(document.referrer),
      user_agent: (navigator.userAgent || "").slice(0, 512),
      language: /^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/.test(language) ? language.slice(0, 35) : "",
      time_zone: /^[A-Za-z0-9_+\/-]{1,64}$/.test(zone) ? zone : "", local_time: local
    };
  }
  function showSite(site) {
    // the site's own greeting, working hours and colour (store widget settings), as text
    if (!site) return;
    if (/^#[0-9a-fA-F]{6}$/.test(site.color || "")) host.style.setProperty("--desk-color", site.color);
    while (intro.firstChild) intro.removeChild(intro.firstChild);
    if (site.greeting) intro.appendChild(el("span", "greeting", site.greeting));
    if (site.hours) intro.appendChild(el("span", "hours", site.hours));
    intro.hidden = !site.greeting && !site.hours;
  }
  function noteUnread() {
    if (!panel.hidden) return;
    state.unread += 1;
    persist();
    showBadge();
  }
  function showBadge() {
    badge.hidden = !state.unread;
    badge.textContent = state.unread > 99 ? "99+" : String(state.unread);
    bubble.setAttribute("aria-label", state.unread ? T.open + " (" + state.unread + " " + T.unread + ")" : T.open);
  }
  function showAway() {
    // nobody answers now (and the conversation is open): say so; offer the e-mail field where the desk mails
    var a = state.availability, c = state.conversation;
    // the availability frame names the visitor's latest ticket: open unless the state frame says that
    // very ticket is closed (a handoff's frames come before the next state frame)
    var live = !!(a && a.ticket_id && !(c && c.ticket_id === a.ticket_id && c.status === "closed") &&
                  !(c && c.ticket_id > a.ticket_id));
    var open = live && a.available === false;
    away.hidden = !open && !(live && a.email_offer && a.reply_email);
    var parts = [];
    if (open) {
      var hours = state.site && state.site.hours;
      parts.push(a.reason === "hours" ? T.outside + (hours ? " (" + hours + ")." : ".") : T.offline);
      if (a.email_offer && !a.reply_email) parts.push(T.leaveEmail);
    }
    if (a && a.reply_email) parts.push(T.emailSaved + a.reply_email + ".");
    awayText.textContent = parts.join(" ");
    var offer = !!(a && a.email_offer);
    emailForm.hidden = !(offer && open && !a.reply_email) && !emailForm.editing;
    mailto.hidden = !offer || !emailForm.hidden;
  }
  mailto.addEventListener("click", function () {
    emailForm.editing = true;
    emailForm.hidden = false; mailto.hidden = true; away.hidden = false;
    emailInput.focus();
  });
  function saveEmail() {
    var value = emailInput.value.trim();
    if (!/^[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>"]+$/.test(value) || value.length > 254) {
      emailBad.textContent = T.emailBad;
      emailInput.setAttribute("aria-invalid", "true");
      return;
    }
    emailBad.textContent = "";
    emailInput.removeAttribute("aria-invalid");
    queue({ type: "email", client_id: newId(), email: value });
  }
  emailSave.addEventListener("click", saveEmail);
  emailInput.addEventListener("keydown", function (event) {
    if (event.key === "Enter") { event.preventDefault(); saveEmail(); }
  });
  var seenSent = 0, seenTimer = null;
  function reportSeen() {
    // what the panel shows while open and visible: the desk mails only replies the visitor did not see
    if (panel.hidden || document.visibilityState !== "visible" || !state.after || state.after <= seenSent) return;
    if (seenTimer) return;
    seenTimer = setTimeout(function () {
      seenTimer = null;
      if (panel.hidden || document.visibilityState !== "visible" || state.after <= seenSent) return;
      if (isOpen()) {
        seenSent = state.after;
        transmit({ type: "seen", id: state.after });
      }
    }, 1000);
  }
  document.addEventListener("visibilitychange", reportSeen);
  function showConversation() {
    // closed: no reply box (the closing notice with its rating buttons is in the log), "Write again" instead
    var c = state.conversation;
    var closed = !!(c && c.status === "closed");
    var asking = prechatPending();
    prechatForm.hidden = !asking;
    skipButton.hidden = prechatMode !== "optional";
    form.hidden = closed || asking; counter.hidden = closed || asking; again.hidden = !closed || asking;
    head.firstChild.textContent = c && c.status === "open" && c.assignee ? T.assignee + c.assignee : T.title;
    showAway();
  }
  function reopenForm() {
    if (state.conversation) state.conversation.status = "writing";
    persist();
    showConversation();
    input.focus();
  }

  function receive(frame) {
    if (frame.type === "hello") {
      state.token = frame.token;
      state.site = frame.site;
      prechatMode = frame.prechat || "off";
      verified = !!frame.verified;
      greeted = true;
      showSite(frame.site);
      showConversation();
      // the panel opened before the desk said the site asks first: focus follows the form that appeared
      if (!panel.hidden && prechatPending() && (root.activeElement === input || !root.activeElement)) nameInput.focus();
      seenSent = 0;
      backoff = 500;
      status.textContent = "";
      persist();
      transmit({ type: "hello", visit: visit() });
      resendPending();
      if (!state.started && !panel.hidden && !prechatPending()) begin();
    } else if (frame.type === "ack") {
      state.pending = state.pending.filter(function (p) { return p.client_id !== frame.client_id; });
      state.log.forEach(function (item) { if (item.client_id === frame.client_id) item.pending = false; });
      persist();
      var node = logView.querySelector('[data-client-id="' + CSS.escape(frame.client_id) + '"]');
      if (node) {
        node.classList.remove("pending");
        var label = node.querySelector(".sending");
        if (label) node.removeChild(label);
      }
    } else if (frame.type === "answer") {
      if (frame.ack && !frame.text) return;  // the press was taken: nothing to show
      show({ kind: "bot", text: frame.text, buttons: frame.buttons, article: frame.article });
    } else if (frame.type === "message") {
      if (frame.id <= (state.after || 0)) return;  // already shown (a resync overlapping what came live)
      state.after = frame.id;
      var mine = frame.client_id && state.log.some(function (item) { return item.client_id === frame.client_id; });
      if (!mine) show({ kind: frame.author === "operator" ? "op" : "me", text: frame.body, files: frame.files,
                        client_id: frame.client_id || undefined, id: frame.id });
      else own(frame);
      if (frame.author === "operator") { setTyping(false); noteUnread(); }
      reportSeen();
    } else if (frame.type === "closed") {
      if (state.seen.indexOf(frame.key) >= 0) return;
      state.seen.push(frame.key);
      show({ kind: "closed", text: frame.text, buttons: frame.buttons });
      noteUnread();
    } else if (frame.type === "state") {
      var was = state.conversation;
      // a "Write again" the visitor chose stays chosen until the desk says something new
      if (!(was && was.status === "writing" && frame.status === "closed" && was.ticket_id === frame.ticket_id)) {
        state.conversation = frame;
      }
      persist();
      showConversation();
    } else if (frame.type === "availability") {
      state.availability = frame;
      persist();
      showAway();
    } else if (frame.type === "email_saved") {
      if (state.availability) state.availability.reply_email = frame.email;
      emailForm.editing = false;
      emailInput.value = "";
      persist();
      showAway();
    } else if (frame.type === "read") {
      state.read = frame;
      persist();
      showSeen();
    } else if (frame.type === "typing") {
      setTyping(true);
    } else if (frame.type === "error" && frame.code === "bad_email") {
      emailBad.textContent = frame.text;
      emailInput.setAttribute("aria-invalid", "true");
      state.pending = state.pending.filter(function (p) { return p.client_id !== frame.client_id; });
      persist();
    } else if (frame.type === "error" && frame.code === "prechat_required") {
      // the site asks who the visitor is first: the message stays pending until the form is answered
      if (state.pending.some(function (p) { return p.type === "prechat"; })) {
        setTimeout(resendPending, Math.max(frame.retry_after || 3, 1) * 1000);
      } else {
        state.prechat = "";
        persist();
        showConversation();
        problem.textContent = frame.text;
      }
    } else if (frame.type === "error") {
      if (frame.code === "bad_prechat") {  // the desk did not take the answers: the form again, with why
        state.pending = state.pending.filter(function (p) { return p.client_id !== frame.client_id; });
        state.prechat = "";
        persist();
        showConversation();
        problem.textContent = frame.text;
        return;
      }
      var last = state.log[state.log.length - 1];
      if (!last || last.kind !== "error" || last.text !== frame.text) show({ kind: "error", text: frame.text });
      if (frame.client_id && frame.retry === false) {  // it would fail again: given up, not resent forever
        state.pending = state.pending.filter(function (p) { return p.client_id !== frame.client_id; });
        state.log = state.log.filter(function (item) { return item.client_id !== frame.client_id || !item.pending; });
        persist();
        var failed = logView.querySelector('[data-client-id="' + CSS.escape(frame.client_id) + '"]');
        if (failed) failed.parentNode.removeChild(failed);
      } else if (frame.client_id) {
        // too fast, rate limited or the desk's database away: still pending, sent again after the wait
        setTimeout(resendPending, Math.max(frame.retry_after || 3, 1) * 1000);
      }
    }
  }
  function own(frame) {
    // the visitor's own message as the desk stored it: its id (for "Seen") and its files (an image shows)
    var files = false;
    state.log.forEach(function (item) {
      if (item.client_id !== frame.client_id) return;
      item.id = frame.id;
      if (frame.files && frame.files.length && !item.files) { item.files = frame.files; item.text = frame.body; files = true; }
    });
    persist();
    if (files) { redraw(); return; }
    var node = logView.querySelector('[data-client-id="' + CSS.escape(frame.client_id) + '"]');
    if (node) node.setAttribute("data-message-id", String(frame.id));
    showSeen();
  }
  function setTyping(on) {
    clearTimeout(typingTimer);
    status.textContent = on ? T.typing : "";
    if (on) typingTimer = setTimeout(function () { setTyping(false); }, 6000);
  }

  function prechatPending() {
    return prechatMode !== "off" && !verified && !state.prechat;
  }
  var EMAIL = /^[^@\s<>"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$/;
  function answerPrechat(event) {
    event.preventDefault();
    var name = nameInput.value.trim(), email = prechatEmail.value.trim();
    var wrong = null;
    if (prechatMode === "required" && (!name || !email)) wrong = T.needBoth;
    else if (name.length > 100) wrong = T.nameTooLong;
    else if (email && !EMAIL.test(email)) wrong = T.badEmail;
    if (wrong) {
      problem.textContent = wrong;
      ((!name && prechatMode === "required") ? nameInput : prechatEmail).focus();
      return;
    }
    problem.textContent = "";
    state.prechat = "done";
    // before anything still pending (a message the desk held back for the form): then everything again, in order
    state.pending.unshift({ type: "prechat", client_id: newId(), name: name, email: email });
    resendPending();
    afterPrechat();
  }
  function afterPrechat() {
    persist();
    showConversation();
    if (!state.started && isOpen()) begin();
    input.focus();
  }
  prechatForm.addEventListener("submit", answerPrechat);
  skipButton.addEventListener("click", function () {
    if (prechatMode !== "optional") return;
    state.prechat = "skipped";
    afterPrechat();
  });

  function begin() {
    state.started = true;
    queue({ type: "start", client_id: newId() });
  }
  function say(text) {
    var frame = { type: "message", client_id: newId(), text: text };
    show({ kind: "me", text: text, client_id: frame.client_id, pending: true });
    queue(frame);
  }
  function press(action) {
    if (action && action[0] === "rate") reopenForm();  // the rating may be followed by a comment
    queue({ type: "action", client_id: newId(), action: action });
  }
  function sendFile(file) {
    var clientId = newId();
    var item = { kind: "me", text: "📎 " + file.name, client_id: clientId, pending: true };
    show(item);
    var body = new FormData();
    body.append("client_id", clientId);
    body.append("text", "");
    body.append("file", file, file.name);
    fetch(DESK + "/widget/files?" + query({}), { method: "POST", body: body, mode: "cors", credentials: "omit" })
      .then(function (response) { return response.json().then(function (data) { return [response.ok, data]; }); })
      .then(function (result) {
        if (!result[0]) { show({ kind: "error", text: result[1].text || T.fileFailed }); return; }
        receive({ type: "ack", client_id: clientId });
        (result[1].answers || []).forEach(receive);
      })
      .catch(function () { show({ kind: "error", text: T.fileFailed }); });
  }

  function openPanel() {
    panel.hidden = false;
    bubble.setAttribute("aria-expanded", "true");
    state.unread = 0;
    persist();
    showBadge();
    if (!state.started && isOpen() && !prechatPending()) begin();
    logView.scrollTop = logView.scrollHeight;
    (prechatPending() ? nameInput : form.hidden ? again : input).focus();  // focus moves into the panel
    reportSeen();
  }
  function closePanel() {
    panel.hidden = true;
    bubble.setAttribute("aria-expanded", "false");
    bubble.focus();  // and back to the bubble
  }
  bubble.addEventListener("click", function () { if (panel.hidden) openPanel(); else closePanel(); });
  closer.addEventListener("click", closePanel);
  panel.addEventListener("keydown", function (event) { if (event.key === "Escape") closePanel(); });
  again.addEventListener("click", reopenForm);
  var typedAt = 0;
  input.addEventListener("input", function () {
    if (input.value.trim() && Date.now() - typedAt > 3000 && isOpen()) {  // operators see "Visitor is typing…"
      typedAt = Date.now();
      transmit({ type: "typing" });
    }
    counter.textContent = input.value.length + "/" + MAX_TEXT;
    counter.classList.toggle("full", input.value.length >= MAX_TEXT);
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (prechatPending()) return;  // the site's form first
    var text = input.value.trim();
    if (!text || text.length > MAX_TEXT) return;
    input.value = "";
    counter.textContent = "0/" + MAX_TEXT;
    counter.classList.remove("full");
    say(text);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit", { cancelable: true }));
    }
  });
  fileInput.addEventListener("change", function () {
    var file = fileInput.files && fileInput.files[0];
    fileInput.value = "";
    if (file) sendFile(file);
  });

  function mount() {
    document.body.appendChild(host);
    redraw();
    showBadge();
    showConversation();
    connect();
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
