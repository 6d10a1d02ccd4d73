// InputSource (files, compression, errors) and InputBlockReader.
#include "analyzer/input_source.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "analyzer/input_block_reader.h"
#include "analyzer/input_mapped_file.h"
#include "analyzer/readers/compression_util.h"
#include "analyzer/readers/record_collector.h"

namespace yoloscope {
namespace {

using testing_readers::GzipCompress;
using testing_readers::TempDir;
using testing_readers::WriteStringToFile;
using testing_readers::ZstdCompress;

std::string ReadAll(InputSource* source, size_t chunk = 7) {
  std::string out;
  std::vector<char> buf(chunk);
  for (;;) {
    auto got = source->Read(buf.data(), buf.size());
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    if (!got.ok() || *got == 0) break;
    out.append(buf.data(), *got);
  }
  return out;
}

std::string Lines(int n) {
  std::string s;
  for (int i = 1; i <= n; ++i) s += "{\"request_id\":\"r" + std::to_string(i) + "\"}\n";
  return s;
}

TEST(InputSourceTest, DetectsCompressionByMagic) {
  EXPECT_EQ(DetectCompression("\x1f\x8b\x08"), Compression::kGzip);
  EXPECT_EQ(DetectCompression("\x28\xb5\x2f\xfd"), Compression::kZstd);
  EXPECT_EQ(DetectCompression("{\"a\""), Compression::kNone);
  EXPECT_EQ(DetectCompression(""), Compression::kNone);
}

TEST(InputSourceTest, ReadsPlainGzipAndZstdWhateverTheName) {
  TempDir dir;
  const std::string data = Lines(5000);
  WriteStringToFile(dir.File("plain.log"), data);
  WriteStringToFile(dir.File("gz.log"), GzipCompress(data));  // no .gz suffix on purpose
  WriteStringToFile(dir.File("zst.jsonl"), ZstdCompress(data));
  // Concatenated gzip members read as one stream.
  WriteStringToFile(dir.File("multi.gz"),
                    GzipCompress(data.substr(0, 1000)) + GzipCompress(data.substr(1000)));
  struct Case {
    std::string name;
    Compression compression;
    bool plain;
  };
  for (const Case& c :
       {Case{"plain.log", Compression::kNone, true}, Case{"gz.log", Compression::kGzip, false},
        Case{"zst.jsonl", Compression::kZstd, false},
        Case{"multi.gz", Compression::kGzip, false}}) {
    auto source = InputSource::Open(dir.File(c.name));
    ASSERT_TRUE(source.ok()) << c.name << ": " << source.status().ToString();
    EXPECT_EQ((*source)->compression(), c.compression) << c.name;
    EXPECT_EQ((*source)->is_plain_file(), c.plain) << c.name;
    auto head = (*source)->Peek(10);
    ASSERT_TRUE(head.ok());
    EXPECT_EQ(*head, data.substr(0, 10)) << c.name;
    EXPECT_EQ(ReadAll(source->get(), c.plain ? 7 : 4096), data) << c.name;
    EXPECT_GT((*source)->raw_bytes_read(), 0);
  }
}

TEST(InputSourceTest, CorruptAndTruncatedCompressedDataAreErrors) {
  TempDir dir;
  const std::string data = Lines(20000);
  std::string gz = GzipCompress(data);
  WriteStringToFile(dir.File("cut.gz"), gz.substr(0, gz.size() / 2));
  std::string zst = ZstdCompress(data);
  WriteStringToFile(dir.File("cut.zst"), zst.substr(0, zst.size() / 2));
  gz[gz.size() / 2] ^= 0x55;
  gz[gz.size() / 2 + 1] ^= 0x55;
  WriteStringToFile(dir.File("bad.gz"), gz);
  for (const char* name : {"cut.gz", "cut.zst", "bad.gz"}) {
    auto source = InputSource::Open(dir.File(name));
    ASSERT_TRUE(source.ok()) << name;
    std::vector<char> buf(65536);
    Status status;
    for (;;) {
      auto got = (*source)->Read(buf.data(), buf.size());
      if (!got.ok()) {
        status = got.status();
        break;
      }
      if (*got == 0) break;
    }
    EXPECT_EQ(status.code(), StatusCode::kDataLoss) << name << ": " << status.ToString();
  }
}

TEST(InputSourceTest, MissingFilesAndDirectories) {
  auto missing = InputSource::Open("/nonexistent/dir/file.jsonl");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  TempDir dir;
  auto directory = InputSource::Open(dir.File(""));
  EXPECT_EQ(directory.status().code(), StatusCode::kInvalidArgument);
}

TEST(InputBlockReaderTest, CutsAtNewlinesAndNumbersLines) {
  TempDir dir;
  std::string data = Lines(3000);
  data += "last line without newline";
  WriteStringToFile(dir.File("f"), data);
  auto source = InputSource::Open(dir.File("f"));
  ASSERT_TRUE(source.ok());
  InputBlockReader reader(source->get(), 4096);
  std::vector<char> buffer;
  std::string seen;
  int64_t next_line = 1;
  for (;;) {
    auto block = reader.Next(&buffer);
    ASSERT_TRUE(block.ok());
    if (block->size == 0) break;
    EXPECT_EQ(block->first_line, next_line);
    EXPECT_GE(buffer.size(), block->size + InputBlockReader::kPadding);
    const std::string_view text(buffer.data(), block->size);
    // Whole lines only, except the unterminated last line of the input.
    if (text.back() != '\n') EXPECT_EQ(text.substr(text.size() - 4), "line");
    next_line += block->lines;
    seen += text;
  }
  EXPECT_EQ(seen, data);
  EXPECT_EQ(reader.lines(), 3001);
}

TEST(InputBlockReaderTest, HoldsAPartialLineWhenFollowing) {
  TempDir dir;
  WriteStringToFile(dir.File("f"), "{\"a\":1}\n{\"a\":");
  auto source = InputSource::Open(dir.File("f"));
  ASSERT_TRUE(source.ok());
  InputBlockReader reader(source->get(), 4096);
  reader.set_hold_partial(true);
  std::vector<char> buffer;
  auto block = reader.Next(&buffer);
  ASSERT_TRUE(block.ok());
  EXPECT_EQ(std::string_view(buffer.data(), block->size), "{\"a\":1}\n");
  block = reader.Next(&buffer);
  ASSERT_TRUE(block.ok());
  EXPECT_EQ(block->size, 0u);
  EXPECT_TRUE(reader.has_partial());
  reader.set_hold_partial(false);
  block = reader.Next(&buffer);
  ASSERT_TRUE(block.ok());
  EXPECT_EQ(std::string_view(buffer.data(), block->size), "{\"a\":");
  EXPECT_EQ(block->first_line, 2);
}

TEST(InputBlockReaderTest, CutsOverlongLines) {
  TempDir dir;
  WriteStringToFile(dir.File("f"), std::string(50000, 'x') + "\n{}\n");
  auto source = InputSource::Open(dir.File("f"));
  ASSERT_TRUE(source.ok());
  InputBlockReader reader(source->get(), 4096, 8192);
  std::vector<char> buffer;
  int64_t total = 0;
  for (;;) {
    auto block = reader.Next(&buffer);
    ASSERT_TRUE(block.ok());
    if (block->size == 0) break;
    EXPECT_LE(block->size, 8192u + 4096u);
    total += static_cast<int64_t>(block->size);
  }
  EXPECT_EQ(total, 50004);
}

TEST(InputMappedFileTest, SplitsAtNewlinesAndNoticesTruncation) {
  TempDir dir;
  const std::string data = Lines(1000);
  WriteStringToFile(dir.File("f"), data);
  auto file = InputMappedFile::Open(dir.File("f"));
  ASSERT_TRUE(file.ok());
  EXPECT_EQ((*file)->data(), data);
  for (int parts : {1, 2, 3, 8}) {
    const auto ranges = (*file)->SplitAtNewlines(parts);
    ASSERT_EQ(static_cast<int>(ranges.size()), parts);
    size_t expect_begin = 0;
    for (const auto& [begin, end] : ranges) {
      EXPECT_EQ(begin, expect_begin);
      EXPECT_EQ(data[end - 1], '\n');
      expect_begin = end;
    }
    EXPECT_EQ(expect_begin, data.size());
  }
  EXPECT_FALSE((*file)->ShrankBelow(data.size()));
  ASSERT_EQ(truncate(dir.File("f").c_str(), 100), 0);
  EXPECT_TRUE((*file)->ShrankBelow(data.size()));
  EXPECT_FALSE((*file)->ShrankBelow(100));

  WriteStringToFile(dir.File("empty"), "");
  auto empty = InputMappedFile::Open(dir.File("empty"));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE((*empty)->data().empty());
  EXPECT_TRUE((*empty)->SplitAtNewlines(4).empty());
}

}  // namespace
}  // namespace yoloscope
