#pragma once

#include "reader.h"

#include <QtCore/QJsonObject>

namespace storage {

// The document of the Python bridge's `GET /meters/{id}/network_stats`, built from the
// database (the seed's API also read its table): the same keys, never renamed —
//   meter_id, meter_name, timestamp (ISO-8601 UTC of the newest row),
//   current{bandwidth_tx_kbps, bandwidth_rx_kbps, bandwidth_total_kbps, packets_tx_ps,
//           packets_rx_ps}                         — the newest row
//   application{dlms_requests_sent, dlms_responses_recv, dlms_avg_payload_size,
//               dlms_total_bytes_sent, dlms_total_bytes_recv, mqtt_messages_sent,
//               mqtt_total_bytes_sent}              — sums over every row of the meter
//   averages{bandwidth_tx_mbps, bandwidth_rx_mbps}  — over the history rows
//   peaks{bandwidth_tx_mbps, bandwidth_rx_mbps}     — over the history rows
//   history{timestamp[], bandwidth_tx_mbps[], bandwidth_rx_mbps[], packets_tx_ps[],
//           packets_rx_ps[]}                        — the newest `historyRows` rows, oldest first
// — plus our keys beside them (in their objects and in new ones: reliability, latency,
// efficiency, interface, outbox). meter_id is the configured id (text), '*' for the system.
// An unknown meter (no row, not in meters) is an error (InvalidArgument: "unknown meter").
dlms::Result<QJsonObject> networkStatsDocument(Reader &reader, const QString &meterId, int historyRows = 60);

} // namespace storage
