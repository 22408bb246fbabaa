// The Grafana dashboard (conf/grafana/fulcrum.json) against what fulcrum
// exports: every PromQL query in it (panel targets, annotations, variable
// queries) must parse (`promtool check rules` on them written as recording
// rules), and every fulcrum_* metric it names must be a family on a running
// proxy's /metrics. A renamed metric breaks this test, not the dashboard.
// promtool is required (Debian package prometheus, .ci/packages-test.txt).
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/http.h"
#include "support/http_configs.h"
#include "support/json.h"
#include "support/process.h"
#include "support/proxy.h"
#include "support/scrape.h"
#include "support/temp_dir.h"

using namespace fulcrum::test;

namespace {

bool isIdentifierChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

struct Query {
  std::string where;  // the panel's title, or what else holds it
  std::string expr;   // as written, with Grafana's variables
};

// Every query of the dashboard: "expr" of panel targets and annotations,
// and the label_values() of query variables, turned into PromQL.
std::vector<Query> dashboardQueries(const Json& dashboard) {
  std::vector<Query> out;
  std::function<void(const Json&, const std::string&)> walk = [&](const Json& node,
                                                                  const std::string& where) {
    if (const auto* array = std::get_if<std::vector<Json>>(&node.value)) {
      for (const Json& item : *array) walk(item, where);
      return;
    }
    const auto* object = std::get_if<std::map<std::string, Json>>(&node.value);
    if (object == nullptr) return;
    std::string here = where;
    if (auto title = object->find("title"); title != object->end())
      if (const auto* text = std::get_if<std::string>(&title->second.value)) here = *text;
    if (auto name = object->find("name"); name != object->end())
      if (const auto* text = std::get_if<std::string>(&name->second.value)) here = *text;
    for (const auto& [key, value] : *object) {
      if (key == "expr") {
        out.push_back({here, value.str()});
        continue;
      }
      walk(value, here);
    }
  };
  walk(dashboard["panels"], "panels");
  walk(dashboard["annotations"], "annotations");
  // label_values(METRIC{...}, LABEL) -> group by (LABEL) (METRIC{...})
  for (const Json& variable : std::get<std::vector<Json>>(dashboard["templating"]["list"].value)) {
    if (variable["type"].str() != "query") continue;
    const std::string query = variable["query"]["query"].str();
    const std::string prefix = "label_values(";
    const size_t comma = query.rfind(',');
    const bool shaped = query.rfind(prefix, 0) == 0 && query.back() == ')' &&
                        comma != std::string::npos && comma > prefix.size();
    REQUIRE_MESSAGE(shaped,
                    "variable " << variable["name"].str() << ": not label_values(metric, label)");
    std::string label = query.substr(comma + 1, query.size() - comma - 2);
    label.erase(0, label.find_first_not_of(' '));
    const bool named = !label.empty() && std::all_of(label.begin(), label.end(), isIdentifierChar);
    REQUIRE_MESSAGE(named,
                    "variable " << variable["name"].str() << ": not label_values(metric, label)");
    out.push_back(
        {"variable " + variable["name"].str(),
         "group by (" + label + ") (" + query.substr(prefix.size(), comma - prefix.size()) + ")"});
  }
  return out;
}

// Grafana's variables replaced by what they may stand for: intervals by
// durations, the dashboard's own variables (multi-value, all = ".*") by ".*".
std::string substituteVariables(std::string expr) {
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"$__rate_interval", "5m"}, {"$__interval", "1m"}, {"$__range", "1h"}}) {
    for (size_t at = expr.find(from); at != std::string::npos; at = expr.find(from, at))
      expr.replace(at, from.size(), to);
  }
  // $name or ${name}
  std::string out;
  for (size_t i = 0; i < expr.size();) {
    if (expr[i] != '$') {
      out += expr[i++];
      continue;
    }
    size_t end = i + 1;
    const bool braced = end < expr.size() && expr[end] == '{';
    if (braced) ++end;
    const size_t name_start = end;
    while (end < expr.size() && isIdentifierChar(expr[end])) ++end;
    if (end == name_start) {
      out += expr[i++];
      continue;
    }
    if (braced && end < expr.size() && expr[end] == '}') ++end;
    out += ".*";
    i = end;
  }
  return out;
}

// The metric names a query uses: every fulcrum_* identifier.
std::set<std::string> metricNames(const std::string& expr) {
  std::set<std::string> names;
  const std::string prefix = "fulcrum_";
  for (size_t at = expr.find(prefix); at != std::string::npos; at = expr.find(prefix, at + 1)) {
    if (at > 0 && isIdentifierChar(expr[at - 1])) continue;  // not at a word's start
    size_t end = at + prefix.size();
    while (end < expr.size() &&
           (std::islower(static_cast<unsigned char>(expr[end])) ||
            std::isdigit(static_cast<unsigned char>(expr[end])) || expr[end] == '_'))
      ++end;
    names.insert(expr.substr(at, end - at));
  }
  return names;
}

// The series names a scrape can have: each "# TYPE" family, and for a
// histogram its _bucket, _sum and _count.
std::set<std::string> exportedNames(const std::string& metrics) {
  std::set<std::string> names;
  std::istringstream in(metrics);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string hash, type_word, name, type;
    if (!(words >> hash >> type_word >> name >> type) || hash != "#" || type_word != "TYPE")
      continue;
    names.insert(name);
    if (type == "histogram")
      for (const char* suffix : {"_bucket", "_sum", "_count"}) names.insert(name + suffix);
  }
  return names;
}

// The names of `queries` that `exported` lacks, as "name (where)".
std::vector<std::string> unknownNames(const std::vector<Query>& queries,
                                      const std::set<std::string>& exported) {
  std::vector<std::string> unknown;
  for (const Query& query : queries)
    for (const std::string& name : metricNames(query.expr))
      if (!exported.contains(name)) unknown.push_back(name + " (" + query.where + ")");
  return unknown;
}

// The queries as one recording-rules file, each expression a literal block.
std::string rulesFile(const std::vector<Query>& queries) {
  std::string out = "groups:\n  - name: grafana_dashboard\n    rules:\n";
  for (size_t i = 0; i < queries.size(); ++i) {
    out += "      - record: fulcrum_dashboard:query_" + std::to_string(i) + "\n";
    out += "        expr: |-\n          " + substituteVariables(queries[i].expr) + "\n";
  }
  return out;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("grafana dashboard: every query parses and names only metrics fulcrum exports") {
  const auto promtool = findProgram("promtool");
  REQUIRE_MESSAGE(promtool.has_value(),
                  "promtool is not installed (Debian: apt-get install prometheus; CI installs it "
                  "from .ci/packages-test.txt)");
  const Json dashboard =
      parseJson(readFile(std::string(FULCRUM_SOURCE_DIR) + "/conf/grafana/fulcrum.json"));
  const std::vector<Query> queries = dashboardQueries(dashboard);
  REQUIRE(queries.size() > 20);

  // What the issue asks the dashboard to show, each by the metric behind it.
  std::set<std::string> used;
  for (const Query& query : queries)
    for (const std::string& name : metricNames(query.expr)) used.insert(name);
  for (const char* needed :
       {"fulcrum_http_requests_total", "fulcrum_upstream_requests_total",
        "fulcrum_upstream_response_seconds_bucket", "fulcrum_upstream_server_up",
        "fulcrum_outlier_ejections_total", "fulcrum_circuit_breaker_rejections_total",
        "fulcrum_retries_total", "fulcrum_retries_refused_total", "fulcrum_config_reloads_total",
        "fulcrum_tls_certificate_expiry_timestamp_seconds"}) {
    CAPTURE(needed);
    CHECK(used.contains(needed));
  }

  // Every query is valid PromQL.
  TempDir dir;
  const std::string rules = dir.write("dashboard_rules.yaml", rulesFile(queries));
  const CommandResult checked = runCommand({*promtool, "check", "rules", rules});
  INFO(checked.output);
  CHECK(checked.status == 0);
  CHECK(checked.output.find("SUCCESS: " + std::to_string(queries.size()) + " rules found") !=
        std::string::npos);

  // Every metric it names is a family on /metrics.
  HttpBackend backend("b");
  HttpConfig config{.servers = {backend.port()}};
  Proxy proxy(config.yaml());
  const HttpMessage scraped = httpGet(proxy.adminPort(), "/metrics");
  REQUIRE(scraped.status == 200);
  const std::set<std::string> exported = exportedNames(scraped.body);
  REQUIRE(exported.contains("fulcrum_upstream_response_seconds_bucket"));
  const std::vector<std::string> unknown = unknownNames(queries, exported);
  CHECK_MESSAGE(unknown.empty(), "not on /metrics: " << doctest::toString(unknown.size())
                                                     << " name(s), first "
                                                     << (unknown.empty() ? "" : unknown.front()));
}

TEST_CASE("grafana dashboard: the checks catch a renamed metric and a query that does not parse") {
  const auto promtool = findProgram("promtool");
  REQUIRE(promtool.has_value());
  const std::set<std::string> exported = exportedNames(
      "# TYPE fulcrum_http_requests_total counter\n"
      "# TYPE fulcrum_upstream_response_seconds histogram\n");
  CHECK(unknownNames({{"p", "rate(fulcrum_upstream_response_seconds_bucket[$__rate_interval])"}},
                     exported)
            .empty());
  CHECK(unknownNames({{"p", "rate(fulcrum_http_request_total[5m])"}}, exported) ==
        std::vector<std::string>{"fulcrum_http_request_total (p)"});

  TempDir dir;
  const std::string rules = dir.write(
      "bad.yaml", rulesFile({{"p", R"(sum by (upstream (rate(fulcrum_retries_total[5m])))"}}));
  CHECK(runCommand({*promtool, "check", "rules", rules}).status != 0);
}
