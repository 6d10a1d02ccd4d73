// Pure parsing: query strings, media types, multipart bodies, responses.
#include <gtest/gtest.h>

#include <string>

#include "http/media_type.h"
#include "http/multipart_form.h"
#include "http/query_string.h"
#include "http/response.h"
#include "http/test_http_client.h"

namespace yoloscope::http {
namespace {

using ::yoloscope::testing::BuildMultipartBody;
using ::yoloscope::testing::TestMultipartPart;

TEST(QueryStringTest, DecodesPairsInOrder) {
  QueryParams params = ParseQueryString("conf=0.3&iou=0.5&name=a+b%2Fc&flag&&x=");
  ASSERT_EQ(params.size(), 5u);
  EXPECT_EQ(params[0], (std::pair<std::string, std::string>("conf", "0.3")));
  EXPECT_EQ(params[1], (std::pair<std::string, std::string>("iou", "0.5")));
  EXPECT_EQ(params[2], (std::pair<std::string, std::string>("name", "a b/c")));
  EXPECT_EQ(params[3], (std::pair<std::string, std::string>("flag", "")));
  EXPECT_EQ(params[4], (std::pair<std::string, std::string>("x", "")));
}

TEST(QueryStringTest, KeepsRepeatedKeysAndEmptyQuery) {
  EXPECT_TRUE(ParseQueryString("").empty());
  QueryParams params = ParseQueryString("a=1&a=2");
  ASSERT_EQ(params.size(), 2u);
  EXPECT_EQ(params[1].second, "2");
}

TEST(QueryStringTest, PercentDecodeIsLenient) {
  EXPECT_EQ(PercentDecode("%41%62%zz%", false), "Ab%zz%");
  EXPECT_EQ(PercentDecode("a+b", false), "a+b");
  EXPECT_EQ(PercentDecode("a+b", true), "a b");
  EXPECT_EQ(PercentDecode("%2", true), "%2");
  EXPECT_EQ(PercentDecode("%e2%82%ac", false), "\xe2\x82\xac");
}

TEST(MediaTypeTest, ParsesTypeAndParameters) {
  auto media_type = MediaType::Parse(" Multipart/Form-Data; Boundary=\"a b\\\"c\" ; charset=utf-8");
  ASSERT_TRUE(media_type.ok()) << media_type.status().ToString();
  EXPECT_EQ(media_type->type, "multipart/form-data");
  EXPECT_TRUE(media_type->Is("MULTIPART/form-data"));
  EXPECT_EQ(media_type->Param("boundary").value_or(""), "a b\"c");
  EXPECT_EQ(media_type->Param("CHARSET").value_or(""), "utf-8");
  EXPECT_FALSE(media_type->Param("missing").has_value());
  EXPECT_EQ(MediaType::Parse("image/jpeg")->type, "image/jpeg");
}

TEST(MediaTypeTest, RejectsMalformed) {
  for (const char* bad : {"", "   ", "image", "image/", "/jpeg", "image/jpeg; q", "a/b; c=\"open",
                          "a/b x", "a/b; =1"}) {
    EXPECT_EQ(MediaType::Parse(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(MultipartFormTest, FindsPartsWithTypeAndFilename) {
  std::string binary("\x00\xff\r\n--not-the-boundary\r\n\r\n", 26);
  std::string body = BuildMultipartBody(
      "XyZ123", {{"conf", "", "", "0.25"}, {"image", "cat.jpg", "image/jpeg", binary}});
  auto form = MultipartForm::Parse("multipart/form-data; boundary=XyZ123", body);
  ASSERT_TRUE(form.ok()) << form.status().ToString();
  ASSERT_EQ(form->parts().size(), 2u);
  const MultipartPart* image = form->Find("image");
  ASSERT_NE(image, nullptr);
  EXPECT_EQ(image->filename, "cat.jpg");
  EXPECT_EQ(image->content_type, "image/jpeg");
  EXPECT_EQ(image->data, binary);
  // Zero copy: the data points into the body.
  EXPECT_GE(image->data.data(), body.data());
  EXPECT_LE(image->data.data() + image->data.size(), body.data() + body.size());
  const MultipartPart* conf = form->Find("conf");
  ASSERT_NE(conf, nullptr);
  EXPECT_EQ(conf->data, "0.25");
  EXPECT_TRUE(conf->content_type.empty());
  EXPECT_EQ(form->Find("missing"), nullptr);
}

TEST(MultipartFormTest, AcceptsPreambleEpilogueQuotedBoundaryAndEmptyData) {
  std::string body =
      "this is a preamble\r\n"
      "--b:1 2\r\n"
      "content-disposition: form-data; name=\"empty\"\r\n"
      "\r\n"
      "\r\n"
      "--b:1 2  \r\n"  // transport padding
      "Content-Disposition: form-data; name=image; filename=\"a\\\"b.png\"\r\n"
      "Content-Type: image/png\r\n"
      "\r\n"
      "PNG\r\n"
      "--b:1 2--\r\n"
      "epilogue";
  auto form = MultipartForm::Parse("multipart/form-data; boundary=\"b:1 2\"", body);
  ASSERT_TRUE(form.ok()) << form.status().ToString();
  ASSERT_EQ(form->parts().size(), 2u);
  EXPECT_EQ(form->parts()[0].name, "empty");
  EXPECT_EQ(form->parts()[0].data, "");
  EXPECT_EQ(form->parts()[1].filename, "a\"b.png");
  EXPECT_EQ(form->parts()[1].data, "PNG");
}

TEST(MultipartFormTest, RejectsMalformedBodiesWithClearErrors) {
  const std::string good = BuildMultipartBody("bnd", {{"image", "x.jpg", "image/jpeg", "JPEG"}});
  struct Case {
    std::string content_type;
    std::string body;
    std::string expected_message;
  };
  std::vector<Case> cases = {
      {"image/jpeg", good, "expected multipart/form-data"},
      {"multipart/form-data", good, "without a boundary"},
      {"multipart/form-data; boundary=", good, "malformed content type"},
      {"multipart/form-data; boundary=" + std::string(71, 'a'), good, "1 to 70"},
      {"multipart/form-data; boundary=\"a\x01\"", good, "invalid character"},
      {"multipart/form-data; boundary=other", good, "does not contain its boundary"},
      {"multipart/form-data; boundary=bnd", good.substr(0, good.size() - 12),
       "not terminated by the boundary"},
      {"multipart/form-data; boundary=bnd", "--bnd\r\n", "not terminated by an empty line"},
      {"multipart/form-data; boundary=bnd", "--bnd", "ends after a boundary"},
      {"multipart/form-data; boundary=bnd", "--bndX\r\n", "malformed multipart boundary line"},
      {"multipart/form-data; boundary=bnd", "--bnd\r\nContent-Type: text/plain\r\n\r\nx\r\n--bnd--",
       "no Content-Disposition"},
      {"multipart/form-data; boundary=bnd",
       "--bnd\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n--bnd--", "other than"},
      {"multipart/form-data; boundary=bnd",
       "--bnd\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx\r\n--bnd--", "unterminated"},
      {"multipart/form-data; boundary=bnd", "--bnd\r\nno colon here\r\n\r\nx\r\n--bnd--",
       "malformed header line"},
      {"multipart/form-data; boundary=bnd", "", "does not contain its boundary"},
  };
  for (const Case& c : cases) {
    auto form = MultipartForm::Parse(c.content_type, c.body);
    ASSERT_FALSE(form.ok()) << c.content_type << " | " << c.body;
    EXPECT_EQ(form.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(form.status().message().find(c.expected_message), std::string::npos)
        << "got: " << form.status().message() << " want: " << c.expected_message;
  }
}

TEST(MultipartFormTest, LimitsThePartCount) {
  std::vector<TestMultipartPart> parts(MultipartForm::kMaxParts + 1, {"p", "", "", "x"});
  auto form = MultipartForm::ParseWithBoundary("b", BuildMultipartBody("b", parts));
  ASSERT_FALSE(form.ok());
  EXPECT_NE(form.status().message().find("more than"), std::string::npos);
  parts.pop_back();
  EXPECT_TRUE(MultipartForm::ParseWithBoundary("b", BuildMultipartBody("b", parts)).ok());
}

TEST(ResponseTest, ErrorIsEscapedJson) {
  Response response = Response::Error(413, "too \"big\"\n\x01");
  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(response.body, "{\"error\": \"too \\\"big\\\"\\n\\u0001\"}");
  EXPECT_EQ(Response::Json("{}", 201).status, 201);
  EXPECT_EQ(Response::Text("x").content_type, "text/plain; charset=utf-8");
}

TEST(ResponseTest, ErrorBodiesAreValidUtf8WhateverTheMessageBytes) {
  // Valid UTF-8 passes through; each invalid byte becomes \ufffd: a lone
  // 0xff, a truncated sequence, an overlong '/', a surrogate, Latin-1 'é'.
  EXPECT_EQ(Response::Error(404, "caf\xc3\xa9 \xe4\xb8\xad").body,
            "{\"error\": \"caf\xc3\xa9 \xe4\xb8\xad\"}");
  EXPECT_EQ(Response::Error(404, "/\xff\xfe").body, "{\"error\": \"/\\ufffd\\ufffd\"}");
  EXPECT_EQ(Response::Error(404, "\xe4\xb8").body, "{\"error\": \"\\ufffd\\ufffd\"}");
  EXPECT_EQ(Response::Error(404, "\xc0\xaf").body, "{\"error\": \"\\ufffd\\ufffd\"}");
  EXPECT_EQ(Response::Error(404, "\xed\xa0\x80").body, "{\"error\": \"\\ufffd\\ufffd\\ufffd\"}");
  EXPECT_EQ(Response::Error(404, "caf\xe9").body, "{\"error\": \"caf\\ufffd\"}");
}

}  // namespace
}  // namespace yoloscope::http
