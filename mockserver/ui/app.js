// bgmock dashboard (docs/dashboard.md). Vanilla JS, no build step, no dependency.
//
// Everything shown comes from the documented admin API and is attacker-controlled text (a
// journal entry is whatever a client sent): it is written with textContent / Text nodes only,
// never parsed as HTML. URLs the page links to are built here from validated IDs, never taken
// from an entry. The admin token, when the fake asks for one, lives in sessionStorage (this tab)
// and travels in the X-Bgmock-Admin-Token header, never in a URL.
"use strict";

(() => {
  const TOKEN_KEY = "bgmock-admin-token";
  const POLL_MS = 1500;
  const TASK_LIMIT = 200;
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  const SECRET_NAME = /token|secret|sign|auth|cookie|password|passwd|api[-_]?key|session/i;
  const SIGNATURE_CODES = new Set(["MissingParameter", "InvalidAppKey", "InvalidTimestamp", "IncompleteSignature"]);

  const state = {
    view: "requests", journal: [], tasks: [], faults: [], clock: null, config: null,
    selected: null, journalSig: "", newestSig: "", tasksSig: "", faultsSig: "", firstRender: false,
  };
  const $ = (id) => document.getElementById(id);

  // ---- DOM helpers: text only ------------------------------------------------------------
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = String(value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child)); // a string becomes a Text node
    }
    return node;
  }
  // Children as ``replaceChildren`` must get them: nested lists flattened, nulls (an absent part) left out.
  const nodes = (...children) => children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false);
  const str = (v) => (typeof v === "string" ? v : v === null || v === undefined ? "" : String(v));
  const num = (v, fallback = 0) => (typeof v === "number" && Number.isFinite(v) ? v : fallback);
  const obj = (v) => (v && typeof v === "object" && !Array.isArray(v) ? v : {});
  const list = (v) => (Array.isArray(v) ? v : []);
  const pretty = (v) => JSON.stringify(v === undefined ? null : v, null, 2);
  const entryKey = (e) => `${str(e.id)}/${str(e.t)}/${str(e.time)}`;

  function kv(pairs) {
    const dl = el("dl", { class: "kv" });
    for (const [name, value] of pairs) {
      if (value === undefined || value === null || value === "") continue;
      dl.append(el("dt", { text: name }), el("dd", {}, value instanceof Node ? value : str(value)));
    }
    return dl;
  }
  function badge(text, kind) { return el("span", { class: `badge ${kind || ""}`, text }); }
  function codeBadge(e) {
    if (e.transport) return badge(str(e.transport), "bad");
    if (e.gateway) return badge(str(e.gateway), "bad");
    if (e.resCode === null || e.resCode === undefined) return badge("—");
    return badge(str(e.resCode), e.resCode === 200 ? "ok" : "bad");
  }
  function setMessage(node, text, kind) { node.textContent = text; node.className = `message ${kind || ""}`; }

  // ---- the admin API -----------------------------------------------------------------------
  class AdminError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }
  let tokenAsked = null;

  function askToken(refused) {
    if (tokenAsked) return tokenAsked;
    tokenAsked = new Promise((resolve) => {
      const dialog = $("token-dialog");
      setMessage($("token-message"), refused ? "The fake refused that token (401): try again." : "");
      $("token-input").value = "";
      const done = (event) => {
        event.preventDefault();
        const token = $("token-input").value;
        if (!token) return;
        sessionStorage.setItem(TOKEN_KEY, token);
        $("token-form").removeEventListener("submit", done);
        dialog.close();
        tokenAsked = null;
        resolve();
      };
      $("token-form").addEventListener("submit", done);
      dialog.addEventListener("cancel", (event) => event.preventDefault()); // no way round it
      dialog.showModal();
    });
    return tokenAsked;
  }

  async function request(method, path, body) {
    for (;;) {
      const headers = {};
      const token = sessionStorage.getItem(TOKEN_KEY);
      if (token) headers["X-Bgmock-Admin-Token"] = token;
      const init = { method, headers, credentials: "same-origin", cache: "no-store", redirect: "error" };
      if (body !== undefined) {
        headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
      }
      const answer = await fetch(path, init);
      if (answer.status !== 401) return answer;
      // Several calls are in flight at once: only the first refusal of a token forgets it and
      // asks; a call refused with a token already replaced just tries again with the new one.
      const now = sessionStorage.getItem(TOKEN_KEY);
      if (now !== null && now !== token) continue;
      if (now !== null) sessionStorage.removeItem(TOKEN_KEY);
      await askToken(Boolean(token));
    }
  }

  async function api(method, path, body) {
    const answer = await request(method, path, body);
    const text = await answer.text();
    let data = null;
    try { data = JSON.parse(text); } catch (_) { /* not JSON: described below */ }
    if (!answer.ok) {
      const d = obj(data);
      const why = str(d.resMessage || d.message || d.code) || text.slice(0, 200) || answer.statusText;
      throw new AdminError(answer.status, `HTTP ${answer.status}: ${why}`);
    }
    return data;
  }

  // Product images are admin data (they may need the token), so they are fetched, not linked.
  const blobCache = new Map();
  async function productURL(taskId, item) {
    if (!UUID.test(taskId) || !Number.isInteger(item) || item < 0) return null;
    const key = `${taskId}/${item}`;
    if (blobCache.has(key)) return blobCache.get(key);
    const pending = (async () => {
      const answer = await request("GET", `/__admin/tasks/${taskId}/products/${item}`);
      if (!answer.ok) return null;
      return URL.createObjectURL(await answer.blob());
    })();
    blobCache.set(key, pending);
    if (blobCache.size > 300) { // bounded: the oldest thumbnail is forgotten
      const [oldKey, oldURL] = blobCache.entries().next().value;
      blobCache.delete(oldKey);
      oldURL.then((url) => url && URL.revokeObjectURL(url));
    }
    return pending;
  }

  function productFigure(taskId, item, caption) {
    const img = el("img", { alt: `product image of item ${item}` });
    const figure = el("figure", {}, img, el("figcaption", { text: caption }));
    productURL(taskId, item).then((url) => {
      if (url) img.src = url;
      else figure.replaceChildren(el("figcaption", { text: `${caption}: no longer held by the fake` }));
    }).catch(() => figure.replaceChildren(el("figcaption", { text: `${caption}: could not load` })));
    return figure;
  }

  function resultURLs(task) {
    if (!UUID.test(str(task.taskId)) || task.taskStatus !== "finished") return [];
    const ext = str(obj(state.config).result_format).toUpperCase() === "JPEG" ? "jpg" : "png";
    const urls = [];
    list(task.items).forEach((item, index) => {
      const count = Math.min(Math.max(parseInt(obj(item).imageNum, 10) || 0, 0), 20);
      for (let n = 0; n < count; n++) urls.push({ item: index, n, url: `/__bgmock/results/${task.taskId}/${index}/${n}.${ext}` });
    });
    return urls;
  }

  // ---- polling -----------------------------------------------------------------------------
  // The journal is read whole (newest JOURNAL_LIMIT entries) only when its newest entry changed:
  // an idle fake costs one entry per poll, not the whole journal.
  const JOURNAL_LIMIT = 2000;

  async function readJournal() {
    if (state.firstRender && !$("filter-live").checked) return null;
    if (state.firstRender) {
      const newest = list(obj(await api("GET", "/__admin/requests?limit=1")).requests);
      if (`${newest.length ? 1 : 0}:${entryKey(obj(newest[0]))}` === state.newestSig) return null;
    }
    return list(obj(await api("GET", `/__admin/requests?limit=${JOURNAL_LIMIT}`)).requests);
  }

  let pollTimer = null;
  async function poll() {
    clearTimeout(pollTimer);
    if (!document.hidden) {
      try {
        // All asked at once; the journal is drawn as soon as it arrives (the first screen).
        const asked = Promise.all([
          state.config ? state.config : api("GET", "/__admin/config"),
          api("GET", `/__admin/tasks?limit=${TASK_LIMIT}`),
          api("GET", "/__admin/faults"),
          api("GET", "/__admin/clock"),
        ]);
        asked.catch(() => {}); // (its failure is reported below, once)
        const journal = await readJournal();
        if (!state.firstRender) performance.mark("bgmock:journal-received");
        if (journal) updateJournal(journal);
        const [config, tasks, faults, clock] = await asked;
        state.config = obj(config);
        updateTasks(list(obj(tasks).tasks));
        updateFaults(list(obj(faults).faults));
        state.clock = obj(clock);
        $("clock-now").textContent = `fake clock ${num(state.clock.now).toFixed(1)} s (${str(state.clock.mode)})`;
        setStatus(`live · updated ${new Date().toLocaleTimeString()}`);
      } catch (error) {
        setStatus(`cannot read the admin API: ${error.message}`, true);
      }
    }
    pollTimer = setTimeout(poll, POLL_MS);
  }
  function setStatus(text, bad) { const s = $("status"); s.textContent = text; s.className = bad ? "status bad" : "status"; }
  document.addEventListener("visibilitychange", () => { if (!document.hidden) poll(); });

  // ---- Requests ----------------------------------------------------------------------------
  const searchText = new WeakMap();
  function haystack(e) {
    let text = searchText.get(e);
    if (text === undefined) { text = JSON.stringify(e).toLowerCase(); searchText.set(e, text); }
    return text;
  }
  function codeOf(e) {
    if (e.transport) return `transport ${str(e.transport)}`;
    if (e.gateway) return str(e.gateway);
    return e.resCode === null || e.resCode === undefined ? "none" : str(e.resCode);
  }
  function filtered() {
    const endpoint = $("filter-endpoint").value;
    const code = $("filter-rescode").value;
    const text = $("filter-text").value.trim().toLowerCase();
    return state.journal.filter((e) =>
      (!endpoint || str(e.endpoint || "(no route)") === endpoint) &&
      (!code || codeOf(e) === code) &&
      (!text || haystack(e).includes(text)));
  }

  function fillSelect(select, values) {
    const current = select.value;
    const wanted = ["", ...[...values].sort()];
    const have = [...select.options].map((o) => o.value);
    if (wanted.join("\n") === have.join("\n")) return;
    select.replaceChildren(...wanted.map((v) => el("option", { value: v, text: v || "all" })));
    select.value = wanted.includes(current) ? current : "";
  }

  function updateJournal(entries) {
    const first = obj(entries[0]);
    state.newestSig = `${entries.length ? 1 : 0}:${entryKey(first)}`;
    const sig = `${entries.length}:${entryKey(first)}`;
    if (sig === state.journalSig && state.firstRender) return;
    state.journalSig = sig;
    state.journal = entries.map(obj);
    fillSelect($("filter-endpoint"), new Set(state.journal.map((e) => str(e.endpoint || "(no route)"))));
    fillSelect($("filter-rescode"), new Set(state.journal.map(codeOf)));
    renderRequests();
  }

  function fired(e) {
    const injected = obj(e.injected);
    if (injected.rule) return `rule ${str(injected.rule)}`;
    if (e.injected) return `Prefer: ${str(obj(e.headers).prefer) || "…"}`;
    if (e.rateLimit) return `rate limit (${str(e.rateLimit)})`;
    const magic = list(e.params).map((p) => str(obj(p).modelNum)).find((m) => m.startsWith("bgmock-"));
    return magic ? `magic ${magic}` : "";
  }

  function renderRequests() {
    const rows = filtered();
    const body = document.createDocumentFragment();
    for (const e of rows) {
      const key = entryKey(e);
      const when = str(e.time).slice(11, 23);
      const tr = el("tr", { "data-key": key, class: key === state.selected ? "selected" : null },
        el("td", { class: "mono", text: str(e.id) }),
        el("td", { class: "wide mono", text: when }),
        el("td", { class: "path" }, `${str(e.method)} ${str(e.path)}`,
          el("span", { class: "sub", text: [str(e.endpoint), e.taskId ? `task ${str(e.taskId).slice(0, 8)}` : "", str(e.taskStatus)].filter(Boolean).join(" · ") })),
        el("td", { text: e.status === null || e.status === undefined ? "—" : str(e.status) }),
        el("td", {}, codeBadge(e)),
        el("td", { class: "wide", text: fired(e) }),
        el("td", { class: "wide mono", text: (num(e.elapsedMs) + num(e.delayMs)).toFixed(1) }),
      );
      body.append(tr);
    }
    $("requests").tBodies[0].replaceChildren(body);
    $("requests-empty").hidden = state.journal.length > 0;
    $("count-requests").textContent = state.journal.length ? `(${state.journal.length})` : "";
    $("export-summary").textContent = `${rows.length} of ${state.journal.length} request(s) match the Requests filters.`;
    if (!state.firstRender) {
      state.firstRender = true;
      performance.mark("bgmock:first-render");
      document.body.dataset.ready = "true";
    }
    const open = state.journal.find((e) => entryKey(e) === state.selected);
    if (!open && state.selected) closeExchange();
  }

  $("requests").addEventListener("click", (event) => {
    const row = event.target.closest("tr[data-key]");
    if (!row) return;
    const entry = state.journal.find((e) => entryKey(e) === row.dataset.key);
    if (entry) openExchange(entry);
  });
  for (const id of ["filter-endpoint", "filter-rescode", "filter-text"]) $(id).addEventListener("input", renderRequests);
  $("filters").addEventListener("submit", (event) => event.preventDefault());

  function maskedPairs(record) {
    return Object.entries(obj(record)).map(([name, value]) =>
      [name, SECRET_NAME.test(name) ? "•••" : typeof value === "string" ? value : JSON.stringify(value)]);
  }

  function signatureVerdict(e) {
    if (e.signature) return `valid (${str(e.signature)}${e.appKey ? `, app_key ${str(e.appKey)}` : ""})`;
    if (SIGNATURE_CODES.has(str(e.gateway))) return `refused: ${str(e.gateway)}`;
    const keys = obj(state.config).app_keys;
    const on = keys && typeof keys === "object" && Object.keys(keys).length > 0;
    return on ? "not checked (no signed API route)" : "not checked (signatures off)";
  }

  function openExchange(e) {
    state.selected = entryKey(e);
    for (const row of $("requests").tBodies[0].rows) row.classList.toggle("selected", row.dataset.key === state.selected);
    const pane = $("exchange");
    const injected = obj(e.injected);
    const problems = list(e.problems);
    const images = list(e.images).filter((i) => obj(i).bytes !== null && obj(i).bytes !== undefined);
    const urls = list(e.params).map((p) => str(obj(p).imageFileUrl)).filter(Boolean);
    pane.replaceChildren(...nodes(
      el("header", {},
        el("h2", { text: `${str(e.method)} ${str(e.path)}` }),
        el("button", { class: "link", title: "close", onclick: closeExchange, text: "close ✕" })),
      el("h3", { text: "Answer" }),
      kv([
        ["HTTP status", e.status === null || e.status === undefined ? "none (connection broken)" : str(e.status)],
        ["resCode", e.resCode], ["gateway code", e.gateway], ["transport fault", e.transport],
        ["taskId", e.taskId], ["taskStatus", e.taskStatus],
        ["latency", `${num(e.elapsedMs).toFixed(1)} ms handling${num(e.delayMs) ? ` + ${num(e.delayMs)} ms injected delay` : ""}`],
        ["rate limit", e.rateLimit],
      ]),
      el("h3", { text: "What decided it" }),
      kv([
        ["fired", fired(e) || "nothing (the normal answer)"],
        ["injected", e.injected ? JSON.stringify(injected) : null],
        ["signature", signatureVerdict(e)],
      ]),
      el("h3", { text: `Validation problems (${problems.length})` }),
      problems.length ? el("ul", { class: "problems" }, problems.map((p) => el("li", { text: str(p) }))) : el("p", { class: "note", text: "none" }),
      el("h3", { text: "requestParams" }),
      el("pre", { class: "params", text: pretty(e.params === undefined || e.params === null ? e.body : e.params) }),
      images.length || urls.length ? el("h3", { text: "Product image" }) : null,
      images.length && UUID.test(str(e.taskId))
        ? el("div", { class: "thumbs" }, images.map((i) => productFigure(str(e.taskId), num(obj(i).item),
          `item ${num(obj(i).item)}: ${str(obj(i).format)} ${str(obj(i).width)}×${str(obj(i).height)}, ${str(obj(i).bytes)} bytes`)))
        : images.length ? el("p", { class: "note", text: "uploaded, but no task was created: the fake keeps products of tasks only" }) : null,
      urls.length ? el("p", { class: "note" }, "imageFileUrl (not fetched by the page): ", urls.map((u) => el("code", { text: `${u} ` }))) : null,
      el("h3", { text: "Request as sent" }),
      kv([["time", e.time], ["fake clock", e.clock], ["content type", e.contentType], ["body bytes", e.bodyBytes], ["appKey", e.appKey]]),
      el("h3", { text: "Headers (secrets masked)" }), kv(maskedPairs(e.headers)),
      Object.keys(obj(e.query)).length ? [el("h3", { text: "Query" }), kv(maskedPairs(e.query))] : null,
      el("details", {}, el("summary", { text: "the whole journal entry (JSON)" }), el("pre", { text: pretty(e) })),
    ));
    pane.hidden = false;
    pane.parentElement.classList.remove("closed");
    if (window.matchMedia("(max-width: 720px)").matches) {  // below the sticky header, not under it
      const header = document.querySelector("body > header");
      const top = pane.getBoundingClientRect().top + window.scrollY - (header ? header.offsetHeight : 0) - 8;
      window.scrollTo({ top: Math.max(0, top) });
    }
  }
  function closeExchange() {
    state.selected = null;
    $("exchange").hidden = true;
    $("exchange").parentElement.classList.add("closed");
    for (const row of $("requests").tBodies[0].rows) row.classList.remove("selected");
  }

  // ---- Tasks -------------------------------------------------------------------------------
  const taskNodes = new Map(); // taskId -> {sig, node}: a task is redrawn only when it changed

  function howItGotThere(t) {
    const cfg = obj(state.config);
    if (t.progression === "polls") return `advances on polls: ${num(t.polls)} of ${num(cfg.polls_to_finish, 3)} polls seen`;
    const duration = num(cfg.task_duration, 3);
    return `advances on the fake's clock: ${num(t.age).toFixed(1)} s old, finishes at ${duration} s · ${num(t.polls)} poll(s)`;
  }

  function taskNode(t) {
    const status = str(t.taskStatus);
    const kind = status === "finished" ? "ok" : status === "failed" ? "bad" : "warn";
    const fate = t.outcome && t.outcome !== "finished" && t.outcome !== status ? `will end ${str(t.outcome)}` : "";
    const results = resultURLs(t);
    return el("article", { class: "task", "data-task": str(t.taskId) },
      el("header", {}, el("span", { class: "mono", text: str(t.taskId) }), badge(status, kind),
        fate ? badge(fate, "bad") : null, el("span", { class: "how", text: howItGotThere(t) })),
      kv([[status === "finished" || status === "failed" ? "taskMessage" : "will end with", t.taskMessage],
        ["sources", list(t.sources).join(", ")], ["appKey", t.appKey]]),
      el("h3", { text: `Items (${list(t.items).length})` }),
      list(t.items).map((item, index) => {
        const i = obj(item);
        const shown = Object.fromEntries(Object.entries(i).filter(([k]) => !k.startsWith("_")));
        const details = el("details", {}, el("summary", { text: `item ${index}: ${str(i.modelNum)} ${str(i.width)}×${str(i.height)}, ${str(i.imageNum)} image(s)${i.productTitle ? ` · ${str(i.productTitle)}` : ""}` }),
          el("pre", { text: pretty(shown) }));
        if (i.imgBase64 !== undefined && UUID.test(str(t.taskId))) { // the product, fetched when opened
          details.addEventListener("toggle", () => {
            if (details.open && !details.querySelector(".thumbs")) {
              details.append(el("div", { class: "thumbs" }, productFigure(str(t.taskId), index, `product of item ${index}`)));
            }
          });
        }
        return details;
      }),
      results.length ? [
        el("h3", { text: `Result images (${results.length})` }),
        el("div", { class: "thumbs results" }, results.map((r) => el("figure", {},
          el("a", { href: r.url, target: "_blank", rel: "noopener noreferrer", title: "open full size" },
            el("img", { src: r.url, alt: `item ${r.item} image ${r.n}`, loading: "lazy" })),
          el("figcaption", { text: `item ${r.item} · #${r.n}` })))),
      ] : null,
    );
  }

  function updateTasks(tasks) {
    const sig = JSON.stringify(tasks);
    if (sig === state.tasksSig) return;
    state.tasksSig = sig;
    state.tasks = tasks.map(obj);
    const seen = new Set();
    const nodes = state.tasks.map((t) => {
      const id = str(t.taskId);
      seen.add(id);
      const tsig = JSON.stringify(t);
      const known = taskNodes.get(id);
      if (known && known.sig === tsig) return known.node;
      const node = taskNode(t);
      taskNodes.set(id, { sig: tsig, node });
      return node;
    });
    for (const id of [...taskNodes.keys()]) if (!seen.has(id)) taskNodes.delete(id);
    $("tasks").replaceChildren(...nodes);
    $("tasks-empty").hidden = state.tasks.length > 0;
    $("count-tasks").textContent = state.tasks.length ? `(${state.tasks.length})` : "";
  }

  async function act(button, work, messageNode) {
    button.disabled = true;
    try {
      const text = await work();
      if (messageNode && text) setMessage(messageNode, text, "ok");
      else if (text) setStatus(text);
      await poll();
    } catch (error) {
      if (messageNode) setMessage(messageNode, error.message, "bad");
      else setStatus(error.message, true);
    } finally {
      button.disabled = false;
    }
  }
  document.querySelectorAll("[data-advance]").forEach((button) => button.addEventListener("click", () =>
    act(button, async () => {
      const clock = await api("POST", "/__admin/clock", { advance: Number(button.dataset.advance) });
      return `fake clock moved to ${num(obj(clock).now).toFixed(1)} s`;
    })));
  document.querySelectorAll("[data-outcome]").forEach((button) => button.addEventListener("click", () =>
    act(button, async () => {
      const rule = await api("POST", "/__admin/faults", { endpoint: "task", outcome: button.dataset.outcome, times: 1 });
      return `${str(obj(rule).id)}: the next submitted task ends ${button.dataset.outcome}`;
    })));

  // ---- Faults ------------------------------------------------------------------------------
  function describeRule(r) {
    if (r.outcome) return `task ${str(r.outcome)}${r.resCode ? ` (${str(r.resCode)})` : ""}`;
    const parts = [];
    if (r.resCode) parts.push(`resCode ${str(r.resCode)}`);
    if (r.undocumentedCode) parts.push(`undocumented ${str(r.undocumentedCode)}`);
    if (r.transport) parts.push(`transport ${str(r.transport)}`);
    if (r.shape) parts.push(`shape ${str(r.shape)}`);
    if (r.latency) parts.push(`latency ${str(r.latency)}`);
    if (num(r.delayMs)) parts.push(`+${num(r.delayMs)} ms`);
    return parts.join(", ") || "normal answer";
  }
  function ordinal(n) {
    const tens = n % 100;
    const suffix = tens >= 11 && tens <= 13 ? "th" : ["th", "st", "nd", "rd"][n % 10] || "th";
    return `${n}${suffix}`;
  }
  function ruleWhen(r) {
    const parts = [];
    if (r.times !== null && r.times !== undefined) parts.push(`${str(r.times)} time(s)`);
    if (r.probability !== undefined && num(r.probability, 1) < 1) parts.push(`${+(num(r.probability) * 100).toFixed(3)} %`);
    if (num(r.everyN, 1) > 1) parts.push(`every ${ordinal(num(r.everyN))} call`);
    const match = Object.entries(obj(r.match));
    if (match.length) parts.push(`when ${match.map(([k, v]) => `${k}=${str(v)}`).join(", ")}`);
    return parts.join(", ") || "always";
  }
  function updateFaults(faults) {
    const sig = JSON.stringify(faults);
    if (sig === state.faultsSig) return;
    state.faultsSig = sig;
    state.faults = faults.map(obj);
    $("faults").tBodies[0].replaceChildren(...state.faults.map((r) => el("tr", { "data-rule": str(r.id) },
      el("td", { class: "mono", text: str(r.id) }), el("td", { text: str(r.endpoint) }),
      el("td", { text: describeRule(r) }), el("td", { class: "wide", text: ruleWhen(r) }),
      el("td", { class: "matched", text: str(r.matched) }), el("td", { class: "fired", text: str(r.fired) }),
      el("td", { text: r.remaining === null || r.remaining === undefined ? "∞" : str(r.remaining) }),
      el("td", {}, el("button", { class: "link", "data-delete": str(r.id), text: "delete" })))));
    $("faults-empty").hidden = state.faults.length > 0;
    $("count-faults").textContent = state.faults.length ? `(${state.faults.length})` : "";
  }
  $("faults").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-delete]");
    if (!button) return;
    const id = button.dataset.delete;
    act(button, async () => { await api("DELETE", `/__admin/faults/${encodeURIComponent(id)}`); return `deleted ${id}`; },
      $("fault-message"));
  });
  $("faults-clear").addEventListener("click", (event) => act(event.currentTarget, async () => {
    const done = await api("DELETE", "/__admin/faults");
    return `deleted ${num(obj(done).removed)} rule(s)`;
  }, $("fault-message")));

  function presetRule() {
    const preset = $("fault-preset").value;
    const endpoint = $("fault-endpoint").value;
    const code = Number($("fault-code").value);
    const times = Math.max(1, parseInt($("fault-times").value, 10) || 1);
    switch (preset) {
      case "times": return { endpoint, resCode: code, times };
      case "percent": return { endpoint, resCode: code, probability: Math.min(Math.max(Number($("fault-percent").value) || 0, 0), 100) / 100 };
      case "every": return { endpoint, resCode: code, everyN: Math.max(1, parseInt($("fault-every").value, 10) || 1) };
      case "transport": return { endpoint, transport: $("fault-transport").value, times };
      case "outcome": return { endpoint: "task", outcome: $("fault-outcome").value, times };
      default: return { endpoint, latency: $("fault-latency").value.trim() };
    }
  }
  function syncPreset() {
    const preset = $("fault-preset").value;
    document.querySelectorAll("#fault-form [data-for]").forEach((label) => {
      label.hidden = !label.dataset.for.split(" ").includes(preset);
    });
    $("fault-json").value = JSON.stringify(presetRule());
  }
  $("fault-form").querySelector(".fields").addEventListener("input", syncPreset);
  $("fault-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const button = event.submitter || $("fault-form").querySelector("button[type=submit]");
    act(button, async () => {
      let rule;
      try { rule = JSON.parse($("fault-json").value); } catch (_) { throw new Error("the rule is not valid JSON"); }
      const added = await api("POST", "/__admin/faults", rule);
      const ids = list(obj(added).faults).map((r) => str(obj(r).id));
      return `added ${ids.length ? ids.join(", ") : str(obj(added).id)}`;
    }, $("fault-message"));
  });

  // ---- Export ------------------------------------------------------------------------------
  function harEntry(e) {
    const total = num(e.elapsedMs) + num(e.delayMs);
    const queryString = Object.entries(obj(e.query)).map(([name, value]) => ({ name, value: str(value) }));
    const search = queryString.length ? `?${new URLSearchParams(queryString.map((q) => [q.name, q.value]))}` : "";
    const started = Number.isNaN(Date.parse(str(e.time))) ? new Date(0).toISOString() : str(e.time);
    const request = {
      method: str(e.method) || "GET", url: location.origin + (str(e.path) || "/") + search, httpVersion: "HTTP/1.1",
      cookies: [], headers: Object.entries(obj(e.headers)).map(([name, value]) => ({ name, value: str(value) })),
      queryString, headersSize: -1, bodySize: num(e.bodyBytes, -1),
    };
    if (e.body !== null && e.body !== undefined) {
      request.postData = {
        mimeType: str(e.contentType), text: typeof e.body === "string" ? e.body : JSON.stringify(e.body),
        comment: "as the bgmock journal keeps it: long strings (base64 images) shortened to their length",
      };
    }
    const summary = JSON.stringify({
      status: e.status ?? null, resCode: e.resCode ?? null, gateway: e.gateway ?? null, transport: e.transport ?? null,
      taskId: e.taskId ?? null, taskStatus: e.taskStatus ?? null, problems: list(e.problems),
    });
    const response = {
      status: num(e.status), statusText: "", httpVersion: "HTTP/1.1", cookies: [], headers: [],
      content: { size: summary.length, mimeType: "application/json", text: summary,
        comment: "a summary from the bgmock journal (the answer's body is not recorded)" },
      redirectURL: "", headersSize: -1, bodySize: -1,
    };
    if (e.transport) response.comment = `transport fault: ${str(e.transport)}`;
    return {
      startedDateTime: started, time: total, request, response, cache: {},
      timings: { blocked: -1, dns: -1, connect: -1, send: 0, wait: total, receive: 0, ssl: -1 },
      comment: `bgmock journal entry ${str(e.id)}`, _bgmock: e,
    };
  }
  function har(entries) {
    const ordered = [...entries].reverse(); // HAR lists entries oldest first, the journal newest first
    return {
      log: {
        version: "1.2", creator: { name: "bgmock dashboard", version: "1" }, pages: [],
        entries: ordered.map(harEntry), comment: `exported from ${location.origin} at ${new Date().toISOString()}`,
      },
    };
  }
  function download(name, data, type) {
    const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 1)], { type }));
    const a = el("a", { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }
  document.querySelectorAll("[data-export]").forEach((button) => button.addEventListener("click", () => {
    const entries = button.dataset.scope === "all" ? state.journal : filtered();
    const stamp = new Date().toISOString().replace(/[-:]/g, "").slice(0, 15);
    const suffix = button.dataset.scope === "all" ? "" : "-filtered";
    if (button.dataset.export === "har") download(`bgmock-journal${suffix}-${stamp}.har`, har(entries), "application/json");
    else download(`bgmock-journal${suffix}-${stamp}.json`, { requests: entries }, "application/json");
  }));

  // ---- views -------------------------------------------------------------------------------
  function show(view) {
    if (!document.querySelector(`section[data-view="${CSS.escape(view)}"]`)) view = "requests";
    state.view = view;
    document.querySelectorAll("nav button").forEach((b) => b.setAttribute("aria-selected", String(b.dataset.view === view)));
    document.querySelectorAll("section.view").forEach((s) => { s.hidden = s.dataset.view !== view; });
    if (location.hash !== `#${view}`) history.replaceState(null, "", `#${view}`);
    window.scrollTo({ top: 0 });  // a view opens at its top, whatever the last one scrolled to
  }
  $("tabs").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-view]");
    if (button) show(button.dataset.view);
  });

  window.addEventListener("hashchange", () => show(location.hash.slice(1)));
  show(location.hash.slice(1) || "requests");
  closeExchange();
  syncPreset();
  poll();
})();
