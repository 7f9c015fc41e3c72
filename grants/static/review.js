// Live total: Σ weight×score/max exactly (as scoring.reviewer_total), half up to 2 places (scoring.shown).
(function () {
  var f = document.querySelector("form[data-total]"), o = document.getElementById("running-total");
  if (!f || !o || !window.BigInt) return;
  var re = /^([0-9]{1,6})(?:[.,]([0-9]{1,2}))?$/, p = document.getElementById("total-partial");
  function exact(x) { var d = 1n; while (!Number.isInteger(x)) { x *= 2; d *= 2n; } return [BigInt(x), d]; }
  function run() {
    var N = 0n, D = 1n, n = 0, all = f.querySelectorAll("input[data-weight]");
    all.forEach(function (i) {
      var m = re.exec(i.value.trim()), max = +i.dataset.max;
      if (!m) return;
      var v = parseFloat(m[1] + "." + (m[2] || "0"));
      if (v > max) return;
      var q = exact(v), M = BigInt(max);
      N = N * q[1] * M + BigInt(i.dataset.weight) * q[0] * D; D = D * q[1] * M; n++;
    });
    if (!n) { o.value = "—"; } else {
      var w = N * 100n / D; if ((N * 100n - w * D) * 2n >= D) w++;
      var c = String(w % 100n); o.value = (w / 100n) + (f.dataset.decimal || ".") + (c.length < 2 ? "0" + c : c);
    }
    if (p) p.hidden = n === all.length;
  }
  f.addEventListener("input", run);
})();
