// the printable annual report's "打印" link (CSP script-src 'self': no inline handlers, SEC-5)
(function () {
  var link = document.getElementById('print-report');
  if (link) link.addEventListener('click', function (ev) { ev.preventDefault(); window.print(); });
})();
