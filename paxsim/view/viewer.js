/* paxsim view: an interactive sequence diagram of one or two traces.
 * Plain JavaScript and SVG, no library, no network.  The data is the JSON
 * in <script id="paxsim-data">, made by paxsim/view/model.py. */
(function () {
  "use strict";
  var SVGNS = "http://www.w3.org/2000/svg";
  var TOP = 30, BOTTOM = 14, LEFT = 66, RIGHT = 90, MIN_GAP = 24, MAX_GAP = 260, INITIAL = 60, NEAR = 24, DENSE = 1500;
  var GENERIC_COLORS = ["#17becf", "#e377c2", "#bcbd22", "#8c564b", "#393b79", "#637939", "#843c39", "#7b4173"];

  function h(tag, attrs, parent, text) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function s(tag, attrs, parent) {
    var e = document.createElementNS(SVGNS, tag);
    if (attrs) for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function num(x) { return typeof x === "number" && isFinite(x); }
  function fmtT(t) {
    if (!num(t)) return "?";
    var a = Math.abs(t);
    return a >= 1000 ? t.toFixed(1) : a >= 10 ? t.toFixed(3) : t.toFixed(4);
  }
  function fmtVal(v) {
    if (v === null || v === undefined) return "none";
    if (typeof v === "string") return "'" + v + "'";
    if (Array.isArray(v) && v.length === 2 && typeof v[1] === "string" && typeof v[0] === "number")
      return "(" + v[0] + ", " + v[1] + ")";
    if (Array.isArray(v)) return "[" + v.map(fmtVal).join(", ") + "]";
    if (typeof v === "object") {
      return "{" + Object.keys(v).map(function (k) { return k + ": " + fmtVal(v[k]); }).join(", ") + "}";
    }
    return String(v);
  }
  function norm(v) {  // for search: (1, n1), [1,"n1"] and 1,n1 all read "1,n1"
    var text = typeof v === "string" ? v : JSON.stringify(v);
    return String(text).toLowerCase().replace(/["'()\[\]{}\s]/g, "");
  }
  function niceStep(span, target) {
    var raw = span / target, p = Math.pow(10, Math.floor(Math.log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
  }
  function fmtTick(t, step) {
    var d = step >= 1 ? 0 : Math.min(6, Math.ceil(-Math.log10(step)));
    return t.toFixed(d);
  }
  function circle(x, y, r) {
    return "M" + (x - r) + " " + y + "a" + r + " " + r + " 0 1 0 " + 2 * r + " 0a" + r + " " + r + " 0 1 0 " + -2 * r + " 0";
  }
  function shape(kind, x, y) {
    switch (kind) {
      case "decide": {
        var d = "", R = 7, r = 3;
        for (var i = 0; i < 10; i++) {
          var a = -Math.PI / 2 + i * Math.PI / 5, rr = i % 2 ? r : R;
          d += (i ? "L" : "M") + (x + rr * Math.cos(a)).toFixed(1) + " " + (y + rr * Math.sin(a)).toFixed(1);
        }
        return d + "Z";
      }
      case "promise": return circle(x, y, 2.6);
      case "vote": return "M" + (x - 2.8) + " " + (y - 2.8) + "h5.6v5.6h-5.6Z";
      case "propose": return "M" + x + " " + (y - 4.5) + "l4.5 4.5l-4.5 4.5l-4.5 -4.5Z";
      case "crash": return "M" + (x - 5) + " " + (y - 5) + "l10 10M" + (x - 5) + " " + (y + 5) + "l10 -10";
      case "restart": return "M" + x + " " + (y - 5) + "l5 8h-10Z";
      default: return circle(x, y, 3.6);
    }
  }

  /* ------------------------------------------------------------------ */
  function Viewer(root, model, index, opts) {
    this.root = root;
    this.M = model;
    this.idx = index;
    this.opts = opts || {};
    this.hiddenTypes = {};
    this.hiddenKinds = {};
    this.hiddenNodes = {};
    this.showLost = true;
    this.showLocal = true;
    this.query = [];
    this.selected = null;
    this.marks = [];
    this.prepare();
    this.buildDom();
    this.layout();
    var w = this.initialWindow();
    this.w0 = w[0];
    this.w1 = w[1];
    this.applyFilters();
  }

  Viewer.prototype.prepare = function () {
    var M = this.M, self = this;
    this.byId = {};
    this.bySeq = {};
    this.kindColor = {};
    var g = 0;
    M.kinds.forEach(function (k) {
      if (["promise", "vote", "propose", "decide", "crash", "restart"].indexOf(k) < 0)
        self.kindColor[k] = GENERIC_COLORS[g++ % GENERIC_COLORS.length];
    });
    M.messages.forEach(function (m) {
      self.byId[m.id] = m;
      if (m.sseq !== undefined && m.sseq !== null) self.bySeq[m.sseq] = m;
      if (m.eseq !== undefined && m.eseq !== null) self.bySeq[m.eseq] = m;
      m.local = m.src === m.dst;
      m._text = norm([m.type, m.src, m.dst, m.id, m.msg, m.fate, m.reason]);
    });
    M.events.forEach(function (e) {
      if (e.seq !== undefined && e.seq !== null) self.bySeq[e.seq] = e;
      e._text = norm([e.kind, e.node, e.fields]);
    });
    this.chosenSeqs = {};
    ((M.verdict && M.verdict.chosen) || []).forEach(function (c) { self.chosenSeqs[c.seq] = c; });
    // the time range: from 0 (or the first event) to the end event
    var lo = 0, hi = num(M.end) ? M.end : 0, last = 0;
    M.messages.forEach(function (m) {
      lo = Math.min(lo, m.ts);
      last = Math.max(last, m.ts, num(m.te) ? m.te : m.ts);
    });
    M.events.forEach(function (e) { lo = Math.min(lo, e.t); last = Math.max(last, e.t); });
    M.faults.forEach(function (f) { last = Math.max(last, f.t); });
    this.tmin = lo;
    this.tmax = Math.max(hi, last, lo + 1e-3);
    this.tlast = last > lo ? last : this.tmax;
  };

  Viewer.prototype.initialWindow = function (all) {
    // the whole run, or (a long one) its first INITIAL messages: "fit" shows all
    var span = this.tlast - this.tmin, last = this.tlast, ms = this.M.messages;
    if (!all && ms.length > INITIAL) {
      var ends = ms.slice(0, INITIAL).map(function (m) { return num(m.te) ? m.te : m.ts; });
      var cut = Math.max.apply(null, ends);
      if (cut - this.tmin < span * 0.8) last = cut;
    }
    var hi = Math.min(this.tmax, last + Math.max((last - this.tmin) * 0.04, 0.5));
    if (!(hi > this.tmin)) hi = this.tmin + 1;
    return [this.tmin, hi];
  };

  Viewer.prototype.buildDom = function () {
    var M = this.M, self = this, root = this.root;
    root.classList.add("viewer");
    root.setAttribute("data-run", String(this.idx));
    var head = h("div", { "class": "vhead" }, root);
    h("h2", null, head, (this.opts.label ? this.opts.label + ": " : "") + M.title);
    var meta = M.messages.length + " messages, " + M.events.length + " events, " + M.lanes.length + " lanes; " +
      M.runtime + " time" + (M.runtime === "wall-clock" ? " (" + M.runtime_name + ", " +
        // other tools' epoch times count from the first event; paxsim cluster's are on the scenario's clock
        (M.t0 ? "ms since the first event" : "ms on the scenario's clock") + ")" : " (ms)");
    h("span", { "class": "meta" }, head, meta);
    if (M.description && !this.opts.compact) h("p", { "class": "sub" }, root, M.description);
    this.buildVerdict();

    var controls = h("div", { "class": "controls" }, root);
    var zoom = h("span", null, controls);
    h("span", { "class": "lbl" }, zoom, "time ");
    this.btn(zoom, "\u2212", "zoom out (or Ctrl + wheel)", function () { self.zoomBy(1.6); }).setAttribute("data-act", "zoom-out");
    this.btn(zoom, "+", "zoom in (or Ctrl + wheel)", function () { self.zoomBy(1 / 1.6); }).setAttribute("data-act", "zoom-in");
    this.btn(zoom, "fit", "show the whole run", function () { var w = self.initialWindow(true); self.setWindow(w[0], w[1]); }).setAttribute("data-act", "fit");
    this.winText = h("span", { "class": "status mono" }, zoom);
    var search = h("label", null, controls, "find ");
    this.searchBox = h("input", { type: "search", placeholder: "e.g. ballot=(2,n3) value=apple", "data-act": "query" }, search);
    this.searchBox.addEventListener("input", function () { self.setQuery(self.searchBox.value); });
    this.shownText = h("span", { "class": "status" }, controls);

    var types = h("div", { "class": "chips f-types" }, root);
    h("span", { "class": "lbl" }, types, "messages");
    var tcount = {};
    M.messages.forEach(function (m) { tcount[m.type] = (tcount[m.type] || 0) + 1; });
    M.types.forEach(function (t) {
      var c = self.chip(types, "type", t, function (on) { self.toggle(self.hiddenTypes, t, on); });
      var sw = h("span", { "class": "sw" }, null);
      sw.style.background = M.colors[t];
      c.insertBefore(sw, c.childNodes[1]);
      h("span", { "class": "count" }, c, " " + tcount[t]);
    });
    var nLost = M.messages.filter(function (m) { return m.fate === "lost"; }).length;
    var nLocal = M.messages.filter(function (m) { return m.local; }).length;
    if (nLost) h("span", { "class": "count" }, this.chip(types, "lost", "lost", function (on) { self.showLost = on; self.applyFilters(); }), " " + nLost);
    if (nLocal) h("span", { "class": "count" }, this.chip(types, "local", "to itself", function (on) { self.showLocal = on; self.applyFilters(); }), " " + nLocal);

    if (M.kinds.length) {
      var kinds = h("div", { "class": "chips f-kinds" }, root);
      h("span", { "class": "lbl" }, kinds, "events");
      var kcount = {};
      M.events.forEach(function (e) { kcount[e.kind] = (kcount[e.kind] || 0) + 1; });
      M.kinds.forEach(function (k) {
        var c = self.chip(kinds, "kind", k, function (on) { self.toggle(self.hiddenKinds, k, on); });
        var sv = s("svg", { width: 14, height: 14, viewBox: "-7 -7 14 14" });
        s("path", { d: shape(k, 0, 0), "class": "ev k-" + k + (self.kindColor[k] ? " generic" : "") }, sv).style.stroke = self.kindColor[k] || "";
        sv.style.verticalAlign = "-3px";
        c.insertBefore(sv, c.childNodes[1]);
        h("span", { "class": "count" }, c, " " + kcount[k]);
      });
    }
    var nodes = h("div", { "class": "chips f-nodes" }, root);
    if (M.lanes.length > 24) {  // many nodes: their boxes fold away
      var fold = h("details", { "class": "chips" }, root);
      h("summary", null, fold, M.lanes.length + " nodes (open to choose)");
      nodes.appendChild(fold);
      nodes = h("div", { "class": "chips" }, fold);
    }
    h("span", { "class": "lbl" }, nodes, "nodes");
    this.btn(nodes, "all", "show every node", function () { self.setAllNodes(true); });
    this.btn(nodes, "none", "hide every node", function () { self.setAllNodes(false); });
    this.nodeBoxes = {};
    M.lanes.forEach(function (n) {
      var c = self.chip(nodes, "node", n, function (on) { self.toggle(self.hiddenNodes, n, on, true); });
      self.nodeBoxes[n] = c.querySelector("input");
    });

    this.top = h("div", { "class": "top" }, null);
    while (root.firstChild) this.top.appendChild(root.firstChild);
    root.appendChild(this.top);
    this.buildOverview(root);
    this.stage = h("div", { "class": "stage" }, root);
    this.svg = s("svg", { "class": "diagram", "data-run": String(this.idx) }, this.stage);
    var defs = s("defs", null, this.svg);
    this.clipId = "clip" + this.idx;
    this.clipRect = s("rect", { x: 0, y: TOP, width: 10, height: 10 }, s("clipPath", { id: this.clipId }, defs));
    M.types.forEach(function (t, i) {
      var mk = s("marker", { id: "ah" + self.idx + "-" + i, viewBox: "0 0 10 10", refX: 9.5, refY: 5,
        markerWidth: 7, markerHeight: 7, markerUnits: "userSpaceOnUse", orient: "auto" }, defs);
      s("path", { d: "M0,0L10,5L0,10z", fill: M.colors[t] }, mk);
    });
    var clip = { "clip-path": "url(#" + this.clipId + ")" };
    this.gAxis = s("g", clip, this.svg);
    this.gBands = s("g", clip, this.svg);
    this.gLanes = s("g", null, this.svg);
    this.gMsgs = s("g", clip, this.svg);
    this.gEvs = s("g", clip, this.svg);
    this.gOver = s("g", clip, this.svg);
    this.gHead = s("g", null, this.svg);
    this.gTicks = s("g", null, this.svg);

    // one element per message, one per event: made once, moved on every render
    var typeIndex = {};
    M.types.forEach(function (t, i) { typeIndex[t] = i; });
    M.messages.forEach(function (m) {
      var cls = "m t-" + m.type + (m.fate === "lost" ? " lost" : "") + (m.copy_of !== undefined ? " dup" : "") +
        (m.fate === "inflight" ? " inflight" : "") + (m.local ? " local" : "");
      var p = s("path", { "class": cls, id: "r" + self.idx + "-m" + m.id, "data-id": m.id, "data-type": m.type,
        "data-src": m.src, "data-dst": m.dst, "data-fate": m.fate }, self.gMsgs);
      if (m.sseq !== undefined && m.sseq !== null) p.setAttribute("data-seq", m.sseq);
      if (m.eseq !== undefined && m.eseq !== null) p.setAttribute("data-end-seq", m.eseq);
      p.style.stroke = M.colors[m.type];
      if (m.fate === "delivered" && !m.local) p.setAttribute("marker-end", "url(#ah" + self.idx + "-" + typeIndex[m.type] + ")");
      m.el = p;
    });
    M.events.forEach(function (e) {
      var p = s("path", { "class": "ev k-" + e.kind + (self.kindColor[e.kind] ? " generic" : ""),
        id: "r" + self.idx + "-e" + e.seq, "data-kind": e.kind, "data-node": e.node === null ? "" : e.node }, self.gEvs);
      if (e.seq !== undefined && e.seq !== null) p.setAttribute("data-seq", e.seq);
      if (self.kindColor[e.kind]) p.style.stroke = self.kindColor[e.kind];
      e.el = p;
      if (e.kind === "decide" || self.chosenSeqs[e.seq]) {
        var c = self.chosenSeqs[e.seq];
        e.label = s("text", { "class": "evlabel" + (c ? " chosen" : "") }, self.gEvs);
        e.label.textContent = c ? "chosen " + fmtVal(c.value) + " at " + fmtVal(c.ballot)
          : "decide " + fmtVal(e.fields.value);
        if (c) e.ring = s("path", { "class": "chosenring" }, self.gEvs);
      }
    });

    this.tip = h("div", { "class": "tip" }, document.body);
    this.details = h("div", { "class": "details" }, root);
    this.details.textContent = "Hover a message or event for its content; click it to highlight what caused it and what it caused. " +
      "Drag or wheel to move in time, Ctrl + wheel (or the buttons) to zoom.";
    h("div", { "class": "note" }, root, "Causality: " + M.causality + ".");
    this.bindEvents();
  };

  Viewer.prototype.buildOverview = function (root) {
    // the whole run in a strip: messages sent per time bin, and the window shown below
    var self = this, BINS = 240, span = this.tmax - this.tmin;
    var bins = new Array(BINS).fill(0);
    this.M.messages.forEach(function (m) {
      bins[Math.min(BINS - 1, Math.max(0, Math.floor((m.ts - self.tmin) / span * BINS)))]++;
    });
    var peak = Math.max.apply(null, bins.concat([1]));
    var ov = this.overview = s("svg", { "class": "overview", viewBox: "0 0 " + BINS + " 20", preserveAspectRatio: "none" }, root);
    var d = "";
    bins.forEach(function (n, i) { if (n) d += "M" + (i + 0.5) + " 20v" + (-Math.max(1.5, 19 * Math.sqrt(n / peak))); });
    s("path", { d: d, "class": "ovbars" }, ov);
    this.ovWin = s("rect", { "class": "ovwin", y: 0, height: 20, x: 0, width: BINS }, ov);
    var drag = false;
    function move(ev) {
      var r = ov.getBoundingClientRect(), f = (ev.clientX - r.left) / r.width;
      var t = self.tmin + f * span, len = self.w1 - self.w0;
      self.setWindow(t - len / 2, t + len / 2);
    }
    ov.addEventListener("pointerdown", function (ev) { drag = true; ov.setPointerCapture(ev.pointerId); move(ev); });
    ov.addEventListener("pointermove", function (ev) { if (drag) move(ev); });
    ov.addEventListener("pointerup", function () { drag = false; });
    this.ovBins = BINS;
  };

  Viewer.prototype.buildVerdict = function () {
    var V = this.M.verdict || {}, self = this;
    var box = h("div", { "class": "verdict " + (V.ok === true ? "ok" : V.ok === false ? "bad" : "unknown") }, this.root);
    (V.lines || []).forEach(function (ln) {
      var line = h("span", { "class": "vline " + (ln.kind || "") }, box);
      self.linkify(line, ln.text);
    });
    (V.chosen || []).forEach(function (c) {
      var line = h("span", { "class": "vline" }, box);
      self.linkify(line, "marked: chosen " + fmtVal(c.value) + " at ballot " + fmtVal(c.ballot) + " by the vote at seq " + c.seq);
    });
    this.verdictBox = box;
  };

  Viewer.prototype.linkify = function (parent, text) {
    var self = this, re = /\bseq (\d+(?:, \d+)*)/g, at = 0, m;
    while ((m = re.exec(text)) !== null) {
      parent.appendChild(document.createTextNode(text.slice(at, m.index) + "seq "));
      m[1].split(", ").forEach(function (n, i) {
        if (i) parent.appendChild(document.createTextNode(", "));
        var a = h("a", { "class": "seq", href: "#seq=" + n, "data-seq": n, "data-run": String(self.idx) }, parent, n);
        a.addEventListener("click", function (ev) { ev.preventDefault(); self.focusSeq(Number(n), true); });
      });
      at = m.index + m[0].length;
    }
    parent.appendChild(document.createTextNode(text.slice(at)));
  };

  Viewer.prototype.btn = function (parent, text, title, fn) {
    var b = h("button", { type: "button", title: title }, parent, text);
    b.addEventListener("click", fn);
    return b;
  };

  Viewer.prototype.chip = function (parent, group, name, fn) {
    var label = h("label", { "class": "chip" }, parent);
    var box = h("input", { type: "checkbox", "data-filter": group, "data-name": name }, label);
    box.checked = true;
    label.appendChild(document.createTextNode(name));
    box.addEventListener("change", function () { fn(box.checked); });
    return label;
  };

  Viewer.prototype.toggle = function (set, key, on, relayout) {
    if (on) delete set[key]; else set[key] = true;
    if (relayout) this.layout();
    this.applyFilters();
  };

  Viewer.prototype.setAllNodes = function (on) {
    var self = this;
    this.M.lanes.forEach(function (n) {
      self.nodeBoxes[n].checked = on;
      if (on) delete self.hiddenNodes[n]; else self.hiddenNodes[n] = true;
    });
    this.layout();
    this.applyFilters();
  };

  Viewer.prototype.setQuery = function (text) {
    // terms split at spaces, except inside double quotes (value="v 1"); a quote without its pair is kept
    this.query = (text.match(/(?:[^\s"]+|"[^"]*"|")+/g) || []).map(function (term) {
      term = term.replace(/"([^"]*)"/g, "$1");
      var eq = term.indexOf("=");
      return eq > 0 ? { key: term.slice(0, eq).toLowerCase(), value: norm(term.slice(eq + 1)) } : { text: norm(term) };
    });
    this.applyFilters();
  };

  function lookup(obj, path) {  // "ballot" or "accepted.ballot", case-insensitive keys
    var cur = obj;
    for (var i = 0; i < path.length; i++) {
      if (!cur || typeof cur !== "object" || Array.isArray(cur)) return undefined;
      var want = path[i], found;
      for (var k in cur) if (k.toLowerCase() === want) { found = k; break; }
      if (found === undefined) return undefined;
      cur = cur[found];
    }
    return cur;
  }
  Viewer.prototype.matches = function (item, isMsg) {
    for (var i = 0; i < this.query.length; i++) {
      var q = this.query[i];
      if (q.text !== undefined) {
        if (item._text.indexOf(q.text) < 0) return false;
      } else {
        var path = q.key.split("."), top = isMsg
          ? { type: item.type, src: item.src, dst: item.dst, id: item.id, fate: item.fate, reason: item.reason }
          : { kind: item.kind, node: item.node, seq: item.seq };
        var v = lookup(isMsg ? item.msg : item.fields, path);
        if (v === undefined) v = lookup(top, path);
        if (v === undefined || norm(v) !== q.value) return false;
      }
    }
    return true;
  };

  Viewer.prototype.msgShown = function (m) {
    return !this.hiddenTypes[m.type] && !this.hiddenNodes[m.src] && !this.hiddenNodes[m.dst] &&
      (this.showLost || m.fate !== "lost") && (this.showLocal || !m.local) && this.matches(m, true);
  };
  Viewer.prototype.evShown = function (e) {
    return !this.hiddenKinds[e.kind] && !(e.node !== null && this.hiddenNodes[e.node]) && this.matches(e, false);
  };

  Viewer.prototype.applyFilters = function () {
    var self = this, shownM = 0, shownE = 0;
    this.M.messages.forEach(function (m) {
      m.off = !self.msgShown(m);
      if (!m.off) shownM++;
      m.el.classList.toggle("off", m.off);
    });
    this.M.events.forEach(function (e) {
      e.off = !self.evShown(e);
      if (!e.off) shownE++;
      e.el.classList.toggle("off", e.off);
      if (e.label) e.label.classList.toggle("off", e.off);
      if (e.ring) e.ring.classList.toggle("off", e.off);
    });
    this.shownText.textContent = shownM + " of " + this.M.messages.length + " messages, " + shownE + " of " + this.M.events.length + " events shown";
    this.render();
  };

  /* ---- geometry ---------------------------------------------------- */
  Viewer.prototype.layout = function () {
    // The SVG is exactly the stage's size; lanes beyond its width are reached
    // by panning sideways (a wide SVG costs the browser more than its content).
    var self = this;
    this.lanesShown = this.M.lanes.filter(function (n) { return !self.hiddenNodes[n]; });
    this.width = Math.max(300, this.stage.clientWidth);
    this.height = Math.max(200, this.stage.clientHeight);
    var avail = Math.max(200, this.width - LEFT - RIGHT), n = this.lanesShown.length;
    this.gap = n ? Math.max(MIN_GAP, Math.min(MAX_GAP, avail / n)) : MAX_GAP;
    this.contentW = LEFT + this.gap * n + RIGHT;
    this.svg.setAttribute("width", this.width);
    this.svg.setAttribute("height", this.height);
    this.clipRect.setAttribute("x", LEFT - 16);
    this.clipRect.setAttribute("width", this.width - LEFT + 16);
    this.clipRect.setAttribute("height", this.height - TOP);
    this.placeLanes(this.xoff || 0);
  };

  Viewer.prototype.placeLanes = function (xoff) {
    var self = this, gap = this.gap;
    this.xoff = Math.max(0, Math.min(xoff, this.contentW - this.width));
    this.x = {};
    this.lanesShown.forEach(function (n, i) { self.x[n] = LEFT + gap * (i + 0.5) - self.xoff; });
    while (this.gLanes.firstChild) this.gLanes.removeChild(this.gLanes.firstChild);
    while (this.gHead.firstChild) this.gHead.removeChild(this.gHead.firstChild);
    s("rect", { "class": "lanehead", x: 0, y: 0, width: this.width, height: TOP - 2 }, this.gHead);
    var first = null, last = null;
    this.lanesShown.forEach(function (n, i) {
      var x = self.x[n];
      if (x < LEFT - 8 || x > self.width - 4) return;
      if (first === null) first = i;
      last = i;
      s("line", { "class": "lane", x1: x, x2: x, y1: TOP, y2: self.height - 2 }, self.gLanes);
      var t = s("text", { "class": "lanelabel", x: x, y: TOP - 10, "data-lane": n }, self.gHead);
      t.textContent = n;
    });
    var ax = s("text", { "class": "axislabel", x: 4, y: 12 }, this.gHead);
    ax.textContent = this.M.runtime === "wall-clock" ? "ms (wall)" : "ms";
    if (first !== null && (first > 0 || last < this.lanesShown.length - 1)) {
      var more = s("text", { "class": "axislabel", x: this.width - 6, y: 12, "text-anchor": "end" }, this.gHead);
      more.textContent = "lanes " + (first + 1) + "\u2013" + (last + 1) + " of " + this.lanesShown.length + " (Shift + wheel or drag sideways)";
    }
  };

  Viewer.prototype.prepareCanvas = function () {
    // the canvas behind the SVG, cleared; null when this window has no dense layer
    if (!this.canvas) {
      if (!this.dense) return null;
      this.canvas = h("canvas", { "class": "dense-layer" }, null);
      this.stage.insertBefore(this.canvas, this.svg);
    }
    var r = window.devicePixelRatio || 1, c = this.canvas;
    if (c.width !== Math.round(this.width * r) || c.height !== Math.round(this.height * r)) {
      c.width = Math.round(this.width * r);
      c.height = Math.round(this.height * r);
      c.style.width = this.width + "px";
      c.style.height = this.height + "px";
    }
    var ctx = c.getContext("2d");
    ctx.setTransform(r, 0, 0, r, 0, 0);
    ctx.clearRect(0, 0, this.width, this.height);
    if (!this.dense) return null;
    ctx.save();
    ctx.beginPath();
    ctx.rect(LEFT - 16, TOP, this.width, this.height);
    ctx.clip();
    return ctx;
  };

  Viewer.prototype.panX = function (xoff) {
    this.placeLanes(xoff);
    this.render();
  };

  Viewer.prototype.y = function (t) {
    return TOP + (t - this.w0) * (this.height - TOP - BOTTOM) / (this.w1 - this.w0);
  };
  Viewer.prototype.tAt = function (y) {
    return this.w0 + (y - TOP) * (this.w1 - this.w0) / (this.height - TOP - BOTTOM);
  };

  Viewer.prototype.render = function () {
    var self = this, M = this.M, x = this.x, w0 = this.w0, w1 = this.w1;
    var scale = (this.height - TOP - BOTTOM) / (w1 - w0);
    var yTop = TOP - 20, yBot = this.height + 20;
    function Y(t) { return TOP + (t - w0) * scale; }
    this.winText.textContent = fmtT(w0) + " \u2013 " + fmtT(w1) + " ms";
    var span = this.tmax - this.tmin, B = this.ovBins;
    var a = Math.max(0, (w0 - this.tmin) / span * B), b = Math.min(B, (w1 - this.tmin) / span * B);
    this.ovWin.setAttribute("x", Math.min(a, B - 0.5));
    this.ovWin.setAttribute("width", Math.max(0.5, b - a));
    // ticks
    while (this.gAxis.firstChild) this.gAxis.removeChild(this.gAxis.firstChild);
    while (this.gTicks.firstChild) this.gTicks.removeChild(this.gTicks.firstChild);
    var step = niceStep(w1 - w0, Math.max(4, (this.height - TOP) / 60));
    for (var t = Math.ceil(w0 / step) * step; t <= w1; t += step) {
      var yy = Y(t);
      s("line", { "class": "tick", x1: LEFT - 4, x2: this.width, y1: yy, y2: yy }, this.gAxis);
      s("text", { "class": "ticklabel", x: LEFT - 8, y: yy }, this.gTicks).textContent = fmtTick(t, step);
    }
    // bands
    while (this.gBands.firstChild) this.gBands.removeChild(this.gBands.firstChild);
    while (this.gOver.firstChild) this.gOver.removeChild(this.gOver.firstChild);
    var S = M.spans;
    S.partitions.forEach(function (p) {
      var a = Y(p.t0), b = Y(p.t1);
      if (b < TOP || a > self.height) return;
      s("rect", { "class": "band partition", x: LEFT, y: a, width: self.width - LEFT, height: Math.max(1, b - a) }, self.gBands);
      var groups = (p.groups || []).map(function (g) { return (g || []).join(","); }).join(" | ");
      s("text", { "class": "bandlabel partition", x: LEFT + 2, y: Math.max(a, TOP) + 11 }, self.gBands).textContent = "partition " + groups;
    });
    S.cuts.forEach(function (c) {
      if (!(c.src in x) || !(c.dst in x)) return;
      var a = Y(c.t0), b = Y(c.t1);
      if (b < TOP || a > self.height) return;
      var x0 = Math.min(x[c.src], x[c.dst]), x1 = Math.max(x[c.src], x[c.dst]);
      s("rect", { "class": "band cut", x: x0, y: a, width: Math.max(2, x1 - x0), height: Math.max(1, b - a) }, self.gBands);
      s("text", { "class": "bandlabel cut", x: x0 + 3, y: Math.max(a, TOP) + 22 }, self.gBands).textContent = "cut " + c.src + "\u2192" + c.dst;
    });
    S.down.forEach(function (d) {
      if (!(d.node in x)) return;
      var a = Y(d.t0), b = Y(d.t1);
      if (b < TOP || a > self.height) return;
      s("rect", { "class": "band down", x: x[d.node] - 4, y: a, width: 8, height: Math.max(1, b - a) }, self.gBands);
      s("text", { "class": "bandlabel down", x: x[d.node] + 7, y: Math.max(a, TOP) + 10 }, self.gBands).textContent = "down";
    });
    if (M.end_event && num(M.end)) {
      var ye = Y(M.end);
      if (ye > TOP && ye < this.height) {
        s("line", { "class": "endline", x1: LEFT, x2: this.width, y1: ye, y2: ye }, this.gOver);
        s("text", { "class": "bandlabel", x: LEFT + 4, y: ye - 3 }, this.gOver).textContent = "end";
      }
    }
    this.marks.forEach(function (mk) {
      var yy = Y(mk.t);
      if (yy < TOP || yy > self.height) return;
      s("line", { "class": "divline", x1: 0, x2: self.width, y1: yy, y2: yy }, self.gOver);
      s("text", { "class": "divlabel", x: LEFT + 4, y: yy - 4 }, self.gOver).textContent = mk.label;
    });
    // messages: SVG elements; in a dense window (more than DENSE in view) the
    // ones not highlighted are painted on a canvas instead, which browsers draw
    // far faster than thousands of SVG paths
    var hits = this.hits = [];
    var stub = Math.min(this.gap * 0.35, 40), xLo = LEFT - 20, xHi = self.width + 20;
    var inView = [];
    M.messages.forEach(function (m) {
      var out = true;
      if (!m.off) {
        var xs = x[m.src], xd = x[m.dst];
        m._y1 = Y(m.ts);
        m._y2 = Y(num(m.te) ? m.te : M.end);
        out = (m._y1 < yTop && m._y2 < yTop) || (m._y1 > yBot && m._y2 > yBot) || (xs < xLo && xd < xLo) || (xs > xHi && xd > xHi);
        if (!out) inView.push(m);
      }
      m._in = !out;
    });
    var dense = this.dense = inView.length > DENSE;
    this.stage.classList.toggle("dense", dense);
    var ctx = this.prepareCanvas(), byColor = {};
    M.messages.forEach(function (m) {
      var hide = !m._in || (dense && !m.el.classList.contains("hl"));
      if (hide !== !!m.out) { m.out = hide; m.el.classList.toggle("out", hide); }
    });
    inView.forEach(function (m) {
      var xs = x[m.src], xd = x[m.dst], y1 = m._y1, y2 = m._y2;
      var d, ex, ey;
      if (m.local) {
        d = "M" + xs + " " + y1 + "C" + (xs + 16) + " " + (y1 - 6) + " " + (xs + 16) + " " + (y2 + 6) + " " + (xs + 1) + " " + (y2 + 2);
        ex = xs + 10; ey = (y1 + y2) / 2;
      } else if (m.fate === "lost" && m.reason !== "crashed") {
        var dir = xd > xs ? 1 : -1;
        ex = xs + dir * stub; ey = Math.max(y2, y1) + 8;
        d = "M" + xs + " " + y1 + "L" + ex + " " + ey;
      } else {
        ex = xd; ey = y2;
        d = "M" + xs + " " + y1 + "L" + xd + " " + y2;
      }
      if (m.fate === "lost") d += "M" + (ex - 3.5) + " " + (ey - 3.5) + "l7 7M" + (ex - 3.5) + " " + (ey + 3.5) + "l7 -7";
      if (!m.out) m.el.setAttribute("d", d);
      else {
        var key = m.fate === "lost" ? "#d62728" : M.colors[m.type];
        (byColor[key] = byColor[key] || []).push(m.local ? [xs, y1, ex, ey] : [xs, y1, ex, ey]);
      }
      hits.push({ item: m, x1: xs, y1: y1, x2: ex, y2: ey });
    });
    if (ctx) {
      ctx.globalAlpha = this.svg.classList.contains("dim") ? 0.15 : 0.8;
      ctx.lineWidth = 1;
      Object.keys(byColor).forEach(function (c) {
        ctx.strokeStyle = c;
        ctx.beginPath();
        byColor[c].forEach(function (l) { ctx.moveTo(l[0], l[1]); ctx.lineTo(l[2], l[3]); });
        ctx.stroke();
      });
    }
    this.denseText = dense ? inView.length + " messages in view: drawn as one picture (zoom in for each its own element)" : "";
    // events
    var decidesShown = 0;
    M.events.forEach(function (e) {
      if (e.off) return;
      var xe = e.node !== null && e.node in x ? x[e.node] : LEFT - 10, ye = Y(e.t);
      var out = ye < yTop || ye > yBot || xe < LEFT - 20 || xe > self.width + 20;
      if (out !== !!e.out) {
        e.out = out;
        e.el.classList.toggle("out", out);
        if (e.label) e.label.classList.toggle("out", out);
        if (e.ring) e.ring.classList.toggle("out", out);
      }
      if (out) return;
      e.el.setAttribute("d", shape(self.kindColor[e.kind] ? "generic" : e.kind, xe, ye));
      hits.push({ item: e, x1: xe, y1: ye, x2: xe, y2: ye, ev: true });
      if (e.label) {
        if (e.kind === "decide") decidesShown++;
        e.label.setAttribute("x", xe + 9);
        e.label.setAttribute("y", ye + (self.chosenSeqs[e.seq] ? -8 : 4));
      }
      if (e.ring) e.ring.setAttribute("d", circle(xe, ye, 7));
    });
    // decide labels only where they fit
    var roomy = this.gap >= 64 && decidesShown <= 40;
    this.gEvs.classList.toggle("nolabels", !roomy);
    M.events.forEach(function (e) {
      if (e.label && e.kind === "decide" && !self.chosenSeqs[e.seq]) e.label.style.display = roomy ? "" : "none";
    });
    if (ctx) ctx.restore();
    this.winText.textContent = fmtT(w0) + " \u2013 " + fmtT(w1) + " ms" + (this.denseText ? "; " + this.denseText : "");
    if (this.opts.onWindow && !this.syncing) this.opts.onWindow(this, w0, w1);
  };

  Viewer.prototype.setWindow = function (w0, w1, quiet) {
    var len = w1 - w0, full = (this.tmax - this.tmin);
    var maxLen = full * 1.1 + 1e-3;
    if (len > maxLen) { w0 += (len - maxLen) / 2; len = maxLen; }
    if (len < 1e-4) { w0 -= (1e-4 - len) / 2; len = 1e-4; }
    var lo = this.tmin - len * 0.05, hi = this.tmax + len * 0.05;
    if (w0 < lo) w0 = lo;
    if (w0 + len > hi) w0 = hi - len;
    this.w0 = w0;
    this.w1 = w0 + len;
    this.syncing = quiet === true;
    if (!this.pending) {
      var self = this;
      this.pending = true;
      var run = function () { self.pending = false; self.render(); self.syncing = false; };
      if (quiet === "now") run(); else window.requestAnimationFrame(run);
    }
  };
  Viewer.prototype.zoomBy = function (f, anchorT) {
    var a = anchorT === undefined ? (this.w0 + this.w1) / 2 : anchorT;
    this.setWindow(a - (a - this.w0) * f, a + (this.w1 - a) * f);
  };

  /* ---- interaction ------------------------------------------------- */
  Viewer.prototype.bindEvents = function () {
    var self = this, stage = this.stage, drag = null;
    stage.addEventListener("wheel", function (ev) {
      var r = self.svg.getBoundingClientRect(), t = self.tAt(ev.clientY - r.top);
      var dy = ev.deltaMode === 1 ? ev.deltaY * 16 : ev.deltaY;
      if (ev.ctrlKey || ev.metaKey) {
        ev.preventDefault();
        self.zoomBy(Math.exp(dy * 0.002), t);
      } else if (ev.shiftKey || Math.abs(ev.deltaX) > Math.abs(dy)) {
        ev.preventDefault();
        self.panX(self.xoff + (ev.shiftKey && !ev.deltaX ? dy : ev.deltaX));
      } else if (Math.abs(dy) > Math.abs(ev.deltaX)) {
        ev.preventDefault();
        var dt = dy * (self.w1 - self.w0) / (self.height - TOP);
        self.setWindow(self.w0 + dt, self.w1 + dt);
      }
    }, { passive: false });
    stage.addEventListener("pointerdown", function (ev) {
      if (ev.button !== 0) return;
      drag = { y: ev.clientY, x: ev.clientX, w0: self.w0, w1: self.w1, xoff: self.xoff, moved: false };
      stage.setPointerCapture(ev.pointerId);
    });
    stage.addEventListener("pointermove", function (ev) {
      if (drag) {
        var dy = ev.clientY - drag.y, dx = ev.clientX - drag.x;
        if (Math.abs(dy) + Math.abs(dx) > 3) { drag.moved = true; stage.classList.add("dragging"); self.hideTip(); }
        if (drag.moved) {
          var dt = -dy * (drag.w1 - drag.w0) / (self.height - TOP);
          if (Math.abs(dx) > 2 && self.contentW > self.width) self.placeLanes(drag.xoff - dx);
          self.setWindow(drag.w0 + dt, drag.w1 + dt);
        }
        return;
      }
      self.hover(ev);
    });
    stage.addEventListener("pointerup", function (ev) {
      var d = drag;
      drag = null;
      stage.classList.remove("dragging");
      if (d && !d.moved) {
        var hit = self.hitAt(ev);
        self.select(hit ? hit.item : null);
      }
    });
    stage.addEventListener("pointerleave", function () { self.hideTip(); });
    window.addEventListener("resize", function () { self.layout(); self.render(); });
  };

  Viewer.prototype.hitAt = function (ev) {
    var r = this.svg.getBoundingClientRect(), px = ev.clientX - r.left, py = ev.clientY - r.top;
    var best = null, bestD = 7;
    for (var i = 0; i < this.hits.length; i++) {
      var hh = this.hits[i], d;
      var dx = hh.x2 - hh.x1, dy = hh.y2 - hh.y1, L = dx * dx + dy * dy;
      var u = L ? Math.max(0, Math.min(1, ((px - hh.x1) * dx + (py - hh.y1) * dy) / L)) : 0;
      var cx = hh.x1 + u * dx - px, cy = hh.y1 + u * dy - py;
      d = Math.sqrt(cx * cx + cy * cy) - (hh.ev ? 3 : 0);
      if (d < bestD) { bestD = d; best = hh; }
    }
    return best;
  };

  Viewer.prototype.hover = function (ev) {
    var hit = this.hitAt(ev);
    if (!hit) { this.hideTip(); return; }
    this.tip.textContent = this.describe(hit.item);
    this.tip.style.display = "block";
    var tx = ev.clientX + 14, ty = ev.clientY + 12;
    var w = this.tip.offsetWidth, hgt = this.tip.offsetHeight;
    if (tx + w > window.innerWidth - 4) tx = ev.clientX - w - 10;
    if (ty + hgt > window.innerHeight - 4) ty = ev.clientY - hgt - 10;
    this.tip.style.left = tx + "px";
    this.tip.style.top = ty + "px";
  };
  Viewer.prototype.hideTip = function () { this.tip.style.display = "none"; };

  Viewer.prototype.describe = function (it) {
    var L = [];
    if (it.el && it.el.classList.contains("m")) {
      var m = it;
      L.push(m.type + "  " + m.src + " \u2192 " + m.dst + (m.copy_of !== undefined ? "  (duplicate of message " + m.copy_of + ")" : ""));
      Object.keys(m.msg || {}).forEach(function (k) { if (k !== "type") L.push("  " + k + ": " + fmtVal(m.msg[k])); });
      L.push("sent:      " + fmtT(m.ts) + " ms (seq " + m.sseq + ")");
      if (m.fate === "delivered") {
        L.push("delivered: " + fmtT(m.te) + " ms (seq " + m.eseq + ")");
        L.push("latency:   " + fmtT(m.te - m.ts) + " ms" + (m.skew ? " (clocks differ between machines)" : ""));
      } else if (m.fate === "lost") {
        L.push("lost:      " + fmtT(m.te) + " ms, " + (m.reason || "?") + " (seq " + m.eseq + ")");
      } else L.push("in flight at the end of the trace");
      L.push("id:        " + m.id);
      if (m.cause !== undefined && m.cause !== null) L.push("caused by: message " + m.cause + (this.byId[m.cause] ? " (" + this.byId[m.cause].type + ")" : ""));
      var n = (m.effects || []).length + (m.caused || []).length;
      if (n) L.push("caused:    " + (m.effects || []).length + " message(s), " + (m.caused || []).length + " event(s)");
      return L.join("\n");
    }
    var e = it;
    L.push(e.kind + (e.node !== null ? " at " + e.node : "") + "  t=" + fmtT(e.t) + " ms" + (e.traw !== undefined ? " (raw " + e.traw + ")" : "") +
      "  seq " + e.seq);
    Object.keys(e.fields || {}).forEach(function (k) {
      if (k !== "node") L.push("  " + k + ": " + fmtVal(e.fields[k]));
    });
    if (this.chosenSeqs[e.seq]) L.push("this vote completed a quorum: " + fmtVal(this.chosenSeqs[e.seq].value) + " chosen");
    if (e.cause !== undefined) L.push("caused by: message " + e.cause + (this.byId[e.cause] ? " (" + this.byId[e.cause].type + ")" : ""));
    return L.join("\n");
  };

  Viewer.prototype.clearHighlight = function () {
    var hl = this.svg.querySelectorAll(".hl, .sel, .cause, .effect");
    for (var i = 0; i < hl.length; i++) hl[i].classList.remove("hl", "sel", "cause", "effect");
    this.svg.classList.remove("dim");
    if (this.dense) this.render();
  };

  Viewer.prototype.select = function (item) {
    var self = this;
    this.clearHighlight();
    this.selected = item;
    this.details.textContent = "";
    if (!item) {
      this.details.textContent = "Nothing selected.";
      return;
    }
    function mark(it, cls) { if (it && it.el) it.el.classList.add("hl", cls); }
    this.svg.classList.add("dim");
    mark(item, "sel");
    var isMsg = item.el.classList.contains("m");
    var causeId = item.cause;
    var cause = causeId !== undefined && causeId !== null ? this.byId[causeId] : null;
    mark(cause, "cause");
    var effects = isMsg ? (item.effects || []).map(function (k) { return self.byId[k]; }).filter(Boolean) : [];
    var evs = isMsg ? (item.caused || []).map(function (q) { return self.bySeq[q]; }).filter(Boolean) : [];
    effects.forEach(function (m) { mark(m, "effect"); });
    evs.forEach(function (e) { mark(e, "effect"); });
    if (this.dense) this.render();
    h("div", { "class": "dtitle" }, this.details, this.describe(item).split("\n")[0]);
    h("div", { "class": "mono" }, this.details, this.describe(item).split("\n").slice(1).join("\n"));
    var rel = h("div", null, this.details);
    if (cause) {
      rel.appendChild(document.createTextNode("caused by: "));
      this.itemLink(rel, cause);
      rel.appendChild(document.createTextNode("  "));
    } else if (isMsg) {
      rel.appendChild(document.createTextNode("caused by: no delivery in the same step (a timer, a proposal, a restart or a slow disk)  "));
    }
    if (isMsg) {
      rel.appendChild(document.createTextNode("caused: "));
      if (!effects.length && !evs.length) rel.appendChild(document.createTextNode("nothing"));
      effects.concat(evs).forEach(function (it, i) {
        if (i) rel.appendChild(document.createTextNode(", "));
        self.itemLink(rel, it);
      });
    }
  };

  Viewer.prototype.itemLink = function (parent, it) {
    var self = this, isMsg = it.el.classList.contains("m");
    var text = isMsg ? it.type + " " + it.src + "\u2192" + it.dst + " (id " + it.id + ")" : it.kind + " " + (it.node || "") + " (seq " + it.seq + ")";
    var a = h("a", { "class": "seq", href: "#", "data-target": isMsg ? "m" + it.id : "e" + it.seq }, parent, text);
    a.addEventListener("click", function (ev) { ev.preventDefault(); self.reveal(it); self.select(it); });
  };

  Viewer.prototype.reveal = function (it) {
    // make it visible (undo filters that hide it) and move the window to it
    var isMsg = it.el.classList.contains("m"), self = this, relayout = false;
    var nodes = isMsg ? [it.src, it.dst] : [it.node];
    nodes.forEach(function (n) {
      if (n !== null && self.hiddenNodes[n]) { delete self.hiddenNodes[n]; self.nodeBoxes[n].checked = true; relayout = true; }
    });
    var box = null;
    if (isMsg && this.hiddenTypes[it.type]) { delete this.hiddenTypes[it.type]; box = ["type", it.type]; }
    if (!isMsg && this.hiddenKinds[it.kind]) { delete this.hiddenKinds[it.kind]; box = ["kind", it.kind]; }
    if (isMsg && it.fate === "lost" && !this.showLost) { this.showLost = true; box = ["lost", "lost"]; }
    if (isMsg && it.local && !this.showLocal) { this.showLocal = true; box = ["local", "to itself"]; }
    if (box) {
      var inp = this.root.querySelector('input[data-filter="' + box[0] + '"][data-name="' + CSS.escape(box[1]) + '"]');
      if (inp) inp.checked = true;
    }
    if (it.off && this.query.length && !this.matches(it, isMsg)) { this.searchBox.value = ""; this.query = []; }
    if (relayout) this.layout();
    this.applyFilters();
    var t0 = isMsg ? it.ts : it.t, t1 = isMsg && num(it.te) ? it.te : t0, mid = (t0 + t1) / 2;
    // a window around it holding about NEAR messages, so that its neighbours are readable
    var dist = [];
    this.M.messages.forEach(function (m) { if (!m.off) dist.push(Math.abs(m.ts - mid)); });
    dist.sort(function (a, b) { return a - b; });
    var near = dist.length ? dist[Math.min(dist.length - 1, NEAR)] : 0;
    var len = Math.max(2.4 * near, (t1 - t0) * 1.6, (this.tlast - this.tmin) / 2000, 1e-3);
    this.setWindow(mid - len / 2, mid + len / 2, "now");
    var xs = isMsg ? Math.min(this.x[it.src], this.x[it.dst]) : this.x[it.node];
    if (num(xs) && (xs < LEFT || xs > this.width - 40)) this.panX(this.xoff + xs - LEFT - this.width / 3);
  };

  Viewer.prototype.focusSeq = function (seq, scroll) {
    var it = this.bySeq[seq];
    var prev = this.svg.querySelectorAll(".target");
    for (var i = 0; i < prev.length; i++) prev[i].classList.remove("target");
    if (!it) {
      this.details.textContent = "seq " + seq + " is not an event this page draws (it may be a header, end or fault record).";
      return null;
    }
    this.reveal(it);
    this.select(it);
    it.el.classList.add("target");
    if (scroll) this.stage.scrollIntoView({ block: "nearest" });
    return it;
  };

  /* ---- the page ---------------------------------------------------- */
  function page() {
    var DATA = JSON.parse(document.getElementById("paxsim-data").textContent);
    var main = document.querySelector("main");
    var viewers = [];
    if (DATA.mode === "diff") {
      var rep = h("div", { "class": "report mono " + (DATA.diff.identical ? "same" : "differ"), id: "diff-report" }, main);
      DATA.diff.lines.forEach(function (ln) { h("div", null, rep, ln); });
    }
    var runs = h("div", { "class": "runs" }, main);
    var sync = function (src, w0, w1) {
      viewers.forEach(function (v) { if (v !== src) v.setWindow(w0, w1, true); });
    };
    DATA.runs.forEach(function (model, i) {
      var sec = h("section", { id: "run" + i }, runs);
      var label = DATA.mode === "diff" ? (i ? "B" : "A") : "";
      viewers.push(new Viewer(sec, model, i, { label: label, compact: DATA.mode === "diff", onWindow: DATA.mode === "diff" ? sync : null }));
    });
    if (DATA.mode === "diff" && DATA.diff.at) {
      var at = DATA.diff.at;
      viewers.forEach(function (v, i) {
        var side = at.sides[i];
        if (side && num(side.t)) v.marks.push({ t: side.t - v.M.t0, label: "diverges here (line " + at.line + ")" });
      });
      // the report's per-side seq links
      var links = document.querySelectorAll("#diff-report div");
      for (var k = 0; k < links.length; k++) {
        var m = /^\s+([AB])\b/.exec(links[k].textContent);
        if (m) {
          var v = viewers[m[1] === "A" ? 0 : 1], text = links[k].textContent;
          links[k].textContent = "";
          v.linkify(links[k], text);
        }
      }
      // open at the earlier side's divergence, on that side's own axis and by that side's
      // extent (a run that had already ended there has no time, and its window stops short)
      var best = null;
      at.sides.forEach(function (sd, i) {
        if (!sd || !num(sd.t)) return;
        var t = sd.t - viewers[i].M.t0;
        if (best === null || t < best.t) best = { t: t, v: viewers[i] };
      });
      if (best) {
        var v0 = best.v, len = Math.max((v0.tlast - v0.tmin) * 0.25, 1);
        v0.setWindow(best.t - len * 0.3, best.t + len * 0.7);
      }
      viewers.forEach(function (v, i) {
        var side = at.sides[i], it = side && side.seq !== null && side.seq !== undefined ? v.bySeq[side.seq] : null;
        if (it) it.el.classList.add("hl", "target");
      });
    }
    if (viewers.length > 1) {  // the diagrams side by side start at the same height, so times line up
      var align = function () {
        viewers.forEach(function (v) { v.top.style.minHeight = ""; });
        var hmax = Math.max.apply(null, viewers.map(function (v) { return v.top.offsetHeight; }));
        viewers.forEach(function (v) { v.top.style.minHeight = hmax + "px"; });
      };
      align();
      window.addEventListener("resize", align);
    }
    var hm = /seq=(\d+)/.exec(location.hash || "");
    if (hm) viewers[0].focusSeq(Number(hm[1]), false);
    window.addEventListener("hashchange", function () {  // #seq=N typed into an open page
      var m = /seq=(\d+)/.exec(location.hash || "");
      if (m) viewers[0].focusSeq(Number(m[1]), true);
    });
    window.paxsimViewers = viewers;
    document.documentElement.setAttribute("data-ready", "1");
  }

  try {
    page();
  } catch (err) {
    var box = document.createElement("pre");
    box.id = "paxsim-error";
    box.textContent = "paxsim view: the page failed to draw this trace: " + (err && err.stack || err);
    document.body.insertBefore(box, document.body.firstChild);
    throw err;
  }
})();
