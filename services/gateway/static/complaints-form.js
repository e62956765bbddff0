// from templates/complaints/form.html (CSP script-src 'self': no inline script, SEC-5)
(function(){
  // after a failed submit: the error summary at the top gets the focus, so a phone scrolls to it (issue 19)
  var summary = document.getElementById('form-error');
  if (summary) { summary.focus(); summary.scrollIntoView({block: 'start'}); }
  // a double click sends the form once (the server files it once anyway: its submission token)
  var form = document.getElementById('complaint-form');
  if (form) form.addEventListener('submit', function(){
    var button = document.getElementById('submit');
    if (button) { setTimeout(function(){ button.disabled = true; button.textContent = '正在提交…'; }, 0); }
  });
  var region = document.getElementById('region_code');
  var body = document.getElementById('body_id');
  function filterBodies(){
    if (!body || body.tagName !== 'SELECT' || !region) return;
    var code = region.value.slice(0, 6);
    var prefix = /0000$/.test(code) ? code.slice(0, 2) : (/00$/.test(code) ? code.slice(0, 4) : code);
    for (var i = 0; i < body.options.length; i++) {
      var o = body.options[i], r = o.getAttribute('data-region');
      o.hidden = !!r && r.indexOf(prefix) !== 0;
    }
  }
  function loadChannels(){
    if (!region || !window.fetch) return;
    fetch('/api/v1/public/complaint-channels/' + encodeURIComponent(region.value))
      .then(function(r){ return r.ok ? r.json() : null; })
      .then(function(c){
        var box = document.getElementById('channels');
        if (!c || !box) return;
        var esc = function(s){ var d = document.createElement('div'); d.textContent = s == null ? '' : s; return d.innerHTML; };
        var html = '<h3>投诉举报渠道（' + esc(c.name || '') + '）</h3>';
        if (c.scope) html += '<p><strong>受理范围：</strong>' + esc(c.scope) + '</p>';
        html += '<dl>';
        (c.hotlines || []).forEach(function(h){ html += '<dt>热线电话</dt><dd>' + esc(h.number) + '（' + esc(h.name) + '）</dd>'; });
        if (c.mailbox) html += '<dt>投诉信箱</dt><dd>' + esc(c.mailbox) + '</dd>';
        if (c.email) html += '<dt>电子信箱</dt><dd>' + esc(c.email) + '</dd>';
        if (c.postal_address) html += '<dt>通信地址</dt><dd>' + esc(c.postal_address.address) + '</dd>';
        box.innerHTML = html + '</dl>';
      }).catch(function(){});
  }
  if (region) { region.addEventListener('change', function(){ filterBodies(); loadChannels(); }); filterBodies(); }
  var files = document.getElementById('attachments');
  if (files) files.addEventListener('change', function(){
    var max = Number(files.getAttribute('data-max-files')), size = Number(files.getAttribute('data-max-bytes')), msg = '';
    if (files.files.length > max) msg = '附件最多' + max + '个';
    for (var i = 0; i < files.files.length; i++) if (files.files[i].size > size) msg = files.files[i].name + '：文件过大';
    files.setCustomValidity(msg); if (msg) files.reportValidity();
  });
})();
