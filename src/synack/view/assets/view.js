// synack view: the page's script. Reads the JSON in #synack-data, draws the
// ladder (HTML rows over an SVG strip, only the rows in sight) and four canvas
// graphs sharing one time range. Hovering or selecting a segment anywhere
// highlights it everywhere. No network, no libraries.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("synack-data").textContent);
  var S = D.seg, N = S.d.length, ROW = 18, TWO32 = 4294967296;
  var col = function (k, fill) { return S[k] || new Array(N).fill(fill); };
  var TV = col("tv", -1), TE = col("te", -1), CA = col("c", 0), FA = col("f", 0), MA = col("m", 0), UR = col("u", 0);

  // ------------------------------------------------------------ segments
  var ts = new Float64Array(N), ta = new Float64Array(N);
  (function () { var acc = 0; for (var i = 0; i < N; i++) { acc += S.ts[i]; ts[i] = acc; ta[i] = S.ta[i] < 0 ? NaN : acc + S.ta[i]; } })();
  // [bit, name] pairs, lowest bit first, from synack.wire.tcp.flag_names.
  var FLAGBITS = D.flagNames;
  function flagText(f) {
    var names = [];
    for (var k = 0; k < FLAGBITS.length; k++) if (f & FLAGBITS[k][0]) names.push(FLAGBITS[k][1]);
    return names.length ? "[" + names.join(", ") + "]" : "[<None>]";
  }
  var rtxList = [];
  for (var i0 = 0; i0 < N; i0++) if (CA[i0] !== 0) rtxList.push(i0);
  var E = D.ends;
  var st = { t0: 0, t1: 1, sel: -1, hover: -1, rel: false, verbose: false, dir: D.dataDir, cursor: NaN };
  var T0 = Infinity, T1 = -Infinity;
  for (var j = 0; j < N; j++) { T0 = Math.min(T0, ts[j]); T1 = Math.max(T1, ts[j], isNaN(ta[j]) ? -Infinity : ta[j]); }
  E.forEach(function (e) { e.states.forEach(function (s) { T0 = Math.min(T0, s[0]); T1 = Math.max(T1, s[0]); }); });
  if (!isFinite(T0)) { T0 = 0; T1 = 1; }
  if (T1 <= T0) T1 = T0 + 1000;
  // The range to start with (and "Reset zoom"): where the segments are. A long
  // quiet tail (TIME-WAIT's 2 MSL) is left out until one zooms out.
  var TS1 = T0;
  for (var j2 = 0; j2 < N; j2++) TS1 = Math.max(TS1, ts[j2], isNaN(ta[j2]) ? -Infinity : ta[j2]);
  var HOME = [T0, TS1 > T0 && T1 - TS1 > (TS1 - T0) ? TS1 + (TS1 - T0) * 0.05 : T1];
  st.t0 = HOME[0]; st.t1 = HOME[1];

  function mod32(x) { return ((x % TWO32) + TWO32) % TWO32; }
  function seqOf(i) { return st.rel ? mod32(S.rs[i]) : mod32(E[S.d[i]].isn + S.rs[i]); }
  function ackOf(i) { return st.rel ? mod32(S.ra[i]) : mod32(E[1 - S.d[i]].isn + S.ra[i]); }
  function optsOf(i) {
    var o = D.opts[S.o[i]];
    if (!o) return "";
    o = o.replace("\u0001", "TS val " + TV[i] + " ecr " + TE[i]);
    var sk = D.sack[i];
    if (sk) {
      var parts = [], base = st.rel ? 0 : E[1 - S.d[i]].isn;
      for (var k = 0; k < sk.length; k += 2) parts.push("{" + mod32(base + sk[k]) + ":" + mod32(base + sk[k + 1]) + "}");
      o = o.replace("\u0002", "sack " + (sk.length / 2) + " " + parts.join(""));
    }
    return o;
  }
  // The seed's line: "Client (192.168.1.100) -> Server (10.0.0.5:80)   [SYN] Seq=1000".
  function segText(i) {
    var f = S.fl[i], d = S.d[i];
    var parts = [flagText(f), "Seq=" + seqOf(i)];
    if (f & 0x10) parts.push("Ack=" + ackOf(i));
    if (st.verbose) parts.push("Win=" + S.w[i]);
    if (f & 0x20) parts.push("Urg=" + UR[i]);
    if (S.n[i]) parts.push("Len=" + S.n[i]);
    if (st.verbose) { var o = optsOf(i); if (o) parts.push("<" + o + ">"); }
    return E[d].label + " -> " + E[1 - d].label + "   " + parts.join(" ");
  }
  function marksOf(i) {
    var m = [];
    if (CA[i]) m.push("(retransmission: " + D.texts[CA[i]] + ")");
    if (MA[i]) m.push("~ " + D.texts[MA[i]]);
    return m.join("  ");
  }
  function fmtT(us) {
    var neg = us < 0; us = Math.abs(Math.round(us));
    var s = Math.floor(us / 1e6), r = String(us % 1e6);
    return (neg ? "-" : "") + s + "." + "000000".slice(r.length) + r;
  }
  function fmtNum(v) { return Math.abs(v) >= 1e4 ? Math.round(v).toLocaleString("en") : String(Math.round(v * 100) / 100); }
  function fmtDur(us) { return us < 1e3 ? us.toFixed(0) + " us" : us < 1e6 ? (us / 1e3).toFixed(2) + " ms" : (us / 1e6).toFixed(3) + " s"; }

  // ------------------------------------------------------------ ladder rows
  // Every segment (at its send time) and every state change and event, in time
  // order; at equal times a state change comes before the segments it allows.
  var rows = [];
  E.forEach(function (e, k) { e.states.forEach(function (s, n) { rows.push({ t: s[0], kind: 1, end: k, n: n, pri: 0 }); }); });
  (D.events || []).forEach(function (ev, n) { rows.push({ t: ev[0], kind: 2, end: ev[1], n: n, pri: 1 }); });
  for (var r = 0; r < N; r++) rows.push({ t: ts[r], kind: 0, i: r, pri: 2 });
  rows.sort(function (a, b) { return a.t - b.t || a.pri - b.pri || (a.i || a.n || 0) - (b.i || b.n || 0); });
  var rowOfSeg = new Int32Array(N);
  var rowT = new Float64Array(rows.length);
  rows.forEach(function (row, k) { rowT[k] = row.t; if (row.kind === 0) rowOfSeg[row.i] = k; });
  function firstRowAt(t) { var lo = 0, hi = rows.length; while (lo < hi) { var m = (lo + hi) >> 1; if (rowT[m] < t) lo = m + 1; else hi = m; } return lo; }
  function stateAt(end, t) {
    var e = E[end], s = e.first;
    for (var k = 0; k < e.states.length && e.states[k][0] <= t; k++) s = e.states[k][1];
    return s;
  }
  var STATE_COLORS = { "CLOSED": "#d0d7de", "LISTEN": "#c8e1ff", "SYN-SENT": "#ffdf5d", "SYN-RECEIVED": "#ffdf5d", "ESTABLISHED": "#85e89d",
    "FIN-WAIT-1": "#f9c513", "FIN-WAIT-2": "#f9c513", "CLOSE-WAIT": "#fb8532", "CLOSING": "#fb8532", "LAST-ACK": "#fb8532", "TIME-WAIT": "#b392f0" };

  var ladder = document.getElementById("ladder"), inner = document.getElementById("ladder-inner");
  var rowsDiv = document.getElementById("ladder-rows"), svg = document.getElementById("ladder-svg");
  var XA = 40, XB = 196;  // the two timelines inside the 236 px strip
  var r0 = 0, r1 = rows.length;  // the rows of the current time range
  function esc(s) { return String(s).replace(/[&<>"]/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]; }); }

  function rowHtml(k, top) {
    var row = rows[k], cls = "row", body;
    if (row.kind === 0) {
      var i = row.i;
      cls += " seg" + (i === st.sel ? " sel" : "") + (i === st.hover ? " hl" : "");
      var m = marksOf(i), f = FA[i] ? D.texts[FA[i]] : "";
      body = '<span class="line">' + esc(segText(i)) + "</span>" + (m ? '<span class="mark">   ' + esc(m) + "</span>" : "") +
        (f ? '<span class="fate">   x ' + esc(f) + "</span>" : "");
      return '<div class="' + cls + '" role="listitem" data-seg="' + i + '" style="top:' + top + 'px"><span class="t">' + fmtT(row.t) + '</span><span class="g"></span>' + body + "</div>";
    }
    if (row.kind === 1) {
      var e = E[row.end], s = e.states[row.n], old = row.n ? e.states[row.n - 1][1] : e.first;
      body = '<span class="line">' + esc((e.name || e.endpoint).toLowerCase() + ": " + old + " -> " + s[1]) + (s[2] ? "  (" + esc(s[2]) + ")" : "") + "</span>";
      return '<div class="row state" role="listitem" style="top:' + top + 'px"><span class="t">' + fmtT(row.t) + '</span><span class="g"></span>' + body + "</div>";
    }
    var ev = D.events[row.n];
    return '<div class="row event" role="listitem" style="top:' + top + 'px"><span class="t">' + fmtT(row.t) + '</span><span class="g"></span><span class="line">' + esc(ev[2]) + "</span></div>";
  }

  function drawLadder() {
    var count = r1 - r0;
    inner.style.height = Math.max(count * ROW, 20) + "px";
    var first = Math.max(0, Math.floor(ladder.scrollTop / ROW) - 10);
    var last = Math.min(count, first + Math.ceil(ladder.clientHeight / ROW) + 20);
    var html = [];
    for (var k = first; k < last; k++) html.push(rowHtml(r0 + k, k * ROW));
    rowsDiv.innerHTML = html.join("");
    // The SVG strip: timelines coloured by state, arrows from send to arrival.
    var y0 = first * ROW, y1 = last * ROW, g = [];
    svg.setAttribute("height", String(Math.max(count * ROW, 20)));
    [XA, XB].forEach(function (x, end) {
      var kStart = first, cur = stateAt(end, first < count ? rows[r0 + first].t - 0.5 : T1);
      for (var k = first; k <= last; k++) {
        var row = k < last ? rows[r0 + k] : null;
        var changes = row && row.kind === 1 && row.end === end;
        if (k === last || changes) {
          var ya = kStart * ROW, yb = k * ROW;
          if (yb > ya) g.push('<rect x="' + (x - 4) + '" y="' + ya + '" width="8" height="' + (yb - ya) + '" fill="' + (STATE_COLORS[cur] || "#eee") + '"><title>' + esc(cur) + "</title></rect>");
          if (changes) {
            cur = E[end].states[row.n][1];
            g.push('<text x="' + (end ? x - 8 : x + 8) + '" y="' + (yb + 13) + '" font-size="10" text-anchor="' + (end ? "end" : "start") + '" fill="#57606a">' + esc(cur) + "</text>");
          }
          kStart = k;
        }
      }
      g.push('<line x1="' + x + '" y1="' + y0 + '" x2="' + x + '" y2="' + y1 + '" stroke="#57606a" stroke-width="1"/>');
    });
    for (var k2 = first; k2 < last; k2++) {
      var row2 = rows[r0 + k2];
      if (row2.kind !== 0) continue;
      var i = row2.i, d = S.d[i], xs = d ? XB : XA, xe = d ? XA : XB, ys = k2 * ROW + ROW / 2, ye = ys;
      if (!isNaN(ta[i])) ye = (firstRowAt(ta[i]) - r0) * ROW + 2;
      var lost = !!FA[i], color = lost ? "#24292f" : CA[i] ? "#cf222e" : (S.fl[i] & 0x07) ? "#8250df" : S.n[i] ? "#0969da" : "#1a7f37";
      var w = (i === st.sel || i === st.hover) ? 3 : 1.3;
      if (lost) {
        var xm = xs + (xe - xs) * 0.6, ym = ys + (ye - ys) * 0.6;
        g.push('<line x1="' + xs + '" y1="' + ys + '" x2="' + xm + '" y2="' + ym + '" stroke="' + color + '" stroke-width="' + w + '" stroke-dasharray="3 2"/>');
        g.push('<path d="M' + (xm - 5) + " " + (ym - 5) + "L" + (xm + 5) + " " + (ym + 5) + "M" + (xm - 5) + " " + (ym + 5) + "L" + (xm + 5) + " " + (ym - 5) + '" stroke="#cf222e" stroke-width="2"/>');
      } else {
        var ang = Math.atan2(ye - ys, xe - xs), ax = xe - 7 * Math.cos(ang - 0.4), ay = ye - 7 * Math.sin(ang - 0.4), bx = xe - 7 * Math.cos(ang + 0.4), by = ye - 7 * Math.sin(ang + 0.4);
        g.push('<line x1="' + xs + '" y1="' + ys + '" x2="' + xe + '" y2="' + ye + '" stroke="' + color + '" stroke-width="' + w + '"/>');
        g.push('<path d="M' + xe + " " + ye + "L" + ax + " " + ay + "L" + bx + " " + by + 'Z" fill="' + color + '"/>');
      }
    }
    svg.innerHTML = g.join("");
    document.getElementById("ladder-info").textContent = (r1 - r0).toLocaleString("en") + " of " + rows.length.toLocaleString("en") +
      " rows in the time range (" + N.toLocaleString("en") + " segments in all); scroll for more, zoom a graph to narrow the range.";
  }
  ladder.addEventListener("scroll", function () { drawLadder(); });
  // A short connection gets a short box (the graphs then show without scrolling).
  ladder.style.height = Math.min(380, Math.max(rows.length, 4) * ROW + 6) + "px";

  // ------------------------------------------------------------ graphs
  function seriesOf(end, name) { var l = D.series[String(end)] || []; for (var k = 0; k < l.length; k++) if (l[k].name === name) return l[k]; return null; }
  var PAD = { l: 64, r: 12, t: 8, b: 26 };
  function Graph(id, legendId, yunit, layers) {
    this.c = document.getElementById(id); this.legend = document.getElementById(legendId);
    this.yunit = yunit; this.layers = layers; this.pts = [];
  }
  Graph.prototype.size = function () {
    var dpr = window.devicePixelRatio || 1, w = this.c.clientWidth, h = this.c.clientHeight;
    if (this.c.width !== Math.round(w * dpr)) { this.c.width = Math.round(w * dpr); this.c.height = Math.round(h * dpr); }
    this.w = w; this.h = h; this.dpr = dpr;
  };
  Graph.prototype.x = function (t) { return PAD.l + (t - st.t0) / (st.t1 - st.t0) * (this.w - PAD.l - PAD.r); };
  Graph.prototype.tAt = function (x) { return st.t0 + (x - PAD.l) / (this.w - PAD.l - PAD.r) * (st.t1 - st.t0); };
  Graph.prototype.y = function (v) {
    if (this.log) v = Math.log10(Math.max(v, 1));
    return this.h - PAD.b - (v - this.ymin) / (this.ymax - this.ymin) * (this.h - PAD.t - PAD.b);
  };
  function logTicks(a, b) {  // 1, 2, 5 times the powers of ten between 10^a and 10^b
    var out = [];
    for (var k = Math.floor(a); k <= Math.ceil(b); k++) [1, 2, 5].forEach(function (m) { var v = m * Math.pow(10, k), l = Math.log10(v); if (l >= a && l <= b) out.push(v); });
    return out;
  }
  function niceTicks(a, b, n) {
    var span = b - a; if (!(span > 0)) return [a];
    var step = Math.pow(10, Math.floor(Math.log10(span / n))), err = span / n / step;
    step *= err >= 7.5 ? 10 : err >= 3.5 ? 5 : err >= 1.5 ? 2 : 1;
    var out = []; for (var v = Math.ceil(a / step) * step; v <= b + 1e-9; v += step) out.push(v);
    return out;
  }
  function fmtAxis(v, unit) {
    if (unit === "us") return v >= 1e6 ? (v / 1e6).toFixed(2) + " s" : (v / 1e3).toFixed(v < 1e4 ? 1 : 0) + " ms";
    var a = Math.abs(v);
    var s = a >= 1e9 ? (v / 1e9).toFixed(1) + "G" : a >= 1e6 ? (v / 1e6).toFixed(a >= 1e7 ? 0 : 1) + "M" : a >= 1e3 ? (v / 1e3).toFixed(a >= 1e4 ? 0 : 1) + "k" : String(Math.round(v * 10) / 10);
    return unit === "bytes/s" ? s + "B/s" : s;
  }
  Graph.prototype.draw = function () {
    this.size();
    var ctx = this.c.getContext("2d"), self = this;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.clearRect(0, 0, this.w, this.h);
    // y range from what is in sight
    var lo = Infinity, hi = -Infinity;
    this.layers.forEach(function (L) { if (L.on === false) return; var r = L.range(); if (r) { lo = Math.min(lo, r[0]); hi = Math.max(hi, r[1]); } });
    if (!isFinite(lo)) { lo = 0; hi = 1; }
    if (this.log) {  // a log scale: a 20 ms RTT and a 1 s RTO both stay readable
      lo = Math.log10(Math.max(lo, 1)); hi = Math.log10(Math.max(hi, 1));
      this.ymin = lo - 0.1; this.ymax = Math.max(hi, lo + 0.5) + 0.1;
    } else {
      if (this.zero) lo = Math.min(lo, 0);
      if (hi <= lo) hi = lo + 1;
      var padv = (hi - lo) * 0.05; this.ymin = lo - (this.zero && lo === 0 ? 0 : padv); this.ymax = hi + padv;
    }
    ctx.font = "11px system-ui, sans-serif"; ctx.fillStyle = "#57606a"; ctx.strokeStyle = "#eaeef2"; ctx.lineWidth = 1;
    (this.log ? logTicks(this.ymin, this.ymax) : niceTicks(this.ymin, this.ymax, 5)).forEach(function (v) {
      var y = Math.round(self.y(v)) + 0.5; ctx.beginPath(); ctx.moveTo(PAD.l, y); ctx.lineTo(self.w - PAD.r, y); ctx.stroke();
      ctx.textAlign = "right"; ctx.fillText(fmtAxis(v, self.yunit), PAD.l - 4, y + 4);
    });
    niceTicks(st.t0, st.t1, 6).forEach(function (t) {
      var x = Math.round(self.x(t)) + 0.5; ctx.beginPath(); ctx.moveTo(x, PAD.t); ctx.lineTo(x, self.h - PAD.b); ctx.stroke();
      ctx.textAlign = "center"; ctx.fillText(fmtAxis(t, "us"), x, self.h - 8);
    });
    ctx.save(); ctx.beginPath(); ctx.rect(PAD.l, PAD.t, this.w - PAD.l - PAD.r, this.h - PAD.t - PAD.b); ctx.clip();
    this.pts = [];
    this.layers.forEach(function (L) { if (L.on !== false) L.draw(ctx, self); });
    if (!isNaN(st.cursor)) { var cx = this.x(st.cursor); ctx.strokeStyle = "#57606a88"; ctx.setLineDash([3, 3]); ctx.beginPath(); ctx.moveTo(cx, PAD.t); ctx.lineTo(cx, this.h - PAD.b); ctx.stroke(); ctx.setLineDash([]); }
    ctx.restore();
    ctx.strokeStyle = "#8c959f"; ctx.strokeRect(PAD.l + 0.5, PAD.t + 0.5, this.w - PAD.l - PAD.r, this.h - PAD.t - PAD.b);
    if (this.empty && !this.layers.some(function (L) { return L.on !== false && L.range(); })) {
      ctx.fillStyle = "#57606a"; ctx.textAlign = "center"; ctx.font = "13px system-ui, sans-serif";
      ctx.fillText(this.empty, this.w / 2, this.h / 2);
    }
    if (this.drag) { ctx.fillStyle = "#0969da22"; var xa = Math.min(this.drag[0], this.drag[1]), xb = Math.max(this.drag[0], this.drag[1]); ctx.fillRect(xa, PAD.t, xb - xa, this.h - PAD.t - PAD.b); }
  };
  Graph.prototype.setLegend = function () {
    var self = this;
    this.legend.innerHTML = "";
    this.layers.forEach(function (L) {
      if (!L.name || !L.present()) return;
      var lab = document.createElement("label");
      lab.innerHTML = '<input type="checkbox"' + (L.on === false ? "" : " checked") + '> <i style="background:' + L.color + '"></i>' + esc(L.name);
      lab.firstChild.addEventListener("change", function (ev) { L.on = ev.target.checked; self.draw(); });
      self.legend.appendChild(lab);
    });
    var alt = this.layers.filter(function (L) { return L.present(); }).map(function (L) { return L.name; }).join(", ");
    this.c.setAttribute("aria-label", this.c.parentNode.querySelector("h2").textContent + ": " + (alt || "no data") + ". Drag to zoom, double-click to reset.");
  };

  // visible index range of a sorted time array
  function lower(arr, t) { var lo = 0, hi = arr.length; while (lo < hi) { var m = (lo + hi) >> 1; if (arr[m] < t) lo = m + 1; else hi = m; } return lo; }
  function seriesLayer(end, name, color, opt) {
    opt = opt || {};
    return {
      name: opt.label || name, color: color, on: opt.on,
      s: function () { return seriesOf(typeof end === "function" ? end() : end, name); },
      present: function () { var s = this.s(); return !!(s && s.t.length); },
      range: function () {
        var s = this.s(); if (!s || !s.t.length) return null;
        var a = Math.max(0, lower(s.t, st.t0) - 1), b = Math.min(s.t.length, lower(s.t, st.t1) + 1), lo = Infinity, hi = -Infinity;
        for (var k = a; k < b; k++) { var v = s.v[k]; if (v === null) continue; if (v < lo) lo = v; if (v > hi) hi = v; }
        return isFinite(lo) ? [lo, hi] : null;
      },
      draw: function (ctx, g) {
        var s = this.s(); if (!s || !s.t.length) return;
        var a = Math.max(0, lower(s.t, st.t0) - 1), b = Math.min(s.t.length, lower(s.t, st.t1) + 1);
        ctx.strokeStyle = color; ctx.fillStyle = color; ctx.lineWidth = 1.4;
        if (opt.dash) ctx.setLineDash(opt.dash);
        if (!s.step && opt.points) {
          for (var k = a; k < b; k++) { if (s.v[k] === null) continue; ctx.fillRect(g.x(s.t[k]) - 1.5, g.y(s.v[k]) - 1.5, 3, 3); }
        } else {
          ctx.beginPath(); var started = false, py = 0;
          for (var k2 = a; k2 < b; k2++) {
            var v = s.v[k2]; if (v === null) { started = false; continue; }
            var x = g.x(s.t[k2]), y = g.y(v);
            if (!started) { ctx.moveTo(x, y); started = true; } else if (s.step) { ctx.lineTo(x, py); ctx.lineTo(x, y); } else ctx.lineTo(x, y);
            py = y;
          }
          if (started && s.step && s.hold && b === s.t.length) ctx.lineTo(g.x(st.t1), py);
          ctx.stroke();
        }
        ctx.setLineDash([]);
      }
    };
  }

  // The time-sequence graph of direction st.dir: data as vertical bars
  // (seq .. seq+len), retransmissions red, losses as crosses, the ACK line,
  // the receive-window line (ACK + scaled window) and SACK blocks.
  var segsOf = [[], []];
  for (var q = 0; q < N; q++) segsOf[S.d[q]].push(q);
  var segT = [new Float64Array(segsOf[0].map(function (i) { return ts[i]; })), new Float64Array(segsOf[1].map(function (i) { return ts[i]; }))];
  function ackTime(i) { return isNaN(ta[i]) ? ts[i] : ta[i]; }
  var ackIdx = [0, 1].map(function (d) {
    var l = segsOf[1 - d].filter(function (i) { return (S.fl[i] & 0x10) && !FA[i]; });
    l.sort(function (a, b) { return ackTime(a) - ackTime(b); });
    return { i: l, t: new Float64Array(l.map(ackTime)) };
  });
  function visibleData(d) { var T = segT[d]; return [Math.max(0, lower(T, st.t0) - 1), Math.min(T.length, lower(T, st.t1) + 1)]; }
  var dataLayer = {
    name: "data", color: "#0969da", present: function () { return segsOf[st.dir].length > 0; },
    range: function () {
      var v = visibleData(st.dir), L = segsOf[st.dir], lo = Infinity, hi = -Infinity;
      for (var k = v[0]; k < v[1]; k++) { var i = L[k]; lo = Math.min(lo, S.rs[i]); hi = Math.max(hi, S.rs[i] + S.n[i]); }
      var A = ackIdx[st.dir], a = lower(A.t, st.t0), b = lower(A.t, st.t1);
      for (var k2 = a; k2 < b; k2++) { var i2 = A.i[k2]; lo = Math.min(lo, S.ra[i2]); hi = Math.max(hi, S.ra[i2]); }
      return isFinite(lo) ? [lo, hi] : null;
    },
    draw: function (ctx, g) {
      var v = visibleData(st.dir), L = segsOf[st.dir], n = v[1] - v[0], width = g.w;
      if (n > width * 3) {
        // aggregate: per pixel column, the lowest and highest byte sent (new data)
        var cols = new Map();
        for (var k = v[0]; k < v[1]; k++) {
          var i = L[k]; if (!S.n[i] || CA[i] || FA[i]) continue;
          var x = Math.round(g.x(ts[i])), c = cols.get(x);
          if (!c) cols.set(x, [S.rs[i], S.rs[i] + S.n[i]]); else { if (S.rs[i] < c[0]) c[0] = S.rs[i]; if (S.rs[i] + S.n[i] > c[1]) c[1] = S.rs[i] + S.n[i]; }
        }
        ctx.strokeStyle = "#0969da"; ctx.lineWidth = 1; ctx.beginPath();
        cols.forEach(function (c, x) { ctx.moveTo(x + 0.5, g.y(c[0])); ctx.lineTo(x + 0.5, Math.min(g.y(c[1]), g.y(c[0]) - 1)); });
        ctx.stroke();
      }
      for (var k2 = v[0]; k2 < v[1]; k2++) {
        var j = L[k2], special = CA[j] || FA[j] || (S.fl[j] & 0x07);
        if (n > width * 3 && !special) continue;
        if (!S.n[j] && !(S.fl[j] & 0x07)) continue;
        var x2 = g.x(ts[j]), ya = g.y(S.rs[j]), yb = g.y(S.rs[j] + Math.max(S.n[j], 1));
        ctx.strokeStyle = FA[j] ? "#24292f" : CA[j] ? "#cf222e" : (S.fl[j] & 0x07) ? "#8250df" : "#0969da";
        ctx.lineWidth = (j === st.sel || j === st.hover) ? 3 : CA[j] ? 2 : 1.2;
        ctx.beginPath(); ctx.moveTo(x2, ya); ctx.lineTo(x2, Math.min(yb, ya - 2)); ctx.stroke();
        if (CA[j] || FA[j] || n < width) { ctx.beginPath(); ctx.moveTo(x2 - 2, ya); ctx.lineTo(x2 + 2, ya); ctx.moveTo(x2 - 2, yb); ctx.lineTo(x2 + 2, yb); ctx.stroke(); }
        if (FA[j]) { ctx.strokeStyle = "#cf222e"; ctx.lineWidth = 1.5; ctx.beginPath(); ctx.moveTo(x2 - 4, ya - 4); ctx.lineTo(x2 + 4, ya + 4); ctx.moveTo(x2 - 4, ya + 4); ctx.lineTo(x2 + 4, ya - 4); ctx.stroke(); }
        g.pts.push([x2, (ya + yb) / 2, j]);
      }
      if (st.sel >= 0 && S.d[st.sel] === st.dir) { var xs = g.x(ts[st.sel]), ys = g.y(S.rs[st.sel]); ctx.strokeStyle = "#bf8700"; ctx.lineWidth = 2; ctx.beginPath(); ctx.arc(xs, ys, 7, 0, 2 * Math.PI); ctx.stroke(); }
    }
  };
  function ackLayer(kind, color, name) {
    return {
      name: name, color: color, present: function () { return ackIdx[st.dir].i.length > 0; },
      range: function () { return null; },
      draw: function (ctx, g) {
        var A = ackIdx[st.dir], a = Math.max(0, lower(A.t, st.t0) - 1), b = Math.min(A.t.length, lower(A.t, st.t1) + 1);
        var scale = E[1 - st.dir].wscale;
        ctx.strokeStyle = color; ctx.lineWidth = 1.2; ctx.beginPath();
        var started = false, py = 0, lastx = -1, stride = (b - a) > g.w * 4 ? Math.ceil((b - a) / (g.w * 2)) : 1;
        for (var k = a; k < b; k += stride) {
          var i = A.i[k], v = kind === "ack" ? S.ra[i] : S.ra[i] + (S.w[i] * Math.pow(2, (S.fl[i] & 0x02) ? 0 : scale));
          var x = g.x(A.t[k]), y = g.y(v);
          if (!started) { ctx.moveTo(x, y); started = true; } else { ctx.lineTo(x, py); ctx.lineTo(x, y); }
          py = y; lastx = x;
          if (kind === "ack" && (b - a) < g.w) g.pts.push([x, y, i]);
        }
        if (started && lastx >= 0) ctx.lineTo(Math.max(lastx, g.x(Math.min(st.t1, T1))), py);
        ctx.stroke();
        if (kind === "ack") {  // SACK blocks: a purple bar at the ACK's time
          ctx.strokeStyle = "#8250df"; ctx.lineWidth = 2; ctx.beginPath();
          for (var k2 = a; k2 < b; k2++) {
            var sk = D.sack[A.i[k2]]; if (!sk) continue;
            var xs = g.x(A.t[k2]);
            for (var m = 0; m < sk.length; m += 2) { ctx.moveTo(xs, g.y(sk[m])); ctx.lineTo(xs, g.y(sk[m + 1])); }
          }
          ctx.stroke();
        }
      }
    };
  }
  var tseq = new Graph("tseq", "tseq-legend", "seq", [dataLayer, ackLayer("ack", "#1a7f37", "ACK"), ackLayer("win", "#9a6700", "receive window"),
    { name: "SACK blocks", color: "#8250df", present: function () { return Object.keys(D.sack).length > 0; }, range: function () { return null; }, draw: function () {} },
    { name: "retransmission", color: "#cf222e", present: function () { return rtxList.length > 0; }, range: function () { return null; }, draw: function () {} },
    { name: "lost", color: "#24292f", present: function () { return FA.some(function (x) { return x; }); }, range: function () { return null; }, draw: function () {} }]);
  tseq.yunit = "seq";
  var sender = function () { return st.dir; };
  var cwnd = new Graph("cwnd", "cwnd-legend", "bytes", [seriesLayer(sender, "cwnd", "#0969da"), seriesLayer(sender, "ssthresh", "#cf222e", { dash: [5, 3] }),
    seriesLayer(sender, "in flight", "#1a7f37"), seriesLayer(sender, "pipe", "#8250df", { on: false, label: "pipe (RFC 6675)" }), seriesLayer(sender, "peer window", "#9a6700", { on: false })]);
  cwnd.zero = true; cwnd.empty = "no congestion-control data";
  var rtt = new Graph("rtt", "rtt-legend", "us", [seriesLayer(sender, "RTT sample", "#0969da", { points: true }), seriesLayer(sender, "SRTT", "#1a7f37"), seriesLayer(sender, "RTO", "#cf222e", { dash: [5, 3] })]);
  rtt.log = true; rtt.empty = "no RTT samples";
  var rate = new Graph("rate", "rate-legend", "bytes/s", [seriesLayer(sender, "goodput", "#1a7f37"), seriesLayer(sender, "pacing rate", "#8250df")]);
  rate.zero = true; rate.empty = "no data acknowledged";
  var graphs = [tseq, cwnd, rtt, rate];
  fmtAxisSeq();
  function fmtAxisSeq() {
    var orig = fmtAxis;
    fmtAxis = function (v, unit) { if (unit === "seq") { var a = Math.abs(v); return a >= 1e6 ? (v / 1e6).toFixed(2) + "M" : a >= 1e3 ? (v / 1e3).toFixed(1) + "k" : String(Math.round(v)); } return orig(v, unit); };
  }

  // ------------------------------------------------------------ linking
  var tip = document.getElementById("tip");
  function tipText(i) {
    var lines = [fmtT(ts[i]) + "  " + segText(i)];
    if (!isNaN(ta[i])) lines.push("arrived " + fmtT(ta[i]) + " (one way " + fmtDur(ta[i] - ts[i]) + ")");
    lines.push("Win=" + S.w[i] + (E[S.d[i]].wscale && !(S.fl[i] & 2) ? " (x" + Math.pow(2, E[S.d[i]].wscale) + " = " + (S.w[i] * Math.pow(2, E[S.d[i]].wscale)).toLocaleString("en") + " bytes)" : ""));
    var o = optsOf(i); if (o) lines.push("options <" + o + ">");
    if (CA[i]) lines.push("retransmission: " + D.texts[CA[i]]);
    if (FA[i]) lines.push("x " + D.texts[FA[i]]);
    if (MA[i]) lines.push("~ " + D.texts[MA[i]]);
    lines.push("state: " + (E[0].name || E[0].endpoint) + " " + stateAt(0, ts[i]) + ", " + (E[1].name || E[1].endpoint) + " " + stateAt(1, ts[i]));
    return lines.join("\n");
  }
  function showTip(i, x, y) {
    if (i < 0) { tip.hidden = true; return; }
    tip.textContent = tipText(i); tip.hidden = false;
    var w = tip.offsetWidth, h = tip.offsetHeight;
    tip.style.left = Math.min(window.innerWidth - w - 8, x + 14) + "px";
    tip.style.top = (y + h + 20 > window.innerHeight ? y - h - 10 : y + 14) + "px";
  }
  function setHover(i) {
    if (i === st.hover) return;
    st.hover = i;
    drawLadder();
    if (i >= 0) scrollLadderTo(i, false);
    graphs.forEach(function (g) { g.draw(); });
  }
  function ensureInRange(i) {
    if (ts[i] < st.t0 || ts[i] > st.t1) { var w = st.t1 - st.t0; setRange(ts[i] - w / 2, ts[i] + w / 2, true); }
  }
  function scrollLadderTo(i, center) {
    var k = rowOfSeg[i] - r0; if (k < 0 || k >= r1 - r0) return;
    var top = k * ROW, view = ladder.clientHeight;
    if (center || top < ladder.scrollTop || top + ROW > ladder.scrollTop + view) { ladder.scrollTop = Math.max(0, top - view / 2); drawLadder(); }
  }
  function select(i) {
    st.sel = i;
    if (i >= 0) { ensureInRange(i); st.cursor = ts[i]; drawLadder(); scrollLadderTo(i, true); }
    redraw(false);
  }
  rowsDiv.addEventListener("mouseover", function (ev) { var el = ev.target.closest(".row.seg"); if (el) { setHover(+el.dataset.seg); } });
  rowsDiv.addEventListener("mouseleave", function () { setHover(-1); });
  rowsDiv.addEventListener("click", function (ev) { var el = ev.target.closest(".row.seg"); if (el) select(+el.dataset.seg); });
  ladder.addEventListener("keydown", function (ev) {
    if (ev.key !== "ArrowDown" && ev.key !== "ArrowUp") return;
    ev.preventDefault();
    var k = st.sel >= 0 ? rowOfSeg[st.sel] : r0 - 1, step = ev.key === "ArrowDown" ? 1 : -1;
    for (k += step; k >= r0 && k < r1; k += step) if (rows[k].kind === 0) { select(rows[k].i); break; }
  });

  function nearest(g, x, y) {
    var best = -1, bd = 100;
    for (var k = 0; k < g.pts.length; k++) { var p = g.pts[k], dd = (p[0] - x) * (p[0] - x) + (p[1] - y) * (p[1] - y); if (dd < bd) { bd = dd; best = p[2]; } }
    return best;
  }
  graphs.forEach(function (g) {
    var c = g.c;
    function pos(ev) { var r = c.getBoundingClientRect(); return [ev.clientX - r.left, ev.clientY - r.top]; }
    c.addEventListener("mousedown", function (ev) { var p = pos(ev); g.drag = [p[0], p[0]]; g.dragStart = p; });
    c.addEventListener("mousemove", function (ev) {
      var p = pos(ev);
      if (g.drag) { g.drag[1] = p[0]; g.draw(); return; }
      st.cursor = g.tAt(p[0]);
      var i = nearest(g, p[0], p[1]);
      setHover(i);
      if (i < 0) graphs.forEach(function (h) { h.draw(); });
      showTip(i, ev.clientX, ev.clientY);
    });
    c.addEventListener("mouseleave", function () { g.drag = null; st.cursor = st.sel >= 0 ? ts[st.sel] : NaN; setHover(-1); showTip(-1); graphs.forEach(function (h) { h.draw(); }); });
    c.addEventListener("mouseup", function (ev) {
      var p = pos(ev), d = g.drag; g.drag = null;
      if (d && Math.abs(d[1] - d[0]) > 5) { var a = g.tAt(Math.min(d[0], d[1])), b = g.tAt(Math.max(d[0], d[1])); setRange(a, b, true); return; }
      var i = nearest(g, p[0], p[1]); if (i >= 0) select(i); else g.draw();
    });
    c.addEventListener("dblclick", function () { setRange(HOME[0], HOME[1], true); });
    c.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      var t = g.tAt(pos(ev)[0]), f = ev.deltaY > 0 ? 1.25 : 0.8;
      setRange(t - (t - st.t0) * f, t + (st.t1 - t) * f, true);
    }, { passive: false });
    c.addEventListener("keydown", keys);
  });
  function keys(ev) {
    var w = st.t1 - st.t0, c = (st.t0 + st.t1) / 2;
    if (ev.key === "+" || ev.key === "=") setRange(c - w / 4, c + w / 4, true);
    else if (ev.key === "-") setRange(c - w, c + w, true);
    else if (ev.key === "0") setRange(HOME[0], HOME[1], true);
    else if (ev.key === "ArrowLeft") setRange(st.t0 - w / 4, st.t1 - w / 4, true);
    else if (ev.key === "ArrowRight") setRange(st.t0 + w / 4, st.t1 + w / 4, true);
    else if (ev.key === "n") stepRtx(1);
    else if (ev.key === "p") stepRtx(-1);
    else return;
    ev.preventDefault();
  }
  document.addEventListener("keydown", function (ev) { if (ev.target === document.body) keys(ev); });
  function stepRtx(dir) {
    if (!rtxList.length) return;
    var k = rtxList.indexOf(st.sel);
    k = k < 0 ? (dir > 0 ? 0 : rtxList.length - 1) : Math.min(rtxList.length - 1, Math.max(0, k + dir));
    select(rtxList[k]);
  }

  function setRange(a, b, keepSel) {
    var span = T1 - T0, minw = 10;
    a = Math.max(T0 - span * 0.02, a); b = Math.min(T1 + span * 0.02, b);
    if (b - a < minw) { var c = (a + b) / 2; a = c - minw / 2; b = c + minw / 2; }
    st.t0 = a; st.t1 = b;
    if (!keepSel) st.sel = -1;
    redraw(true);
  }
  function redraw(rangeChanged) {
    if (rangeChanged) {
      r0 = firstRowAt(st.t0); r1 = firstRowAt(st.t1 + 1e-6);
      if (r1 <= r0 && rows.length) { r0 = Math.min(r0, rows.length - 1); r1 = r0 + 1; }
      ladder.scrollTop = 0;
      document.getElementById("range").textContent = "time " + fmtT(st.t0) + " s .. " + fmtT(st.t1) + " s";
    }
    drawLadder();
    graphs.forEach(function (g) { g.draw(); });
  }

  // ------------------------------------------------------------ controls and summary
  document.getElementById("title").textContent = "synack view: " + D.title;
  document.getElementById("subtitle").textContent = (D.exact ? "From a synack trace: exact values from the core." : "From a capture: values reconstructed from packets (see the notes below).") +
    " " + N.toLocaleString("en") + " segments. Drag on a graph to zoom, double-click to reset; hover or click a segment anywhere to find it everywhere.";
  document.getElementById("reset").addEventListener("click", function () { setRange(HOME[0], HOME[1], true); });
  document.getElementById("zoom-out").addEventListener("click", function () { var w = st.t1 - st.t0, c = (st.t0 + st.t1) / 2; setRange(c - w, c + w, true); });
  document.getElementById("prev-rtx").addEventListener("click", function () { stepRtx(-1); });
  document.getElementById("next-rtx").addEventListener("click", function () { stepRtx(1); });
  document.getElementById("relative").addEventListener("change", function (ev) { st.rel = ev.target.checked; redraw(false); });
  document.getElementById("verbose").addEventListener("change", function (ev) { st.verbose = ev.target.checked; redraw(false); });
  var dirSel = document.getElementById("dir");
  [0, 1].forEach(function (d) { var o = document.createElement("option"); o.value = String(d); o.textContent = E[d].label + " -> " + E[1 - d].label; dirSel.appendChild(o); });
  dirSel.value = String(st.dir);
  dirSel.addEventListener("change", function () { st.dir = +dirSel.value; graphs.forEach(function (g) { g.setLegend(); }); redraw(false); });

  var notes = document.getElementById("notes");
  D.notes.forEach(function (n) { var li = document.createElement("li"); li.textContent = n; notes.appendChild(li); });
  var sum = document.getElementById("summary");
  D.summary.forEach(function (sec) {
    var t = document.createElement("table"), cap = t.createCaption(); cap.textContent = sec.title;
    if (sec.columns.some(function (c) { return c; })) { var hr = t.createTHead().insertRow(); sec.columns.forEach(function (c) { var th = document.createElement("th"); th.scope = "col"; th.textContent = c; hr.appendChild(th); }); }
    var tb = t.createTBody();
    sec.rows.forEach(function (row) { var tr = tb.insertRow(); row.forEach(function (cell, k) { var td = document.createElement(k ? "td" : "th"); if (!k) td.scope = "row"; td.textContent = cell; tr.appendChild(td); }); });
    sum.appendChild(t);
  });
  var rl = document.getElementById("rtx-list");
  if (rtxList.length) {
    var h = document.createElement("h3"); h.style.fontSize = "13px";
    h.textContent = "Retransmissions (" + rtxList.length.toLocaleString("en") + (rtxList.length > 500 ? ", the first 500 listed" : "") + "); click one to find it";
    rl.appendChild(h);
    rtxList.slice(0, 500).forEach(function (i) {
      var b = document.createElement("button"); b.type = "button"; b.className = "rtx"; b.dataset.seg = String(i);
      b.textContent = fmtT(ts[i]) + " Seq=" + seqOf(i) + " (" + D.texts[CA[i]] + ")";
      b.addEventListener("click", function () { select(i); });
      rl.appendChild(b);
    });
  }
  if (D.others && D.others.length > 1) {
    var oh = document.createElement("p"); oh.textContent = "Connections in the source (choose one with synack view --connection N):";
    var ol = document.createElement("ol"); ol.start = 0;
    D.others.forEach(function (o) { var li = document.createElement("li"); li.textContent = o; ol.appendChild(li); });
    document.getElementById("others").appendChild(oh); document.getElementById("others").appendChild(ol);
  }
  graphs.forEach(function (g) { g.setLegend(); });
  window.addEventListener("resize", function () { redraw(false); });
  redraw(true);

  // A small API for tests and for the curious (the browser console).
  window.synackView = {
    ready: true, segments: N, rows: rows.length,
    retransmissions: rtxList.slice(),
    text: function (i) { return segText(i); },
    select: select,
    range: function () { return [st.t0, st.t1]; },
    zoom: function (a, b) { setRange(a, b, true); },
    // where segment i is drawn in the time-sequence graph, in page (client) pixels
    pointInGraph: function (i) {
      if (S.d[i] !== st.dir) { st.dir = S.d[i]; dirSel.value = String(st.dir); redraw(false); }
      ensureInRange(i);
      var r = tseq.c.getBoundingClientRect(), y = (tseq.y(S.rs[i]) + tseq.y(S.rs[i] + Math.max(S.n[i], 1))) / 2;
      return { x: r.left + tseq.x(ts[i]), y: r.top + y };
    }
  };
})();
