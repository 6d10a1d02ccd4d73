#include "model/model_info.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "model/python_literal.h"

namespace yoloscope {
namespace {

// The names dict exactly as Ultralytics writes it into ONNX metadata
// (str() of a Python dict), built from the COCO table.
std::string UltralyticsNamesRepr(const std::vector<std::string>& names) {
  std::string s = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(i) + ": '" + names[i] + "'";
  }
  return s + "}";
}

Status Apply(const std::map<std::string, std::string>& kv, ModelInfo* info) {
  return ApplyModelMetadata(kv, info);
}

// A file under the test's temp dir, removed at scope exit.
class TempFile {
 public:
  TempFile(const std::string& name, const std::string& content)
      : path_(std::filesystem::path(::testing::TempDir()) / ("model_info_test_" + name)) {
    std::ofstream(path_, std::ios::binary) << content;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

TEST(OutputLayoutTest, NamesRoundTrip) {
  for (OutputLayout l : {OutputLayout::kYoloV5, OutputLayout::kYoloV8, OutputLayout::kEndToEnd}) {
    EXPECT_EQ(ParseOutputLayout(OutputLayoutName(l)), l);
  }
  EXPECT_STREQ(OutputLayoutName(OutputLayout::kUnknown), "unknown");
  EXPECT_EQ(ParseOutputLayout("V8"), OutputLayout::kYoloV8);
  EXPECT_EQ(ParseOutputLayout("yolo11"), OutputLayout::kYoloV8);
  EXPECT_EQ(ParseOutputLayout("end2end"), OutputLayout::kEndToEnd);
  EXPECT_EQ(ParseOutputLayout("v9"), OutputLayout::kUnknown);
  EXPECT_EQ(ParseOutputLayout(""), OutputLayout::kUnknown);
}

TEST(ModelInfoTest, CocoNamesAndLabels) {
  const auto& coco = CocoClassNames();
  ASSERT_EQ(coco.size(), 80u);
  EXPECT_EQ(coco[0], "person");
  EXPECT_EQ(coco[9], "traffic light");
  EXPECT_EQ(coco[62], "tv");
  EXPECT_EQ(coco[77], "teddy bear");
  EXPECT_EQ(coco[78], "hair drier");
  EXPECT_EQ(coco[79], "toothbrush");

  ModelInfo info;
  EXPECT_EQ(info.num_classes(), 80);
  EXPECT_FALSE(info.class_names_given);
  EXPECT_EQ(info.Label(2), "car");
  EXPECT_EQ(info.Label(80), "class80");
  EXPECT_EQ(info.Label(-1), "class-1");
}

TEST(ApplyModelMetadataTest, UltralyticsOnnxMetadata) {
  ModelInfo info;
  info.class_names.clear();
  std::map<std::string, std::string> kv = {
      {"description", "Ultralytics YOLOv8n model trained on coco.yaml"},
      {"author", "Ultralytics"},
      {"stride", "32"},
      {"task", "detect"},
      {"batch", "1"},
      {"imgsz", "[640, 640]"},
      {"names", UltralyticsNamesRepr(CocoClassNames())},
  };
  ASSERT_TRUE(Apply(kv, &info).ok());
  EXPECT_EQ(info.class_names, CocoClassNames());
  EXPECT_TRUE(info.class_names_given);
  EXPECT_EQ(info.input_w, 640);
  EXPECT_EQ(info.input_h, 640);
  EXPECT_EQ(info.stride, 32);
  EXPECT_EQ(info.task, "detect");
  EXPECT_FALSE(info.dynamic_batch);
  EXPECT_EQ(info.fixed_batch, 1);
  EXPECT_EQ(info.layout, OutputLayout::kUnknown);
  EXPECT_EQ(info.metadata.at("author"), "Ultralytics");  // unknown keys are kept.
}

TEST(ApplyModelMetadataTest, NamesWithQuotesAndSpaces) {
  ModelInfo info;
  // Python repr switches to double quotes for names holding an apostrophe
  // and escapes a quote only when both kinds appear.
  ASSERT_TRUE(Apply({{"names", R"({0: 'teddy bear', 1: "driver's seat", 2: 'it\'s "x"', )"
                               R"(3: "hair drier", 4: 'caf\xe9', 5: '\u00e9t\u00e9'})"}},
                    &info)
                  .ok());
  ASSERT_EQ(info.num_classes(), 6);
  EXPECT_EQ(info.class_names[0], "teddy bear");
  EXPECT_EQ(info.class_names[1], "driver's seat");
  EXPECT_EQ(info.class_names[2], "it's \"x\"");
  EXPECT_EQ(info.class_names[3], "hair drier");
  EXPECT_EQ(info.class_names[4], "caf\xc3\xa9");
  EXPECT_EQ(info.class_names[5], "\xc3\xa9t\xc3\xa9");
}

TEST(ApplyModelMetadataTest, NamesListsAndSparseIds) {
  ModelInfo info;
  ASSERT_TRUE(Apply({{"names", "['cat', 'dog']"}}, &info).ok());
  EXPECT_EQ(info.class_names, (std::vector<std::string>{"cat", "dog"}));
  ASSERT_TRUE(Apply({{"names", R"({"0": "cat", "1": "dog"})"}}, &info).ok());
  EXPECT_EQ(info.class_names, (std::vector<std::string>{"cat", "dog"}));
  // Out-of-order ids are placed by id; gaps get a placeholder.
  ASSERT_TRUE(Apply({{"names", "{2: 'c', 0: 'a'}"}}, &info).ok());
  EXPECT_EQ(info.class_names, (std::vector<std::string>{"a", "class1", "c"}));
}

TEST(ApplyModelMetadataTest, ImgszForms) {
  ModelInfo info;
  ASSERT_TRUE(Apply({{"imgsz", "[480, 640]"}}, &info).ok());
  EXPECT_EQ(info.input_h, 480);  // [h, w]
  EXPECT_EQ(info.input_w, 640);
  ASSERT_TRUE(Apply({{"imgsz", "320"}}, &info).ok());
  EXPECT_EQ(info.input_h, 320);
  EXPECT_EQ(info.input_w, 320);
  ASSERT_TRUE(Apply({{"imgsz", "(256, 512)"}}, &info).ok());
  EXPECT_EQ(info.input_h, 256);
  EXPECT_EQ(info.input_w, 512);
  ASSERT_TRUE(Apply({{"imgsz", "[1280]"}}, &info).ok());
  EXPECT_EQ(info.input_w, 1280);
  EXPECT_EQ(info.input_h, 1280);
}

TEST(ApplyModelMetadataTest, StrideBatchTaskLayout) {
  ModelInfo info;
  ASSERT_TRUE(
      Apply({{"stride", "[8, 16, 64]"}, {"task", "segment"}, {"layout", "v5"}}, &info).ok());
  EXPECT_EQ(info.stride, 64);
  EXPECT_EQ(info.task, "segment");
  EXPECT_EQ(info.layout, OutputLayout::kYoloV5);

  ModelInfo dyn;
  ASSERT_TRUE(
      Apply({{"batch", "1"}, {"args", "{'batch': 1, 'half': False, 'dynamic': True}"}}, &dyn).ok());
  EXPECT_TRUE(dyn.dynamic_batch);
  EXPECT_EQ(dyn.fixed_batch, 0);

  ModelInfo fixed;
  ASSERT_TRUE(Apply({{"batch", "8"}}, &fixed).ok());
  EXPECT_FALSE(fixed.dynamic_batch);
  EXPECT_EQ(fixed.fixed_batch, 8);
}

TEST(ApplyModelMetadataTest, EndToEndHints) {
  ModelInfo a;
  ASSERT_TRUE(Apply({{"end2end", "True"}}, &a).ok());
  EXPECT_EQ(a.layout, OutputLayout::kEndToEnd);
  ModelInfo b;
  ASSERT_TRUE(Apply({{"args", "{'nms': True, 'dynamic': False}"}}, &b).ok());
  EXPECT_EQ(b.layout, OutputLayout::kEndToEnd);
  ModelInfo c;
  ASSERT_TRUE(Apply({{"end2end", "True"}, {"layout", "v8"}}, &c).ok());  // explicit wins.
  EXPECT_EQ(c.layout, OutputLayout::kYoloV8);
  ModelInfo d;
  ASSERT_TRUE(Apply({{"end2end", "False"}}, &d).ok());
  EXPECT_EQ(d.layout, OutputLayout::kUnknown);
}

TEST(ApplyModelMetadataTest, TorchScriptConfigTxt) {
  // Ultralytics writes json.dumps(metadata): int dict keys become strings.
  const std::string config = R"({"description": "Ultralytics YOLO11n", "stride": 32,
      "task": "detect", "batch": 1, "imgsz": [480, 640],
      "names": {"0": "person", "1": "teddy bear", "2": "it's"}, "args": {"dynamic": true}})";
  ModelInfo info;
  ASSERT_TRUE(Apply({{"config.txt", config}}, &info).ok());
  EXPECT_EQ(info.class_names, (std::vector<std::string>{"person", "teddy bear", "it's"}));
  EXPECT_EQ(info.input_h, 480);
  EXPECT_EQ(info.input_w, 640);
  EXPECT_EQ(info.stride, 32);
  EXPECT_TRUE(info.dynamic_batch);
  EXPECT_EQ(info.metadata.at("description"), "Ultralytics YOLO11n");
  EXPECT_EQ(info.metadata.at("config.txt"), config);

  // names as a JSON list; a plain key overrides the same key in config.txt.
  ModelInfo list;
  ASSERT_TRUE(
      Apply({{"config.txt", R"({"names": ["a", "b"], "imgsz": 320})"}, {"imgsz", "640"}}, &list)
          .ok());
  EXPECT_EQ(list.class_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(list.input_w, 640);
}

TEST(ApplyModelMetadataTest, MalformedValuesNameTheKeyAndValue) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"imgsz", "[640, abc]"},
      {"imgsz", "-1"},
      {"imgsz", "[0, 640]"},
      {"imgsz", "[1, 2, 3]"},
      {"stride", "x"},
      {"stride", "0"},
      {"batch", "two"},
      {"layout", "v9"},
      {"end2end", "maybe"},
      {"names", "{0: 'person', 1: }"},
      {"names", "{-1: 'x'}"},
      {"names", "{0: 'a', 0: 'b'}"},
      {"names", "person"},
      {"names", "{}"},
      {"names", "{0: ['x']}"},
      {"names", "{'zero': 'x'}"},
      {"names", "'unterminated"},
      {"config.txt", "{not json"},
      {"config.txt", "[1, 2]"},
  };
  for (const auto& [key, value] : bad) {
    ModelInfo info;
    info.name = "before";
    Status st = Apply({{key, value}, {"task", "pose"}}, &info);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << key << "=" << value;
    EXPECT_NE(st.message().find("'" + key + "'"), std::string::npos) << st.message();
    if (key != "config.txt") {
      EXPECT_NE(st.message().find(value), std::string::npos) << st.message();
    }
    // Nothing was applied.
    EXPECT_EQ(info.task, "detect") << key;
    EXPECT_EQ(info.num_classes(), 80);
    EXPECT_TRUE(info.metadata.empty());
  }
}

TEST(LoadNamesFileTest, OneNamePerLine) {
  TempFile file("coco.names", "person\r\nbicycle\n\n  traffic light  \nteddy bear\n\n");
  ModelInfo info;
  ASSERT_TRUE(LoadNamesFile(file.path(), &info).ok());
  EXPECT_EQ(info.class_names,
            (std::vector<std::string>{"person", "bicycle", "traffic light", "teddy bear"}));
  EXPECT_TRUE(info.class_names_given);
}

TEST(LoadNamesFileTest, UltralyticsDataYaml) {
  TempFile file("data.yaml",
                "path: ../datasets/coco\ntrain: images/train\nnc: 3\n"
                "names:\n  0: person\n  1: 'teddy bear'\n  2: \"it's\"\n");
  ModelInfo info;
  ASSERT_TRUE(LoadNamesFile(file.path(), &info).ok());
  EXPECT_EQ(info.class_names, (std::vector<std::string>{"person", "teddy bear", "it's"}));

  TempFile list("list.yml", "names: [cat, 'hot dog']\n");
  ASSERT_TRUE(LoadNamesFile(list.path(), &info).ok());
  EXPECT_EQ(info.class_names, (std::vector<std::string>{"cat", "hot dog"}));

  TempFile block("block.yaml", "names:\n  - a\n  - b c\n");
  ASSERT_TRUE(LoadNamesFile(block.path(), &info).ok());
  EXPECT_EQ(info.class_names, (std::vector<std::string>{"a", "b c"}));
}

TEST(LoadNamesFileTest, Json) {
  TempFile obj("names.json", R"({"names": {"0": "x", "1": "y z"}})");
  ModelInfo info;
  ASSERT_TRUE(LoadNamesFile(obj.path(), &info).ok());
  EXPECT_EQ(info.class_names, (std::vector<std::string>{"x", "y z"}));
  TempFile arr("arr.json", R"(["p", "q"])");
  ASSERT_TRUE(LoadNamesFile(arr.path(), &info).ok());
  EXPECT_EQ(info.class_names, (std::vector<std::string>{"p", "q"}));
  // A .txt holding a dict literal is read as one.
  TempFile txt("dict.txt", "{0: 'person', 1: 'car'}\n");
  ASSERT_TRUE(LoadNamesFile(txt.path(), &info).ok());
  EXPECT_EQ(info.class_names, (std::vector<std::string>{"person", "car"}));
}

TEST(LoadNamesFileTest, Errors) {
  ModelInfo info;
  EXPECT_EQ(LoadNamesFile("/nonexistent/dir/x.names", &info).code(), StatusCode::kNotFound);
  TempFile empty("empty.names", "\n\n");
  EXPECT_EQ(LoadNamesFile(empty.path(), &info).code(), StatusCode::kInvalidArgument);
  TempFile no_names("nonames.yaml", "nc: 3\ntrain: x\n");
  Status st = LoadNamesFile(no_names.path(), &info);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("names"), std::string::npos);
  TempFile bad_yaml("bad.yaml", "names: [a, b\n");
  EXPECT_EQ(LoadNamesFile(bad_yaml.path(), &info).code(), StatusCode::kInvalidArgument);
  TempFile bad_json("bad.json", "{\"names\": ");
  EXPECT_EQ(LoadNamesFile(bad_json.path(), &info).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(info.num_classes(), 80);  // untouched by the failures.
  EXPECT_FALSE(info.class_names_given);
}

TEST(PythonLiteralTest, ParsesNestedValues) {
  auto lit = PythonLiteral::Parse(
      " {'a': [1, -2, 3.5, (4, 5),], \"b\": None, 'c': True, 'd': false, 'e': {}} ");
  ASSERT_TRUE(lit.ok()) << lit.status().ToString();
  ASSERT_EQ(lit->kind, PythonLiteral::Kind::kDict);
  const PythonLiteral* a = lit->Find("a");
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->items.size(), 4u);
  EXPECT_EQ(a->items[1].int_value, -2);
  EXPECT_DOUBLE_EQ(a->items[2].float_value, 3.5);
  EXPECT_EQ(a->items[3].kind, PythonLiteral::Kind::kList);
  EXPECT_EQ(lit->Find("b")->kind, PythonLiteral::Kind::kNone);
  EXPECT_TRUE(lit->Find("c")->IsTruthy());
  EXPECT_FALSE(lit->Find("d")->IsTruthy());
  EXPECT_EQ(lit->Find("missing"), nullptr);
}

TEST(PythonLiteralTest, StringEscapes) {
  auto lit = PythonLiteral::Parse(R"("a\"b\\c\n\x41\u00e9\ud83d\ude00\U0001F600\d")");
  ASSERT_TRUE(lit.ok()) << lit.status().ToString();
  EXPECT_EQ(lit->string_value, "a\"b\\c\nA\xc3\xa9\xf0\x9f\x98\x80\xf0\x9f\x98\x80\\d");
}

TEST(PythonLiteralTest, Errors) {
  for (const char* text :
       {"", "[1, 2", "{1 2}", "'abc", "[1] x", "nope", "{[1]: 2}", "1e", "-", "'\\x4'"}) {
    EXPECT_FALSE(PythonLiteral::Parse(text).ok()) << text;
  }
  EXPECT_FALSE(PythonLiteral::Parse(std::string(100, '[') + std::string(100, ']')).ok());
  EXPECT_TRUE(PythonLiteral::Parse(std::string(60, '[') + std::string(60, ']')).ok());
}

}  // namespace
}  // namespace yoloscope
