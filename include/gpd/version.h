/* What this gpdeblur is: the source tree it was built from and the
 * libraries each engine runs on (`gpdeblur --version`; eval manifests
 * record gpd_version() so that results name the build that made them). */
#ifndef GPD_VERSION_H
#define GPD_VERSION_H

#include <stddef.h>

/* `git describe --always --dirty` of the source tree at build time, e.g.
 * "8c879e7a1b2c" or "8c879e7a1b2c-dirty"; "unknown" outside a checkout. */
const char *gpd_version(void);
/* One line per engine, "ref: ...\ncpu: ...\ncuda: ...\n", into buf. */
void gpd_library_versions(char *buf, size_t size);

#endif
