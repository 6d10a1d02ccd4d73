// InputSource (files, compression, errors) and InputBlockReader.
#include "analyzer/readers/input_source.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "analyzer/readers/compression_util.h"
#include "analyzer/readers/input_block_reader.h"
#include "analyzer/readers/input_mapped_file.h"
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

TEST(InputMappedFileTest, FindsLineStartsAndMapsWindows) {
  TempDir dir;
  // Lines of varied length, one longer than the pread chunk, no final newline.
  std::string data = Lines(700) + std::string(40000, 'x') + "\n" + Lines(300) + "tail";
  WriteStringToFile(dir.File("f"), data);
  auto file = InputMappedFile::Open(dir.File("f"));
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  ASSERT_EQ((*file)->size(), data.size());
  for (size_t pos : {size_t{0}, size_t{1}, size_t{17}, size_t{4096}, size_t{20000},
                     data.find('x') + 5, data.size() - 3, data.size(), data.size() + 10}) {
    size_t want = pos == 0 ? 0 : data.find('\n', pos - 1);
    want =
        pos == 0 ? 0 : (want == std::string::npos || pos >= data.size() ? data.size() : want + 1);
    auto got = (*file)->NextLineStart(pos);
    ASSERT_TRUE(got.ok()) << pos;
    EXPECT_EQ(*got, want) << pos;
  }
  // A position right after a newline is a line start itself.
  const size_t second = data.find('\n') + 1;
  EXPECT_EQ(*(*file)->NextLineStart(second), second);

  // Windows of any size and alignment give back exactly the file's bytes;
  // the bytes up to readable_end() may be read (page padding).
  for (size_t step : {size_t{1000}, size_t{4096}, size_t{65536}}) {
    std::string joined;
    for (size_t b = 0; b < data.size(); b += step) {
      const size_t begin = *(*file)->NextLineStart(b);
      const size_t end = *(*file)->NextLineStart(b + step);
      auto window = (*file)->Map(begin, end);
      ASSERT_TRUE(window.ok()) << window.status().ToString();
      EXPECT_EQ(window->data(), std::string_view(data).substr(begin, end - begin));
      if (end > begin) {
        EXPECT_GE(window->readable_end(), window->data().data() + window->data().size());
        volatile char last = *(window->readable_end() - 1);
        (void)last;
      }
      joined += window->data();
    }
    EXPECT_EQ(joined, data) << step;
  }
  EXPECT_FALSE((*file)->Map(10, data.size() + 1).ok());

  // A moved-from window is empty; the moved-to one still reads the bytes.
  auto a = (*file)->Map(0, 100);
  ASSERT_TRUE(a.ok());
  InputMappedFile::Window b = std::move(*a);
  EXPECT_TRUE(a->data().empty());
  EXPECT_EQ(b.data(), std::string_view(data).substr(0, 100));
}

TEST(InputMappedFileTest, NoticesTruncation) {
  TempDir dir;
  const std::string data = Lines(1000);
  WriteStringToFile(dir.File("f"), data);
  auto file = InputMappedFile::Open(dir.File("f"));
  ASSERT_TRUE(file.ok());
  EXPECT_FALSE((*file)->ShrankBelow(data.size()));
  ASSERT_EQ(truncate(dir.File("f").c_str(), 100), 0);
  EXPECT_TRUE((*file)->ShrankBelow(data.size()));
  EXPECT_FALSE((*file)->ShrankBelow(100));
  // Looking for a newline past the new end is DataLoss, not a wrong answer.
  EXPECT_EQ((*file)->NextLineStart(5000).status().code(), StatusCode::kDataLoss);

  WriteStringToFile(dir.File("empty"), "");
  auto empty = InputMappedFile::Open(dir.File("empty"));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ((*empty)->size(), 0u);
  auto window = (*empty)->Map(0, 0);
  ASSERT_TRUE(window.ok());
  EXPECT_TRUE(window->data().empty());
}

}  // namespace
}  // namespace yoloscope
