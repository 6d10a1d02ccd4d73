// Test helper: small videos made with Debian's ffmpeg at test time (nothing
// large is committed), and free loopback ports for live senders. Tests that
// need ffmpeg skip with GTEST_SKIP() when it is absent (scripts/setup.sh
// installs it). Header-only.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace yoloscope::testing {

inline bool HaveFfmpeg() { return std::system("ffmpeg -version >/dev/null 2>&1") == 0; }

// A `seconds`-long test pattern (with a frame counter) at `fps` and
// `width`x`height`, encoded by `codec_args` (default H.264 in MP4, one
// keyframe per second). True when ffmpeg succeeded.
inline bool MakeTestVideo(const std::string& path, double seconds, int fps, int width = 320,
                          int height = 240,
                          const std::string& codec_args =
                              "-c:v libx264 -preset ultrafast "
                              "-pix_fmt yuv420p -g 25") {
  const std::string cmd =
      "ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc=size=" + std::to_string(width) + "x" +
      std::to_string(height) + ":rate=" + std::to_string(fps) + " -t " + std::to_string(seconds) +
      " " + codec_args + " '" + path + "'";
  return std::system(cmd.c_str()) == 0 && std::filesystem::exists(path);
}

// Rewrites the raw H.264 (Annex B) stream at `in` into `out` without its IDR
// slices (NAL type 5): a stream that never sends a keyframe, as a camera
// joined mid-GOP whose keyframes are lost. Encode `in` with one keyframe
// (`-g 1000 -bf 0 -f h264`). True when something was left.
inline bool StripH264Keyframes(const std::string& in, const std::string& out) {
  std::ifstream src(in, std::ios::binary);
  const std::string data((std::istreambuf_iterator<char>(src)), std::istreambuf_iterator<char>());
  std::vector<size_t> starts;  // offsets of 00 00 01 start codes
  for (size_t i = 0; i + 3 < data.size(); ++i) {
    if (data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1) starts.push_back(i);
  }
  std::string kept;
  for (size_t k = 0; k < starts.size(); ++k) {
    const size_t begin = starts[k];
    const size_t end = k + 1 < starts.size() ? starts[k + 1] : data.size();
    const int nal_type = static_cast<unsigned char>(data[begin + 3]) & 0x1F;
    if (nal_type != 5) kept.append(data, begin, end - begin);
  }
  std::ofstream dst(out, std::ios::binary);
  dst << kept;
  return dst.good() && !kept.empty() && kept.size() < data.size();
}

// Copies the YUV4MPEG2 file `in` to `out` with its header's frame rate set
// to 0:0 (a file that declares no frame rate). True on success.
inline bool ZeroY4mFrameRate(const std::string& in, const std::string& out) {
  std::ifstream src(in, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(src)), std::istreambuf_iterator<char>());
  const size_t eol = data.find('\n');
  const size_t f = data.find(" F");
  if (eol == std::string::npos || f == std::string::npos || f > eol) return false;
  const size_t f_end = data.find(' ', f + 1);
  data.replace(f, (f_end == std::string::npos || f_end > eol ? eol : f_end) - f, " F0:0");
  std::ofstream dst(out, std::ios::binary);
  dst << data;
  return dst.good();
}

// A port on 127.0.0.1 that was free a moment ago (SOCK_DGRAM or SOCK_STREAM).
inline int FreePort(int type = SOCK_DGRAM) {
  const int fd = socket(AF_INET, type, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  int port = -1;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// argv of an ffmpeg that sends `video` in real time (-re) as MPEG-TS to
// udp://127.0.0.1:`port`, looping it `loops` extra times (-1 = forever).
inline std::vector<std::string> UdpSenderArgs(const std::string& video, int port, int loops = 0) {
  return {"ffmpeg",
          "-nostdin",
          "-loglevel",
          "error",
          "-re",
          "-stream_loop",
          std::to_string(loops),
          "-i",
          video,
          "-c",
          "copy",
          "-f",
          "mpegts",
          "udp://127.0.0.1:" + std::to_string(port) + "?pkt_size=1316"};
}

}  // namespace yoloscope::testing
