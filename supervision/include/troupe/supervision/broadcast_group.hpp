// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <troupe/actors/actor_ref.hpp>
#include <troupe/actors/error.hpp>
#include <troupe/actors/expected.hpp>

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <memory>
#include <mutex>
#include <type_traits>
#include <utility>
#include <vector>

namespace troupe {

/// What one `broadcast_group::tell` did.
struct broadcast_result {
    std::size_t accepted = 0; ///< members whose mailbox took the message
    std::size_t refused = 0;  ///< live members that refused it (full mailbox, dropped, ...)
    std::size_t removed = 0;  ///< members found terminated: skipped and removed
};

/// A set of actors speaking `Protocol` that receive every message told to
/// the group (a broadcast: Akka's broadcast group, CAF's broadcast pool
/// policy, without a router actor). Copies of a group share one membership.
///
/// Members are refs added and removed by hand; a member found terminated
/// while broadcasting is skipped, counted (`broadcast_result::removed`) and
/// removed, so the group never grows with dead actors it sends to. Until the
/// next broadcast a terminated member still counts in `size()`.
///
/// **Threading:** every member may be called from any thread. Membership
/// is copy-on-write: `add`/`remove` copy the member list under a mutex and
/// publish the new list; a broadcast takes the current list under that
/// mutex (one shared-pointer copy) and sends outside it, so a slow or
/// blocking member never holds up membership changes or other broadcasts.
/// Each add or remove costs O(members).
/// **Ordering:** a broadcast sends to members in the order they were added;
/// per member, messages from one sender keep their order. A member added or
/// removed during a broadcast may or may not receive it.
/// **Failure:** sends are never retried; an empty (moved-from) group and
/// empty refs fail with `invalid_argument`.
template <class Protocol>
class broadcast_group {
public:
    using protocol = Protocol;

    broadcast_group() : state_(std::make_shared<shared>()) {}

    /// Adds `member`; false if it already was one. Fails with
    /// `invalid_argument` for an empty ref (or an empty group), and with
    /// `receiver_down` if `member` has terminated.
    expected<bool> add(const actor_ref<Protocol>& member) const {
        if (!state_ || !member) {
            return fail(errc::invalid_argument, "add of an empty ref, or to an empty group");
        }
        if (member.addr().is_terminated()) {
            return fail(errc::receiver_down, "the member has terminated");
        }
        std::lock_guard lock(state_->mutex);
        const auto& now = *state_->members;
        if (std::find(now.begin(), now.end(), member) != now.end()) {
            return false;
        }
        auto next = std::make_shared<list>(now);
        next->push_back(member);
        state_->members = std::move(next);
        return true;
    }

    /// Removes `member`; false if it was none (or the group is empty).
    bool remove(const actor_ref<Protocol>& member) const {
        if (!state_) {
            return false;
        }
        std::lock_guard lock(state_->mutex);
        return erase_if_locked([&](const actor_ref<Protocol>& m) { return m == member; }) != 0;
    }

    /// Sends a copy of `m` to every member. See `broadcast_result`.
    template <class M>
    requires protocol_accepts_v<Protocol, M> && std::is_copy_constructible_v<std::remove_cvref_t<M>>
        expected<broadcast_result> tell(const M& m)
    const {
        if (!state_) {
            return fail(errc::invalid_argument, "tell on an empty broadcast_group");
        }
        const std::shared_ptr<const list> members = snapshot();
        broadcast_result out;
        for (const auto& member : *members) {
            if (member.tell(m)) {
                ++out.accepted;
            } else if (member.addr().is_terminated()) {
                ++out.removed;
            } else {
                ++out.refused;
            }
        }
        if (out.removed != 0) {
            std::lock_guard lock(state_->mutex);
            (void)erase_if_locked(
                [](const actor_ref<Protocol>& r) { return r.addr().is_terminated(); });
        }
        return out;
    }

    /// Members, in the order they were added (terminated ones included until
    /// the next broadcast).
    [[nodiscard]] std::vector<actor_ref<Protocol>> members() const {
        return state_ ? *snapshot() : std::vector<actor_ref<Protocol>>{};
    }
    [[nodiscard]] std::size_t size() const { return state_ ? snapshot()->size() : 0; }

private:
    using list = std::vector<actor_ref<Protocol>>;
    struct shared {
        std::mutex mutex;
        std::shared_ptr<const list> members = std::make_shared<const list>(); // guarded by mutex
    };

    [[nodiscard]] std::shared_ptr<const list> snapshot() const {
        std::lock_guard lock(state_->mutex);
        return state_->members;
    }
    // With state_->mutex held: publishes the list without the members `pred`
    // selects; returns how many went.
    template <class Pred>
    std::size_t erase_if_locked(Pred pred) const {
        const auto& now = *state_->members;
        const auto gone = static_cast<std::size_t>(std::count_if(now.begin(), now.end(), pred));
        if (gone != 0) {
            auto next = std::make_shared<list>();
            next->reserve(now.size() - gone);
            std::copy_if(now.begin(), now.end(), std::back_inserter(*next),
                         [&](const actor_ref<Protocol>& r) { return !pred(r); });
            state_->members = std::move(next);
        }
        return gone;
    }

    std::shared_ptr<shared> state_;
};

} // namespace troupe
