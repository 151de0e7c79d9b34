/* A small strict JSON parser (RFC 8259) into a tree, enough for safetensors
 * headers: objects, arrays, strings (escapes decoded to UTF-8), numbers (as
 * double, and exactly as uint64 when they are plain non-negative integers),
 * true, false, null. Duplicate object keys are refused, nesting is limited,
 * and errors say what was expected at which byte. */
#ifndef GPD_IO_JSON_H
#define GPD_IO_JSON_H

#include <stddef.h>
#include <stdint.h>

typedef enum gpd_json_type {
  GPD_JSON_NULL = 0,
  GPD_JSON_FALSE,
  GPD_JSON_TRUE,
  GPD_JSON_NUMBER,
  GPD_JSON_STRING,
  GPD_JSON_ARRAY,
  GPD_JSON_OBJECT
} gpd_json_type;

typedef struct gpd_json gpd_json;
struct gpd_json {
  gpd_json_type type;
  char *str;           /* STRING: decoded, NUL-terminated (an escaped NUL is refused) */
  double number;       /* NUMBER */
  int is_uint;         /* NUMBER written as digits only (no sign, fraction or exponent) that fits uint64 */
  uint64_t uint_value; /* valid when is_uint */
  int n;               /* ARRAY / OBJECT: number of items */
  gpd_json *items;     /* ARRAY / OBJECT: the n values */
  char **keys;         /* OBJECT: keys[i] names items[i] */
};

/* Parses text[0..len) (one value, optionally surrounded by whitespace).
 * Returns 0, or -1 with a message like "at byte 17: expected ':'" in err. */
int gpd_json_parse(const char *text, size_t len, gpd_json *out, char *err, size_t err_size);
void gpd_json_free(gpd_json *v);
/* The value for key in an object, or NULL. */
const gpd_json *gpd_json_get(const gpd_json *obj, const char *key);
/* "object", "string", ... for messages. */
const char *gpd_json_type_name(gpd_json_type t);

#endif
