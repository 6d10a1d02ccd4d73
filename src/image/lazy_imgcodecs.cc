#include "image/lazy_imgcodecs.h"

#include <dlfcn.h>

#include <mutex>

namespace yoloscope::lazy_imgcodecs {
namespace {

using ImdecodeFn = cv::Mat (*)(cv::InputArray, int);
using ImwriteFn = bool (*)(const cv::String&, cv::InputArray, const std::vector<int>&);

struct Library {
  ImdecodeFn imdecode = nullptr;
  ImwriteFn imwrite = nullptr;
  std::string error;
};

const Library& Load() {
  static Library lib;
  static std::once_flag once;
  std::call_once(once, [] {
    // The file the build linked against, else the loader's search path.
    void* dl = dlopen(YOLOSCOPE_OPENCV_IMGCODECS_PATH, RTLD_NOW | RTLD_LOCAL);
    if (dl == nullptr) dl = dlopen(YOLOSCOPE_OPENCV_IMGCODECS_NAME, RTLD_NOW | RTLD_LOCAL);
    if (dl == nullptr) {
      lib.error = std::string("cannot load OpenCV's image codecs: ") + dlerror();
      return;
    }
    // The C++ symbols of OpenCV 4's cv::imdecode(InputArray, int) and
    // cv::imwrite(const String&, InputArray, const std::vector<int>&).
    lib.imdecode =
        reinterpret_cast<ImdecodeFn>(dlsym(dl, "_ZN2cv8imdecodeERKNS_11_InputArrayEi"));
    lib.imwrite = reinterpret_cast<ImwriteFn>(
        dlsym(dl,
              "_ZN2cv7imwriteERKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEERKNS_11_"
              "InputArrayERKSt6vectorIiSaIiEE"));
    if (lib.imdecode == nullptr || lib.imwrite == nullptr) {
      lib.error = "OpenCV's image codecs lack cv::imdecode / cv::imwrite";
    }
  });
  return lib;
}

}  // namespace

StatusOr<cv::Mat> Imdecode(cv::InputArray buf, int flags) {
  const Library& lib = Load();
  if (lib.imdecode == nullptr) return FailedPreconditionError(lib.error);
  return lib.imdecode(buf, flags);
}

StatusOr<bool> Imwrite(const std::string& path, cv::InputArray img,
                       const std::vector<int>& params) {
  const Library& lib = Load();
  if (lib.imwrite == nullptr) return FailedPreconditionError(lib.error);
  return lib.imwrite(path, img, params);
}

}  // namespace yoloscope::lazy_imgcodecs
