#include "data/image_ops.h"

#include <stb_image.h>
#include <stb_image_write.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <exception>
#include <new>
#include <string_view>
#include <utility>

#include "fl/env.h"

namespace fl::data {
namespace {

// One output sample of a 1-D resampling: sum over k of weight[k] * in[first + k].
struct Taps {
  int64_t first = 0;
  std::vector<float> weight;
};

// The filter of one axis (see ResizeBilinear): bilinear up to a factor 2 of downscaling,
// area average beyond.
std::vector<Taps> AxisTaps(int64_t in, int64_t out) {
  std::vector<Taps> taps(static_cast<size_t>(out));
  const double s = static_cast<double>(in) / static_cast<double>(out);
  for (int64_t d = 0; d < out; ++d) {
    Taps& t = taps[static_cast<size_t>(d)];
    if (s <= 2.0) {
      const double x = std::max(0.0, (static_cast<double>(d) + 0.5) * s - 0.5);
      const int64_t i0 = std::min(static_cast<int64_t>(x), in - 1);
      const int64_t i1 = std::min(i0 + 1, in - 1);
      const float l = static_cast<float>(x - static_cast<double>(i0));
      t.first = i0;
      if (i1 == i0 || l == 0.0f) {
        t.weight = {1.0f};
      } else {
        t.weight = {1.0f - l, l};
      }
    } else {
      const double lo = static_cast<double>(d) * s;
      const double hi = std::min(static_cast<double>(in), static_cast<double>(d + 1) * s);
      const int64_t first = std::min(static_cast<int64_t>(std::floor(lo)), in - 1);
      const int64_t last = std::min(static_cast<int64_t>(std::ceil(hi)) - 1, in - 1);
      t.first = first;
      double sum = 0.0;
      std::vector<double> w;
      for (int64_t i = first; i <= last; ++i) {
        const double cover = std::min(hi, static_cast<double>(i + 1)) - std::max(lo, static_cast<double>(i));
        w.push_back(std::max(0.0, cover));
        sum += w.back();
      }
      for (double v : w) t.weight.push_back(static_cast<float>(sum > 0 ? v / sum : 1.0 / static_cast<double>(w.size())));
    }
  }
  return taps;
}

bool ValidSizes(size_t actual, int64_t c, int64_t h, int64_t w, int64_t out_h, int64_t out_w) {
  constexpr int64_t kMax = int64_t{1} << 31;  // per dimension; products checked below
  if (c < 1 || h < 1 || w < 1 || out_h < 1 || out_w < 1) return false;
  if (c > kMax || h > kMax || w > kMax || out_h > kMax || out_w > kMax) return false;
  const double in = static_cast<double>(c) * static_cast<double>(h) * static_cast<double>(w);
  const double out = static_cast<double>(c) * static_cast<double>(out_h) * static_cast<double>(out_w);
  if (in > 1e12 || out > 1e12) return false;
  return static_cast<uint64_t>(c * h * w) == actual;
}

template <typename T>
std::vector<T> CropOrPadPlanes(const std::vector<T>& in, int64_t c, int64_t h, int64_t w, int64_t out_h,
                               int64_t out_w, T fill) {
  if (!ValidSizes(in.size(), c, h, w, out_h, out_w)) return {};
  std::vector<T> out(static_cast<size_t>(c * out_h * out_w), fill);
  const int64_t oy = (h - out_h) / 2, ox = (w - out_w) / 2;  // source offsets, toward zero
  const int64_t y0 = std::max<int64_t>(0, -oy), y1 = std::min(out_h, h - oy);
  const int64_t x0 = std::max<int64_t>(0, -ox), x1 = std::min(out_w, w - ox);
  if (y0 >= y1 || x0 >= x1) return out;
  for (int64_t ch = 0; ch < c; ++ch) {
    for (int64_t y = y0; y < y1; ++y) {
      const T* src = in.data() + (ch * h + y + oy) * w + ox;
      T* dst = out.data() + (ch * out_h + y) * out_w;
      std::copy(src + x0, src + x1, dst + x0);
    }
  }
  return out;
}

// Collects stb's encoder output; an allocation failure must not unwind through C code.
struct PngBuffer {
  std::string bytes;
  bool failed = false;
};

void AppendBytes(void* context, void* data, int size) {
  auto* buf = static_cast<PngBuffer*>(context);
  if (buf->failed || size <= 0) return;
  try {
    buf->bytes.append(static_cast<const char*>(data), static_cast<size_t>(size));
  } catch (const std::exception&) {
    buf->failed = true;
  }
}

}  // namespace

std::vector<float> ResizeBilinear(const std::vector<float>& chw, int64_t c, int64_t h, int64_t w,
                                  int64_t out_h, int64_t out_w) {
  if (!ValidSizes(chw.size(), c, h, w, out_h, out_w)) return {};
  if (h == out_h && w == out_w) return chw;
  const std::vector<Taps> ty = AxisTaps(h, out_h), tx = AxisTaps(w, out_w);
  std::vector<float> out(static_cast<size_t>(c * out_h * out_w));
  std::vector<float> rows(static_cast<size_t>(out_h * w));  // one channel resampled along y
  for (int64_t ch = 0; ch < c; ++ch) {
    const float* plane = chw.data() + ch * h * w;
    for (int64_t y = 0; y < out_h; ++y) {
      const Taps& t = ty[static_cast<size_t>(y)];
      float* dst = rows.data() + y * w;
      std::fill(dst, dst + w, 0.0f);
      for (size_t k = 0; k < t.weight.size(); ++k) {
        const float* src = plane + (t.first + static_cast<int64_t>(k)) * w;
        const float wk = t.weight[k];
        for (int64_t x = 0; x < w; ++x) dst[x] += wk * src[x];
      }
    }
    float* oplane = out.data() + ch * out_h * out_w;
    for (int64_t y = 0; y < out_h; ++y) {
      const float* src = rows.data() + y * w;
      float* dst = oplane + y * out_w;
      for (int64_t x = 0; x < out_w; ++x) {
        const Taps& t = tx[static_cast<size_t>(x)];
        float v = 0.0f;
        for (size_t k = 0; k < t.weight.size(); ++k) v += t.weight[k] * src[t.first + static_cast<int64_t>(k)];
        dst[x] = v;
      }
    }
  }
  return out;
}

std::vector<uint8_t> ResizeNearest(const std::vector<uint8_t>& hw, int64_t h, int64_t w, int64_t out_h,
                                   int64_t out_w) {
  if (!ValidSizes(hw.size(), 1, h, w, out_h, out_w)) return {};
  if (h == out_h && w == out_w) return hw;
  auto index = [](int64_t d, int64_t in, int64_t out) {
    const double s = static_cast<double>(in) / static_cast<double>(out);
    return std::min(static_cast<int64_t>(std::floor((static_cast<double>(d) + 0.5) * s)), in - 1);
  };
  std::vector<int64_t> xs(static_cast<size_t>(out_w));
  for (int64_t x = 0; x < out_w; ++x) xs[static_cast<size_t>(x)] = index(x, w, out_w);
  std::vector<uint8_t> out(static_cast<size_t>(out_h * out_w));
  for (int64_t y = 0; y < out_h; ++y) {
    const uint8_t* src = hw.data() + index(y, h, out_h) * w;
    uint8_t* dst = out.data() + y * out_w;
    for (int64_t x = 0; x < out_w; ++x) dst[x] = src[xs[static_cast<size_t>(x)]];
  }
  return out;
}

std::vector<float> CropOrPad2D(const std::vector<float>& chw, int64_t c, int64_t h, int64_t w, int64_t out_h,
                               int64_t out_w, float fill) {
  return CropOrPadPlanes(chw, c, h, w, out_h, out_w, fill);
}

std::vector<uint8_t> CropOrPad2D(const std::vector<uint8_t>& hw, int64_t h, int64_t w, int64_t out_h,
                                 int64_t out_w, uint8_t fill) {
  return CropOrPadPlanes(hw, 1, h, w, out_h, out_w, fill);
}

void ZScoreChannels(std::vector<float>& chw, int64_t c, int64_t hw) {
  if (c < 1 || hw < 1 || static_cast<double>(c) * static_cast<double>(hw) != static_cast<double>(chw.size())) {
    return;
  }
  for (int64_t ch = 0; ch < c; ++ch) {
    float* p = chw.data() + ch * hw;
    double sum = 0.0;
    for (int64_t i = 0; i < hw; ++i) sum += p[i];
    const double mean = sum / static_cast<double>(hw);
    double sq = 0.0;
    for (int64_t i = 0; i < hw; ++i) sq += (p[i] - mean) * (p[i] - mean);
    const double sd = std::sqrt(sq / static_cast<double>(hw));
    const double scale = sd < 1e-8 ? 1.0 : 1.0 / sd;
    for (int64_t i = 0; i < hw; ++i) p[i] = static_cast<float>((p[i] - mean) * scale);
  }
}

StatusOr<Image8> ReadImage(const std::string& path, int desired_channels) {
  if (desired_channels < 0 || desired_channels > 4) {
    return InvalidArgument("image '" + path + "': desired channels must be 0..4, got " +
                           std::to_string(desired_channels));
  }
  Env& env = Env::Default();
  if (!env.FileExists(path)) return NotFound("image '" + path + "' does not exist");
  if (env.IsDirectory(path)) return InvalidArgument("image '" + path + "' is a directory");

  constexpr size_t kMaxFileBytes = size_t{1} << 30;
  auto bytes = env.ReadFile(path, kMaxFileBytes);
  if (!bytes.ok()) return DataLoss("image '" + path + "': " + bytes.status().message());
  const std::string& data = *bytes;
  if (data.empty()) return DataLoss("image '" + path + "' is empty");
  const auto* p = reinterpret_cast<const stbi_uc*>(data.data());
  const int len = static_cast<int>(data.size());

  int w = 0, h = 0, stored = 0;
  if (!stbi_info_from_memory(p, len, &w, &h, &stored)) {
    const char* why = stbi_failure_reason();
    return DataLoss("cannot decode image '" + path + "': " + (why && *why ? why : "not a supported image"));
  }
  if (w < 1 || h < 1 || static_cast<int64_t>(w) * h > (int64_t{1} << 28)) {
    return InvalidArgument("image '" + path + "' has an unsupported size " + std::to_string(h) + "x" +
                           std::to_string(w));
  }
  // stb_image decodes a truncated JPEG, BMP or TGA by filling the missing pixels with zeros:
  // a 54-byte BMP header "of 16000 x 16000" took 8 s and 1.2 GB. No supported encoding of a
  // real image packs more than ~8,300 pixels into a byte (an all-blank 1-bit PNG; deflate
  // stops at ~1,032:1), so above 2^24 pixels a file needs a byte per 16,384 pixels.
  if (static_cast<int64_t>(w) * h > (int64_t{1} << 24) &&
      static_cast<int64_t>(w) * h / 16384 > static_cast<int64_t>(data.size())) {
    return DataLoss("image '" + path + "' claims " + std::to_string(h) + "x" + std::to_string(w) + " pixels in " +
                    std::to_string(data.size()) + " bytes: truncated or corrupt");
  }
  stbi_set_flip_vertically_on_load_thread(0);
  int channels = 0;
  stbi_uc* pixels = stbi_load_from_memory(p, len, &w, &h, &channels, desired_channels);
  if (pixels == nullptr) {
    const char* why = stbi_failure_reason();
    return DataLoss("cannot decode image '" + path + "' (truncated or corrupt?): " +
                    (why && *why ? why : "unknown error"));
  }
  Image8 img;
  img.h = h;
  img.w = w;
  img.c = desired_channels ? desired_channels : channels;
  try {
    img.hwc.assign(pixels, pixels + static_cast<size_t>(img.h * img.w * img.c));
  } catch (const std::bad_alloc&) {
    stbi_image_free(pixels);
    return Internal("image '" + path + "': out of memory");
  }
  stbi_image_free(pixels);
  return img;
}

Status WritePng(const std::string& path, const uint8_t* data, int64_t h, int64_t w, int64_t channels) {
  if (data == nullptr) return InvalidArgument("png '" + path + "': no pixel data");
  if (channels < 1 || channels > 4) {
    return InvalidArgument("png '" + path + "': channels must be 1..4, got " + std::to_string(channels));
  }
  if (h < 1 || w < 1 || h > (int64_t{1} << 24) || w > (int64_t{1} << 24) || w * channels > INT_MAX / 2 ||
      h * w * channels > (int64_t{1} << 28)) {
    return InvalidArgument("png '" + path + "': unsupported size " + std::to_string(h) + "x" + std::to_string(w));
  }
  PngBuffer encoded;
  const int ok = stbi_write_png_to_func(AppendBytes, &encoded, static_cast<int>(w), static_cast<int>(h),
                                        static_cast<int>(channels), data, static_cast<int>(w * channels));
  if (!ok || encoded.failed || encoded.bytes.empty()) return Internal("png '" + path + "': encoding failed");
  return Env::Default().WriteFile(path, encoded.bytes);
}

}  // namespace fl::data
