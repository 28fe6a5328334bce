// Draws each dashboard chart from its data-chart attribute; the table beside it carries the same numbers.
document.addEventListener("DOMContentLoaded", function () {
  if (!window.echarts) return; // without the script the tables still say everything
  document.querySelectorAll(".chart[data-chart]").forEach(function (el) {
    var spec = JSON.parse(el.getAttribute("data-chart"));
    var series = {
      name: spec.name, type: spec.type, data: spec.values, itemStyle: {color: "#b71c1c"},
      label: {show: spec.labels.length <= 12, position: "top"}
    };
    if (spec.reference !== undefined) {
      series.markLine = {symbol: "none", lineStyle: {color: "#555", type: "dashed"},
        data: [{yAxis: spec.reference, name: "参考值"}], label: {position: "end", formatter: "参考\n" + spec.reference + "%"}};
    }
    var chart = echarts.init(el, null, {renderer: "svg"});
    chart.setOption({
      animation: false, aria: {enabled: true}, tooltip: {trigger: "axis"},
      // The reference line's label stands right of the plot, where no bar can run into it.
      grid: {left: 50, right: spec.reference !== undefined ? 60 : 20, top: 30, bottom: 10, containLabel: true},
      xAxis: {type: "category", data: spec.labels, axisLabel: {interval: 0, rotate: spec.labels.length > 5 ? 30 : 0}},
      yAxis: {type: "value", max: spec.reference !== undefined ? 100 : null},
      series: [series]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  });
});
