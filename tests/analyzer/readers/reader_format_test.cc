#include "analyzer/readers/reader_format.h"

#include <gtest/gtest.h>

namespace yoloscope {
namespace {

TEST(ReaderFormatTest, DetectsFromContent) {
  EXPECT_EQ(DetectInputFormat("{\"event\":\"request\"}\n", "x.log"), InputFormat::kJsonl);
  EXPECT_EQ(DetectInputFormat("\xEF\xBB\xBF\n  {\"a\":1}", "x"), InputFormat::kJsonl);
  EXPECT_EQ(DetectInputFormat("[\n  {\"id\": 1", "trace.json"), InputFormat::kTriton);
  EXPECT_EQ(DetectInputFormat("| a | b |\n|---|---|\n", "x"), InputFormat::kMarkdown);
  EXPECT_EQ(DetectInputFormat("# Title\n\ntext\n\na | b\n---|---\n", "x"), InputFormat::kMarkdown);
  EXPECT_EQ(DetectInputFormat("timestamp, index, utilization.gpu [%], memory.used [MiB]\n", "x"),
            InputFormat::kNvidiaSmi);
  EXPECT_EQ(DetectInputFormat("a\tb\tc\n1\t2\t3\n", "x"), InputFormat::kTsv);
  EXPECT_EQ(DetectInputFormat("a,b,c\n1,2,3\n", "x"), InputFormat::kCsv);
  EXPECT_EQ(DetectInputFormat("时间戳,请求ID\n", "x"), InputFormat::kCsv);
  // Empty content: the extension decides; JSONL by default.
  EXPECT_EQ(DetectInputFormat("", "a.csv"), InputFormat::kCsv);
  EXPECT_EQ(DetectInputFormat("", "a.tsv.gz"), InputFormat::kTsv);
  EXPECT_EQ(DetectInputFormat("", "a"), InputFormat::kJsonl);
}

TEST(ReaderFormatTest, ParsesNames) {
  EXPECT_EQ(*ParseInputFormat("auto"), InputFormat::kAuto);
  EXPECT_EQ(*ParseInputFormat("JSONL"), InputFormat::kJsonl);
  EXPECT_EQ(*ParseInputFormat("nvidia-smi"), InputFormat::kNvidiaSmi);
  EXPECT_EQ(*ParseInputFormat("md"), InputFormat::kMarkdown);
  EXPECT_EQ(*ParseInputFormat("triton"), InputFormat::kTriton);
  EXPECT_FALSE(ParseInputFormat("xml").ok());
  for (InputFormat f : {InputFormat::kJsonl, InputFormat::kCsv, InputFormat::kTsv,
                        InputFormat::kMarkdown, InputFormat::kNvidiaSmi, InputFormat::kTriton}) {
    EXPECT_EQ(*ParseInputFormat(InputFormatName(f)), f);
  }
}

}  // namespace
}  // namespace yoloscope
