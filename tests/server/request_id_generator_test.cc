#include "server/request_id_generator.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

namespace yoloscope {
namespace {

TEST(RequestIdGeneratorTest, IdsAreUniqueAndSortByTime) {
  FakeClock clock;
  RequestIdGenerator gen(&clock, 42);
  std::vector<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    ids.push_back(gen.Next());
    if (i % 100 == 0) clock.AdvanceMs(1);
  }
  std::set<std::string> unique(ids.begin(), ids.end());
  EXPECT_EQ(unique.size(), ids.size());
  for (size_t i = 1; i < ids.size(); ++i) EXPECT_LT(ids[i - 1], ids[i]) << i;
  for (const auto& id : ids) {
    ASSERT_EQ(id.size(), 26u);
    EXPECT_EQ(id.find_first_not_of("0123456789ABCDEFGHJKMNPQRSTVWXYZ"), std::string::npos);
  }
}

TEST(RequestIdGeneratorTest, TimePartDominates) {
  FakeClock clock;
  RequestIdGenerator a(&clock, 1), b(&clock, 2);
  std::string first = b.Next();
  clock.AdvanceMs(1);
  std::string later = a.Next();
  EXPECT_LT(first, later);  // whatever the random parts
}

TEST(RequestIdGeneratorTest, UniqueAcrossThreads) {
  RealClock clock;
  RequestIdGenerator gen(&clock);
  std::vector<std::vector<std::string>> per(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) per[t].push_back(gen.Next());
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> all;
  for (auto& v : per) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), 20000u);
}

}  // namespace
}  // namespace yoloscope
