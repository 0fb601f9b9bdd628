// The status page at `/`: static HTML and a script (served as /status.js, so the page's CSP can
// forbid inline script). The script polls GET /v1/streams every second with the operator's token
// (from the address's fragment, `/#token=...`, which browsers never send to a server, then kept in
// sessionStorage) and draws each stream as a group of rows: the stream's own (state, input, attempt,
// a small fps graph of the last minute, its problems and last error in the viewer's time zone, its
// buttons), then one per output (index, masked URL, state, rates, counts, error). Under each
// stream's name, a thumbnail of what it sends (GET /v1/streams/:id/thumbnail every 3 s, shown
// from a blob: URL) and, for a channel with fallbacks or a slate, what is on air. Stream data only
// ever goes into the page as text (textContent), never as HTML.

export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>streamcoder serve</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 4px 8px; vertical-align: middle; }
  tbody.stream { border-top: 2px solid #ccc; }
  tr.stream-row td { font-weight: 500; }
  tr.output td { font-size: 13px; color: #444; }
  tr.output td.index { padding-left: 2em; }
  .state { font-weight: 600; }
  .state.live { color: #17803d; } .state.retrying, .state.starting, .state.degraded, .state.reconnecting, .state.connecting { color: #b26a00; }
  .node { color: #666; font-size: 0.85em; } .state.pending { color: #b26a00; }
  .state.failed { color: #c62828; } .state.stopped, .state.finished, .state.closed { color: #666; }
  .error, .problems { color: #c62828; font-size: 12px; max-width: 34em; overflow-wrap: anywhere; white-space: pre-line; }
  .error.past { color: #777; }
  .url, .input { overflow-wrap: anywhere; max-width: 28em; }
  #message { color: #c62828; }
  canvas { border: 1px solid #eee; }
  img.thumb { display: block; width: 160px; margin-top: 4px; background: #eee; }
  .onair { color: #666; font-size: 0.85em; }
</style>
</head>
<body>
<h1>streamcoder serve</h1>
<form id="login" hidden>
  <label>API token <input id="token" type="password" autocomplete="off"></label>
  <button type="submit">Use</button>
</form>
<p id="message"></p>
<table>
  <thead><tr><th>Stream / output</th><th>State</th><th>Input / URL</th><th>fps</th><th>Bit rate</th><th>Frames</th><th>Dropped</th><th>Attempt / retries</th><th>Last minute (fps)</th><th>Problems, last error</th><th></th></tr></thead>
  <tbody id="empty"><tr><td colspan="11">No stream yet.</td></tr></tbody>
</table>
<script src="/status.js"></script>
</body>
</html>
`;

export const STATUS_PAGE_SCRIPT = `'use strict';
(function () {
  var fromHash = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (fromHash) {
    sessionStorage.setItem('streamcoder-token', decodeURIComponent(fromHash[1]));
    history.replaceState(null, '', location.pathname);
  }
  var token = sessionStorage.getItem('streamcoder-token');
  var table = document.querySelector('table');
  var empty = document.getElementById('empty');
  var message = document.getElementById('message');
  var login = document.getElementById('login');
  login.addEventListener('submit', function (event) {
    event.preventDefault();
    token = document.getElementById('token').value;
    sessionStorage.setItem('streamcoder-token', token);
    login.hidden = true;
    poll();
  });

  function api(method, path) {
    return fetch(path, { method: method, headers: { authorization: 'Bearer ' + token } }).then(function (response) {
      if (response.status === 401) {
        login.hidden = false;
        throw new Error('the token was refused');
      }
      if (response.status === 204) return null;
      return response.json().then(function (data) {
        if (!response.ok) throw new Error((data.messages || [response.statusText]).join('; '));
        return data;
      });
    });
  }

  function cell(row, className) {
    var td = document.createElement('td');
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }

  // Dates in the viewer's own time zone and language.
  function local(iso) {
    return new Date(iso).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
  }

  function rate(bits) {
    return bits >= 1e6 ? (bits / 1e6).toFixed(2) + ' Mb/s' : (bits / 1000).toFixed(0) + ' kb/s';
  }

  var ACTIONS = [
    { name: 'stop', label: 'Stop', method: 'POST' },
    { name: 'start', label: 'Start', method: 'POST' },
    { name: 'restart', label: 'Restart', method: 'POST' },
    { name: 'delete', label: 'Delete', method: 'DELETE', confirm: true },
  ];

  function groupFor(id) {
    var group = table.querySelector('tbody.stream[data-id="' + CSS.escape(id) + '"]');
    if (group) return group;
    group = document.createElement('tbody');
    group.className = 'stream';
    group.dataset.id = id;
    var row = document.createElement('tr');
    row.className = 'stream-row';
    var name = cell(row, 'id');
    name.textContent = id;
    // In a cluster: the node that runs it.
    var node = document.createElement('div');
    node.className = 'node';
    name.appendChild(node);
    var onAir = document.createElement('div');
    onAir.className = 'onair';
    name.appendChild(onAir);
    var thumb = document.createElement('img');
    thumb.className = 'thumb';
    thumb.alt = 'what ' + id + ' sends';
    thumb.hidden = true;
    name.appendChild(thumb);
    ['state', 'input', 'fps', 'bitrate', 'frames', 'dropped', 'attempt'].forEach(function (name) { cell(row, name); });
    var canvas = document.createElement('canvas');
    canvas.width = 120;
    canvas.height = 28;
    cell(row, 'graph').appendChild(canvas);
    var notes = cell(row, 'notes');
    var problems = document.createElement('div');
    problems.className = 'problems';
    var error = document.createElement('div');
    error.className = 'error';
    notes.appendChild(problems);
    notes.appendChild(error);
    var actions = cell(row, 'actions');
    ACTIONS.forEach(function (action) {
      var button = document.createElement('button');
      button.className = action.name;
      button.textContent = action.label;
      button.addEventListener('click', function () {
        if (action.confirm && !confirm('Delete the stream ' + id + '?')) return;
        button.disabled = true;
        var path = '/v1/streams/' + encodeURIComponent(id) + (action.method === 'DELETE' ? '' : '/' + action.name);
        api(action.method, path).then(function (stream) {
          if (stream) update(stream); else group.remove();
        }, showError).then(function () {
          button.disabled = false;
        });
      });
      actions.appendChild(button);
    });
    group.appendChild(row);
    table.appendChild(group);
    return group;
  }

  function outputRow(group, index) {
    var row = group.querySelector('tr.output[data-index="' + index + '"]');
    if (row) return row;
    row = document.createElement('tr');
    row.className = 'output';
    row.dataset.index = String(index);
    cell(row, 'index').textContent = 'output ' + index;
    ['state', 'url', 'fps', 'bitrate', 'frames', 'dropped', 'retries', 'graph', 'error', 'actions'].forEach(function (name) { cell(row, name); });
    group.appendChild(row);
    return row;
  }

  function draw(canvas, history) {
    var g = canvas.getContext('2d');
    g.clearRect(0, 0, canvas.width, canvas.height);
    if (!history.length) return;
    var max = Math.max.apply(null, history.map(function (h) { return h.fps; }).concat([1]));
    g.strokeStyle = '#1565c0';
    g.beginPath();
    history.forEach(function (h, i) {
      var x = (canvas.width - 1) * (history.length === 1 ? 1 : i / (history.length - 1));
      var y = canvas.height - 2 - (canvas.height - 4) * (h.fps / max);
      if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
    });
    g.stroke();
  }

  function setState(element, state) {
    element.textContent = state;
    element.className = 'state ' + state;
  }

  function update(stream) {
    var group = groupFor(stream.id);
    var row = group.querySelector('tr.stream-row');
    group.dataset.state = stream.state;
    setState(row.querySelector('.state'), stream.state);
    group.dataset.node = stream.node || '';
    row.querySelector('.node').textContent = stream.node === undefined ? '' : stream.node === null ? 'on no node yet' : 'on ' + stream.node;
    var info = stream.inputInfo;
    row.querySelector('.input').textContent = stream.input + (info ? ' (' + info.codec + ' ' + info.width + 'x' + info.height +
      (info.frameRate ? ' ' + (Math.round(info.frameRate * 100) / 100) + ' fps' : '') + ')' : '');
    var fps = 0, bits = 0, frames = 0, dropped = 0;
    stream.outputs.forEach(function (o) { fps += o.fps; bits += o.bitRate; frames += o.frames; dropped += o.dropped; });
    var n = stream.outputs.length || 1;
    row.querySelector('.fps').textContent = (fps / n).toFixed(1);
    row.querySelector('.bitrate').textContent = rate(bits);
    row.querySelector('.frames').textContent = String(frames);
    row.querySelector('.dropped').textContent = String(dropped);
    row.querySelector('.attempt').textContent = stream.attempt.n + ' of ' + stream.attempt.of;
    row.querySelector('.problems').textContent = stream.problems.join('\\n');
    var error = row.querySelector('.error');
    var last = stream.lastError;
    error.textContent = last ? (last.resolvedAt ? 'past (' + local(last.at) + ', resolved ' + local(last.resolvedAt) + '): ' : local(last.at) + ': ') + last.message : '';
    error.className = 'error' + (last && last.resolvedAt ? ' past' : '');
    var running = stream.state !== 'stopped' && stream.state !== 'failed' && stream.state !== 'finished';
    row.querySelector('button.stop').hidden = !running;
    row.querySelector('button.start').hidden = running;
    draw(row.querySelector('canvas'), stream.history);
    row.querySelector('.onair').textContent = stream.onAir ? 'on air: ' + stream.onAir.current + (stream.onAir.switches ? ' (' + stream.onAir.switches + ' switches)' : '') : '';
    refreshThumbnail(group, row.querySelector('img.thumb'), stream);
    stream.outputs.forEach(function (o) {
      var out = outputRow(group, o.index);
      out.dataset.state = o.state;
      setState(out.querySelector('.state'), o.state);
      out.querySelector('.url').textContent = o.url;
      out.querySelector('.fps').textContent = o.fps.toFixed(1);
      out.querySelector('.bitrate').textContent = rate(o.bitRate);
      out.querySelector('.frames').textContent = String(o.frames);
      out.querySelector('.dropped').textContent = String(o.dropped);
      out.querySelector('.retries').textContent = o.retries ? o.retries + ' retries' : '';
      out.querySelector('.error').textContent = o.error || '';
    });
  }

  // The stream's thumbnail, fetched with the token (an <img src> could not send it) every 3 s.
  function refreshThumbnail(group, img, stream) {
    var now = Date.now();
    if (group.dataset.thumbBusy === '1' || now - Number(group.dataset.thumbAt || 0) < 3000) return;
    group.dataset.thumbAt = String(now);
    group.dataset.thumbBusy = '1';
    fetch('/v1/streams/' + encodeURIComponent(stream.id) + '/thumbnail', { headers: { authorization: 'Bearer ' + token } }).then(function (response) {
      return response.status === 200 ? response.blob() : null;
    }).then(function (blob) {
      if (img.src) URL.revokeObjectURL(img.src);
      img.hidden = !blob;
      if (blob) img.src = URL.createObjectURL(blob);
      else img.removeAttribute('src');
    }, function () {}).then(function () {
      group.dataset.thumbBusy = '';
    });
  }

  function showError(error) {
    message.textContent = error.message;
  }

  function poll() {
    if (!token) {
      login.hidden = false;
      return;
    }
    api('GET', '/v1/streams').then(function (data) {
      message.textContent = '';
      var ids = {};
      data.streams.forEach(function (stream) {
        ids[stream.id] = true;
        update(stream);
      });
      Array.prototype.slice.call(table.querySelectorAll('tbody.stream')).forEach(function (group) {
        if (!ids[group.dataset.id]) group.remove();
      });
      empty.hidden = data.streams.length > 0;
    }, showError);
  }

  poll();
  setInterval(poll, 1000);
})();
`;
