// GET /status: one self-contained HTML page (inline CSS and JS, no external
// assets). The server renders the tables from a Status snapshot, so the page
// is complete without JavaScript; its script then fetches status.json (a
// relative URL, so a path prefix in front of the admin listener still works)
// every 2 s and redraws the same tables from it. Pure function.
#pragma once

#include <string>

#include "admin/proxy_control.h"

namespace fulcrum::admin {

// Every listener (name, protocol, address, active connections), the
// certificates of TLS listeners (subject, names, file, expiry, days left;
// class "expiring" within 14 days or past), and every
// server of every upstream (name, address, state colour-coded by class
// "state-up|down|ejected|drained", weight, backup, ramp, active requests,
// check result, last transition). All text from the snapshot is
// HTML-escaped; the script only ever sets textContent.
std::string statusPage(const Status& status);

// "3d 4h 5m 6s", "2m 0s", "7s": whole seconds, largest unit first;
// negative or non-finite values are "0s".
std::string formatDuration(double seconds);

}  // namespace fulcrum::admin
