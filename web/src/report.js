/*
 * yoloscope report renderer (web/src/report.js): draws the charts of an
 * `analyze --html` report or of serve's live page with uPlot. Inlined into
 * the page by the C++ side (src/report/report_page.cc) after uPlot itself.
 *
 * Input: the JSON in the script element #ys-data (type application/json):
 *   {mode: "report"|"live", live_url, live_interval_ms,
 *    charts: {schema: "yoloscope.charts.v1", time_axis, charts: [...], bands: [...]}}
 * and, in the page, one <div class="ys-chart" data-chart="ID"> per chart.
 * Live mode polls live_url every live_interval_ms for
 *   {summary: {...}, charts: <same schema>} and redraws.
 *
 * Behaviour: time charts share one x range (zoom one by dragging, all
 * follow; double-click zooms every chart out) and one cursor; alert bands
 * are drawn on every time chart; a click on a finding link (a.ys-jump)
 * highlights its time range on every time chart, zooms to it and scrolls to
 * the finding's chart.
 *
 * For tests, window.ysReport = {ready, errors, charts: {id: uPlot}, updates,
 * activeBand, fullRange, xRange, zoomed}. Strings from the data are only ever written with
 * textContent, never as HTML.
 */
(function () {
  'use strict';

  var state = {
    ready: false,
    errors: [],
    charts: {},
    updates: 0,
    activeBand: null,
    fullRange: null,
    zoomed: false,
    xRange: null,
  };
  window.ysReport = state;

  function recordError(message) {
    state.errors.push(String(message));
    var box = document.getElementById('ys-errors');
    if (box) {
      box.hidden = false;
      var line = document.createElement('div');
      line.textContent = String(message);
      box.appendChild(line);
    }
  }
  window.addEventListener('error', function (e) {
    recordError(e && e.message ? e.message : 'script error');
  });
  window.addEventListener('unhandledrejection', function (e) {
    recordError('unhandled rejection: ' + (e && e.reason && e.reason.message ? e.reason.message : e.reason));
  });

  var PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1',
                 '#ff9da7', '#9c755f', '#bab0ac'];
  var BAND_FILL = {
    critical: 'rgba(214, 39, 40, 0.13)',
    warning: 'rgba(255, 127, 14, 0.13)',
    info: 'rgba(31, 119, 180, 0.10)',
  };
  var ACTIVE_FILL = 'rgba(255, 200, 0, 0.30)';
  var ACTIVE_EDGE = 'rgba(200, 140, 0, 0.9)';
  var CHART_HEIGHT = 220;

  var page = readData();
  var doc = page.charts || {charts: [], bands: []};
  var syncKey = 'ys-time';

  function readData() {
    var el = document.getElementById('ys-data');
    if (!el) return {};
    try {
      return JSON.parse(el.textContent);
    } catch (e) {
      recordError('bad page data: ' + e.message);
      return {};
    }
  }

  // ---------- formatting ----------

  function fmt(v, unit) {
    if (v === null || v === undefined || !isFinite(v)) return '-';
    var a = Math.abs(v), s;
    if (a >= 1e6) s = (v / 1e6).toFixed(a >= 1e7 ? 0 : 1) + 'M';
    else if (a >= 1e4) s = (v / 1e3).toFixed(a >= 1e5 ? 0 : 1) + 'k';
    else if (a >= 100 || v === Math.round(v)) s = v.toFixed(0);
    else if (a >= 10) s = v.toFixed(1);
    else if (a >= 1) s = v.toFixed(2);
    else s = v.toPrecision(2);
    return unit ? s + ' ' + unit : s;
  }

  // Axis tick labels: as many decimals as the tick step needs; k / M for
  // big values.
  function decimalsOf(x) {
    var t = String(+x.toFixed(6));
    return t.indexOf('e') >= 0 ? 6 : (t.split('.')[1] || '').length;
  }

  function axisValues(u, splits, axisIdx, space, incr) {
    var big = splits.reduce(function (m, v) { return Math.max(m, Math.abs(v || 0)); }, 0);
    var unit = big >= 1e6 ? 1e6 : big >= 1e4 ? 1e3 : 1;
    var suffix = unit === 1e6 ? 'M' : unit === 1e3 ? 'k' : '';
    var d = incr > 0 ? Math.min(6, decimalsOf(incr / unit)) : 2;
    return splits.map(function (v) {
      if (v === null || !isFinite(v)) return '';
      return v === 0 ? '0' : (v / unit).toFixed(d) + suffix;
    });
  }

  function hexToRgba(hex, alpha) {
    var m = /^#([0-9a-f]{6})$/i.exec(hex || '');
    if (!m) return hex;
    var n = parseInt(m[1], 16);
    return 'rgba(' + (n >> 16) + ',' + ((n >> 8) & 255) + ',' + (n & 255) + ',' + alpha + ')';
  }

  function isRelative() {
    return doc.time_axis === 'relative';
  }

  function hasData(spec) {
    for (var i = 0; i < spec.series.length; i++) {
      var v = spec.series[i].values;
      for (var j = 0; j < v.length; j++) if (v[j] !== null && isFinite(v[j])) return true;
    }
    return false;
  }

  // ---------- data shaping ----------

  // uPlot data: [x, s1, s2, ...]; stacked charts are drawn cumulatively with
  // the series in reverse (top of the stack first, so lower areas paint over
  // it) and the legend shows the raw values.
  function shape(spec) {
    var x = spec.x.slice();
    var series = spec.series.slice();
    if (!spec.stacked) {
      return {x: x, series: series, values: series.map(function (s) { return s.values; }),
              raw: null};
    }
    var n = x.length, acc = new Array(n), any = new Array(n), cum = [];
    for (var i = 0; i < n; i++) { acc[i] = 0; any[i] = false; }
    series.forEach(function (s) {
      var out = new Array(n);
      for (var i = 0; i < n; i++) {
        var v = s.values[i];
        if (v !== null && isFinite(v)) { acc[i] += v; any[i] = true; }
        out[i] = acc[i];
      }
      cum.push(out);
    });
    cum.forEach(function (c) {
      for (var i = 0; i < n; i++) if (!any[i]) c[i] = null;
    });
    return {x: x, series: series.slice().reverse(), values: cum.reverse(),
            raw: series.map(function (s) { return s.values; }).reverse()};
  }

  // ---------- bands (alerts, the active finding) ----------

  function bandsFor(spec) {
    var out = [];
    (doc.bands || []).forEach(function (b) {
      if (b.kind === 'alert') out.push({b: b, fill: BAND_FILL[b.severity] || BAND_FILL.info});
    });
    if (state.activeBand) out.push({b: state.activeBand, fill: ACTIVE_FILL, edge: true});
    return out;
  }

  function drawBands(u, spec) {
    var bands = bandsFor(spec);
    if (!bands.length) return;
    var ctx = u.ctx, box = u.bbox;
    ctx.save();
    bands.forEach(function (item) {
      var x0 = u.valToPos(item.b.start, 'x', true);
      var x1 = u.valToPos(item.b.end, 'x', true);
      if (!isFinite(x0) || !isFinite(x1)) return;
      var left = Math.max(Math.min(x0, x1), box.left);
      var right = Math.min(Math.max(x0, x1), box.left + box.width);
      if (right < box.left || left > box.left + box.width) return;
      var w = Math.max(right - left, 2 * (window.devicePixelRatio || 1));
      ctx.fillStyle = item.fill;
      ctx.fillRect(left, box.top, w, box.height);
      if (item.edge) {
        ctx.strokeStyle = ACTIVE_EDGE;
        ctx.lineWidth = 1.5 * (window.devicePixelRatio || 1);
        ctx.strokeRect(left, box.top, w, box.height);
      }
    });
    ctx.restore();
  }

  // ---------- uPlot options ----------

  function seriesOpts(s, i, spec, shaped) {
    var color = s.color || PALETTE[i % PALETTE.length];
    var o = {
      label: s.label,
      stroke: color,
      width: 1.5,
      scale: s.axis === 1 ? 'y2' : 'y',
      spanGaps: false,
      points: {show: false},
      value: function (u, v, si, di) {
        if (shaped.raw && di !== null && di !== undefined) v = shaped.raw[si - 1][di];
        return fmt(v, s.unit);
      },
    };
    if (s.style === 'area') {
      o.fill = spec.stacked ? hexToRgba(color, 0.9) : hexToRgba(color, 0.18);
    } else if (s.style === 'dashed') {
      o.dash = [6, 4];
    } else if (s.style === 'step') {
      o.paths = uPlot.paths.stepped({align: 1});
    } else if (s.style === 'points') {
      o.paths = function () { return null; };
      o.points = {show: true, size: 8, space: 0, fill: color, stroke: color, width: 1};
    } else if (s.style === 'bars') {
      var bars = spec.series.filter(function (t) { return t.style === 'bars'; });
      var k = bars.indexOf(s);
      o.paths = uPlot.paths.bars({size: [k === 0 ? 0.7 : 0.35, 80], align: 0});
      o.fill = hexToRgba(color, k === 0 ? 0.75 : 0.9);
      o.width = 1;
    }
    if (spec.id === 'alerts') o.width = 10;
    return o;
  }

  function timeAxis() {
    if (isRelative()) {
      return {values: function (u, splits) {
        return splits.map(function (v) { return '+' + fmt(v) + ' s'; });
      }};
    }
    return {};
  }

  function buildOpts(spec, width, shaped) {
    var isTime = spec.kind === 'time';
    var series = [{}];
    shaped.series.forEach(function (s, i) { series.push(seriesOpts(s, i, spec, shaped)); });
    var hasY2 = shaped.series.some(function (s) { return s.axis === 1; });
    var scales = {x: {time: isTime && !isRelative()}, y: {}};
    var axes = [];
    if (isTime) {
      axes.push(timeAxis());
    } else if (spec.kind === 'bars') {
      scales.x.range = function () { return [-0.6, spec.x.length - 0.4]; };
      axes.push({
        label: spec.x_label,
        splits: function () { return spec.x.slice(); },
        values: function (u, splits) {
          return splits.map(function (v) { return spec.x_labels[Math.round(v)] || ''; });
        },
        gap: 4,
        size: 54,
      });
    } else {
      scales.x.range = function (u, min, max) {
        var pad = Math.max((max - min) * 0.05, 0.5);
        return [Math.max(0, min - pad), max + pad];
      };
      axes.push({label: spec.x_label});
    }
    var yAxis = {label: spec.y_label, size: 60, values: axisValues};
    if (spec.y_labels && spec.y_labels.length) {
      var names = spec.y_labels;
      scales.y.range = function () { return [0.4, names.length + 0.6]; };
      yAxis = {size: 140, splits: function () { return names.map(function (n, i) { return i + 1; }); },
               values: function (u, splits) { return splits.map(function (v) { return names[v - 1] || ''; }); }};
    } else if (spec.kind !== 'scatter') {
      scales.y.range = function (u, min, max) {
        if (min === null || max === null) return [0, 1];
        var top = max > 0 ? max * 1.08 : 1;
        return [Math.min(0, min), top];
      };
    }
    axes.push(yAxis);
    if (hasY2) {
      scales.y2 = {range: function (u, min, max) {
        if (min === null || max === null) return [0, 1];
        return [Math.min(0, min), max > 0 ? max * 1.08 : 1];
      }};
      axes.push({scale: 'y2', side: 1, label: spec.y2_label, size: 60, grid: {show: false},
                 values: axisValues});
    }
    var opts = {
      width: width,
      // Times in UTC, like the logs and the finding links.
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'); },
      height: spec.y_labels && spec.y_labels.length ? Math.max(120, 50 + 30 * spec.y_labels.length)
                                                    : CHART_HEIGHT,
      scales: scales,
      axes: axes,
      series: series,
      legend: {live: true},
      cursor: {drag: {x: isTime, y: false, setScale: false}, points: {size: 6}},
      hooks: {},
    };
    if (isTime) {
      opts.cursor.sync = {key: syncKey, setSeries: false};
      opts.cursor.bind = {
        dblclick: function () { return function () { resetZoom(); return null; }; },
      };
      opts.hooks.drawClear = [function (u) { drawBands(u, spec); }];
      opts.hooks.setScale = [function (u, key) { if (key === 'x') enforceRange(u); }];
      opts.hooks.setSelect = [onSelect];
    }
    return opts;
  }

  // ---------- zoom sync ----------
  //
  // One x range (state.xRange) for every time chart. uPlot applies scale
  // changes asynchronously and re-fits x to a chart's own data on setData, so
  // every x change of a chart is checked against state.xRange and corrected;
  // only our own code (drag selection, double-click, finding links) changes
  // state.xRange.

  function timeCharts() {
    var out = [];
    Object.keys(state.charts).forEach(function (id) {
      var u = state.charts[id];
      if (u && u.ysSpec && u.ysSpec.kind === 'time') out.push(u);
    });
    return out;
  }

  function computeFullRange() {
    var lo = Infinity, hi = -Infinity;
    (doc.charts || []).forEach(function (spec) {
      if (spec.kind !== 'time' || spec.id === 'alerts' || !hasData(spec)) return;
      spec.x.forEach(function (v) {
        if (v !== null && isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      });
    });
    (doc.bands || []).forEach(function (b) {
      if (b.kind !== 'alert') return;
      lo = Math.min(lo, b.start); hi = Math.max(hi, b.end);
    });
    if (!isFinite(lo)) return null;
    if (hi <= lo) hi = lo + 1;
    return [lo, hi];
  }

  function sameRange(u, r) {
    var eps = Math.max(Math.abs(r[1] - r[0]) * 1e-9, 1e-9);
    return Math.abs(u.scales.x.min - r[0]) <= eps && Math.abs(u.scales.x.max - r[1]) <= eps;
  }

  // setScale hook of every time chart: keep it on the shared range.
  function enforceRange(u) {
    var r = state.xRange;
    if (r && !sameRange(u, r)) u.setScale('x', {min: r[0], max: r[1]});
  }

  function setAllX(min, max) {
    state.xRange = [min, max];
    timeCharts().forEach(function (u) { enforceRange(u); });
  }

  function zoomTo(min, max) {
    if (!(max > min)) return;
    setAllX(min, max);
    setZoomed(true);
  }

  // setSelect hook: a drag across a time chart zooms every time chart.
  function onSelect(u) {
    var sel = u.select;
    if (sel && sel.width > 2) {
      zoomTo(u.posToVal(sel.left, 'x'), u.posToVal(sel.left + sel.width, 'x'));
    }
    u.setSelect({left: 0, top: 0, width: 0, height: 0}, false);
  }

  function setZoomed(z) {
    state.zoomed = z;
    document.querySelectorAll('.ys-reset').forEach(function (b) { b.hidden = !z; });
  }

  function resetZoom() {
    state.activeBand = null;
    if (state.fullRange) setAllX(state.fullRange[0], state.fullRange[1]);
    setZoomed(false);
    redrawAll();
  }

  function redrawAll() {
    timeCharts().forEach(function (u) { u.redraw(false, false); });
  }

  // ---------- chart lifecycle ----------

  function container(id) {
    var nodes = document.querySelectorAll('.ys-chart');
    for (var i = 0; i < nodes.length; i++) if (nodes[i].getAttribute('data-chart') === id) return nodes[i];
    return null;
  }

  function setNote(el, spec) {
    var card = el.closest('.ys-chart-card');
    var note = card ? card.querySelector('.ys-note') : null;
    if (note) note.textContent = spec.note || '';
  }

  function showNoData(el, spec) {
    var msg = el.querySelector('.ys-nodata');
    if (!msg) {
      el.textContent = '';
      msg = document.createElement('div');
      msg.className = 'ys-nodata';
      el.appendChild(msg);
    }
    msg.textContent = page.mode === 'live' ? 'no data yet' : 'no data in this log';
    setNote(el, spec);
  }

  function signature(spec) {
    return spec.kind + '|' + (spec.stacked ? 1 : 0) + '|' + spec.series.map(function (s) {
      return s.label + ':' + s.style + ':' + s.axis;
    }).join(',') + '|' + (spec.y_labels || []).join(',') + '|' + (spec.x_labels || []).join(',');
  }

  function widthOf(el) {
    return Math.max(260, Math.floor(el.clientWidth || el.getBoundingClientRect().width || 600));
  }

  // Creates, updates or empties the chart of `spec`.
  function render(spec) {
    var el = container(spec.id);
    if (!el) return;
    var u = state.charts[spec.id];
    if (!hasData(spec)) {
      if (u) { u.destroy(); delete state.charts[spec.id]; }
      showNoData(el, spec);
      return;
    }
    var shaped = shape(spec);
    var data = [shaped.x].concat(shaped.values);
    if (u && u.ysSig === signature(spec)) {
      u.ysSpec = spec;
      u.ysShaped = shaped;
      u.setData(data, true);  // x is put back on the shared range by enforceRange
      setNote(el, spec);
      return;
    }
    if (u) { u.destroy(); delete state.charts[spec.id]; }
    el.textContent = '';
    setNote(el, spec);
    u = new uPlot(buildOpts(spec, widthOf(el), shaped), data, el);
    u.ysSpec = spec;
    u.ysSig = signature(spec);
    u.ysShaped = shaped;
    state.charts[spec.id] = u;
  }

  function renderAll() {
    (doc.charts || []).forEach(function (spec) {
      try {
        render(spec);
      } catch (e) {
        recordError('chart ' + spec.id + ': ' + e.message);
      }
    });
    var full = computeFullRange();
    if (full) state.fullRange = full;
    if (full && !state.zoomed) setAllX(full[0], full[1]);
  }

  function onResize() {
    Object.keys(state.charts).forEach(function (id) {
      var u = state.charts[id], el = container(id);
      if (u && el) u.setSize({width: widthOf(el), height: u.height});
    });
  }

  // ---------- finding links ----------

  function findBand(id) {
    var bands = doc.bands || [];
    for (var i = 0; i < bands.length; i++) if (bands[i].id === id) return bands[i];
    return null;
  }

  function jump(a) {
    var chartId = a.getAttribute('data-chart');
    var card = document.getElementById('chart-' + chartId);
    var band = findBand(a.getAttribute('data-band'));
    var start = parseFloat(a.getAttribute('data-start'));
    var end = parseFloat(a.getAttribute('data-end'));
    if (!band && isFinite(start) && isFinite(end)) {
      band = {id: a.getAttribute('data-band') || 'range', start: start, end: end, kind: 'finding'};
    }
    state.activeBand = band;
    if (band && state.fullRange) {
      var span = Math.max(band.end - band.start, 0);
      var full = state.fullRange[1] - state.fullRange[0];
      var pad = Math.max(span * 0.5, full * 0.01, 1);
      var min = Math.max(state.fullRange[0], band.start - pad);
      var max = Math.min(state.fullRange[1], band.end + pad);
      if (max <= min) { min = band.start - pad; max = band.end + pad; }
      zoomTo(min, max);
    }
    redrawAll();
    if (card) {
      card.scrollIntoView({block: 'center', behavior: 'auto'});
      card.classList.remove('ys-flash');
      void card.offsetWidth;  // restart the animation
      card.classList.add('ys-flash');
    }
    if (history && history.replaceState) history.replaceState(null, '', '#chart-' + chartId);
  }

  document.addEventListener('click', function (e) {
    var t = e.target;
    var a = t && t.closest ? t.closest('a.ys-jump') : null;
    if (a) {
      e.preventDefault();
      try { jump(a); } catch (err) { recordError('jump: ' + err.message); }
      return;
    }
    var reset = t && t.closest ? t.closest('.ys-reset') : null;
    if (reset) resetZoom();
  });

  // ---------- live mode ----------

  function updateSummary(summary) {
    document.querySelectorAll('[data-live]').forEach(function (el) {
      var key = el.getAttribute('data-live');
      var v = summary ? summary[key] : null;
      var scale = parseFloat(el.getAttribute('data-scale') || '1');
      el.textContent = fmt(v === null || v === undefined ? v : v * scale, el.getAttribute('data-unit') || '');
    });
  }

  // The per-stream panel (serve --stream): one row per stream of
  // /api/live's "streams", text only (names and errors are never markup).
  function updateStreams(streams) {
    var section = document.getElementById('streams');
    var body = document.getElementById('ys-streams-body');
    if (!section || !body) return;
    if (!streams || !streams.length) {
      section.hidden = true;
      return;
    }
    section.hidden = false;
    while (body.firstChild) body.removeChild(body.firstChild);
    streams.forEach(function (s) {
      var tr = document.createElement('tr');
      tr.setAttribute('data-stream', s.name);
      function cell(key, text, title) {
        var td = document.createElement('td');
        td.setAttribute('data-col', key);
        td.textContent = text;
        if (title) td.title = title;
        tr.appendChild(td);
      }
      var sinks = [];
      var res = s.results || {};
      ['jsonl', 'webhook'].forEach(function (k) {
        var r = res[k];
        if (!r) return;
        sinks.push(k + ' ' + fmt(r.written, '') + ' ok' +
                   (r.failed ? ', ' + fmt(r.failed, '') + ' failed' : '') +
                   (r.dropped ? ', ' + fmt(r.dropped, '') + ' dropped' : ''));
      });
      cell('name', s.name, s.uri);
      cell('state', s.state + (s.error ? ': ' + s.error : ''));
      cell('fps', fmt(s.fps, '') + ' / ' + (s.target_fps ? fmt(s.target_fps, '') : 'all') +
           (s.source_fps ? ' (source ' + fmt(s.source_fps, '') + ')' : ''));
      cell('latency', fmt(s.latency_p50_ms, 'ms') + ' / ' + fmt(s.latency_p99_ms, 'ms'));
      cell('processed', fmt(s.frames_processed, '') +
           (s.frames_failed ? ' (' + fmt(s.frames_failed, '') + ' failed)' : ''));
      cell('dropped', fmt(s.frames_dropped, '') + ' of ' + fmt(s.frames_read, ''));
      cell('reconnects', fmt(s.reconnects, ''));
      cell('results', sinks.length ? sinks.join('; ') : '-');
      cell('alerts', s.alerts_firing && s.alerts_firing.length ? s.alerts_firing.join(', ') : '-');
      body.appendChild(tr);
    });
  }

  function setStatus(text, bad) {
    var el = document.getElementById('ys-live-status');
    if (!el) return;
    el.textContent = text;
    el.classList.toggle('ys-bad', !!bad);
  }

  function poll() {
    var url = page.live_url || '/api/live';
    fetch(url, {cache: 'no-store'}).then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.json();
    }).then(function (live) {
      doc = live.charts || doc;
      updateSummary(live.summary || {});
      updateStreams(live.streams);
      renderAll();
      state.updates += 1;
      state.ready = true;
      setStatus('live \u00b7 updated ' + new Date().toLocaleTimeString(), false);
    }).catch(function (e) {
      setStatus('disconnected (' + e.message + '), retrying', true);
    }).then(function () {
      setTimeout(poll, page.live_interval_ms || 1000);
    });
  }

  // ---------- start ----------

  function start() {
    if (typeof uPlot === 'undefined') {
      recordError('uPlot is not loaded');
      return;
    }
    var resizeTimer = null;
    window.addEventListener('resize', function () {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(onResize, 100);
    });
    if (page.mode === 'live') {
      renderAll();
      poll();
      return;
    }
    renderAll();
    state.ready = true;
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
