// The records verification page (REC-4; issue 19): look a record up by its 防篡改校验码 (leaf hash) and check the
// proof IN THE BROWSER — SM3 and the RFC 9162 inclusion proof recomputed here, the tree head's Ed25519 signature
// checked with Web Crypto against the key published on this page — or check a proof bundle pasted by the person.
// The same algorithm as tools/audit_verify.py (docs/records-verification.md); nothing is sent anywhere for the check.
// CSP script-src 'self': no inline script (SEC-5).
(function () {
  'use strict';

  // ------------------------------------------------------------------ SM3 (GB/T 32905-2016)
  var IV = [0x7380166F, 0x4914B2B9, 0x172442D7, 0xDA8A0600, 0xA96F30BC, 0x163138AA, 0xE38DEE4D, 0xB0FB0E4E];
  function rotl(x, n) { n %= 32; return ((x << n) | (x >>> (32 - n))) >>> 0; }
  function p0(x) { return (x ^ rotl(x, 9) ^ rotl(x, 17)) >>> 0; }
  function p1(x) { return (x ^ rotl(x, 15) ^ rotl(x, 23)) >>> 0; }

  function sm3(msg) {
    var len = msg.length;
    var total = Math.ceil((len + 9) / 64) * 64;
    var buf = new Uint8Array(total);
    buf.set(msg);
    buf[len] = 0x80;
    var dv = new DataView(buf.buffer);
    dv.setUint32(total - 8, Math.floor(len / 0x20000000));
    dv.setUint32(total - 4, (len * 8) >>> 0);
    var v = IV.slice(), w = new Array(68), w1 = new Array(64), j;
    for (var off = 0; off < total; off += 64) {
      for (j = 0; j < 16; j++) w[j] = dv.getUint32(off + 4 * j);
      for (j = 16; j < 68; j++) {
        w[j] = (p1(w[j - 16] ^ w[j - 9] ^ rotl(w[j - 3], 15)) ^ rotl(w[j - 13], 7) ^ w[j - 6]) >>> 0;
      }
      for (j = 0; j < 64; j++) w1[j] = (w[j] ^ w[j + 4]) >>> 0;
      var a = v[0], b = v[1], c = v[2], d = v[3], e = v[4], f = v[5], g = v[6], h = v[7];
      for (j = 0; j < 64; j++) {
        var t = j < 16 ? 0x79CC4519 : 0x7A879D8A;
        var ss1 = rotl((rotl(a, 12) + e + rotl(t, j)) >>> 0, 7);
        var ss2 = (ss1 ^ rotl(a, 12)) >>> 0;
        var ff = j < 16 ? (a ^ b ^ c) : ((a & b) | (a & c) | (b & c));
        var gg = j < 16 ? (e ^ f ^ g) : ((e & f) | (~e & g));
        var tt1 = ((ff >>> 0) + d + ss2 + w1[j]) >>> 0;
        var tt2 = ((gg >>> 0) + h + ss1 + w[j]) >>> 0;
        d = c; c = rotl(b, 9); b = a; a = tt1;
        h = g; g = rotl(f, 19); f = e; e = p0(tt2);
      }
      v = [a ^ v[0], b ^ v[1], c ^ v[2], d ^ v[3], e ^ v[4], f ^ v[5], g ^ v[6], h ^ v[7]];
    }
    var out = new Uint8Array(32), odv = new DataView(out.buffer);
    for (j = 0; j < 8; j++) odv.setUint32(4 * j, v[j] >>> 0);
    return out;
  }

  // ------------------------------------------------------------------ bytes
  function hex(bytes) {
    var s = '';
    for (var i = 0; i < bytes.length; i++) s += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
    return s;
  }
  function unhex(text, size, what) {
    if (typeof text !== 'string' || !/^([0-9a-fA-F]{2})*$/.test(text) || (size && text.length !== 2 * size)) {
      throw new Error(what + ' 不是' + (size ? size + '字节的' : '') + '十六进制数');
    }
    var out = new Uint8Array(text.length / 2);
    for (var i = 0; i < out.length; i++) out[i] = parseInt(text.substr(2 * i, 2), 16);
    return out;
  }
  function concat(parts) {
    var n = 0, i;
    for (i = 0; i < parts.length; i++) n += parts[i].length;
    var out = new Uint8Array(n), at = 0;
    for (i = 0; i < parts.length; i++) { out.set(parts[i], at); at += parts[i].length; }
    return out;
  }
  function equal(a, b) {
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  var utf8 = new TextEncoder();

  // ------------------------------------------------------------------ RFC 9162 Merkle tree (SM3)
  function leafHash(entry) { return sm3(concat([new Uint8Array([0]), entry])); }
  function nodeHash(left, right) { return sm3(concat([new Uint8Array([1]), left, right])); }
  function odd(x) { return x % 2 === 1; }
  function half(x) { return Math.floor(x / 2); }

  // RFC 9162 §2.1.3.2, as verify_inclusion in tools/audit_verify.py
  function rootFromInclusion(leaf, index, size, proof) {
    if (!(index >= 0 && index < size)) return null;
    var fn = index, sn = size - 1, r = leaf;
    for (var i = 0; i < proof.length; i++) {
      if (sn === 0) return null;
      if (odd(fn) || fn === sn) {
        r = nodeHash(proof[i], r);
        while (fn !== 0 && !odd(fn)) { fn = half(fn); sn = half(sn); }
      } else {
        r = nodeHash(r, proof[i]);
      }
      fn = half(fn); sn = half(sn);
    }
    return sn === 0 ? r : null;
  }

  // the bytes a tree head's signature covers (sth_signing_bytes in tools/audit_verify.py)
  function headSigningBytes(head) {
    var logId = utf8.encode(String(head.log_id));
    var numbers = new DataView(new ArrayBuffer(18));
    numbers.setBigUint64(0, BigInt(head.tree_size));
    numbers.setBigUint64(8, BigInt(head.timestamp));
    numbers.setUint16(16, logId.length);
    var n = new Uint8Array(numbers.buffer);
    return concat([utf8.encode('zhifa.records.sth.v1\u0000'), n.subarray(0, 16), unhex(head.root_hash, 32, '根哈希'),
                   n.subarray(16, 18), logId]);
  }

  function verifyEd25519(publicKey, signature, message) {
    if (!(window.crypto && window.crypto.subtle)) return Promise.resolve(null);
    return window.crypto.subtle.importKey('raw', publicKey, {name: 'Ed25519'}, false, ['verify'])
      .then(function (key) { return window.crypto.subtle.verify({name: 'Ed25519'}, key, signature, message); })
      .catch(function () { return null; });            // a browser without Ed25519: say so, do not guess
  }

  // ------------------------------------------------------------------ the check of one proof bundle
  // resolves to {verdict: 'pass' | 'fail' | 'incomplete', index, size, lines: [[ok(true/false/null), text], ...]}.
  // 'pass' only when the browser itself checked the signature against the key this page publishes: a hash
  // chain alone proves nothing (anyone can compute one for a made-up entry and root). ``expectedLeaf``: the
  // 防篡改校验码 the person typed — the bundle must be the proof of that record, not of another.
  function checkBundle(bundle, publishedKey, expectedLeaf) {
    var lines = [], failed = false, incomplete = false;
    function line(ok, text) { lines.push([ok, text]); if (ok === false) failed = true; if (ok === null) incomplete = true; }
    var index, size, root, proof, leaf, head;
    try {
      if (!bundle || typeof bundle !== 'object') throw new Error('不是证明包');
      if (bundle.type === 'consistency' || bundle.type === 'tree_heads' || bundle.receipt_type) {
        throw new Error('这不是单条记录的包含性证明，请用核验脚本核验');
      }
      index = Number(bundle.index); size = Number(bundle.tree_size);
      if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size)) throw new Error('缺少记录序号或记录条数');
      root = unhex(bundle.root_hash, 32, '根哈希');
      proof = (bundle.proof || []).map(function (p, i) { return unhex(p, 32, '证明第' + (i + 1) + '项'); });
      if (typeof bundle.entry === 'string') {
        leaf = leafHash(utf8.encode(bundle.entry));
        if (bundle.leaf_hash !== undefined) {
          line(equal(leaf, unhex(bundle.leaf_hash, 32, '防篡改校验码')), '防篡改校验码与记录内容一致（重算 SM3）');
        }
      } else if (bundle.entry !== undefined) {
        throw new Error('记录内容应为规范化的 JSON 文本，请用核验脚本核验');
      } else {
        leaf = unhex(bundle.leaf_hash, 32, '防篡改校验码');
      }
    } catch (err) {
      return Promise.resolve({verdict: 'fail', lines: [[false, '证明包格式不正确：' + err.message]]});
    }
    if (expectedLeaf) line(hex(leaf) === String(expectedLeaf).toLowerCase(), '证明针对的正是输入的防篡改校验码');
    var computed = rootFromInclusion(leaf, index, size, proof);
    line(computed !== null && equal(computed, root),
         '从这条记录的校验码逐级重算，得到的汇总校验值与证明中的一致（' + proof.length + ' 步，SM3）');
    head = bundle.tree_head;
    if (!head || typeof head !== 'object') {
      line(false, '证明包中没有签名树头：汇总校验值未经签名');
      return Promise.resolve({verdict: 'fail', index: index, size: size, lines: lines});
    }
    line(Number(head.tree_size) === size && String(head.root_hash || '').toLowerCase() === hex(root),
         '签名树头的记录条数和汇总校验值与证明一致');
    var algorithm = head.algorithm || 'ed25519', publicKey, signature, message, signatureLater = false;
    if (algorithm !== 'ed25519' && algorithm !== 'sm2') {
      line(false, '签名算法 ' + String(algorithm) + ' 不是本平台使用的算法（Ed25519 或 SM2）');
      return Promise.resolve({verdict: 'fail', index: index, size: size, lines: lines});
    }
    try {
      publicKey = unhex(head.public_key, algorithm === 'ed25519' ? 32 : 65, '签名公钥');
      signature = unhex(head.signature, algorithm === 'ed25519' ? 64 : null, '签名');
      message = headSigningBytes(head);
    } catch (err) {
      line(false, '签名树头格式不正确：' + err.message);
      return Promise.resolve({verdict: 'fail', index: index, size: size, lines: lines});
    }
    if (head.key_id !== undefined) line(String(head.key_id).toLowerCase() === hex(sm3(publicKey)), '签名密钥标识与公钥一致');
    if (publishedKey) {
      line(hex(publicKey) === publishedKey.toLowerCase() ? true : null,
           hex(publicKey) === publishedKey.toLowerCase() ? '签名公钥是本页公布的公钥'
             : '签名公钥不是本页公布的当前公钥（可能是轮换前的密钥），请用核验脚本并指定公钥核验');
    } else {
      // fail closed: without the platform's key a valid signature only shows the bundle is self-consistent
      line(null, '本页未公布签名公钥，无法确认签名来自本平台，请用核验脚本并指定公钥核验');
    }
    var signed;
    if (algorithm === 'ed25519') {
      signed = verifyEd25519(publicKey, signature, message).then(function (ok) {
        if (ok === null) line(null, '本浏览器不支持 Ed25519 签名核验，请用核验脚本核验签名');
        else line(ok, ok ? '电子签名有效（Ed25519，浏览器内核验）' : '电子签名无效');
      });
    } else {
      // SM2 (issue 22): the hash chain above is checked here; the signature by tools/audit_verify.py
      line(null, '签名算法为 SM2：签名请用核验脚本核验（浏览器只核验了上面的校验值）');
      signatureLater = true;
      signed = Promise.resolve();
    }
    return signed.then(function () {
      return {verdict: failed ? 'fail' : (incomplete ? 'incomplete' : 'pass'), index: index, size: size, lines: lines,
              signatureLater: signatureLater};
    });
  }

  // ------------------------------------------------------------------ showing a result
  var VERDICT = {pass: '校验通过', fail: '校验失败', incomplete: '校验未完成'};
  function show(box, result, intro) {
    box.textContent = '';
    var p = document.createElement('p');
    p.className = result.verdict === 'pass' ? 'ok' : 'bad';
    p.setAttribute('data-verdict', result.verdict);
    var strong = document.createElement('strong');
    strong.textContent = VERDICT[result.verdict];
    p.appendChild(strong);
    var words = '';
    if (result.verdict === 'pass') {
      words = '：该记录在日志中，未被删除或改动，汇总校验值有本平台的有效电子签名。';
    } else if (result.verdict === 'fail') {
      words = '：证明与日志不符，记录或证明可能被改动。请保存证明包并向主管部门反映。';
    } else {
      words = '：校验值已核对，签名需用核验脚本核验。';
    }
    p.appendChild(document.createTextNode(words));
    if (intro) box.appendChild(intro);
    box.appendChild(p);
    var ul = document.createElement('ul');
    ul.className = 'checks';
    result.lines.forEach(function (l) {
      var li = document.createElement('li');
      li.className = l[0] === true ? 'pass' : (l[0] === false ? 'fail' : 'note');
      li.textContent = (l[0] === true ? '✓ ' : (l[0] === false ? '✗ ' : '· ')) + l[1];
      ul.appendChild(li);
    });
    box.appendChild(ul);
  }

  var publishedKey = (document.getElementById('public-key') || {}).textContent;
  publishedKey = publishedKey ? publishedKey.trim() : '';

  // look up a record by its 防篡改校验码, then check the proof here
  var form = document.getElementById('inclusion-form');
  var out = document.getElementById('result');
  if (form) form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var leaf = document.getElementById('leaf').value.trim().toLowerCase();
    out.textContent = '查询中…';
    fetch('/api/v1/public/records/inclusion?leaf_hash=' + encodeURIComponent(leaf))
      .then(function (r) { return r.json().then(function (body) { return {ok: r.ok, body: body}; }); })
      .then(function (res) {
        if (!res.ok) {
          out.textContent = '';
          var p = document.createElement('p');
          p.className = 'bad'; p.textContent = res.body.message || '查询失败';
          out.appendChild(p); return null;
        }
        var intro = document.createElement('p');
        intro.textContent = '该记录是日志的第 ' + res.body.index + ' 条（共 ' + res.body.tree_size + ' 条）。';
        return checkBundle(res.body, publishedKey, leaf).then(function (result) {
          show(out, result, intro);
          var details = document.createElement('details');
          var summary = document.createElement('summary');
          summary.textContent = '证明包（可下载后用核验脚本离线核验）';
          details.appendChild(summary);
          var pre = document.createElement('pre');
          pre.textContent = JSON.stringify(res.body, null, 2);
          details.appendChild(pre);
          out.appendChild(details);
          var a = document.createElement('a');
          a.href = URL.createObjectURL(new Blob([JSON.stringify(res.body)], {type: 'application/json'}));
          a.download = 'inclusion-' + res.body.index + '.json';
          a.textContent = '下载证明包';
          out.appendChild(a);
        });
      })
      .catch(function () { out.textContent = '网络错误，请稍后再试'; });
  });

  // check a proof bundle the person pasted (nothing leaves the browser)
  var pasteForm = document.getElementById('paste-form');
  var pasteOut = document.getElementById('check-result');
  if (pasteForm) pasteForm.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var text = document.getElementById('bundle').value.trim();
    var bundle;
    try { bundle = JSON.parse(text); } catch (err) {
      show(pasteOut, {verdict: 'fail', lines: [[false, '粘贴的内容不是完整的证明包（JSON 格式）']]});
      return;
    }
    pasteOut.textContent = '校验中…';
    checkBundle(bundle, publishedKey).then(function (result) { show(pasteOut, result); })
      .catch(function (err) { show(pasteOut, {verdict: 'fail', lines: [[false, '无法校验：' + err.message]]}); });
  });

  window.zhifaRecords = {sm3: function (bytes) { return hex(sm3(bytes)); }, checkBundle: checkBundle};
})();
