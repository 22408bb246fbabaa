#include "config/tls_check.h"

#include <string>

#include "core/time_text.h"

namespace fulcrum::config {
namespace {

// "2026-12-20 10:00 UTC"
std::string utcDate(int64_t seconds) {
  const std::time_t time = static_cast<std::time_t>(seconds);
  std::tm parts{};
  gmtime_r(&time, &parts);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M UTC", &parts);
  return text;
}

std::string listenerPath(size_t index) {
  return "listeners[" + std::to_string(index) + "].tls";
}

// Where an error about `failure` points: the key that names the file.
std::pair<Mark, std::string> placeOf(const ListenerTlsConfig& tls, const std::string& path,
                                     const tls::LoadFailure& failure) {
  using Setting = tls::LoadFailure::Setting;
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
      tls::LoadFailure expired{tls::LoadFailure::Setting::Certificate, c, ""};
      auto [mark, key] = placeOf(tls, listenerPath(i), expired);
      diag.error(mark, key,
                 info.file + ": the certificate for " + info.subject + " expired on " +
                     utcDate(info.not_after));
    }
  }
}

void warnAboutTls(const Config& config, std::vector<Diagnostic>& found, std::time_t now) {
  const int64_t soon = now + std::chrono::duration_cast<std::chrono::seconds>(kExpirySoon).count();
  for (size_t i = 0; i < config.listeners.size(); ++i) {
    const ListenerTlsConfig& tls = config.listeners[i].tls;
    if (!complete(tls)) continue;
    tls::LoadFailure failure;
    auto context = tls::ServerContext::load(tls.settings, failure);
    if (!context) continue;  // an error already
    for (size_t c = 0; c < context->certificates().size(); ++c) {
      const tls::CertificateInfo& info = context->certificates()[c];
      if (info.not_after <= now || info.not_after > soon) continue;
      tls::LoadFailure place{tls::LoadFailure::Setting::Certificate, c, ""};
      auto [mark, key] = placeOf(tls, listenerPath(i), place);
      found.push_back(Diagnostic{config.file, mark, key,
                                 "warning: " + info.file + ": the certificate for " + info.subject +
                                     " expires on " + utcDate(info.not_after) +
                                     ", in less than 14 days: renew it and reload"});
    }
  }
}

}  // namespace fulcrum::config
