#include "admin/status_page.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string_view>

namespace fulcrum::admin {
namespace {

// The page around the tables. The script mirrors renderTables() below: keep
// the two in step (same sections, columns and classes).
constexpr std::string_view kHead = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fulcrum status</title>
<style>
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5em; color: #1b1f24; background: #fafbfc; }
h1 { font-size: 1.4em; margin: 0 0 .2em; }
h2 { font-size: 1.1em; margin: 1.4em 0 .4em; }
h2 small { font-weight: normal; color: #57606a; margin-left: .6em; }
#summary { margin: 0; color: #57606a; }
#refresh { margin: .2em 0 0; font-size: .85em; color: #8c959f; }
#refresh.failed { color: #cf222e; }
table { border-collapse: collapse; background: #fff; min-width: 40em; }
th, td { border: 1px solid #d0d7de; padding: .3em .7em; text-align: left; vertical-align: top; }
th { background: #f3f4f6; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.state { display: inline-block; min-width: 5em; padding: 0 .5em; border-radius: .8em; text-align: center; font-weight: 600; color: #fff; background: #6e7781; }
.state-up { background: #1a7f37; }
.state-down { background: #cf222e; }
.state-ejected { background: #bc4c00; }
.state-drained { background: #0969da; }
.draining { color: #cf222e; font-weight: 600; }
.expiring { color: #cf222e; font-weight: 600; }
.muted { color: #8c959f; }
</style>
</head>
<body>
)html";

constexpr std::string_view kScript = R"html(<script>
(function () {
  'use strict';
  var KNOWN = { up: 1, down: 1, ejected: 1, drained: 1 };
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function duration(seconds) {
    var s = isFinite(seconds) && seconds > 0 ? Math.floor(seconds) : 0;
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    var out = [];
    if (d) out.push(d + 'd');
    if (d || h) out.push(h + 'h');
    if (d || h || m) out.push(m + 'm');
    out.push(s % 60 + 's');
    return out.join(' ');
  }
  function table(headers, rows) {
    var t = el('table'), head = el('tr');
    headers.forEach(function (h) { head.appendChild(el('th', null, h)); });
    t.appendChild(head);
    rows.forEach(function (cells) {
      var tr = el('tr');
      cells.forEach(function (c) { tr.appendChild(c); });
      t.appendChild(tr);
    });
    return t;
  }
  function td(text, cls) { return el('td', cls, text); }
  function stateCell(state) {
    var cell = el('td');
    cell.appendChild(el('span', 'state state-' + (KNOWN[state] ? state : 'other'), state));
    return cell;
  }
  function weight(server) {
    return server.weight + (server.backup ? ' (backup)' : '');
  }
  function transition(server) {
    if (!server.last_transition) return '\u2014';
    var ago = server.last_transition_seconds_ago;
    return server.last_transition + (ago === null || ago === undefined ? '' : ' (' + duration(ago) + ' ago)');
  }
  function render(s) {
    var summary = document.getElementById('summary');
    summary.textContent = 'version ' + s.version + ' \u00b7 up ' + duration(s.uptime_seconds) + ' \u00b7 ';
    summary.appendChild(el('span', s.draining ? 'draining' : null, s.draining ? 'draining' : 'serving'));
    var content = document.createElement('main');
    content.id = 'content';
    content.appendChild(el('h2', null, 'Listeners'));
    content.appendChild(table(['Listener', 'Protocol', 'Address', 'Active connections'],
      s.listeners.map(function (l) {
        return [td(l.name), td(l.protocol), td(l.address), td(l.active_connections, 'num')];
      })));
    var certificates = [];
    function addCertificates(scope, list) {
      (list || []).forEach(function (c) {
        certificates.push([td(scope), td(c.subject), td(c.names.join(', ')), td(c.file), td(c.not_after),
                           td(c.days_left < 0 ? 'expired' : c.days_left, 'num' + (c.expires_soon ? ' expiring' : ''))]);
      });
    }
    s.listeners.forEach(function (l) { addCertificates('listener ' + l.name, l.certificates); });
    s.upstreams.forEach(function (u) { addCertificates('upstream ' + u.name, u.certificates); });
    if (certificates.length) {
      content.appendChild(el('h2', null, 'Certificates'));
      content.appendChild(table(['Presented by', 'Subject', 'Names', 'File', 'Expires (UTC)', 'Days left'], certificates));
    }
    s.upstreams.forEach(function (u) {
      var h = el('h2', null, 'Upstream ' + u.name);
      h.appendChild(el('small', null, u.balance + ' \u00b7 ' + u.usable_servers + '/' + u.servers_total + ' usable' + (u.panic ? ' \u00b7 PANIC: all primaries take requests' : '') + (u.dns || []).map(function (d) { return ' \u00b7 ' + d; }).join('')));
      content.appendChild(h);
      content.appendChild(table(['Server', 'Address', 'State', 'Weight', 'Ramp', 'Active requests', 'Check', 'Last transition'],
        u.servers.map(function (v) {
          return [td(v.name), td(v.dns ? v.address + ' (' + v.dns + ')' : v.address), stateCell(v.state), td(weight(v), 'num'), td(v.ramp_percent + '%', 'num'),
                  td(v.active_requests, 'num'), td(v.check), td(transition(v))];
        })));
    });
    var old = document.getElementById('content');
    old.parentNode.replaceChild(content, old);
  }
  function note(text, failed) {
    var r = document.getElementById('refresh');
    r.textContent = text;
    r.className = failed ? 'failed' : '';
  }
  function refresh() {
    fetch('status.json', { cache: 'no-store' })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(function (s) { render(s); note('updated ' + new Date().toLocaleTimeString()); })
      .catch(function (e) { note('refresh failed: ' + e.message, true); })
      .then(function () { setTimeout(refresh, 2000); });
  }
  setTimeout(refresh, 2000);
})();
</script>
</body>
</html>
)html";

void appendEscaped(std::string& out, std::string_view text) {
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
}

void appendCell(std::string& out, std::string_view text, bool numeric = false) {
  out += numeric ? "<td class=\"num\">" : "<td>";
  appendEscaped(out, text);
  out += "</td>";
}

bool knownState(std::string_view state) {
  return state == "up" || state == "down" || state == "ejected" || state == "drained";
}

void appendServerRow(std::string& out, const ServerStatus& server) {
  out += "<tr>";
  appendCell(out, server.name);
  appendCell(out, server.dns.empty() ? server.address : server.address + " (" + server.dns + ")");
  out += "<td><span class=\"state state-";
  out += knownState(server.state) ? server.state : std::string("other");
  out += "\">";
  appendEscaped(out, server.state);
  out += "</span></td>";
  appendCell(out, std::to_string(server.weight) + (server.backup ? " (backup)" : ""), true);
  appendCell(out, std::to_string(server.ramp_percent) + "%", true);
  appendCell(out, std::to_string(server.active_requests), true);
  appendCell(out, server.check);
  if (server.last_transition.empty()) {
    appendCell(out, "\u2014");
  } else {
    std::string text = server.last_transition;
    if (server.last_transition_seconds_ago >= 0)
      text += " (" + formatDuration(server.last_transition_seconds_ago) + " ago)";
    appendCell(out, text);
  }
  out += "</tr>\n";
}

// The rows of one scope's certificates ("listener web", "upstream payments").
void renderCertificateRows(std::string& out, bool& any, const std::string& scope,
                           const std::vector<CertificateStatus>& certificates) {
  for (const CertificateStatus& certificate : certificates) {
    if (!any) {
      out += "<h2>Certificates</h2>\n<table>\n";
      out +=
          "<tr><th>Presented by</th><th>Subject</th><th>Names</th><th>File</th>"
          "<th>Expires (UTC)</th><th>Days left</th></tr>\n";
      any = true;
    }
    std::string names;
    for (const std::string& name : certificate.names) names += (names.empty() ? "" : ", ") + name;
    out += "<tr>";
    appendCell(out, scope);
    appendCell(out, certificate.subject);
    appendCell(out, names);
    appendCell(out, certificate.file);
    appendCell(out, certificate.not_after);
    out += certificate.expires_soon ? "<td class=\"num expiring\">" : "<td class=\"num\">";
    appendEscaped(out, certificate.days_left < 0 ? std::string("expired")
                                                 : std::to_string(certificate.days_left));
    out += "</td></tr>\n";
  }
}

// Every certificate fulcrum presents: TLS listeners', and upstreams'
// client certificates; nothing when there is none.
void renderCertificates(std::string& out, const Status& status) {
  bool any = false;
  for (const ListenerStatus& listener : status.listeners)
    renderCertificateRows(out, any, "listener " + listener.name, listener.certificates);
  for (const UpstreamStatus& upstream : status.upstreams)
    renderCertificateRows(out, any, "upstream " + upstream.name, upstream.certificates);
  if (any) out += "</table>\n";
}

void renderTables(std::string& out, const Status& status) {
  out += "<main id=\"content\">\n<h2>Listeners</h2>\n<table>\n";
  out += "<tr><th>Listener</th><th>Protocol</th><th>Address</th><th>Active connections</th></tr>\n";
  for (const ListenerStatus& listener : status.listeners) {
    out += "<tr>";
    appendCell(out, listener.name);
    appendCell(out, listener.protocol);
    appendCell(out, listener.address);
    appendCell(out, std::to_string(listener.active_connections), true);
    out += "</tr>\n";
  }
  out += "</table>\n";
  renderCertificates(out, status);
  for (const UpstreamStatus& upstream : status.upstreams) {
    out += "<h2>Upstream ";
    appendEscaped(out, upstream.name);
    out += "<small>";
    appendEscaped(out, upstream.balance);
    out += " \u00b7 " + std::to_string(upstream.usable_servers) + "/" +
           std::to_string(upstream.servers.size()) + " usable";
    if (upstream.panic) out += " \u00b7 PANIC: all primaries take requests";
    for (const std::string& entry : upstream.dns) {
      out += " \u00b7 ";
      appendEscaped(out, entry);
    }
    out += "</small></h2>\n<table>\n";
    out +=
        "<tr><th>Server</th><th>Address</th><th>State</th><th>Weight</th><th>Ramp</th>"
        "<th>Active requests</th><th>Check</th><th>Last transition</th></tr>\n";
    for (const ServerStatus& server : upstream.servers) appendServerRow(out, server);
    out += "</table>\n";
  }
  out += "</main>\n";
}

}  // namespace

std::string formatDuration(double seconds) {
  // Capped so the conversion stays defined (and 30 million years is plenty).
  constexpr double kMaxSeconds = 1e15;
  const uint64_t total = std::isfinite(seconds) && seconds > 0
                             ? static_cast<uint64_t>(std::floor(std::min(seconds, kMaxSeconds)))
                             : 0;
  const uint64_t days = total / 86400, hours = total % 86400 / 3600, minutes = total % 3600 / 60;
  std::string out;
  if (days > 0) out += std::to_string(days) + "d ";
  if (days > 0 || hours > 0) out += std::to_string(hours) + "h ";
  if (days > 0 || hours > 0 || minutes > 0) out += std::to_string(minutes) + "m ";
  out += std::to_string(total % 60) + "s";
  return out;
}

std::string statusPage(const Status& status) {
  std::string out(kHead);
  out += "<header>\n<h1>fulcrum</h1>\n<p id=\"summary\">version ";
  appendEscaped(out, status.version);
  out += " \u00b7 up " + formatDuration(status.uptime_seconds) + " \u00b7 ";
  out += status.draining ? "<span class=\"draining\">draining</span>" : "<span>serving</span>";
  out += "</p>\n<p id=\"refresh\">refreshes every 2 s</p>\n</header>\n";
  renderTables(out, status);
  out += kScript;
  return out;
}

}  // namespace fulcrum::admin
