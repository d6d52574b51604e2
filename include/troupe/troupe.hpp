// Part of troupe. See LICENSE at the repository root.
//
// The whole public API.

#pragma once

#include <troupe/actors/actor.hpp>
#include <troupe/actors/actor_ref.hpp>
#include <troupe/actors/system.hpp>
#include <troupe/actors/task.hpp>
#include <troupe/mailbox/overflow_policy.hpp>
#if __has_include(<troupe/supervision/supervisor.hpp>)
#include <troupe/supervision/broadcast_group.hpp>
#include <troupe/supervision/pool.hpp>
#include <troupe/supervision/supervisor.hpp>
#endif
#if __has_include(<troupe/events/registry.hpp>)
#include <troupe/events/registry.hpp>
#endif
