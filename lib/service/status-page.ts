// The status page at `/`: static HTML and a script (served as /status.js, so the page's CSP can
// forbid inline script). The script polls GET /v1/streams every second with the operator's token
// (from the address's fragment, `/#token=...`, which browsers never send to a server, then kept in
// sessionStorage), draws a row per stream with a small fps graph of the last minute, and posts
// stop/start. Stream data only ever goes into the page as text (textContent), never as HTML.

export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>streamcoder serve</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #ddd; vertical-align: middle; }
  .state { font-weight: 600; }
  .state.live { color: #17803d; } .state.retrying, .state.starting { color: #b26a00; }
  .state.failed { color: #c62828; } .state.stopped, .state.finished { color: #666; }
  .error { color: #c62828; font-size: 12px; max-width: 30em; overflow-wrap: anywhere; }
  #message { color: #c62828; }
  canvas { border: 1px solid #eee; }
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
  <thead><tr><th>Stream</th><th>State</th><th>Attempt</th><th>fps</th><th>Bit rate</th><th>Frames</th><th>Last minute (fps)</th><th>Last error</th><th></th></tr></thead>
  <tbody id="streams"></tbody>
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
  var body = document.getElementById('streams');
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

  function rowFor(id) {
    var row = body.querySelector('tr[data-id="' + CSS.escape(id) + '"]');
    if (row) return row;
    row = document.createElement('tr');
    row.dataset.id = id;
    cell(row, 'id').textContent = id;
    cell(row, 'state');
    cell(row, 'attempt');
    cell(row, 'fps');
    cell(row, 'bitrate');
    cell(row, 'frames');
    var canvas = document.createElement('canvas');
    canvas.width = 120;
    canvas.height = 28;
    cell(row, 'graph').appendChild(canvas);
    cell(row, 'error');
    var actions = cell(row, 'actions');
    ['stop', 'start'].forEach(function (action) {
      var button = document.createElement('button');
      button.className = action;
      button.textContent = action === 'stop' ? 'Stop' : 'Start';
      button.addEventListener('click', function () {
        button.disabled = true;
        api('POST', '/v1/streams/' + encodeURIComponent(id) + '/' + action).then(update, showError).then(function () {
          button.disabled = false;
        });
      });
      actions.appendChild(button);
    });
    body.appendChild(row);
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

  function update(stream) {
    var row = rowFor(stream.id);
    var output = stream.outputs[0] || { fps: 0, bitRate: 0, frames: 0 };
    var state = row.querySelector('.state');
    state.textContent = stream.state;
    state.className = 'state ' + stream.state;
    row.dataset.state = stream.state;
    row.querySelector('.attempt').textContent = stream.attempt.n + ' of ' + stream.attempt.of;
    row.querySelector('.fps').textContent = output.fps.toFixed(1);
    row.querySelector('.bitrate').textContent = (output.bitRate / 1000).toFixed(0) + ' kb/s';
    row.querySelector('.frames').textContent = String(output.frames);
    row.querySelector('.error').textContent = stream.lastError ? stream.lastError.at.slice(11, 19) + ' ' + stream.lastError.message : '';
    var running = stream.state === 'starting' || stream.state === 'live' || stream.state === 'retrying';
    row.querySelector('button.stop').hidden = !running;
    row.querySelector('button.start').hidden = running;
    draw(row.querySelector('canvas'), stream.history);
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
      Array.prototype.slice.call(body.children).forEach(function (row) {
        if (!ids[row.dataset.id]) row.remove();
      });
    }, showError);
  }

  poll();
  setInterval(poll, 1000);
})();
`;
