// The goushi web page: streams completions from /v1/completions, shows
// each token shaded by its probability, keeps a history in localStorage
// and renders the model card from /api/card. Plain browser JavaScript, no
// build step.
"use strict";

const TEXT = {
  zh: {
    subtitle: "从零训练的中文小模型",
    modelCard: "模型卡片", apiDocs: "API 文档", prompt: "提示词",
    promptPlaceholder: "写下开头，模型接着写……", examples: "示例：", style: "风格",
    styleNone: "（不指定）", temperature: "温度", topK: "Top-k", topP: "Top-p",
    repetitionPenalty: "重复惩罚", maxTokens: "最多生成 token 数", seed: "随机种子",
    seedPlaceholder: "每次随机",
    randomSeed: "换一个随机种子", generate: "生成", stop: "停止", viewText: "文本",
    viewTokens: "Token 视图", copy: "复制", copied: "已复制",
    tokenHint: "Token 视图：颜色越深，模型越没把握。把鼠标停在 token 上可以看到其他候选。",
    history: "历史记录", clearHistory: "清空", historyHint: "只保存在这个浏览器里。",
    close: "关闭", config: "结构", training: "训练", lossCurve: "损失曲线",
    credits: "数据来源与许可", retry: "重试", load: "查看", remove: "删除",
    off: "关", random: "随机",
    queued: (n) => `排队中：第 ${n} 位`,
    waiting: "已发送，等待模型……", generating: "生成中……",
    finished: (n, rate, reason) => `完成：${n} 个 token，${rate} token/秒（${reason}）`,
    stopped: (n) => `已停止：生成了 ${n} 个 token`,
    reasonStop: "遇到结束符", reasonLength: "达到长度上限",
    busy: (s) => `服务器繁忙，请 ${s} 秒后再试。`,
    errorPrefix: "出错了：", networkError: "连不上服务器：",
    streamCut: "连接在生成结束前断开了。",
    histStopped: "已停止", histError: "出错",
    emptyHistory: "还没有记录。",
    vocab: "词表大小", context: "上下文长度", layers: "层数", heads: "注意力头数",
    embd: "嵌入维度", params: "参数量", steps: "训练步数", tokensSeen: "训练 token 数",
    valLoss: "最佳验证损失（nat/token）", valBPB: "验证集 bits/byte",
    noLoss: "这个检查点没有记录损失。", unknown: "未知", trainLoss: "训练", val: "验证",
    prob: "概率", alternatives: "其他候选",
  },
  en: {
    subtitle: "a small Chinese GPT trained from scratch",
    modelCard: "Model card", apiDocs: "API docs", prompt: "Prompt",
    promptPlaceholder: "Write the beginning; the model continues…", examples: "Examples:",
    style: "Style", styleNone: "(none)", temperature: "Temperature", topK: "Top-k",
    topP: "Top-p", repetitionPenalty: "Repetition penalty", maxTokens: "Max new tokens",
    seed: "Seed", randomSeed: "Pick a random seed", generate: "Generate", stop: "Stop",
    seedPlaceholder: "random",
    viewText: "Text", viewTokens: "Tokens", copy: "Copy", copied: "Copied",
    tokenHint: "Token view: the darker a token, the less sure the model was. " +
      "Hover a token to see the other candidates.",
    history: "History", clearHistory: "Clear", historyHint: "Kept in this browser only.",
    close: "Close", config: "Architecture", training: "Training", lossCurve: "Loss curve",
    credits: "Data sources and licences", retry: "Retry", load: "Show", remove: "Delete",
    off: "off", random: "Random",
    queued: (n) => `Queued: position ${n}`,
    waiting: "Sent, waiting for the model…", generating: "Generating…",
    finished: (n, rate, reason) => `Done: ${n} tokens, ${rate} tokens/s (${reason})`,
    stopped: (n) => `Stopped after ${n} tokens`,
    reasonStop: "end of text", reasonLength: "length limit",
    busy: (s) => `The server is busy; try again in ${s} s.`,
    errorPrefix: "Error: ", networkError: "Cannot reach the server: ",
    streamCut: "The connection closed before the generation ended.",
    histStopped: "stopped", histError: "failed",
    emptyHistory: "Nothing yet.",
    vocab: "Vocab size", context: "Context length", layers: "Layers", heads: "Heads",
    embd: "Embedding dim", params: "Parameters", steps: "Training steps",
    tokensSeen: "Training tokens", valLoss: "Best validation loss (nats/token)",
    valBPB: "Validation bits per byte", noLoss: "This checkpoint recorded no losses.",
    unknown: "unknown", trainLoss: "train", val: "validation",
    prob: "probability", alternatives: "Other candidates",
  },
};

// EXAMPLES are prompts per style tag; "" lists those for a model without styles.
const EXAMPLES = {
  "": ["家人们谁懂啊，今天", "我宣布，从今天起", "老板说我上班摸鱼，"],
  "抽象": ["家人们谁懂啊，今天终于", "我宣布，从今天起我的", "今天的我也是努力"],
  "宋词": ["明月几时有", "大江东去", "寻寻觅觅"],
  "元曲": ["枯藤老树昏鸦"],
  "诗经": ["关关雎鸠"],
  "论语": ["子曰："],
};

const HISTORY_KEY = "goushi.history.v1";
const LANG_KEY = "goushi.lang";
const HISTORY_MAX = 50;
const SLIDERS = ["temperature", "top_k", "top_p", "repetition_penalty", "max_tokens"];

const $ = (id) => document.getElementById(id);
let lang = localStorage.getItem(LANG_KEY) === "en" ? "en" : "zh";
let card = null;
let running = null; // {controller, tokens, entry} of the generation in flight

function t(key, ...args) {
  const v = TEXT[lang][key];
  return typeof v === "function" ? v(...args) : v;
}

function applyLanguage() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  for (const el of document.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n);
  }
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  for (const el of document.querySelectorAll("[data-i18n-title]")) {
    el.title = t(el.dataset.i18nTitle);
  }
  $("lang").textContent = lang === "zh" ? "English" : "中文";
  SLIDERS.forEach(showSlider);
  renderHistory();
  if (card) renderCard();
}

function showSlider(id) {
  const v = Number($(id).value);
  let text = String(v);
  if ((id === "top_k" && v === 0) || (id === "top_p" && v === 1) ||
      (id === "repetition_penalty" && v === 1)) {
    text = t("off");
  }
  $(id + "-value").textContent = text;
}

function setStatus(text, kind) {
  const el = $("status");
  el.textContent = text || "";
  el.className = kind || "";
}

// readSettings returns the request fields the form sets. An empty seed
// box draws a new seed for each request and stays empty, so Generate gives
// a new text each time; the history keeps the seed drawn.
function readSettings() {
  const s = {
    prompt: $("prompt").value,
    temperature: Number($("temperature").value),
    top_k: Number($("top_k").value),
    top_p: Number($("top_p").value),
    repetition_penalty: Number($("repetition_penalty").value),
    max_tokens: Number($("max_tokens").value),
    seed: $("seed").value === "" ? newSeed() : Number($("seed").value),
  };
  if ($("style").value) s.style = $("style").value;
  return s;
}

function writeSettings(s) {
  $("prompt").value = s.prompt || "";
  for (const id of SLIDERS) {
    if (s[id] !== undefined) $(id).value = s[id];
    showSlider(id);
  }
  $("seed").value = s.seed !== undefined ? s.seed : "";
  $("style").value = s.style || "";
}

function newSeed() {
  return Math.floor(Math.random() * 2 ** 31);
}

function randomSeed() {
  $("seed").value = newSeed();
}

// generate streams one completion into the output views.
async function generate(settings) {
  if (running) return;
  settings = settings || readSettings();
  const controller = new AbortController();
  const entry = {time: Date.now(), settings, text: "", finish: ""};
  running = {controller, tokens: 0, entry, started: 0};
  $("generate").disabled = true;
  $("stop").disabled = false;
  clearOutput(settings.prompt);
  setStatus(t("waiting"), "busy");

  const body = Object.assign({stream: true, logprobs: 5}, settings);
  try {
    const resp = await fetch("/v1/completions", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    if (!resp.ok) {
      await showHTTPError(resp);
      entry.finish = "error";
      return;
    }
    await readStream(resp.body, entry);
    const secs = (performance.now() - running.started) / 1000;
    const rate = secs > 0 ? (running.tokens / secs).toFixed(1) : "–";
    const reason = entry.finish === "stop" ? t("reasonStop") : t("reasonLength");
    setStatus(t("finished", running.tokens, rate, reason), "done");
  } catch (err) {
    if (err.name === "AbortError") {
      entry.finish = "stopped";
      setStatus(t("stopped", running.tokens), "done");
    } else {
      entry.finish = "error";
      const prefix = err.name === "ServerError" ? t("errorPrefix") : t("networkError");
      setStatus(prefix + err.message, "error");
    }
  } finally {
    if (entry.text || entry.finish !== "error") saveHistory(entry);
    running = null;
    $("generate").disabled = false;
    $("stop").disabled = true;
  }
}

async function showHTTPError(resp) {
  let message = `HTTP ${resp.status}`;
  try {
    const body = await resp.json();
    if (body.error && body.error.message) message = body.error.message;
  } catch (_) { /* not JSON: keep the status */ }
  if (resp.status === 429 || resp.status === 503) {
    setStatus(t("busy", resp.headers.get("Retry-After") || "?") + " " + message, "error");
  } else {
    setStatus(t("errorPrefix") + message, "error");
  }
}

// readStream parses server-sent events: comments carry the queue
// position, data lines carry completion chunks, and [DONE] ends.
async function readStream(stream, entry) {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const {value, done} = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, {stream: true});
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      for (const line of event.split("\n")) {
        if (line.startsWith(": queue-position ")) {
          const n = Number(line.slice(17));
          setStatus(n > 0 ? t("queued", n) : t("waiting"), "busy");
        } else if (line.startsWith("data: ")) {
          const data = line.slice(6);
          if (data === "[DONE]") return;
          onChunk(JSON.parse(data), entry);
        }
      }
    }
  }
  throw serverError(t("streamCut"));
}

// serverError returns an error that the server reported or caused, as
// opposed to a network failure.
function serverError(message) {
  const err = new Error(message);
  err.name = "ServerError";
  return err;
}

function onChunk(chunk, entry) {
  if (chunk.error) throw serverError(chunk.error.message);
  for (const choice of chunk.choices || []) {
    if (!running.started) {
      running.started = performance.now();
      setStatus(t("generating"), "busy");
    }
    const lp = choice.logprobs;
    if (lp && lp.tokens) {
      for (let i = 0; i < lp.tokens.length; i++) {
        running.tokens++;
        addToken(lp.tokens[i], lp.token_logprobs[i], lp.top_logprobs[i]);
      }
    } else {
      addToken(choice.text, null, null);
    }
    entry.text += choice.text;
    document.querySelector("#output .generated").textContent = entry.text;
    if (choice.finish_reason) entry.finish = choice.finish_reason;
  }
}

// pending joins tokens that only together make whole characters.
let pending = null;

function addToken(text, logprob, top) {
  const prob = logprob === null ? null : Math.exp(logprob);
  if (!pending) pending = {text: "", prob: 1, top: top, known: prob !== null};
  pending.text += text;
  if (prob !== null) pending.prob *= prob;
  if (text === "" ) return; // a character is still incomplete
  const span = document.createElement("span");
  span.className = "tok";
  span.textContent = pending.text;
  if (pending.known) {
    const p = pending.prob;
    span.dataset.prob = p.toFixed(4);
    // Shade by surprisal, -log2 p: each halving of p adds the same step,
    // so that 50% and 5% look as different as 5% and 0.5%.
    const bits = -Math.log2(Math.max(p, 1e-6));
    const alpha = Math.min(0.85, 0.06 + 0.11 * bits);
    span.style.backgroundColor = `rgba(234, 88, 12, ${alpha.toFixed(3)})`;
    span.top = pending.top;
    span.addEventListener("mouseenter", showTooltip);
    span.addEventListener("mouseleave", hideTooltip);
  }
  $("tokens").appendChild(span);
  pending = null;
}

function visible(text) {
  return text.replace(/\n/g, "⏎").replace(/ /g, "␣") || "∅";
}

function showTooltip(ev) {
  const span = ev.currentTarget;
  const tip = $("tooltip");
  tip.replaceChildren();
  const head = document.createElement("div");
  head.className = "tip-head";
  head.textContent = `${visible(span.textContent)} · ${t("prob")} ` +
    `${(Number(span.dataset.prob) * 100).toFixed(1)}%`;
  tip.appendChild(head);

  const entries = Object.entries(span.top || {}).sort((a, b) => b[1] - a[1]);
  if (entries.length) {
    const sub = document.createElement("div");
    sub.className = "tip-sub";
    sub.textContent = t("alternatives");
    tip.appendChild(sub);
  }
  for (const [tok, lp] of entries) {
    const p = Math.exp(lp);
    const row = document.createElement("div");
    row.className = "alt";
    const bar = document.createElement("span");
    bar.className = "bar";
    bar.style.width = `${Math.max(2, p * 100).toFixed(0)}px`;
    const label = document.createElement("span");
    label.textContent = `${visible(tok)}  ${(p * 100).toFixed(1)}%`;
    row.append(bar, label);
    tip.appendChild(row);
  }

  const r = span.getBoundingClientRect();
  tip.style.left = `${r.left + window.scrollX}px`;
  tip.style.top = `${r.bottom + window.scrollY + 6}px`;
  tip.hidden = false;
}

function hideTooltip() {
  $("tooltip").hidden = true;
}

function clearOutput(prompt) {
  document.querySelector("#output .prompt-echo").textContent = prompt || "";
  document.querySelector("#output .generated").textContent = "";
  $("tokens").replaceChildren();
  pending = null;
  if (prompt) {
    const span = document.createElement("span");
    span.className = "tok prompt-tok";
    span.textContent = prompt;
    $("tokens").appendChild(span);
  }
}

function stop() {
  if (running) running.controller.abort();
}

async function copyOutput() {
  const text = $("output").textContent;
  try {
    await navigator.clipboard.writeText(text);
  } catch (_) {
    const area = document.createElement("textarea");
    area.value = text;
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  $("copy").textContent = t("copied");
  setTimeout(() => { $("copy").textContent = t("copy"); }, 1200);
}

// History in localStorage, newest first.
function loadHistory() {
  try {
    const list = JSON.parse(localStorage.getItem(HISTORY_KEY) || "[]");
    return Array.isArray(list) ? list : [];
  } catch (_) {
    return [];
  }
}

function saveHistory(entry) {
  const list = loadHistory();
  list.unshift(entry);
  try {
    localStorage.setItem(HISTORY_KEY, JSON.stringify(list.slice(0, HISTORY_MAX)));
  } catch (_) { /* storage full or disabled: keep the page working */ }
  renderHistory();
}

function renderHistory() {
  const list = loadHistory();
  const ol = $("history");
  ol.replaceChildren();
  if (!list.length) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = t("emptyHistory");
    ol.appendChild(li);
    return;
  }
  list.forEach((entry, i) => {
    const li = document.createElement("li");
    const meta = document.createElement("div");
    meta.className = "meta";
    const s = entry.settings || {};
    meta.textContent = `${new Date(entry.time).toLocaleString(lang === "zh" ? "zh-CN" : "en")}` +
      ` · T=${s.temperature} · seed ${s.seed}${s.style ? " · " + s.style : ""}` +
      (entry.finish === "stopped" ? " · " + t("histStopped") : "") +
      (entry.finish === "error" ? " · " + t("histError") : "");
    const text = document.createElement("div");
    text.className = "snippet";
    const strong = document.createElement("b");
    strong.textContent = s.prompt || "";
    text.append(strong, document.createTextNode(entry.text || ""));
    const buttons = document.createElement("div");
    buttons.className = "row";
    const mk = (key, fn) => {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = t(key);
      b.className = "history-" + key;
      b.addEventListener("click", fn);
      return b;
    };
    buttons.append(
      mk("retry", () => { writeSettings(s); generate(Object.assign({}, s)); }),
      mk("load", () => {
        writeSettings(s);
        clearOutput(s.prompt);
        document.querySelector("#output .generated").textContent = entry.text || "";
        showView("text");
      }),
      mk("remove", () => {
        const all = loadHistory();
        all.splice(i, 1);
        localStorage.setItem(HISTORY_KEY, JSON.stringify(all));
        renderHistory();
      }));
    li.append(meta, text, buttons);
    ol.appendChild(li);
  });
}

function showView(name) {
  for (const tab of document.querySelectorAll(".tab")) {
    tab.classList.toggle("active", tab.dataset.view === name);
  }
  $("output").hidden = name !== "text";
  $("tokens").hidden = name !== "tokens";
  $("token-hint").hidden = name !== "tokens";
}

// The model card.
async function loadCard() {
  try {
    const resp = await fetch("/api/card");
    card = await resp.json();
  } catch (err) {
    setStatus(t("networkError") + err.message, "error");
    return;
  }
  const select = $("style");
  for (const style of card.styles) {
    const opt = document.createElement("option");
    opt.value = style;
    opt.textContent = style;
    select.appendChild(opt);
  }
  $("max_tokens").max = card.limits.max_new_tokens;
  $("top_k").max = Math.min(card.config.vocab_size, 200);
  renderExamples();
  renderCard();
}

function renderExamples() {
  const box = $("examples");
  box.replaceChildren();
  // A model with style tags gets the examples of its styles only.
  const styles = card.styles.length ? card.styles : [""];
  const seen = new Set();
  for (const style of styles) {
    for (const prompt of EXAMPLES[style] || []) {
      if (seen.has(prompt)) continue;
      seen.add(prompt);
      const b = document.createElement("button");
      b.type = "button";
      b.className = "example";
      b.textContent = style ? `${prompt}（${style}）` : prompt;
      b.addEventListener("click", () => {
        $("prompt").value = prompt;
        $("style").value = style;
        $("prompt").focus();
      });
      box.appendChild(b);
    }
  }
}

function fmt(v, digits) {
  return v ? Number(v).toFixed(digits) : t("unknown");
}

function fillTable(table, rows) {
  table.replaceChildren();
  for (const [key, value] of rows) {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.textContent = t(key);
    const td = document.createElement("td");
    td.textContent = value;
    tr.append(th, td);
    table.appendChild(tr);
  }
}

function renderCard() {
  const c = card.config;
  fillTable($("card-config"), [
    ["vocab", c.vocab_size], ["context", c.context_len], ["layers", c.layers],
    ["heads", c.heads], ["embd", c.embd], ["params", c.params.toLocaleString()],
  ]);
  fillTable($("card-training"), [
    ["steps", card.step.toLocaleString()],
    ["tokensSeen", card.tokens_seen ? card.tokens_seen.toLocaleString() : t("unknown")],
    ["valLoss", fmt(card.best_val_loss, 3)], ["valBPB", fmt(card.val_bpb, 3)],
  ]);
  const loss = $("card-loss");
  loss.replaceChildren();
  if (card.has_loss_svg) {
    const img = document.createElement("img");
    img.src = "/api/loss.svg";
    img.alt = t("lossCurve");
    loss.appendChild(img);
  } else if (card.loss_history.length) {
    loss.appendChild(lossChart(card.loss_history));
  } else {
    loss.textContent = t("noLoss");
  }
  $("card-credits").replaceChildren(renderMarkdown(card.credits || ""));
}

// lossChart draws the training and validation loss against the step.
function lossChart(history) {
  const NS = "http://www.w3.org/2000/svg";
  const W = 520, H = 220, P = 36;
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("class", "loss-chart");
  const values = history.flatMap((p) => [p.train, p.val]).filter((v) => v !== undefined);
  const maxStep = Math.max(1, ...history.map((p) => p.step));
  const lo = Math.min(...values), hi = Math.max(...values);
  const x = (s) => P + (W - 2 * P) * s / maxStep;
  const y = (v) => H - P - (H - 2 * P) * (v - lo) / Math.max(1e-9, hi - lo);
  const line = (key, cls) => {
    const pts = history.filter((p) => p[key] !== undefined)
      .map((p) => `${x(p.step).toFixed(1)},${y(p[key]).toFixed(1)}`);
    if (!pts.length) return;
    const pl = document.createElementNS(NS, "polyline");
    pl.setAttribute("points", pts.join(" "));
    pl.setAttribute("class", cls);
    svg.appendChild(pl);
  };
  const label = (text, tx, ty, cls) => {
    const el = document.createElementNS(NS, "text");
    el.setAttribute("x", tx);
    el.setAttribute("y", ty);
    el.setAttribute("class", cls || "");
    el.textContent = text;
    svg.appendChild(el);
  };
  const axis = document.createElementNS(NS, "polyline");
  axis.setAttribute("points", `${P},${P / 2} ${P},${H - P} ${W - P / 2},${H - P}`);
  axis.setAttribute("class", "axis");
  svg.appendChild(axis);
  line("train", "train");
  line("val", "val");
  label(hi.toFixed(2), 2, P);
  label(lo.toFixed(2), 2, H - P);
  label(String(maxStep), W - P - 10, H - P + 16);
  label(t("trainLoss"), W - 120, 16, "train-label");
  label(t("val"), W - 60, 16, "val-label");
  return svg;
}

// renderMarkdown turns the credits' Markdown subset (headings, lists,
// quotes, bold, inline code, links) into DOM nodes without using innerHTML.
function renderMarkdown(md) {
  const root = document.createElement("div");
  let list = null;
  for (const raw of md.split("\n")) {
    const line = raw.trimEnd();
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    const item = /^\s*[-*]\s+(.*)$/.exec(line);
    const quote = /^\s*>\s?(.*)$/.exec(line);
    if (quote) {
      // A quote right after a list item belongs to that item.
      const q = document.createElement("blockquote");
      inline(q, quote[1]);
      (list && list.lastChild ? list.lastChild : root).appendChild(q);
      continue;
    }
    if (item) {
      if (!list) {
        list = document.createElement("ul");
        root.appendChild(list);
      }
      const li = document.createElement("li");
      inline(li, item[1]);
      list.appendChild(li);
      continue;
    }
    list = null;
    if (heading) {
      const h = document.createElement("h" + Math.min(6, heading[1].length + 3));
      inline(h, heading[2]);
      root.appendChild(h);
    } else if (line.trim()) {
      const p = document.createElement("p");
      inline(p, line);
      root.appendChild(p);
    }
  }
  return root;
}

function inline(parent, text) {
  const re = /\*\*([^*]+)\*\*|`([^`]+)`|\[([^\]]+)\]\(([^)\s]+)\)|<(https?:\/\/[^>\s]+)>/g;
  let last = 0, m;
  while ((m = re.exec(text))) {
    parent.appendChild(document.createTextNode(text.slice(last, m.index)));
    if (m[1]) {
      const b = document.createElement("strong");
      b.textContent = m[1];
      parent.appendChild(b);
    } else if (m[2]) {
      const c = document.createElement("code");
      c.textContent = m[2];
      parent.appendChild(c);
    } else {
      const href = m[4] || m[5];
      const label = m[3] || m[5];
      if (/^https?:\/\//.test(href)) {
        const a = document.createElement("a");
        a.href = href;
        a.textContent = label;
        a.target = "_blank";
        a.rel = "noopener noreferrer";
        parent.appendChild(a);
      } else {
        parent.appendChild(document.createTextNode(m[0]));
      }
    }
    last = re.lastIndex;
  }
  parent.appendChild(document.createTextNode(text.slice(last)));
}

function init() {
  for (const id of SLIDERS) {
    $(id).addEventListener("input", () => showSlider(id));
  }
  $("dice").addEventListener("click", randomSeed);
  $("generate").addEventListener("click", () => generate());
  $("stop").addEventListener("click", stop);
  $("copy").addEventListener("click", copyOutput);
  $("prompt").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) generate();
  });
  $("lang").addEventListener("click", () => {
    lang = lang === "zh" ? "en" : "zh";
    localStorage.setItem(LANG_KEY, lang);
    applyLanguage();
  });
  $("card-button").addEventListener("click", () => $("card").showModal());
  $("clear-history").addEventListener("click", () => {
    localStorage.removeItem(HISTORY_KEY);
    renderHistory();
  });
  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", () => showView(tab.dataset.view));
  }
  applyLanguage();
  loadCard();
}

init();
