#include "common/heap_usage.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace yoloscope {
namespace {

TEST(HeapUsageTest, InUseFollowsAllocationsAndFrees) {
  auto before = ReadHeapUsage();
#if !defined(__GLIBC__)
  GTEST_SKIP() << "the C library reports no heap figures";
#endif
  ASSERT_TRUE(before.has_value());
  // 4,000 blocks of 4 KiB (below the mmap threshold: arena memory).
  std::vector<std::unique_ptr<char[]>> blocks;
  for (int i = 0; i < 4000; ++i) {
    blocks.emplace_back(new char[4096]);
    blocks.back()[0] = static_cast<char>(i);  // touch it
  }
  auto during = ReadHeapUsage();
  ASSERT_TRUE(during.has_value());
  EXPECT_GE(during->in_use_bytes, before->in_use_bytes + 4000u * 4096u);
  // Free every other block: in use drops, the allocator keeps them as free
  // (they are not at the top of the heap, so they cannot go back by sbrk).
  for (size_t i = 0; i < blocks.size(); i += 2) blocks[i].reset();
  auto after = ReadHeapUsage();
  ASSERT_TRUE(after.has_value());
  EXPECT_LE(after->in_use_bytes + 2000u * 4096u, during->in_use_bytes);
  EXPECT_GE(after->free_bytes, 2000u * 4096u);
}

TEST(HeapUsageTest, TrimKeepsMemoryInUse) {
  std::vector<std::unique_ptr<char[]>> kept;
  for (int i = 0; i < 1000; ++i) kept.emplace_back(new char[4096]);
  auto before = ReadHeapUsage();
  (void)TrimHeap();
  auto after = ReadHeapUsage();
  if (!before || !after) GTEST_SKIP() << "the C library reports no heap figures";
  // Trimming returns free pages only: what the program holds is untouched.
  EXPECT_EQ(after->in_use_bytes, before->in_use_bytes);
  for (auto& k : kept) k[4095] = 1;  // still writable
}

}  // namespace
}  // namespace yoloscope
