// Every metric fulcrum exports, in one table: name, type and help text.
// The names and label sets follow DESIGN.md section 9 (README "Monitoring"
// explains each); app/metrics_page.cc fills them, nothing else names a metric.
#pragma once

#include <prometheus/metric_type.h>

#include <string_view>

namespace fulcrum::metrics {

enum class Family {
  BuildInfo,
  ConfigReloads,
  ConfigLastReloadSuccessful,
  ConfigGeneration,
  WorkerConfigGeneration,
  WorkerHostSetUpdates,
  DownstreamConnectionsActive,
  DownstreamConnections,
  ProxyProtocolRejected,
  HttpRequests,
  UpstreamRequests,
  UpstreamResponseSeconds,
  UpstreamConnectFailures,
  UpstreamConnectionsOpened,
  UpstreamServerUp,
  UpstreamServerActiveRequests,
  UpstreamHealthyServers,
  UpstreamServers,
  UpstreamPanic,
  HealthChecks,
  OutlierEjections,
  CircuitBreakerRejections,
  Retries,
  RetriesRefused,
  UpstreamBytes,
  PicksWithoutHashKey,
  MaxConnections,
  DownstreamConnectionsLimited,
  LocalResourceErrors,
  AccessLogDropped,
  AdminRequestsRefused,
  TlsHandshakes,
  TlsCertificateExpiry,
  IdempotencyRequests,
  IdempotencyEntries,
  IdempotencyStoreSeconds,
  DnsResolutions,
  Count,
};

struct FamilyInfo {
  std::string_view name;
  prometheus::MetricType type;
  std::string_view help;
};

const FamilyInfo& info(Family family);

}  // namespace fulcrum::metrics
