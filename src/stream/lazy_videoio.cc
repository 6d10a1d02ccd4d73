#include "stream/lazy_videoio.h"

#include <dlfcn.h>

#include <mutex>
#include <new>
#include <string>

namespace yoloscope::lazy_videoio {
namespace {

using ConstructFn = void (*)(void* self);
using HasBackendFn = bool (*)(cv::VideoCaptureAPIs api);

struct Library {
  ConstructFn construct = nullptr;
  HasBackendFn has_backend = nullptr;
  std::string error;
};

const Library& Load() {
  static Library lib;
  static std::once_flag once;
  std::call_once(once, [] {
    // The file the build linked against, else the loader's search path.
    void* dl = dlopen(YOLOSCOPE_OPENCV_VIDEOIO_PATH, RTLD_NOW | RTLD_LOCAL);
    if (dl == nullptr) dl = dlopen(YOLOSCOPE_OPENCV_VIDEOIO_NAME, RTLD_NOW | RTLD_LOCAL);
    if (dl == nullptr) {
      lib.error = std::string("cannot load OpenCV's video I/O library: ") + dlerror();
      return;
    }
    // cv::VideoCapture::VideoCapture() and
    // cv::videoio_registry::hasBackend(cv::VideoCaptureAPIs) of OpenCV 4.
    lib.construct = reinterpret_cast<ConstructFn>(dlsym(dl, "_ZN2cv12VideoCaptureC1Ev"));
    lib.has_backend = reinterpret_cast<HasBackendFn>(
        dlsym(dl, "_ZN2cv16videoio_registry10hasBackendENS_16VideoCaptureAPIsE"));
    if (lib.construct == nullptr || lib.has_backend == nullptr) {
      lib.error =
          "OpenCV's video I/O library lacks cv::VideoCapture's constructor or "
          "cv::videoio_registry::hasBackend";
    }
  });
  return lib;
}

}  // namespace

void CaptureDeleter::operator()(cv::VideoCapture* capture) const {
  if (capture == nullptr) return;
  capture->~VideoCapture();  // virtual: the library's destructor
  ::operator delete(static_cast<void*>(capture), std::align_val_t(alignof(cv::VideoCapture)));
}

StatusOr<CapturePtr> NewCapture() {
  const Library& lib = Load();
  if (lib.construct == nullptr) return FailedPreconditionError(lib.error);
  void* memory =
      ::operator new(sizeof(cv::VideoCapture), std::align_val_t(alignof(cv::VideoCapture)));
  lib.construct(memory);
  return CapturePtr(static_cast<cv::VideoCapture*>(memory));
}

StatusOr<bool> HasBackend(cv::VideoCaptureAPIs api) {
  const Library& lib = Load();
  if (lib.has_backend == nullptr) return FailedPreconditionError(lib.error);
  return lib.has_backend(api);
}

}  // namespace yoloscope::lazy_videoio
