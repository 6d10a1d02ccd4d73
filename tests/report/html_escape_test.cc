#include "report/html_escape.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace yoloscope {
namespace {

TEST(HtmlEscapeTest, EscapesEveryMarkupCharacter) {
  EXPECT_EQ(EscapeHtml("<img src=x onerror=\"alert('1')\">&amp;"),
            "&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;amp;");
  EXPECT_EQ(EscapeHtml("yolov8n \xE6\xA8\xA1\xE5\x9E\x8B"), "yolov8n \xE6\xA8\xA1\xE5\x9E\x8B");
  EXPECT_EQ(EscapeHtml(""), "");
}

TEST(HtmlEscapeTest, JsonForScriptCannotCloseTheScriptElement) {
  nlohmann::json j = {{"request_id", "</script><script>alert(1)</script>"},
                      {"model", "<!-- x -->"},
                      {"sep",
                       "a\xE2\x80\xA8"
                       "b\xE2\x80\xA9"
                       "c"},
                      {"amp", "&lt;"}};
  const std::string out = JsonForScript(j);
  EXPECT_EQ(out.find('<'), std::string::npos) << out;
  EXPECT_EQ(out.find('>'), std::string::npos) << out;
  EXPECT_EQ(out.find('&'), std::string::npos) << out;
  EXPECT_EQ(out.find("\xE2\x80\xA8"), std::string::npos);
  EXPECT_EQ(out.find("\xE2\x80\xA9"), std::string::npos);
  // JSON.parse gives the very same strings back.
  EXPECT_EQ(nlohmann::json::parse(out), j);
}

TEST(HtmlEscapeTest, JsonForScriptSurvivesInvalidUtf8) {
  nlohmann::json j = {{"id", std::string("bad\xff\xfe<")}};
  std::string out;
  EXPECT_NO_THROW(out = JsonForScript(j));
  EXPECT_EQ(out.find('<'), std::string::npos);
  EXPECT_FALSE(nlohmann::json::parse(out, nullptr, false).is_discarded());
}

}  // namespace
}  // namespace yoloscope
