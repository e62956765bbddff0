// 打印回执 (issue 19; CMP-2, CMP-4): a button that prints the page; the print style sheet (zhifa.css
// @media print) leaves out the navigation, the forms and this button. CSP script-src 'self': no inline handler.
(function () {
  var buttons = document.querySelectorAll('[data-print]');
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].hidden = false;
    buttons[i].addEventListener('click', function () { window.print(); });
  }
})();
