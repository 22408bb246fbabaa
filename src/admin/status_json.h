// /status.json: the Status snapshot as JSON (schema in the metrics contract),
// and the JSON pieces the admin API answers are made of. Pure functions.
#pragma once

#include <string>
#include <string_view>

#include "admin/proxy_control.h"

namespace fulcrum::admin {

// The /status.json body (one line, no trailing newline). Adds the derived
// "servers_total". A negative last_transition_seconds_ago (no transition yet)
// is written as null.
std::string statusJson(const Status& status);

// Appends `text` as a JSON string literal, quotes included. Control
// characters, '"' and '\' are escaped, and so are '<', '>', '&', U+2028 and
// U+2029 so the output is also safe inside HTML and JavaScript source.
// Invalid UTF-8 bytes become U+FFFD: the output is always valid JSON.
void appendJsonString(std::string& out, std::string_view text);

// Appends a JSON number with at most 3 decimals ("12", "4.2"); NaN and
// infinities, which JSON cannot say, become null.
void appendJsonNumber(std::string& out, double value);

// {"error":"<message>"}
std::string jsonError(std::string_view message);

}  // namespace fulcrum::admin
