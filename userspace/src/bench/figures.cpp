// SPDX-License-Identifier: GPL-2.0
// Figures, table, JSON and SVG for bench: data in, text out, no I/O, so the tests pin every byte.
#include "ipvs_drain/bench/figures.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "ipvs_drain/json.h"

namespace ipvs::bench {

namespace {

std::string fmt(const char *f, double v)
{
	char buf[64];
	std::snprintf(buf, sizeof(buf), f, v);
	return buf;
}

// A figure at the precision it is reported to: @per_unit steps per unit (1000: milliseconds of a second).
double rounded(double v, double per_unit) { return std::round(v * per_unit) / per_unit; }
double seconds(double s) { return rounded(s, 1000); }

Json phase_json(const PhaseResult &p)
{
	const PhaseFigures &f = p.fig;
	Json latency;
	if (const auto &l = f.connect_us)
		latency = {{"p50", l->p50}, {"p90", l->p90}, {"p99", l->p99}, {"p99_9", l->p999}, {"max", l->max}};
	return {{"phase", f.phase},
		{"attempts", f.attempts},
		{"ok", f.ok},
		{"errors", f.errors},
		{"pods", f.pods},
		{"connect_us", std::move(latency)},
		{"over_900ms", f.over_900ms},
		{"client_closed_first", f.client_closed_first},
		{"wall_s", seconds(f.wall_s)},
		{"conn_per_s", rounded(f.conn_per_s, 10)},
		{"ports", p.ports.empty() ? Json() : Json(p.ports)},
		{"old_pod_entries", or_null(p.old_pod_entries)},
		{"entries_before_change", or_null(p.entries_before_change)},
		{"counters_delta", or_null(p.counters_delta)},
		{"start_s", seconds(p.start_us / 1e6)},
		{"end_s", seconds(p.end_us / 1e6)}};
}

Json config_json(const ConfigResult &c)
{
	Json sysctls = Json::object(), markers = Json::array(), phases = Json::array();
	for (const auto &[k, v] : c.sysctls)
		sysctls[k] = v;
	for (const Marker &m : c.markers)
		markers.push_back({{"label", m.label}, {"t_s", seconds(m.t_us / 1e6)}});
	for (const PhaseResult &p : c.phases)
		phases.push_back(phase_json(p));
	return {{"name", c.name},
		{"skipped", or_null(c.skipped)},
		{"failed", or_null(c.failed)},
		{"sysctls", std::move(sysctls)},
		{"hold", {{"pod", or_null(c.hold_pod)}, {"alive_after_draining", or_null(c.hold_alive)},
			  {"closed", or_null(c.hold_closed)}}},
		{"drain_s", c.drain_s ? Json(seconds(*c.drain_s)) : Json()},
		{"drain_watched_s", seconds(c.drain_watched_s)},
		{"cleanup", {{"service_gone", or_null(c.service_gone)}, {"namespaces_gone", or_null(c.namespaces_gone)}}},
		{"markers", std::move(markers)},
		{"phases", std::move(phases)}};
}

const char *kPodColours[] = {"#4c78a8", "#54a24b", "#b279a2", "#72b7b2", "#eeca3b", "#9d755d"};
const char *kErrColours[] = {"#e45756", "#f58518", "#ff9da6", "#bab0ac", "#d62728", "#8c564b"};

} // namespace

std::string xml_escape(const std::string &s)
{
	std::string o;
	for (char c : s) {
		switch (c) {
		case '<': o += "&lt;"; break;
		case '>': o += "&gt;"; break;
		case '&': o += "&amp;"; break;
		case '"': o += "&quot;"; break;
		default: o += c;
		}
	}
	return o;
}

std::int64_t percentile(const std::vector<std::int64_t> &sorted, double q)
{
	if (sorted.empty())
		return 0;
	auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
	if (rank < 1)
		rank = 1;
	return sorted[std::min(rank, sorted.size()) - 1];
}

PhaseFigures summarize(const std::string &phase, const std::vector<ConnRecord> &records, double wall_s)
{
	PhaseFigures f;
	f.phase = phase;
	f.wall_s = wall_s;
	std::vector<std::int64_t> lat;
	for (const ConnRecord &r : records) {
		f.attempts++;
		if (r.outcome == "ok") {
			f.ok++;
			f.pods[r.pod.empty() ? "?" : r.pod]++;
		} else {
			f.errors[r.outcome]++;
		}
		if (r.connect_us >= 0) {
			lat.push_back(r.connect_us);
			if (r.connect_us > 900000)
				f.over_900ms++;
		}
		if (r.client_closed_first)
			f.client_closed_first++;
	}
	std::sort(lat.begin(), lat.end());
	if (!lat.empty())
		f.connect_us = Latency{percentile(lat, 0.50), percentile(lat, 0.90), percentile(lat, 0.99),
				       percentile(lat, 0.999), lat.back()};
	f.conn_per_s = wall_s > 0 ? static_cast<double>(f.attempts) / wall_s : 0;
	return f;
}

std::string render_json(const Report &r)
{
	Json configs = Json::array();
	for (const ConfigResult &c : r.configs)
		configs.push_back(config_json(c));
	return dump({{"schema", 1},
		     {"mode", r.mode},
		     {"kernel", r.kernel},
		     {"variant_loaded", r.variant_loaded},
		     {"kernel_has_upstream_nodest_fix", or_null(r.kernel_has_upstream_fix)},
		     {"target", r.target.empty() ? Json() : Json(r.target)},
		     {"ports", r.ports},
		     {"concurrency", r.concurrency},
		     {"rate", rounded(r.rate, 10)},
		     {"connect_timeout_s", seconds(r.connect_timeout_s)},
		     {"plan", r.plan.empty() ? Json() : Json(r.plan)},
		     {"topology", r.topology.empty() ? Json() : Json(r.topology)},
		     {"persistent_s", r.persistent ? Json(r.persistent) : Json()},
		     {"configs", std::move(configs)}});
}

std::string render_table(const Report &r)
{
	// One block per phase, one row per configuration: the configurations side by side.
	std::vector<std::string> phases;
	for (const auto &c : r.configs)
		for (const auto &p : c.phases)
			if (std::find(phases.begin(), phases.end(), p.fig.phase) == phases.end())
				phases.push_back(p.fig.phase);
	std::string o;
	char line[512];
	for (const auto &ph : phases) {
		o += "phase " + ph + "\n";
		std::snprintf(line, sizeof(line), "  %-9s %6s %6s %-28s %-24s %8s %8s %8s %9s %8s %5s %7s %6s\n", "config",
			      "tries", "ok", "errors", "served by", "p50 us", "p90 us", "p99 us", "p99.9 us", "max us", ">900",
			      "conn/s", "resch");
		o += line;
		for (const auto &c : r.configs) {
			for (const auto &p : c.phases) {
				if (p.fig.phase != ph)
					continue;
				const PhaseFigures &f = p.fig;
				std::string errs, pods;
				for (const auto &[k, v] : f.errors)
					errs += (errs.empty() ? "" : ",") + k + "=" + std::to_string(v);
				for (const auto &[k, v] : f.pods)
					pods += (pods.empty() ? "" : ",") + k + "=" + std::to_string(v);
				std::string resch = "-";
				if (p.counters_delta)
					if (auto it = p.counters_delta->find("rescheduled"); it != p.counters_delta->end())
						resch = std::to_string(it->second);
				Latency l = f.connect_us.value_or(Latency{});
				std::snprintf(line, sizeof(line),
					      "  %-9s %6llu %6llu %-28s %-24s %8lld %8lld %8lld %9lld %8lld %5llu %7.1f %6s\n",
					      c.name.c_str(), static_cast<unsigned long long>(f.attempts),
					      static_cast<unsigned long long>(f.ok), errs.empty() ? "-" : errs.c_str(),
					      pods.empty() ? "-" : pods.c_str(), static_cast<long long>(l.p50),
					      static_cast<long long>(l.p90), static_cast<long long>(l.p99),
					      static_cast<long long>(l.p999), static_cast<long long>(l.max),
					      static_cast<unsigned long long>(f.over_900ms), f.conn_per_s, resch.c_str());
				o += line;
			}
		}
		o += "\n";
	}
	for (const auto &c : r.configs) {
		if (c.skipped) {
			o += c.name + ": skipped: " + *c.skipped + "\n";
			continue;
		}
		if (c.failed)
			o += c.name + ": FAILED: " + *c.failed + "\n";
		if (r.mode != "lab")
			continue;
		o += c.name + ": long-lived connection " +
		     (c.hold_alive ? (*c.hold_alive ? "alive" : "broken") : std::string("not checked")) +
		     " after draining; old pod " +
		     (c.drain_s ? "drained in " + fmt("%.1f", *c.drain_s) + " s"
				: "not drained within " + fmt("%.1f", c.drain_watched_s) + " s") +
		     "\n";
		for (const auto &p : c.phases)
			if (p.fig.client_closed_first)
				o += c.name + "/" + p.fig.phase + ": " + std::to_string(p.fig.client_closed_first) +
				     " connections closed by the client first (their ports sit in TIME_WAIT on the client)\n";
	}
	return o;
}

std::string render_svg(const Report &r)
{
	constexpr int kBinUs = 100000, kPanelH = 160, kLeft = 60, kTop = 30, kLegendH = 20;
	// Categories in a fixed order: ok by pod, then each error, so colours are stable across panels.
	std::set<std::string> pods, errs;
	std::int64_t last_us = 0;
	for (const auto &c : r.configs)
		for (const auto &rec : c.records) {
			(rec.outcome == "ok" ? pods : errs).insert(rec.outcome == "ok" ? (rec.pod.empty() ? "?" : rec.pod)
										 : rec.outcome);
			last_us = std::max(last_us, rec.start_us);
		}
	std::vector<std::pair<std::string, std::string>> cats; // key, colour
	std::size_t i = 0;
	for (const auto &p : pods)
		cats.emplace_back("ok " + p, kPodColours[i++ % std::size(kPodColours)]);
	i = 0;
	for (const auto &e : errs)
		cats.emplace_back(e, kErrColours[i++ % std::size(kErrColours)]);

	std::size_t nbins = static_cast<std::size_t>(last_us / kBinUs) + 1;
	// Bars 4 to 20 px wide, so that a short run still reads and a long one stays within ~1000 px.
	const int bar_w = std::clamp(800 / static_cast<int>(std::min<std::size_t>(nbins, 800)), 4, 20);
	int width = kLeft + static_cast<int>(nbins) * bar_w + 40;
	width = std::max(width, 640);
	std::vector<const ConfigResult *> shown;
	for (const auto &c : r.configs)
		if (!c.records.empty())
			shown.push_back(&c);
	int height = kTop + static_cast<int>(shown.size()) * (kPanelH + 30) + kLegendH + 20;

	std::string o = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) + "\" height=\"" +
			std::to_string(height) + "\" font-family=\"sans-serif\" font-size=\"11\">\n";
	o += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
	o += "<text x=\"" + std::to_string(kLeft) + "\" y=\"16\" font-size=\"13\">ipvs-drain bench (" +
	     xml_escape(r.mode) + ", " + xml_escape(r.kernel) + "): connections started per 100 ms</text>\n";
	int y0 = kTop;
	for (const ConfigResult *c : shown) {
		std::vector<std::map<std::string, int>> bins(nbins);
		int peak = 1;
		for (const auto &rec : c->records) {
			auto b = static_cast<std::size_t>(rec.start_us / kBinUs);
			std::string key = rec.outcome == "ok" ? "ok " + (rec.pod.empty() ? "?" : rec.pod) : rec.outcome;
			bins[b][key]++;
		}
		for (const auto &b : bins) {
			int sum = 0;
			for (const auto &[k, v] : b)
				sum += v;
			peak = std::max(peak, sum);
		}
		int base = y0 + kPanelH;
		o += "<text x=\"4\" y=\"" + std::to_string(y0 + 12) + "\" font-weight=\"bold\">" + xml_escape(c->name) +
		     "</text>\n";
		o += "<text x=\"4\" y=\"" + std::to_string(y0 + 26) + "\">peak " + std::to_string(peak) + "</text>\n";
		o += "<line x1=\"" + std::to_string(kLeft) + "\" y1=\"" + std::to_string(base) + "\" x2=\"" +
		     std::to_string(kLeft + static_cast<int>(nbins) * bar_w) + "\" y2=\"" + std::to_string(base) +
		     "\" stroke=\"black\"/>\n";
		for (std::size_t b = 0; b < nbins; b++) {
			int y = base;
			for (const auto &[key, colour] : cats) {
				auto it = bins[b].find(key);
				if (it == bins[b].end())
					continue;
				int h = std::max(1, it->second * (kPanelH - 10) / peak);
				y -= h;
				o += "<rect x=\"" + std::to_string(kLeft + static_cast<int>(b) * bar_w) + "\" y=\"" +
				     std::to_string(y) + "\" width=\"" + std::to_string(bar_w - 1) + "\" height=\"" +
				     std::to_string(h) + "\" fill=\"" + colour + "\"><title>" + xml_escape(key) + ": " +
				     std::to_string(it->second) + "</title></rect>\n";
			}
		}
		int row = 0;
		for (const auto &m : c->markers) {
			int x = kLeft + static_cast<int>(m.t_us * bar_w / kBinUs);
			int label_y = y0 + 10 + 12 * row++; // staggered: markers are often close together
			o += "<line x1=\"" + std::to_string(x) + "\" y1=\"" + std::to_string(y0) + "\" x2=\"" +
			     std::to_string(x) + "\" y2=\"" + std::to_string(base) +
			     "\" stroke=\"black\" stroke-dasharray=\"4,3\"/>\n";
			o += "<text x=\"" + std::to_string(x + 3) + "\" y=\"" + std::to_string(label_y) + "\">" +
			     xml_escape(m.label) + "</text>\n";
		}
		// Seconds along the axis.
		const std::int64_t step = last_us > 60000000 ? 30 : 5;
		for (std::int64_t s = 0; s * 1000000 <= last_us; s += step) {
			int x = kLeft + static_cast<int>(s * 10 * bar_w);
			o += "<text x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(base + 12) + "\">" +
			     std::to_string(s) + "s</text>\n";
		}
		y0 += kPanelH + 30;
	}
	int x = kLeft;
	for (const auto &[key, colour] : cats) {
		o += "<rect x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(y0) + "\" width=\"10\" height=\"10\" fill=\"" +
		     colour + "\"/><text x=\"" + std::to_string(x + 14) + "\" y=\"" + std::to_string(y0 + 9) + "\">" +
		     xml_escape(key) + "</text>\n";
		x += 24 + static_cast<int>(key.size()) * 7;
	}
	o += "</svg>\n";
	return o;
}

} // namespace ipvs::bench
