// Live total: Σ weight×score/max exactly (as scoring.reviewer_total), half up to 2 places (scoring.shown).
(function () {
  var f = document.querySelector("form[data-total]"), o = document.getElementById("running-total");
  if (!f || !o || !window.BigInt || !window.NodeList || !NodeList.prototype.forEach) return;
  var B0 = BigInt(0), B1 = BigInt(1), B2 = BigInt(2), B100 = BigInt(100);  /* BigInt() calls, not literals: old browsers must still parse the file */
  var re = /^([0-9]{1,6})(?:[.,]([0-9]{1,2}))?$/, p = document.getElementById("total-partial");
  function exact(x) { var d = B1; while (!Number.isInteger(x)) { x *= 2; d *= B2; } return [BigInt(x), d]; }
  function run() {
    var N = B0, D = B1, n = 0, all = f.querySelectorAll("input[data-weight]");
    all.forEach(function (i) {
      var m = re.exec(i.value.trim()), max = +i.dataset.max;
      if (!m) return;
      var v = parseFloat(m[1] + "." + (m[2] || "0"));
      if (v > max) return;
      var q = exact(v), M = BigInt(max);
      N = N * q[1] * M + BigInt(i.dataset.weight) * q[0] * D; D = D * q[1] * M; n++;
    });
    if (!n) { o.value = "—"; } else {
      var w = N * B100 / D; if ((N * B100 - w * D) * B2 >= D) w++;
      var c = String(w % B100); o.value = (w / B100) + (f.dataset.decimal || ".") + (c.length < 2 ? "0" + c : c);
    }
    if (p) p.hidden = n === all.length;
  }
  f.addEventListener("input", run);
})();
