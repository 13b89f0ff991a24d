#include "seqrec/train/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "seqrec/common/io.h"

namespace seqrec::train {

namespace {
std::string escape_html(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, std::fabs(v) >= 1e4 || (v != 0 && std::fabs(v) < 1e-3) ? "%.3g" : "%.4g", v);
  return buf;
}

std::string svg_chart(const Curve& curve) {
  constexpr double W = 440, H = 250, left = 62, right = 14, top = 30, bottom = 38;
  double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
  for (const auto& [x, y] : curve.points) {
    if (!std::isfinite(y)) continue;
    x0 = std::min(x0, x);
    x1 = std::max(x1, x);
    y0 = std::min(y0, y);
    y1 = std::max(y1, y);
  }
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + number(W) + "\" height=\"" + number(H) +
                    "\" role=\"img\" aria-label=\"" + escape_html(curve.name) + "\">\n";
  svg += "<title>" + escape_html(curve.name) + "</title>\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"#fff\" stroke=\"#ccc\"/>\n";
  svg += "<text x=\"" + number(W / 2) + "\" y=\"18\" text-anchor=\"middle\" font-size=\"14\" font-family=\"sans-serif\">" +
         escape_html(curve.name) + "</text>\n";
  if (x0 > x1) return svg + "<text x=\"20\" y=\"120\" font-family=\"sans-serif\">no points yet</text></svg>\n";
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) {
    y0 -= 0.5 * std::max(1e-9, std::fabs(y0));
    y1 += 0.5 * std::max(1e-9, std::fabs(y1));
  }
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * (W - left - right); };
  auto py = [&](double y) { return H - bottom - (y - y0) / (y1 - y0) * (H - top - bottom); };
  // Axes, with the range at each end: enough to read a curve without a plotting library.
  svg += "<g stroke=\"#444\" stroke-width=\"1\"><line x1=\"" + number(left) + "\" y1=\"" + number(top) + "\" x2=\"" +
         number(left) + "\" y2=\"" + number(H - bottom) + "\"/><line x1=\"" + number(left) + "\" y1=\"" + number(H - bottom) +
         "\" x2=\"" + number(W - right) + "\" y2=\"" + number(H - bottom) + "\"/></g>\n";
  svg += "<g font-size=\"11\" font-family=\"sans-serif\" fill=\"#333\">";
  svg += "<text x=\"" + number(left - 4) + "\" y=\"" + number(top + 4) + "\" text-anchor=\"end\">" + number(y1) + "</text>";
  svg += "<text x=\"" + number(left - 4) + "\" y=\"" + number(H - bottom) + "\" text-anchor=\"end\">" + number(y0) + "</text>";
  svg += "<text x=\"" + number(left) + "\" y=\"" + number(H - bottom + 14) + "\">" + number(x0) + "</text>";
  svg += "<text x=\"" + number(W - right) + "\" y=\"" + number(H - bottom + 14) + "\" text-anchor=\"end\">" + number(x1) +
         "</text>";
  svg += "<text x=\"" + number((left + W - right) / 2) + "\" y=\"" + number(H - 6) + "\" text-anchor=\"middle\">step</text>";
  svg += "</g>\n<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"";
  for (const auto& [x, y] : curve.points)
    if (std::isfinite(y)) svg += number(px(x)) + "," + number(py(y)) + " ";
  svg += "\"/>\n<g fill=\"#1f77b4\">";
  for (const auto& [x, y] : curve.points)
    if (std::isfinite(y))
      svg += "<circle cx=\"" + number(px(x)) + "\" cy=\"" + number(py(y)) + "\" r=\"2.5\"><title>step " + number(x) + ": " +
             number(y) + "</title></circle>";
  return svg + "</g>\n</svg>\n";
}
}  // namespace

std::vector<Curve> curves_from_history(const std::vector<nlohmann::json>& history) {
  Curve loss{"train loss", {}}, lr{"learning rate", {}};
  std::map<std::string, Curve> valid;
  for (const auto& e : history) {
    const double step = e.value("step", 0.0);
    if (e.value("type", "") == "train") {
      loss.points.emplace_back(step, e.value("loss", 0.0));
      lr.points.emplace_back(step, e.value("lr", 0.0));
    } else if (e.value("type", "") == "valid") {
      const auto& metrics = e.contains("metrics") ? e.at("metrics") : e.value("selected", nlohmann::json::object());
      for (const auto& [name, value] : metrics.items()) {
        auto& c = valid["valid " + name];
        c.name = "valid " + name;
        c.points.emplace_back(step, value.get<double>());
      }
    }
  }
  std::vector<Curve> out{loss, lr};
  for (auto& [name, curve] : valid) out.push_back(std::move(curve));
  return out;
}

void write_report(const std::filesystem::path& path, const std::vector<nlohmann::json>& history, const std::string& title) {
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>seqrec training report: " +
                     escape_html(title) +
                     "</title>\n<style>body{font-family:sans-serif;margin:1.5em}div.charts{display:flex;flex-wrap:wrap;"
                     "gap:12px}</style></head>\n<body><h1>seqrec training report: " +
                     escape_html(title) + "</h1>\n";
  int64_t evaluations = 0, steps = 0;
  for (const auto& e : history) {
    evaluations += e.value("type", "") == "valid";
    steps = std::max<int64_t>(steps, e.value("step", int64_t{0}));
  }
  html += "<p>" + std::to_string(steps) + " steps, " + std::to_string(evaluations) +
          " evaluations on the valid split. Curves from metrics.jsonl.</p>\n<div class=\"charts\">\n";
  for (const auto& curve : curves_from_history(history)) html += svg_chart(curve);
  html += "</div>\n</body></html>\n";
  write_text_file_atomic(path, html);
}

}  // namespace seqrec::train
