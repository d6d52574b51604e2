// Part of troupe. See LICENSE at the repository root.
// Compiled by ctest (tests/supervision/CMakeLists.txt): with TROUPE_NEGATIVE_MOVE_ONLY it must
// fail with the one static_assert pointing to make_child_from; without it, it must compile.
#include <troupe/supervision/child_spec.hpp>

#include <memory>

struct msg {};

class holder : public troupe::actor<msg> {
public:
    explicit holder(std::unique_ptr<int> state) : state_(std::move(state)) {}
    explicit holder(const std::shared_ptr<int>& state) : state_(std::make_unique<int>(*state)) {}
    void on(msg&) {}

private:
    std::unique_ptr<int> state_;
};

void use() {
    (void)troupe::make_child<holder>("copied", std::make_shared<int>(1));
    (void)troupe::make_child_from<holder>("built", [] { return holder(std::make_unique<int>(1)); });
#ifdef TROUPE_NEGATIVE_MOVE_ONLY
    (void)troupe::make_child<holder>("moved", std::make_unique<int>(1));
#endif
}
