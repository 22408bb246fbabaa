#include "config/tls_check.h"

#include <string>

#include "core/time_text.h"

namespace fulcrum::config {
namespace {

using Setting = tls::LoadFailure::Setting;

// "2026-12-20 10:00 UTC"
std::string utcDate(int64_t seconds) {
  const std::time_t time = static_cast<std::time_t>(seconds);
  std::tm parts{};
  gmtime_r(&time, &parts);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M UTC", &parts);
  return text;
}

std::string expiredText(const tls::CertificateInfo& info) {
  return info.file + ": the certificate for " + info.subject + " expired on " +
         utcDate(info.not_after);
}

// A certificate that expires after `now` but within kExpirySoon.
bool expiresSoon(const tls::CertificateInfo& info, std::time_t now) {
  const int64_t soon = now + std::chrono::duration_cast<std::chrono::seconds>(kExpirySoon).count();
  return info.not_after > now && info.not_after <= soon;
}

std::string expiresSoonText(const tls::CertificateInfo& info) {
  return "warning: " + info.file + ": the certificate for " + info.subject + " expires on " +
         utcDate(info.not_after) + ", in less than 14 days: renew it and reload";
}

std::string listenerPath(size_t index) {
  return "listeners[" + std::to_string(index) + "].tls";
}

// Where an error about `failure` points: the key that names the file.
std::pair<Mark, std::string> placeOf(const ListenerTlsConfig& tls, const std::string& path,
                                     const tls::LoadFailure& failure) {
  const bool single = tls.certificate_marks.size() == 1 && tls.settings.certificates.size() == 1;
  const std::string item =
      single ? path : path + ".certificates[" + std::to_string(failure.index) + "]";
  switch (failure.setting) {
    case Setting::Certificate:
      if (failure.index < tls.certificate_marks.size())
        return {tls.certificate_marks[failure.index], item + ".certificate"};
      break;
    case Setting::Key:
      if (failure.index < tls.key_marks.size())
        return {tls.key_marks[failure.index], item + ".key"};
      break;
    case Setting::Ciphers:
      return {tls.ciphers_mark, path + ".ciphers"};
    case Setting::ClientCa:
      return {tls.client_ca_mark, path + ".client_ca"};
    case Setting::Ca:
    case Setting::Other:
      break;
  }
  return {tls.mark, path};
}

std::pair<Mark, std::string> placeOf(const UpstreamTlsConfig& tls, const std::string& path,
                                     Setting setting) {
  switch (setting) {
    case Setting::Certificate:
      return {tls.certificate_mark, path + ".certificate"};
    case Setting::Key:
      return {tls.key_mark, path + ".key"};
    case Setting::Ca:
      if (tls.ca_mark.line > 0) return {tls.ca_mark, path + ".ca"};
      break;  // the system store: the tls key itself
    case Setting::Ciphers:
    case Setting::ClientCa:
    case Setting::Other:
      break;
  }
  return {tls.mark, path};
}

// Every file named: what is missing was reported by the loader already.
bool complete(const ListenerTlsConfig& tls) {
  if (!tls.enabled || tls.settings.certificates.empty()) return false;
  for (const tls::CertificateFiles& files : tls.settings.certificates)
    if (files.certificate.empty() || files.key.empty()) return false;
  return tls.settings.client_verify == tls::ClientVerify::Off || !tls.settings.client_ca.empty();
}

bool complete(const UpstreamTlsConfig& tls) {
  const tls::CertificateFiles& client = tls.settings.client;
  return tls.enabled && client.certificate.empty() == client.key.empty();
}

// The upstream's context as a start or a reload would load it; null (with
// an error when `diag` is given) when it cannot be loaded.
std::shared_ptr<const tls::ClientContext> loadUpstreamTls(const UpstreamConfig& upstream,
                                                          Diagnostics* diag) {
  if (!complete(upstream.tls)) return nullptr;
  tls::LoadFailure failure;
  auto context = tls::ClientContext::load(upstream.tls.settings, failure);
  if (!context && diag != nullptr) {
    auto [mark, key] =
        placeOf(upstream.tls, "upstreams." + upstream.name + ".tls", failure.setting);
    diag->error(mark, key, failure.text);
  }
  return context;
}

}  // namespace

void checkTlsFiles(const Config& config, Diagnostics& diag, std::time_t now) {
  for (size_t i = 0; i < config.listeners.size(); ++i) {
    const ListenerTlsConfig& tls = config.listeners[i].tls;
    if (!complete(tls)) continue;
    tls::LoadFailure failure;
    auto context = tls::ServerContext::load(tls.settings, failure);
    if (!context) {
      auto [mark, key] = placeOf(tls, listenerPath(i), failure);
      diag.error(mark, key, failure.text);
      continue;
    }
    for (size_t c = 0; c < context->certificates().size(); ++c) {
      const tls::CertificateInfo& info = context->certificates()[c];
      if (info.not_after > now) continue;
      auto [mark, key] = placeOf(tls, listenerPath(i), {Setting::Certificate, c, ""});
      diag.error(mark, key, expiredText(info));
    }
  }
  for (const UpstreamConfig& upstream : config.upstreams) {
    auto context = loadUpstreamTls(upstream, &diag);
    if (!context || !context->certificate() || context->certificate()->not_after > now) continue;
    // Servers that ask for a client certificate would refuse every handshake.
    auto [mark, key] =
        placeOf(upstream.tls, "upstreams." + upstream.name + ".tls", Setting::Certificate);
    diag.error(mark, key, expiredText(*context->certificate()));
  }
}

void warnAboutTls(const Config& config, std::vector<Diagnostic>& found, std::time_t now) {
  for (size_t i = 0; i < config.listeners.size(); ++i) {
    const ListenerTlsConfig& tls = config.listeners[i].tls;
    if (!complete(tls)) continue;
    tls::LoadFailure failure;
    auto context = tls::ServerContext::load(tls.settings, failure);
    if (!context) continue;  // an error already
    for (size_t c = 0; c < context->certificates().size(); ++c) {
      const tls::CertificateInfo& info = context->certificates()[c];
      if (!expiresSoon(info, now)) continue;
      auto [mark, key] = placeOf(tls, listenerPath(i), {Setting::Certificate, c, ""});
      found.push_back(Diagnostic{config.file, mark, key, expiresSoonText(info)});
    }
  }
  for (const UpstreamConfig& upstream : config.upstreams) {
    const UpstreamTlsConfig& tls = upstream.tls;
    const std::string path = "upstreams." + upstream.name + ".tls";
    if (tls.enabled && !tls.settings.verify)
      found.push_back(Diagnostic{
          config.file, tls.verify_mark, path + ".verify",
          "warning: the servers' certificates are not verified: anyone on the path to them can "
          "pose as a server and read or change every request, payments included; give the CA "
          "that signs them in ca instead"});
    auto context = loadUpstreamTls(upstream, nullptr);
    if (!context || !context->certificate() || !expiresSoon(*context->certificate(), now)) continue;
    auto [mark, key] = placeOf(tls, path, Setting::Certificate);
    found.push_back(Diagnostic{config.file, mark, key, expiresSoonText(*context->certificate())});
  }
}

}  // namespace fulcrum::config
