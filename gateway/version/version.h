#ifndef GATEWAY_VERSION_VERSION_H_
#define GATEWAY_VERSION_VERSION_H_

namespace envelope {

// The gateway's version, written here only: --version, the build_info
// metric and the upstream's X-TC-RequestClient and User-Agent headers read
// it, and the top CMakeLists.txt takes project(VERSION) from this line.
inline constexpr char kVersion[] = "0.1.0";

}  // namespace envelope

#endif  // GATEWAY_VERSION_VERSION_H_
