// infantpose label: the labelling page. One canvas (frame + skeleton), a list of keypoints,
// keys for everything. Every edit is sent to the server at once, one point at a time.
"use strict";

const $ = (id) => document.getElementById(id);
const canvas = $("canvas");
const ctx = canvas.getContext("2d");
// Side colours come from the server (infantpose.draw.Palette: left orange, right blue, midline
// green), so the page draws sides as `infantpose predict --draw` does; set in start().
let COLORS = {};
const HIT_PX = 12;          // how close (screen pixels) a press must be to grab a point
const IDLE_MS = 60000;      // no input for this long: time stops counting
const POLL_MS = 2000;       // how often a tab checks for other tabs' edits

const S = {
  project: null, frames: [], idx: -1, frame: null, img: null, sel: 0,
  view: { s: 1, x: 0, y: 0 }, drag: null, pan: null, reveal: false,
  pending: Promise.resolve(), saving: 0, token: 0, images: new Map(),
  client: Math.random().toString(36).slice(2, 10),
  activeMs: 0, lastInput: Date.now(), lastSwitchMs: null,
};
window.labelApp = S;

// --- server --------------------------------------------------------------------------------
async function api(method, url, body) {
  const opts = { method, headers: {} };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(url, opts);
  if (!r.ok) {
    let msg = `${r.status}`;
    try { msg = (await r.json()).detail || msg; } catch (e) { /* not JSON */ }
    throw new Error(msg);
  }
  return r.json();
}

function displayOf(id) {
  const e = S.frames.find((x) => x.id === id);
  return e ? e.display : "";
}

function imageUrl(id, raw) {
  const version = raw ? "&raw=1" : `&d=${encodeURIComponent(displayOf(id))}`;
  return `/api/frames/${id}/image?p=${S.project.id}${version}`;
}

function loadImage(id, raw = false) {
  const key = `${id}:${raw ? "raw" : displayOf(id)}`;
  if (!S.images.has(key)) {
    const p = new Promise((resolve, reject) => {
      const im = new Image();
      im.onload = () => resolve(im);
      im.onerror = () => { S.images.delete(key); reject(new Error("image did not load")); };
      im.src = imageUrl(id, raw);
    });
    S.images.set(key, p);
    if (S.images.size > 24) S.images.delete(S.images.keys().next().value);
  }
  return S.images.get(key);
}

// --- status line and messages ----------------------------------------------------------------
let toastTimer = null;
function toast(msg) {
  const t = $("toast");
  t.textContent = msg;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 4000);
}

function setSaving(delta, error) {
  S.saving += delta;
  const el = $("save-state");
  if (error) {
    el.textContent = "not saved: " + error;
    el.className = "error";
  } else if (S.saving > 0) {
    el.textContent = "saving…";
    el.className = "saving";
  } else {
    el.textContent = "saved";
    el.className = "muted";
  }
}

// --- geometry --------------------------------------------------------------------------------
function fitView() {
  const f = S.frame;
  const cw = canvas.clientWidth, ch = canvas.clientHeight;
  const s = Math.min(cw / f.width, ch / f.height) * 0.96;
  S.view = { s, x: (cw - f.width * s) / 2, y: (ch - f.height * s) / 2 };
}

function toImage(cx, cy) {
  return { x: (cx - S.view.x) / S.view.s, y: (cy - S.view.y) / S.view.s };
}

function toCanvas(x, y) {
  return { x: x * S.view.s + S.view.x, y: y * S.view.s + S.view.y };
}

function eventXY(ev) {
  const r = canvas.getBoundingClientRect();
  return { x: ev.clientX - r.left, y: ev.clientY - r.top };
}

// Page coordinates of keypoint k (for tests and tools driving the page).
S.screenOf = (k) => {
  const p = S.frame.points[k];
  const c = toCanvas(p.x, p.y);
  const r = canvas.getBoundingClientRect();
  return { x: r.left + c.x, y: r.top + c.y };
};
S.screenOfImage = (x, y) => {
  const c = toCanvas(x, y);
  const r = canvas.getBoundingClientRect();
  return { x: r.left + c.x, y: r.top + c.y };
};

function shown(p) { return p.v > 0 && p.x !== null && p.y !== null; }

function isLow(p) {
  return p.status === "proposed" && p.score !== null && p.pv > 0 && p.score < S.project.low_score;
}

function hitTest(cx, cy) {
  let best = -1, bestD = HIT_PX;
  S.frame.points.forEach((p, k) => {
    if (!shown(p)) return;
    const c = toCanvas(p.x, p.y);
    const d = Math.hypot(c.x - cx, c.y - cy);
    if (d < bestD || (d === bestD && k === S.sel)) { best = k; bestD = d; }
  });
  return best;
}

// --- drawing ---------------------------------------------------------------------------------
function resizeCanvas() {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.round(canvas.clientWidth * dpr), h = Math.round(canvas.clientHeight * dpr);
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
}

function render() {
  resizeCanvas();
  const dpr = window.devicePixelRatio || 1;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.fillStyle = "#111";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  if (!S.frame) return;
  const { s, x, y } = S.view;
  ctx.setTransform(dpr * s, 0, 0, dpr * s, dpr * x, dpr * y);
  ctx.imageSmoothingEnabled = s < 2;
  if (S.img) ctx.drawImage(S.img, 0, 0, S.frame.width, S.frame.height);
  const pts = S.frame.points, sch = S.project.schema;
  ctx.lineWidth = 2.5 / s;
  for (const [a, b] of sch.edges) {
    const pa = pts[a], pb = pts[b];
    if (!shown(pa) || !shown(pb)) continue;
    ctx.setLineDash(pa.v === 1 || pb.v === 1 ? [6 / s, 4 / s] : []);
    const side = sch.sides[a] === sch.sides[b] ? sch.sides[a] : "centre";
    ctx.strokeStyle = COLORS[side];
    ctx.globalAlpha = 0.85;
    ctx.beginPath();
    ctx.moveTo(pa.x, pa.y);
    ctx.lineTo(pb.x, pb.y);
    ctx.stroke();
  }
  ctx.globalAlpha = 1;
  ctx.setLineDash([]);
  pts.forEach((p, k) => {
    if (!shown(p)) return;
    const r = (k === S.sel ? 7 : 5) / s;
    const color = COLORS[sch.sides[k]];
    if (isLow(p)) {
      ctx.strokeStyle = "#ff3b3b";
      ctx.lineWidth = 3 / s;
      ctx.beginPath();
      ctx.arc(p.x, p.y, r + 4 / s, 0, 2 * Math.PI);
      ctx.stroke();
    }
    ctx.beginPath();
    ctx.arc(p.x, p.y, r, 0, 2 * Math.PI);
    if (p.v === 1) {
      ctx.setLineDash([3 / s, 2 / s]);
      ctx.strokeStyle = color;
      ctx.lineWidth = 2.5 / s;
      ctx.stroke();
      ctx.setLineDash([]);
    } else {
      ctx.fillStyle = color;
      ctx.fill();
      ctx.strokeStyle = p.status === "proposed" ? "#000" : "#fff";
      ctx.lineWidth = 1.2 / s;
      ctx.stroke();
    }
    if (k === S.sel) {
      ctx.strokeStyle = "#fff";
      ctx.lineWidth = 2 / s;
      ctx.beginPath();
      ctx.arc(p.x, p.y, r + 2.5 / s, 0, 2 * Math.PI);
      ctx.stroke();
    }
  });
  const sp = pts[S.sel];
  if (sp && shown(sp)) {  // the selected point's name beside it, in screen pixels
    const c = toCanvas(sp.x, sp.y);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.font = "13px system-ui, sans-serif";
    const label = sch.keypoints[S.sel].replace(/_/g, " ");
    const w = ctx.measureText(label).width;
    ctx.fillStyle = "rgba(0,0,0,0.7)";
    ctx.fillRect(c.x + 10, c.y - 22, w + 8, 18);
    ctx.fillStyle = "#fff";
    ctx.fillText(label, c.x + 14, c.y - 8);
  }
}

function renderSide() {
  const f = S.frame, sch = S.project.schema;
  $("frame-pos").textContent = `frame ${S.idx + 1} / ${S.frames.length}`;
  $("frame-name").textContent = f.name;
  $("reviewed").hidden = !f.reviewed;
  $("reason").textContent = `why this frame: ${f.reason}`;
  const done = S.frames.filter((x) => x.reviewed).length;
  $("progress").textContent = `${done} reviewed`;
  const list = $("points");
  if (list.children.length !== f.points.length) {
    list.textContent = "";
    f.points.forEach((p, k) => {
      const li = document.createElement("li");
      li.dataset.k = k;
      li.innerHTML = `<i class="dot ${sch.sides[k]}"></i><span class="name"></span>` +
        `<span class="state"></span><span class="score"></span><span class="status"></span>`;
      li.querySelector(".name").textContent = sch.keypoints[k].replace(/_/g, " ");
      li.addEventListener("click", () => { S.sel = k; render(); renderSide(); });
      list.appendChild(li);
    });
  }
  f.points.forEach((p, k) => {
    const li = list.children[k];
    li.className = (k === S.sel ? "sel " : "") + (p.v === 0 ? "absent " : "") + (isLow(p) ? "low" : "");
    li.dataset.v = p.v;
    li.dataset.status = p.status;
    li.querySelector(".state").textContent = ["absent", "occluded", "visible"][p.v];
    li.querySelector(".score").textContent = p.score === null ? "" : p.score.toFixed(2);
    const st = li.querySelector(".status");
    st.textContent = p.status;
    st.className = "status " + p.status;
  });
  const sel = list.children[S.sel];
  if (sel && sel.scrollIntoView) sel.scrollIntoView({ block: "nearest" });
  const banner = $("banner");
  if (S.project.blur && !f.face_found) {
    banner.hidden = false;
    banner.textContent = S.reveal
      ? "Shown unblurred for you (nothing is saved). Press B to blur it again."
      : "No face found in this frame, so all of it is blurred. Press B to show it unblurred (for you only).";
  } else if (S.reveal) {
    banner.hidden = false;
    banner.textContent = "Shown unblurred for you (nothing is saved). Press B to blur it again.";
  } else {
    banner.hidden = true;
  }
}

function draw() { render(); renderSide(); }

// --- frames ----------------------------------------------------------------------------------
S.goTo = (i) => goTo(i);  // for tools driving the page (benchmarks)

function firstSelection(f) {
  let best = 0, bestScore = Infinity;
  f.points.forEach((p, k) => {  // start on the least certain proposed point
    if (p.pv > 0 && p.score !== null && p.score < bestScore) { best = k; bestScore = p.score; }
  });
  return best;
}

async function goTo(i) {
  if (!S.frames.length) return;
  i = Math.max(0, Math.min(S.frames.length - 1, i));
  if (i === S.idx && S.frame) return;
  const t0 = performance.now();
  const token = ++S.token;
  reportTime();
  document.body.dataset.ready = "0";
  const id = S.frames[i].id;
  let frame, img;
  try {
    [frame, img] = await Promise.all([api("GET", `/api/frames/${id}`), loadImage(id)]);
  } catch (e) {
    toast(`Could not load frame ${i + 1}: ${e.message}`);
    return;
  }
  if (token !== S.token) return;  // another frame was asked for meanwhile
  S.idx = i;
  S.frame = frame;
  S.img = img;
  S.reveal = false;
  S.sel = firstSelection(frame);
  fitView();
  draw();
  S.lastSwitchMs = performance.now() - t0;
  document.body.dataset.frame = String(id);
  document.body.dataset.ready = "1";
  api("PUT", "/api/cursor", { frame_id: id }).catch(() => {});
  for (const j of [i + 1, i - 1, i + 2]) {
    if (j >= 0 && j < S.frames.length) loadImage(S.frames[j].id).catch(() => {});
  }
}

async function reloadFrame() {
  if (!S.frame) return;
  const id = S.frame.id;
  const f = await api("GET", `/api/frames/${id}`);
  if (S.frame && S.frame.id === id && !S.drag) {
    const newImage = f.display !== S.frame.display;
    S.frame = f;
    syncListEntry(f);
    if (newImage && !S.reveal) S.img = await loadImage(id).catch(() => S.img);
    draw();
  }
}

function syncListEntry(f) {
  const e = S.frames.find((x) => x.id === f.id);
  if (e) {
    e.reviewed = f.reviewed;
    e.display = f.display;
  }
}

// --- edits -----------------------------------------------------------------------------------
function queue(job) {
  S.pending = S.pending.then(job, job);
  return S.pending;
}

function save(k, change) {
  const fid = S.frame.id;
  const p = S.frame.points[k];
  if (change.x !== undefined) {
    p.x = change.x;
    p.y = change.y;
    if (p.v === 0) p.v = 2;
  }
  if (change.v !== undefined) p.v = change.v;
  p.status = "corrected";
  draw();
  setSaving(+1);
  return queue(async () => {
    try {
      const cur = S.frame && S.frame.id === fid ? S.frame.points[k] : null;
      const body = { ...change, client: S.client };
      if (cur) body.base_version = cur.version;
      const known = S.frame && S.frame.id === fid ? S.frame.rev : null;
      const r = await api("PUT", `/api/frames/${fid}/points/${k}`, body);
      if (S.frame && S.frame.id === fid) {
        Object.assign(S.frame.points[k], r.point);
        S.frame.can_undo = true;
        S.frame.can_redo = false;
        // A revision other than ours + 1: another tab changed this frame too; fetch it.
        if (known !== null && r.rev !== known + 1) await reloadFrame().catch(() => {});
        else S.frame.rev = r.rev;
      }
      if (r.conflict) toast("This point was also changed in another tab; your change is the one kept (Ctrl+Z brings the other back).");
      setSaving(-1);
    } catch (e) {
      setSaving(-1, e.message);
      toast(`Not saved: ${e.message}`);
      await reloadFrame().catch(() => {});
    }
    if (S.frame && S.frame.id === fid) draw();
  });
}

function historyStep(which) {
  const fid = S.frame.id;
  setSaving(+1);
  return queue(async () => {
    try {
      const f = await api("POST", `/api/frames/${fid}/${which}`);
      if (S.frame && S.frame.id === fid) {
        S.frame = f;
        draw();
      }
      setSaving(-1);
    } catch (e) {
      setSaving(-1, e.message);
    }
  });
}

function cycleVisibility() {
  const p = S.frame.points[S.sel];
  if (p.v === 0 && (p.x === null || p.y === null)) {
    toast("This point has no position yet: click where it is to place it.");
    return;
  }
  save(S.sel, { v: p.v === 2 ? 1 : p.v === 1 ? 0 : 2 });
}

function accept() {
  const fid = S.frame.id, idx = S.idx;
  const seconds = takeSeconds();
  setSaving(+1);
  return queue(async () => {
    try {
      const f = await api("POST", `/api/frames/${fid}/accept`, { seconds });
      syncListEntry(f);
      if (S.frame && S.frame.id === fid) {
        const newImage = f.display !== S.frame.display;
        S.frame = f;
        if (newImage && !S.reveal) S.img = await loadImage(fid).catch(() => S.img);
        draw();
      }
      setSaving(-1);
      if (S.idx === idx && idx < S.frames.length - 1) await goTo(idx + 1);
      else if (idx === S.frames.length - 1) toast("Last frame accepted. Press N for any frame not yet reviewed.");
    } catch (e) {
      setSaving(-1, e.message);
    }
  });
}

// --- time on task ----------------------------------------------------------------------------
function takeSeconds() {
  const s = Math.min(3600, S.activeMs / 1000);
  S.activeMs = 0;
  return s;
}

function reportTime() {
  if (!S.frame) return;
  const seconds = takeSeconds();
  if (seconds > 0) api("POST", `/api/frames/${S.frame.id}/time`, { seconds }).catch(() => {});
}

setInterval(() => {
  if (document.visibilityState === "visible" && Date.now() - S.lastInput < IDLE_MS) S.activeMs += 1000;
}, 1000);

window.addEventListener("pagehide", () => {
  if (!S.frame) return;
  const seconds = takeSeconds();
  if (seconds > 0 && navigator.sendBeacon) {
    navigator.sendBeacon(`/api/frames/${S.frame.id}/time`,
      new Blob([JSON.stringify({ seconds })], { type: "application/json" }));
  }
});

// --- other tabs ------------------------------------------------------------------------------
setInterval(async () => {
  if (!S.frame || S.saving > 0 || S.drag || document.visibilityState !== "visible") return;
  try {
    const { rev } = await api("GET", `/api/frames/${S.frame.id}/rev`);
    if (S.frame && rev !== S.frame.rev && S.saving === 0 && !S.drag) await reloadFrame();
  } catch (e) { /* server gone: the next edit will say so */ }
}, POLL_MS);

window.addEventListener("focus", () => { if (S.saving === 0) reloadFrame().catch(() => {}); });
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && S.saving === 0) reloadFrame().catch(() => {});
});

// --- mouse -----------------------------------------------------------------------------------
canvas.addEventListener("mousedown", (ev) => {
  if (!S.frame || ev.button !== 0) return;
  S.lastInput = Date.now();
  canvas.focus();
  const c = eventXY(ev);
  const k = hitTest(c.x, c.y);
  if (k >= 0) {
    S.sel = k;
    S.drag = { k, moved: false, start: c };
    draw();
  } else {
    S.pan = { start: c, vx: S.view.x, vy: S.view.y, moved: false };
  }
  ev.preventDefault();
});

window.addEventListener("mousemove", (ev) => {
  if (!S.drag && !S.pan) return;
  S.lastInput = Date.now();
  const c = eventXY(ev);
  if (S.drag) {
    if (!S.drag.moved && Math.hypot(c.x - S.drag.start.x, c.y - S.drag.start.y) < 2) return;
    const q = toImage(c.x, c.y);
    const p = S.frame.points[S.drag.k];
    p.x = Math.max(0, Math.min(S.frame.width, q.x));
    p.y = Math.max(0, Math.min(S.frame.height, q.y));
    S.drag.moved = true;
    render();
  } else {
    const dx = c.x - S.pan.start.x, dy = c.y - S.pan.start.y;
    if (!S.pan.moved && Math.hypot(dx, dy) < 4) return;
    S.pan.moved = true;
    canvas.classList.add("panning");
    S.view.x = S.pan.vx + dx;
    S.view.y = S.pan.vy + dy;
    render();
  }
});

window.addEventListener("mouseup", (ev) => {
  if (S.drag) {
    const d = S.drag;
    S.drag = null;
    if (d.moved) {
      const p = S.frame.points[d.k];
      save(d.k, { x: p.x, y: p.y });
    }
  } else if (S.pan) {
    const moved = S.pan.moved;
    S.pan = null;
    canvas.classList.remove("panning");
    if (!moved && ev.target === canvas) {  // a click: place the selected point here
      const c = eventXY(ev);
      const q = toImage(c.x, c.y);
      if (q.x >= 0 && q.y >= 0 && q.x <= S.frame.width && q.y <= S.frame.height) {
        save(S.sel, { x: q.x, y: q.y });
      }
    }
  }
});

canvas.addEventListener("wheel", (ev) => {
  if (!S.frame) return;
  ev.preventDefault();
  zoomAt(eventXY(ev), Math.pow(1.0015, -ev.deltaY));
}, { passive: false });

function zoomAt(c, factor) {
  const s = Math.max(0.05, Math.min(40, S.view.s * factor));
  const q = toImage(c.x, c.y);
  S.view = { s, x: c.x - q.x * s, y: c.y - q.y * s };
  render();
}

// --- keys ------------------------------------------------------------------------------------
function toggleHelp(show) {
  $("help").hidden = show === undefined ? !$("help").hidden : !show;
}

document.addEventListener("keydown", (ev) => {
  S.lastInput = Date.now();
  if (!S.frame) return;
  const key = ev.key;
  const ctrl = ev.ctrlKey || ev.metaKey;
  if (!$("help").hidden) {
    if (key === "Escape" || key === "?" || key === "h" || key === "H") toggleHelp(false);
    ev.preventDefault();
    return;
  }
  const K = S.frame.points.length;
  if (key === "Tab") {
    S.sel = (S.sel + (ev.shiftKey ? K - 1 : 1)) % K;
    draw();
  } else if (ctrl && (key === "z" || key === "Z")) {
    historyStep(ev.shiftKey ? "redo" : "undo");
  } else if (ctrl && (key === "y" || key === "Y")) {
    historyStep("redo");
  } else if (ctrl) {
    return;  // leave the browser's own shortcuts alone
  } else if (key === "v" || key === "V") {
    cycleVisibility();
  } else if (key === "ArrowRight") {
    goTo(S.idx + 1);
  } else if (key === "ArrowLeft") {
    goTo(S.idx - 1);
  } else if (key === "Enter") {
    accept();
  } else if (key === "n" || key === "N") {
    const order = [...S.frames.keys()].map((j) => (S.idx + 1 + j) % S.frames.length);
    const j = order.find((x) => !S.frames[x].reviewed);
    if (j === undefined) toast("Every frame is reviewed.");
    else goTo(j);
  } else if (key === "+" || key === "=") {
    zoomAt({ x: canvas.clientWidth / 2, y: canvas.clientHeight / 2 }, 1.25);
  } else if (key === "-" || key === "_") {
    zoomAt({ x: canvas.clientWidth / 2, y: canvas.clientHeight / 2 }, 0.8);
  } else if (key === "0") {
    fitView();
    render();
  } else if (key === "b" || key === "B") {
    revealToggle();
  } else if (key === "?" || key === "h" || key === "H") {
    toggleHelp(true);
  } else if (key === "Escape") {
    return;
  } else {
    return;
  }
  ev.preventDefault();
});

async function revealToggle() {
  const id = S.frame.id;
  S.reveal = !S.reveal;
  const img = await loadImage(id, S.reveal).catch(() => null);
  if (S.frame && S.frame.id === id && img) {
    S.img = img;
    draw();
  }
}

$("help-btn").addEventListener("click", (ev) => {
  ev.currentTarget.blur();  // keys go to the page, not to the button
  toggleHelp(true);
});
$("help").addEventListener("click", (ev) => { if (ev.target === $("help")) toggleHelp(false); });
window.addEventListener("resize", () => { if (S.frame) { fitView(); render(); } });

// --- start -----------------------------------------------------------------------------------
async function start() {
  try {
    S.project = await api("GET", "/api/project");
  } catch (e) {
    toast(`Could not reach the label server: ${e.message}`);
    return;
  }
  S.frames = S.project.frames;
  COLORS = S.project.schema.colours;
  for (const [side, colour] of Object.entries(COLORS)) {
    document.documentElement.style.setProperty(`--${side}`, colour);
  }
  $("project").textContent = S.project.name;
  document.title = `${S.project.name} · infantpose label`;
  if (!S.frames.length) {
    toast("This project has no frames.");
    return;
  }
  const at = S.frames.findIndex((f) => f.id === S.project.cursor);
  await goTo(at >= 0 ? at : 0);
}

start();
