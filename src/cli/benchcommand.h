#pragma once

#include <meterconfig.h>

#include <QtCore/QStringList>

#include <vector>

// `dlmsctl bench <benchmark>`: `bench poll` runs simulated meters in a child process and polls
// them, then prints one JSON object of throughput, latency, CPU, memory and bytes. Returns the
// exit code.
int runBenchCommand(const QStringList &arguments);

// What `bench poll` reads on every poll: the first `count` Register (class 3) objects of a
// default simulated meter, in object-list order; empty when it has fewer.
std::vector<polling::PollItem> benchPollItems(int count);
// How many there are to choose from.
int benchPollItemsAvailable();

// The value at quantile `q` (0..1, nearest rank) of `samples`, reordered in place; 0 when empty.
quint32 samplePercentile(std::vector<quint32> &samples, double q);
