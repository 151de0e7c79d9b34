/* The fuzz build only (GPD_FUZZ): stb_image and stb_image_write compiled
 * from Debian's libstb-dev headers in place of libstb, so that the
 * sanitizers and libFuzzer's coverage see inside stb's decoders. The code
 * is Debian's header, included as is. */
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>
