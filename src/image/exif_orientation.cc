#include "image/exif_orientation.h"

#include <string>

#if YOLOSCOPE_HAVE_OPENCV
#include <opencv2/core.hpp>
#else
#include "image/plain_image_ops.h"
#endif

namespace yoloscope {

#if !YOLOSCOPE_HAVE_OPENCV
// Without OpenCV the plain copy loop does it (the same pixels; the tests of
// the default build compare the two).
Status ApplyExifOrientation(const Image& src, int orientation, Image* dst) {
  return PlainImageOps::ApplyExifOrientation(src, orientation, dst);
}
#else
Status ApplyExifOrientation(const Image& src, int orientation, Image* dst) {
  if (orientation < 1 || orientation > 8) {
    return InvalidArgumentError("EXIF orientation " + std::to_string(orientation) +
                                " is not in 1-8");
  }
  if (dst == nullptr || dst == &src) {
    return InvalidArgumentError("ApplyExifOrientation needs a separate destination image");
  }
  if (src.channels != 3 || src.empty()) {
    return InvalidArgumentError("ApplyExifOrientation needs a non-empty 3-channel image");
  }
  const bool swap = orientation >= 5;
  dst->Resize(swap ? src.height : src.width, swap ? src.width : src.height, 3);
  // Both Mats wrap our buffers; OpenCV's create() inside flip/transpose keeps
  // a header whose size and type already match, so it writes in place.
  const cv::Mat in(src.height, src.width, CV_8UC3, const_cast<uint8_t*>(src.data.data()));
  cv::Mat out(dst->height, dst->width, CV_8UC3, dst->data.data());
  try {
    switch (orientation) {
      case 1:
        in.copyTo(out);
        break;
      case 2:
        cv::flip(in, out, 1);
        break;
      case 3:
        cv::flip(in, out, -1);
        break;
      case 4:
        cv::flip(in, out, 0);
        break;
      case 5:  // out(x, y) = in(y, x).
        cv::transpose(in, out);
        break;
      case 6:  // Rotate 90 clockwise = transpose, then mirror left-right.
        cv::transpose(in, out);
        cv::flip(out, out, 1);
        break;
      case 7:  // out(x, y) = in(W-1-y, H-1-x) = transpose, then rotate 180.
        cv::transpose(in, out);
        cv::flip(out, out, -1);
        break;
      case 8:  // Rotate 90 counter-clockwise = transpose, then mirror top-bottom.
        cv::transpose(in, out);
        cv::flip(out, out, 0);
        break;
    }
  } catch (const cv::Exception& e) {
    return InternalError(std::string("OpenCV failed to apply EXIF orientation: ") + e.what());
  }
  if (out.data != dst->data.data()) {
    return InternalError("OpenCV reallocated the orientation output");
  }
  return Status::Ok();
}
#endif

}  // namespace yoloscope
