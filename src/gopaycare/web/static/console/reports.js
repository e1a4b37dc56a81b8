// The reports page's charts (Apache ECharts, served from /static/vendor/echarts). The figures come
// from the page itself (a JSON script element the server wrote from the daily counters): no inline
// script, no eval, nothing fetched. The tables under the charts carry the same figures as text.
"use strict";

function readJson(id) {
  const element = document.getElementById(id);
  return element ? JSON.parse(element.textContent) : null;
}

function chart(id, option) {
  const element = document.getElementById(id);
  if (!element || typeof echarts === "undefined") { return; }
  const instance = echarts.init(element, null, { renderer: "svg" });
  instance.setOption(Object.assign({ animation: false, tooltip: { trigger: "axis" }, legend: { top: 0 },
    grid: { left: 48, right: 16, top: 36, bottom: 32 } }, option));
  window.addEventListener("resize", function () { instance.resize(); });
}

function groupBars(groups, names, keys, labels, scale) {
  return keys.map(function (key) {
    return { type: "bar", name: labels.series[key], data: names.map(function (name) {
      const value = groups[name][key];
      return value === null || value === undefined ? null : (scale ? Math.round(value * scale * 10) / 10 : value);
    }) };
  });
}

document.addEventListener("DOMContentLoaded", function () {
  const data = readJson("report-data");
  const labels = readJson("report-labels");
  if (!data || !labels) { return; }
  const days = Object.keys(data.by_day);
  const daily = function (key) { return days.map(function (d) { return data.by_day[d][key]; }); };
  chart("chart-days", {
    xAxis: { type: "category", data: days }, yAxis: { type: "value" },
    series: ["tickets", "resolved.n", "conversations", "contained"].map(function (key) {
      return { type: "line", name: labels.series[key], data: daily(key), showSymbol: false };
    }),
  });
  const channels = Object.keys(data.by_channel);
  const channelNames = channels.map(function (c) { return labels.channel[c] || c; });
  chart("chart-channels", {
    xAxis: { type: "category", data: channelNames, axisLabel: { interval: 0, rotate: 30 } }, yAxis: { type: "value" },
    series: groupBars(data.by_channel, channels, ["tickets", "conversations", "contained", "handed_over"], labels),
  });
  const areas = Object.keys(data.by_area);
  const areaNames = areas.map(function (a) { return labels.area[a] || a; });
  chart("chart-areas", {
    xAxis: { type: "category", data: areaNames, axisLabel: { interval: 0, rotate: 30 } }, yAxis: { type: "value" },
    series: groupBars(data.by_area, areas, ["tickets", "resolved", "refunds_requested"], labels),
  });
  chart("chart-times", {
    xAxis: { type: "category", data: areaNames, axisLabel: { interval: 0, rotate: 30 } }, yAxis: { type: "value" },
    series: groupBars(data.by_area, areas, ["first_response_minutes", "resolution_hours"], labels),
  });
  chart("chart-rates", {
    xAxis: { type: "category", data: channelNames, axisLabel: { interval: 0, rotate: 30 } }, yAxis: { type: "value", max: 100 },
    series: groupBars(data.by_channel, channels, ["sla_attainment", "containment", "csat_satisfied"], labels, 100),
  });
  chart("chart-refunds", {
    xAxis: { type: "category", data: days }, yAxis: [{ type: "value" }, { type: "value" }],
    series: [
      { type: "bar", name: labels.series["refunds.requested"], data: daily("refunds.requested") },
      { type: "line", name: labels.series["refunds.refunded_amount"], yAxisIndex: 1,
        data: daily("refunds.refunded_amount"), showSymbol: false },
    ],
  });
  // The assistant's top intents, most turns on top (ECharts draws a category axis from the bottom).
  const intents = (data.assistant && data.assistant.intents ? data.assistant.intents : []).slice().reverse();
  chart("chart-intents", {
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } }, legend: { show: false },
    grid: { left: 160, right: 24, top: 16, bottom: 32 },
    xAxis: { type: "value", minInterval: 1 },
    yAxis: { type: "category", data: intents.map(function (pair) { return labels.intent[pair[0]] || pair[0]; }) },
    series: [{ type: "bar", name: labels.turns, data: intents.map(function (pair) { return pair[1]; }) }],
  });
});
