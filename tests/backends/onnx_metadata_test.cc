#include "backends/onnx_metadata.h"

#include <gtest/gtest.h>

#include "testing/test_models.h"

namespace yoloscope {
namespace {

// Hand-encoded protobuf pieces: tag = (field << 3) | wire_type.
std::string Varint(uint64_t v) {
  std::string s;
  while (v >= 0x80) {
    s.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  s.push_back(static_cast<char>(v));
  return s;
}
std::string Field(uint32_t field, const std::string& payload) {
  return Varint((field << 3) | 2) + Varint(payload.size()) + payload;
}
std::string Entry(const std::string& k, const std::string& v) {
  return Field(14, Field(1, k) + Field(2, v));
}

TEST(OnnxMetadataTest, ReadsEntriesAndSkipsOtherFields) {
  std::string model = Varint((1 << 3) | 0) + Varint(8) +  // ir_version = 8 (varint)
                      Field(2, "pytorch") +                 // producer_name
                      Field(7, std::string(100, 'g')) +     // graph (opaque here)
                      Entry("stride", "32") + Entry("names", "{0: 'person'}");
  auto kv = ParseOnnxMetadata(model);
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  EXPECT_EQ(kv->size(), 2u);
  EXPECT_EQ(kv->at("stride"), "32");
  EXPECT_EQ(kv->at("names"), "{0: 'person'}");
}

TEST(OnnxMetadataTest, RejectsGarbageAndGraphlessMessages) {
  EXPECT_FALSE(ParseOnnxMetadata("").ok());
  EXPECT_FALSE(ParseOnnxMetadata("hello world, not protobuf").ok());
  EXPECT_FALSE(ParseOnnxMetadata(Field(7, "abc").substr(0, 3)).ok());  // truncated
  EXPECT_FALSE(ParseOnnxMetadata(Entry("a", "b")).ok());                // no graph
}

TEST(OnnxMetadataTest, GeneratedModelsCarryTheirMetadata) {
  auto models = testing::LoadManifest();
  int checked = 0;
  for (const auto& m : models) {
    if (m.onnx.empty()) continue;
    auto kv = ReadOnnxMetadata(m.onnx);
    ASSERT_TRUE(kv.ok()) << kv.status().ToString();
    EXPECT_EQ(kv->at("layout"), m.layout) << m.name;
    EXPECT_NE(kv->at("names").find("'person'"), std::string::npos) << m.name;
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "no generated ONNX models";
}

}  // namespace
}  // namespace yoloscope
