// from templates/records/verify.html (CSP script-src 'self': no inline script, SEC-5)
(function () {
  // times are rendered by the server in 北京时间 (services/common/formats.py, issue 19)
  var form = document.getElementById('inclusion-form');
  var out = document.getElementById('result');
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var leaf = document.getElementById('leaf').value.trim().toLowerCase();
    out.textContent = '查询中…';
    fetch('/api/v1/public/records/inclusion?leaf_hash=' + encodeURIComponent(leaf))
      .then(function (r) { return r.json().then(function (body) { return {ok: r.ok, body: body}; }); })
      .then(function (res) {
        out.textContent = '';
        var p = document.createElement('p');
        if (!res.ok) {
          p.className = 'bad'; p.textContent = res.body.message || '查询失败';
          out.appendChild(p); return;
        }
        p.className = 'ok';
        p.textContent = '该记录是日志的第 ' + res.body.index + ' 条（共 ' + res.body.tree_size + ' 条），请下载证明包离线核验。';
        out.appendChild(p);
        var pre = document.createElement('pre');
        pre.textContent = JSON.stringify(res.body, null, 2);
        out.appendChild(pre);
        var a = document.createElement('a');
        a.href = URL.createObjectURL(new Blob([JSON.stringify(res.body)], {type: 'application/json'}));
        a.download = 'inclusion-' + res.body.index + '.json';
        a.textContent = '下载证明包';
        out.appendChild(a);
      })
      .catch(function () { out.textContent = '网络错误，请稍后再试'; });
  });
})();
