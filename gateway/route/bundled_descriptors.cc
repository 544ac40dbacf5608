#include "gateway/route/bundled_descriptors.h"

// The descriptor set is pulled in by the assembler so that a large set costs
// no compile time. BUNDLED_DESCRIPTOR_SET_PATH is set by the build.
__asm__(
    ".section .rodata\n"
    ".balign 16\n"
    ".globl envelope_bundled_descriptors_begin\n"
    ".hidden envelope_bundled_descriptors_begin\n"
    "envelope_bundled_descriptors_begin:\n"
    ".incbin \"" BUNDLED_DESCRIPTOR_SET_PATH
    "\"\n"
    ".globl envelope_bundled_descriptors_end\n"
    ".hidden envelope_bundled_descriptors_end\n"
    "envelope_bundled_descriptors_end:\n"
    ".previous\n");

extern "C" const char envelope_bundled_descriptors_begin[];
extern "C" const char envelope_bundled_descriptors_end[];

namespace envelope {

absl::string_view BundledDescriptorSet() {
  return {envelope_bundled_descriptors_begin,
          static_cast<size_t>(envelope_bundled_descriptors_end -
                              envelope_bundled_descriptors_begin)};
}

}  // namespace envelope
