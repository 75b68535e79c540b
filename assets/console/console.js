// Cascade operator console: plain DOM, the admin API with the bearer token, hls.js/dash.js for preview.
(() => {
  'use strict';
  const $ = (id) => document.getElementById(id);
  let token = '';
  let player = null;
  let current = null; // title shown in the player

  const api = async (method, path, body) => {
    const res = await fetch(path, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    const text = await res.text();
    const json = text ? JSON.parse(text) : undefined;
    if (!res.ok) throw Object.assign(new Error(json?.error?.message ?? res.statusText), { status: res.status, code: json?.error?.code });
    return json;
  };
  const el = (tag, attrs = {}, ...children) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'onclick') e.addEventListener('click', v);
      else if (k === 'className') e.className = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c ?? '')));
    return e;
  };
  const fmtDuration = (s) => (s ? `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}` : '–');

  // --- sign in: token from the URL fragment (#token=...), the session, or the form
  const signIn = async (t) => {
    token = t;
    try {
      await api('GET', '/api/v1/titles');
    } catch (e) {
      token = '';
      $('login-error').textContent = e.status === 401 ? 'That token is not valid.' : `Cannot reach the API: ${e.message}`;
      return false;
    }
    sessionStorage.setItem('cascade-token', t);
    $('login').hidden = true;
    $('app').hidden = false;
    $('logout').hidden = false;
    $('who').textContent = 'signed in';
    $('login-error').textContent = '';
    refresh();
    setInterval(refresh, 1000);
    return true;
  };
  $('login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    void signIn($('token').value.trim());
  });
  $('logout').addEventListener('click', () => {
    sessionStorage.removeItem('cascade-token');
    location.reload();
  });
  const tokenFromHash = () => {
    const t = new URLSearchParams(location.hash.slice(1)).get('token');
    if (t) history.replaceState(null, '', location.pathname); // keep the token out of history
    return t;
  };
  let signedIn = false;
  const start = async (t) => {
    if (t && !signedIn) signedIn = await signIn(t);
  };
  void start(tokenFromHash() || sessionStorage.getItem('cascade-token'));
  // A /console#token=... link opened on the page that is already showing.
  window.addEventListener('hashchange', () => void start(tokenFromHash()));

  // --- titles and jobs, refreshed every second
  let refreshing = false;
  async function refresh() {
    if (refreshing) return;
    refreshing = true;
    try {
      const [{ titles }, { jobs }, { channels }, pushes] = await Promise.all([
        api('GET', '/api/v1/titles'),
        api('GET', '/api/v1/jobs'),
        api('GET', '/api/v1/channels').catch((e) => (e.code === 'LIVE_DISABLED' ? { channels: [] } : Promise.reject(e))),
        api('GET', '/api/v1/pushes'),
      ]);
      renderTitles(titles);
      renderJobs(jobs);
      renderChannels(channels);
      renderPushes(pushes);
    } catch (e) {
      if (e.status === 401) location.reload();
    } finally {
      refreshing = false;
    }
  }

  function renderTitles(titles) {
    const body = $('titles').tBodies[0];
    body.replaceChildren(
      ...titles.map((t) =>
        el(
          'tr',
          { 'data-title': t.id },
          el('td', {}, t.id),
          el('td', { className: `status-${t.status}` }, t.status),
          el('td', {}, fmtDuration(t.durationSec)),
          el('td', {}, t.renditions.map((r) => r.id).join(', ')),
          el('td', {}, t.version ?? '–'),
          el(
            'td',
            {},
            t.playback ? el('button', { onclick: () => play(t) }, 'Play') : '',
            ' ',
            el('button', { className: 'secondary', onclick: () => remove(t.id) }, 'Delete'),
          ),
        ),
      ),
    );
  }

  function renderJobs(jobs) {
    const body = $('jobs').tBodies[0];
    body.replaceChildren(
      ...jobs
        .slice(-20)
        .reverse()
        .map((j) =>
          el(
            'tr',
            { 'data-job': j.id },
            el('td', {}, j.id),
            el('td', {}, j.titleId),
            el('td', { className: `status-${j.status}` }, j.status === 'running' ? `${j.status} (${j.stage})` : j.status),
            el('td', {}, el('progress', { max: '1', value: String(j.progress) }), ` ${Math.round(j.progress * 100)}%`),
            el('td', { className: 'error' }, j.error ? `${j.error.code}: ${j.error.message}` : ''),
            el('td', {}, j.status === 'queued' || j.status === 'running' ? el('button', { className: 'secondary', onclick: () => cancel(j.id) }, 'Cancel') : ''),
          ),
        ),
    );
  }

  // --- live channels: create (shows the ingest URLs to copy), state and input, play, stop, delete
  function renderChannels(channels) {
    const body = $('channels').tBodies[0];
    body.replaceChildren(
      ...channels.map((c) =>
        el(
          'tr',
          { 'data-channel': c.id },
          el('td', {}, c.id, c.lowLatency ? ' (LL)' : ''),
          el('td', { className: `status-${c.state}` }, c.state),
          el('td', {}, c.ladder),
          el('td', {}, c.input ? `${c.input.protocol} ${c.input.bitrateKbps} kb/s, ${c.input.frameRate} fps` : '–'),
          el('td', { className: 'error' }, c.lastError ? `${c.lastError.code}: ${c.lastError.message}` : ''),
          el(
            'td',
            {},
            el('button', { onclick: () => play({ id: c.id, live: true, playback: c.playback, renditions: [] }) }, 'Play'),
            ' ',
            el('button', { className: 'secondary', onclick: () => showIngest(c) }, 'Ingest'),
            ' ',
            c.state !== 'stopped' ? el('button', { className: 'secondary', onclick: () => channelAction('POST', c.id, '/stop') }, 'Stop') : '',
            ' ',
            el('button', { className: 'secondary', onclick: () => confirm(`Delete channel ${c.id}?`) && channelAction('DELETE', c.id, '') }, 'Delete'),
          ),
        ),
      ),
    );
  }
  function showIngest(c) {
    $('ingest').hidden = false;
    $('in-id').textContent = c.id;
    $('in-rtmp').textContent = c.ingest.rtmp;
    $('in-server').textContent = c.ingest.rtmpServer;
    $('in-key').textContent = c.ingest.streamKey;
    $('in-srt').textContent = c.ingest.srt;
  }
  for (const b of document.querySelectorAll('button.copy')) {
    b.addEventListener('click', () => void navigator.clipboard?.writeText($(b.dataset.copy).textContent).catch(() => undefined));
  }
  async function channelAction(method, id, suffix) {
    await api(method, `/api/v1/channels/${encodeURIComponent(id)}${suffix}`).catch((e) => alert(e.message));
    if (current?.id === id && current.live) stopPlayer();
    refresh();
  }
  $('live-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    $('lv-error').textContent = '';
    try {
      const c = await api('PUT', `/api/v1/channels/${encodeURIComponent($('lv-id').value.trim())}`, {
        ladder: $('lv-ladder').value,
        lowLatency: $('lv-ll').checked,
        dvrWindowSec: Number($('lv-dvr').value),
      });
      showIngest(c);
      refresh();
    } catch (e) {
      $('lv-error').textContent = `${e.code ?? e.status}: ${e.message}`;
    }
  });

  async function remove(id) {
    if (!confirm(`Delete title ${id} and all its media?`)) return;
    await api('DELETE', `/api/v1/titles/${encodeURIComponent(id)}`).catch((e) => alert(e.message));
    if (current?.id === id) stopPlayer();
    refresh();
  }
  async function cancel(id) {
    await api('DELETE', `/api/v1/jobs/${encodeURIComponent(id)}`).catch((e) => alert(e.message));
    refresh();
  }

  // --- pushes: plan preview (bytes per edge, what the budget leaves out), schedule or run, progress per edge, cancel
  const fmtBytes = (n) => {
    for (const [u, v] of [['TB', 1e12], ['GB', 1e9], ['MB', 1e6], ['kB', 1e3]]) if (n >= v) return `${(n / v).toFixed(1)} ${u}`;
    return `${n} B`;
  };
  function renderPushes({ pushes, edges }) {
    $('ps-edges').textContent = edges.length ? `Edges: ${edges.map((e) => `${e.name} (${e.kind})`).join(', ')}` : 'No edges are configured (CASCADE_EDGES): pushes need at least one.';
    $('ps-go').disabled = $('ps-preview').disabled = edges.length === 0;
    const body = $('pushes').tBodies[0];
    body.replaceChildren(
      ...pushes
        .slice(-20)
        .reverse()
        .map((p) =>
          el(
            'tr',
            { 'data-push': p.id },
            el('td', {}, p.id),
            el('td', { className: `status-${p.status}` }, p.status),
            el('td', {}, new Date(p.at).toLocaleString()),
            el('td', {}, p.titles.map((t) => t.id).join(', ')),
            el(
              'td',
              {},
              ...p.edges.map((e) =>
                el(
                  'div',
                  { 'data-edge': e.name },
                  `${e.name} `,
                  el('progress', { max: String(e.objectsTotal || 1), value: String(e.objectsDone) }),
                  ` ${e.objectsDone}/${e.objectsTotal} · ${fmtBytes(e.bytesDone)}${e.failed ? ' · FAILED' : ''}`,
                ),
              ),
            ),
            el('td', { className: 'error' }, [p.error ? `${p.error.code}: ${p.error.message}` : '', ...p.edges.flatMap((e) => (e.error ? [`${e.name}: ${e.error.code} ${e.error.message}`] : []))].filter(Boolean).join(' · ')),
            el('td', {}, p.status === 'scheduled' || p.status === 'running' ? el('button', { className: 'secondary', onclick: () => cancelPush(p.id) }, 'Cancel') : ''),
          ),
        ),
    );
  }
  async function cancelPush(id) {
    await api('DELETE', `/api/v1/pushes/${encodeURIComponent(id)}`).catch((e) => alert(e.message));
    refresh();
  }
  const pushBody = () => {
    const titles = $('ps-titles').value.split(',').map((t) => t.trim()).filter(Boolean);
    const top = Number($('ps-top').value);
    const budget = Number($('ps-budget').value);
    return {
      ...(titles.length ? { titles } : {}),
      ...(top ? { top } : {}),
      edges: $('ps-edge-list').value.trim() || 'all',
      ...(budget ? { budgetBytesPerEdge: Math.floor(budget * 1e9) } : {}),
    };
  };
  $('ps-preview').addEventListener('click', async () => {
    $('ps-error').textContent = '';
    try {
      const plan = await api('POST', '/api/v1/pushes/plan', pushBody());
      $('ps-plan').hidden = false;
      $('ps-plan-summary').textContent = `${plan.titles.map((t) => `${t.id} (${t.reason})`).join(', ')}: ${plan.objects.length} objects, ${fmtBytes(plan.bytes)} per edge${plan.budgetBytesPerEdge ? ` of a ${fmtBytes(plan.budgetBytesPerEdge)} budget` : ''}.`;
      $('ps-plan-edges').tBodies[0].replaceChildren(...plan.edges.map((e) => el('tr', {}, el('td', {}, e.name), el('td', {}, e.kind), el('td', {}, e.objects), el('td', {}, fmtBytes(e.bytes)))));
      $('ps-plan-left').textContent = plan.leftOut.length
        ? `Left out by the budget: ${plan.objectsLeftOut} objects, ${fmtBytes(plan.bytesLeftOut)} (${plan.leftOut.map((g) => `${g.titleId} ${g.rendition} ${Math.round(g.fromSec)}–${Math.round(g.toSec)} s`).join('; ')}).`
        : 'Nothing left out.';
    } catch (e) {
      $('ps-error').textContent = `${e.code ?? e.status}: ${e.message}`;
    }
  });
  $('push-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    $('ps-error').textContent = '';
    try {
      const at = $('ps-at').value;
      await api('POST', '/api/v1/pushes', { ...pushBody(), ...(at ? { at: new Date(at).toISOString() } : {}) });
      refresh();
    } catch (e) {
      $('ps-error').textContent = `${e.code ?? e.status}: ${e.message}`;
    }
  });

  // --- upload: XHR for upload progress, then the job's encode progress
  $('upload-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const title = $('up-title').value.trim();
    const file = $('up-file').files[0];
    if (!file) return;
    $('up-error').textContent = '';
    $('up-status').hidden = false;
    const show = (label, f) => {
      $('up-label').textContent = label;
      $('up-progress').value = f;
      $('up-pct').textContent = `${Math.round(f * 100)}%`;
    };
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', `/api/v1/titles/${encodeURIComponent(title)}/source?ladder=${encodeURIComponent($('up-ladder').value)}`);
    xhr.setRequestHeader('authorization', `Bearer ${token}`);
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.upload.onprogress = (e) => e.lengthComputable && show('uploading', e.loaded / e.total);
    xhr.onerror = () => ($('up-error').textContent = 'Upload failed: connection lost.');
    xhr.onload = async () => {
      const json = xhr.responseText ? JSON.parse(xhr.responseText) : {};
      if (xhr.status !== 202) {
        $('up-error').textContent = `${json.error?.code ?? xhr.status}: ${json.error?.message ?? xhr.statusText}`;
        return;
      }
      const id = json.job.id;
      for (;;) {
        const j = await api('GET', `/api/v1/jobs/${id}`);
        show(j.status === 'running' ? j.stage : j.status, j.progress);
        if (j.status === 'succeeded') break;
        if (j.status === 'failed' || j.status === 'canceled') {
          $('up-error').textContent = `${j.error?.code}: ${j.error?.message}`;
          break;
        }
        await new Promise((r) => setTimeout(r, 500));
      }
      refresh();
    };
    show('uploading', 0);
    xhr.send(file);
  });

  // --- player with rendition picker and the manifest text
  function stopPlayer() {
    // hls.js and dash.js both have destroy(); calling dash.js's reset() after it throws.
    player?.destroy();
    player = null;
    $('video').removeAttribute('src');
  }

  async function play(t) {
    current = t;
    $('player').hidden = false;
    $('pl-title').textContent = t.id;
    const picker = $('pl-rendition');
    const videos = t.renditions.filter((r) => r.kind === 'video').sort((a, b) => a.bandwidth - b.bandwidth);
    // A live channel's renditions come from its multivariant playlist (lowest bandwidth first, as hls.js orders them).
    if (t.live) {
      const mv = await (await fetch(t.playback.hls)).text();
      for (const m of mv.matchAll(/BANDWIDTH=(\d+)[^\n]*\n([^\n]+)\/media\.m3u8/g)) videos.push({ id: m[2], bandwidth: Number(m[1]) });
      videos.sort((a, b) => a.bandwidth - b.bandwidth);
    }
    picker.replaceChildren(el('option', { value: 'auto' }, 'auto'), ...videos.map((r, i) => el('option', { value: String(i) }, `${r.id} (${Math.round(r.bandwidth / 1000)} kb/s)`)));
    await load();
  }

  async function load() {
    if (!current) return;
    stopPlayer();
    const video = $('video');
    const format = $('pl-format').value;
    const url = format === 'hls' ? current.playback.hls : current.playback.dash;
    $('manifest').textContent = await (await fetch(url)).text();
    const pick = $('pl-rendition').value;
    $('pl-state').textContent = 'loading';
    if (format === 'hls' && window.Hls?.isSupported()) {
      const hls = new Hls({ lowLatencyMode: true, maxLiveSyncPlaybackRate: 1.5 });
      hls.on(Hls.Events.MANIFEST_PARSED, () => {
        if (pick !== 'auto') hls.currentLevel = Number(pick);
        video.play().catch(() => undefined);
      });
      hls.on(Hls.Events.ERROR, (_e, d) => d.fatal && ($('pl-state').textContent = `error: ${d.details}`));
      hls.loadSource(url);
      hls.attachMedia(video);
      player = hls;
    } else if (format === 'dash' && window.dashjs) {
      const p = dashjs.MediaPlayer().create();
      p.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: pick === 'auto' } } } });
      p.on(dashjs.MediaPlayer.events.STREAM_INITIALIZED, () => pick !== 'auto' && p.setRepresentationForTypeByIndex?.('video', Number(pick)));
      p.on(dashjs.MediaPlayer.events.ERROR, (e) => ($('pl-state').textContent = `error: ${e.error?.message ?? e.error?.code}`));
      p.initialize(video, url, true);
      player = p;
    } else {
      video.src = url; // Safari plays HLS natively
      video.play().catch(() => undefined);
    }
  }
  $('pl-format').addEventListener('change', load);
  $('pl-rendition').addEventListener('change', load);
  // Playing position, and for live the latency the player measures (hls.js: behind the live edge by
  // program date-time; dash.js: behind the MPD's wall clock).
  $('video').addEventListener('timeupdate', () => {
    let latency = '';
    if (current?.live && player) {
      const l = typeof player.latency === 'number' ? player.latency : player.getCurrentLiveLatency?.();
      if (l > 0) latency = `, latency ${l.toFixed(2)} s`;
    }
    $('pl-state').textContent = `playing ${$('video').currentTime.toFixed(1)} s${latency}`;
  });
})();
