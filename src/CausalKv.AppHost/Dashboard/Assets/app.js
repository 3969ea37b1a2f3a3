// Shared by every dashboard page: the sidebar, fetch helpers that notice a lost
// sign-in, formatting, and a poller that never overlaps itself.
'use strict';
const K = (() => {
  const pages = [
    ['/', 'Resources'], ['/console', 'Console logs'], ['/structured-logs', 'Structured logs'],
    ['/traces', 'Traces'], ['/metrics', 'Metrics'], ['/cluster', 'Cluster'],
  ];
  const palette = ['#512bd4', '#0b7dbe', '#d4572b', '#2b9d48', '#b52bd4', '#c79100', '#d42b6f', '#2bb5b0', '#6b6b6b', '#7a4f2b'];

  function esc(s) {
    return String(s ?? '').replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  }

  function nav() {
    const here = location.pathname;
    const links = pages.map(([href, title]) => `<a href="${href}" class="${href === here ? 'active' : ''}">${title}</a>`).join('');
    document.getElementById('nav').innerHTML = `<div class="brand">CausalKv<small>AppHost dashboard</small></div>${links}`;
  }

  function signedOut() {
    const el = document.getElementById('signed-out');
    if (el) el.style.display = 'block';
  }

  async function request(path, options) {
    const response = await fetch(path, options);
    if (response.status === 401) { signedOut(); throw new Error('signed out'); }
    return response;
  }

  async function json(path) {
    const response = await request(path);
    if (!response.ok) throw new Error(`${path}: ${response.status}`);
    return response.json();
  }

  async function post(path) {
    const response = await request(path, { method: 'POST' });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.error || `${path}: ${response.status}`);
    return body;
  }

  function time(ms) {
    const d = new Date(ms);
    return d.toLocaleTimeString('en-GB', { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
  }

  function duration(ms) {
    if (ms == null) return '';
    if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
    if (ms < 1000) return `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
    return `${(ms / 1000).toFixed(2)} s`;
  }

  // Numbered resources (node0, node1, ...) take the palette in order so neighbours differ; others a dark shade by name.
  const others = ['#1f2937', '#0f766e', '#9d174d', '#854d0e'];
  function colour(name) {
    const m = /(\d+)$/.exec(name || '');
    if (m) return palette[Number(m[1]) % palette.length];
    let h = 0;
    for (const c of String(name)) h = (h * 31 + c.charCodeAt(0)) >>> 0;
    return others[h % others.length];
  }

  function attrs(list) {
    if (!list || list.length === 0) return '<span class="muted">no attributes</span>';
    return `<table class="attrs"><tbody>${list.map(a =>
      `<tr data-key="${esc(a.key)}"><td class="k">${esc(a.key)}</td><td class="v">${esc(a.value)}</td></tr>`).join('')}</tbody></table>`;
  }

  // Runs fn now and then every ms after the previous run finished; errors show but do not stop it.
  function poll(fn, ms) {
    let stopped = false;
    const run = async () => {
      if (stopped) return;
      try { await fn(); } catch (e) { if (e.message !== 'signed out') console.warn(e); }
      if (!stopped) setTimeout(run, ms);
    };
    run();
    return () => { stopped = true; };
  }

  function params() { return new URLSearchParams(location.search); }

  function setParams(values) {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(values)) if (v !== '' && v != null && v !== false) p.set(k, v);
    const q = p.toString();
    history.replaceState(null, '', location.pathname + (q ? '?' + q : ''));
  }

  document.addEventListener('DOMContentLoaded', nav);
  return { esc, json, post, request, time, duration, colour, attrs, poll, params, setParams };
})();
