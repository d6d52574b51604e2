// Part of troupe. See LICENSE at the repository root.
//
// Work per benchmark iteration, shared by the troupe and CAF sides of every benchmark so that both
// do identical work and the troupe/CAF ratio printed by tools/bench_table.py is meaningful.
//
// Conventions both sides follow:
//   - Names are "<framework>/<case>[/<arg>]", e.g. "troupe/fan_in/8" and "caf/fan_in/8"; every
//     benchmark is registered with ->UseRealTime()->Unit(benchmark::kMillisecond), which makes
//     Google Benchmark append "/real_time" to the reported name (bench_table.py strips it).
//   - items_per_second comes from state.SetItemsProcessed(iterations * items per iteration).
//   - Actors are set up and torn down with timing paused, one actor system per benchmark run;
//     except for spawn/N, where spawning and exiting is what is measured. Subscribers have joined
//     before timing resumes.
//   - fan_in senders and the publish/match publisher are actors that, on one start message, send
//     their whole share from a single handler as fast as they can; the iteration ends when the
//     receiving side has handled everything (signalled to the benchmark thread, never polled).
//   - Memory counters are plain benchmark::Counter values, averaged over the iterations:
//       peak_rss_mb     = (peak RSS during the iteration - RSS right before it) / MiB
//       bytes_per_actor = (RSS with all N actors alive and idle - RSS before spawning) / N
//     Baselines are taken after release_free_memory() (bench/common/rss.hpp).
#pragma once

#include <cstdint>

namespace troupe::bench {

/// ping_pong: round trips per iteration between two actors, one message in flight.
inline constexpr std::int64_t ping_pong_round_trips = 100'000;

/// fan_in/N: messages per iteration into one receiver; each of the N senders sends total / N.
inline constexpr std::int64_t fan_in_total_messages = 4'000'000;

/// fan_in/N: troupe's bounded receiver mailbox capacity (CAF's mailboxes are unbounded).
inline constexpr std::int64_t fan_in_capacity = 1024;

/// ask: sequential request/response round trips per iteration.
inline constexpr std::int64_t ask_round_trips = 100'000;

/// ask: deadline of every request (troupe's ask always has one; CAF's request gets the same).
inline constexpr std::int64_t ask_timeout_seconds = 10;

/// publish/S and publish_callback/S: deliveries per iteration; events per iteration = this / S.
inline constexpr std::int64_t publish_deliveries = 1'000'000;

/// match/T: publishes per iteration, spread round-robin over the T topics (one subscriber each).
inline constexpr std::int64_t match_publishes = 100'000;

/// gateway: requests per iteration, each client -> gateway -> worker -> gateway -> client.
inline constexpr std::int64_t gateway_requests = 200'000;
/// gateway: client actors; each keeps `gateway_window` requests outstanding.
inline constexpr std::int64_t gateway_clients = 8;
inline constexpr std::int64_t gateway_window = 16;
/// gateway: workers behind the gateway, chosen round-robin.
inline constexpr std::int64_t gateway_workers = 4;

/// Messages each of `senders` fan_in senders sends per iteration.
constexpr std::int64_t fan_in_messages_per_sender(std::int64_t senders) {
    return fan_in_total_messages / senders;
}

/// Events the publisher emits per iteration of publish/S.
constexpr std::int64_t publish_events_per_iteration(std::int64_t subscribers) {
    return publish_deliveries / subscribers;
}

} // namespace troupe::bench
