/* Strict recursive-descent JSON parser (see json_parse.h). Headers come from
 * files we did not write, so every malformed input is an error with its
 * byte position, never a crash. */
#include "json_parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 64

typedef struct parser {
  const char *s;
  size_t len, pos;
  char *err;
  size_t err_size;
} parser;

static int fail(parser *p, const char *fmt, ...) {
  char msg[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (p->err && p->err_size) snprintf(p->err, p->err_size, "at byte %zu: %s", p->pos, msg);
  return -1;
}

static void skip_ws(parser *p) {
  while (p->pos < p->len) {
    char c = p->s[p->pos];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    p->pos++;
  }
}

static int peek(parser *p) { return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1; }

static int hex4(parser *p, unsigned *out) {
  if (p->len - p->pos < 4) return fail(p, "truncated \\u escape");
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p->s[p->pos + i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else return fail(p, "bad hex digit in \\u escape");
  }
  p->pos += 4;
  *out = v;
  return 0;
}

static size_t put_utf8(char *dst, unsigned cp) {
  if (cp < 0x80) {
    dst[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    dst[0] = (char)(0xC0 | (cp >> 6));
    dst[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    dst[0] = (char)(0xE0 | (cp >> 12));
    dst[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    dst[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  dst[0] = (char)(0xF0 | (cp >> 18));
  dst[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  dst[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  dst[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* Parses a string starting at the opening quote into a new heap string.
 * The decoded form is never longer than the raw one, so one allocation of
 * the raw length suffices. */
static int parse_string(parser *p, char **out) {
  p->pos++; /* the opening quote */
  size_t start = p->pos, end = start;
  while (end < p->len && p->s[end] != '"') end += p->s[end] == '\\' ? 2 : 1;
  if (end >= p->len) return fail(p, "unterminated string");
  char *buf = malloc(end - start + 1);
  if (!buf) return fail(p, "out of memory");
  size_t n = 0;
  while (p->pos < end) {
    unsigned char c = (unsigned char)p->s[p->pos];
    if (c < 0x20) {
      free(buf);
      return fail(p, "control character 0x%02x in string", c);
    }
    if (c != '\\') {
      buf[n++] = (char)c;
      p->pos++;
      continue;
    }
    p->pos++;
    char e = p->s[p->pos++];
    switch (e) {
    case '"': buf[n++] = '"'; break;
    case '\\': buf[n++] = '\\'; break;
    case '/': buf[n++] = '/'; break;
    case 'b': buf[n++] = '\b'; break;
    case 'f': buf[n++] = '\f'; break;
    case 'n': buf[n++] = '\n'; break;
    case 'r': buf[n++] = '\r'; break;
    case 't': buf[n++] = '\t'; break;
    case 'u': {
      unsigned cp;
      if (hex4(p, &cp)) {
        free(buf);
        return -1;
      }
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        unsigned lo;
        if (p->pos + 2 > end || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u') {
          free(buf);
          return fail(p, "unpaired surrogate in \\u escape");
        }
        p->pos += 2;
        if (hex4(p, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
          free(buf);
          return fail(p, "unpaired surrogate in \\u escape");
        }
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        free(buf);
        return fail(p, "unpaired surrogate in \\u escape");
      }
      if (cp == 0) {
        free(buf);
        return fail(p, "\\u0000 in string is not supported");
      }
      n += put_utf8(buf + n, cp);
      break;
    }
    default:
      free(buf);
      p->pos--;
      return fail(p, "bad escape '\\%c'", e);
    }
  }
  buf[n] = 0;
  p->pos = end + 1;
  *out = buf;
  return 0;
}

static int parse_number(parser *p, gpd_json *v) {
  size_t start = p->pos;
  int plain = 1;
  uint64_t u = 0;
  int overflow = 0;
  if (peek(p) == '-') {
    plain = 0;
    p->pos++;
  }
  if (peek(p) == '0') {
    p->pos++;
  } else if (peek(p) >= '1' && peek(p) <= '9') {
    while (peek(p) >= '0' && peek(p) <= '9') {
      unsigned d = (unsigned)(p->s[p->pos] - '0');
      if (u > (UINT64_MAX - d) / 10) overflow = 1;
      else u = u * 10 + d;
      p->pos++;
    }
  } else {
    return fail(p, "expected a digit");
  }
  if (peek(p) == '.') {
    plain = 0;
    p->pos++;
    if (!(peek(p) >= '0' && peek(p) <= '9')) return fail(p, "expected a digit after '.'");
    while (peek(p) >= '0' && peek(p) <= '9') p->pos++;
  }
  if (peek(p) == 'e' || peek(p) == 'E') {
    plain = 0;
    p->pos++;
    if (peek(p) == '+' || peek(p) == '-') p->pos++;
    if (!(peek(p) >= '0' && peek(p) <= '9')) return fail(p, "expected a digit in the exponent");
    while (peek(p) >= '0' && peek(p) <= '9') p->pos++;
  }
  char tmp[64];
  size_t n = p->pos - start;
  if (n >= sizeof tmp) n = sizeof tmp - 1; /* strtod on a prefix only loses precision of huge literals */
  memcpy(tmp, p->s + start, n);
  tmp[n] = 0;
  v->type = GPD_JSON_NUMBER;
  v->number = strtod(tmp, NULL);
  v->is_uint = plain && !overflow;
  v->uint_value = v->is_uint ? u : 0;
  return 0;
}

static int parse_value(parser *p, gpd_json *v, int depth);

static int grow(gpd_json *v, int *cap, int with_keys) {
  if (v->n < *cap) return 0;
  int nc = *cap ? *cap * 2 : 4;
  gpd_json *items = realloc(v->items, (size_t)nc * sizeof *items);
  if (!items) return -1;
  v->items = items;
  if (with_keys) {
    char **keys = realloc(v->keys, (size_t)nc * sizeof *keys);
    if (!keys) return -1;
    v->keys = keys;
  }
  *cap = nc;
  return 0;
}

static int parse_array(parser *p, gpd_json *v, int depth) {
  int cap = 0;
  v->type = GPD_JSON_ARRAY;
  p->pos++;
  skip_ws(p);
  if (peek(p) == ']') {
    p->pos++;
    return 0;
  }
  for (;;) {
    if (grow(v, &cap, 0)) return fail(p, "out of memory");
    memset(&v->items[v->n], 0, sizeof v->items[0]);
    v->n++; /* counted first so that gpd_json_free releases a half-parsed item */
    if (parse_value(p, &v->items[v->n - 1], depth + 1)) return -1;
    skip_ws(p);
    int c = peek(p);
    p->pos += c >= 0;
    if (c == ']') return 0;
    if (c != ',') {
      p->pos -= c >= 0;
      return fail(p, "expected ',' or ']' in array");
    }
  }
}

static int parse_object(parser *p, gpd_json *v, int depth) {
  int cap = 0;
  v->type = GPD_JSON_OBJECT;
  p->pos++;
  skip_ws(p);
  if (peek(p) == '}') {
    p->pos++;
    return 0;
  }
  for (;;) {
    skip_ws(p);
    if (peek(p) != '"') return fail(p, "expected a string key in object");
    if (grow(v, &cap, 1)) return fail(p, "out of memory");
    size_t key_pos = p->pos;
    char *key;
    if (parse_string(p, &key)) return -1;
    for (int i = 0; i < v->n; i++)
      if (!strcmp(v->keys[i], key)) {
        p->pos = key_pos;
        fail(p, "duplicate key \"%.60s\"", key);
        free(key);
        return -1;
      }
    v->keys[v->n] = key;
    memset(&v->items[v->n], 0, sizeof v->items[0]);
    v->n++; /* counted now so that gpd_json_free releases the key on failure */
    skip_ws(p);
    if (peek(p) != ':') return fail(p, "expected ':' after key \"%.60s\"", key);
    p->pos++;
    if (parse_value(p, &v->items[v->n - 1], depth + 1)) return -1;
    skip_ws(p);
    int c = peek(p);
    p->pos += c >= 0;
    if (c == '}') return 0;
    if (c != ',') {
      p->pos -= c >= 0;
      return fail(p, "expected ',' or '}' in object");
    }
  }
}

static int literal(parser *p, const char *word, gpd_json_type t, gpd_json *v) {
  size_t n = strlen(word);
  if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n)) return fail(p, "unexpected character");
  p->pos += n;
  v->type = t;
  return 0;
}

static int parse_value(parser *p, gpd_json *v, int depth) {
  if (depth > JSON_MAX_DEPTH) return fail(p, "nesting deeper than %d", JSON_MAX_DEPTH);
  skip_ws(p);
  int c = peek(p);
  switch (c) {
  case -1: return fail(p, "unexpected end of text");
  case '{': return parse_object(p, v, depth);
  case '[': return parse_array(p, v, depth);
  case '"':
    v->type = GPD_JSON_STRING;
    return parse_string(p, &v->str);
  case 't': return literal(p, "true", GPD_JSON_TRUE, v);
  case 'f': return literal(p, "false", GPD_JSON_FALSE, v);
  case 'n': return literal(p, "null", GPD_JSON_NULL, v);
  default:
    if (c == '-' || (c >= '0' && c <= '9')) return parse_number(p, v);
    return fail(p, "unexpected character '%c'", c >= 0x20 && c < 0x7f ? c : '?');
  }
}

int gpd_json_parse(const char *text, size_t len, gpd_json *out, char *err, size_t err_size) {
  parser p = {text, len, 0, err, err_size};
  memset(out, 0, sizeof *out);
  if (err && err_size) err[0] = 0;
  if (parse_value(&p, out, 0)) {
    gpd_json_free(out);
    return -1;
  }
  skip_ws(&p);
  if (p.pos != len) {
    fail(&p, "unexpected text after the JSON value");
    gpd_json_free(out);
    return -1;
  }
  return 0;
}

void gpd_json_free(gpd_json *v) {
  if (!v) return;
  free(v->str);
  for (int i = 0; i < v->n; i++) {
    gpd_json_free(&v->items[i]);
    if (v->keys) free(v->keys[i]);
  }
  free(v->items);
  free(v->keys);
  memset(v, 0, sizeof *v);
}

const gpd_json *gpd_json_get(const gpd_json *obj, const char *key) {
  if (!obj || obj->type != GPD_JSON_OBJECT) return NULL;
  for (int i = 0; i < obj->n; i++)
    if (!strcmp(obj->keys[i], key)) return &obj->items[i];
  return NULL;
}

const char *gpd_json_type_name(gpd_json_type t) {
  switch (t) {
  case GPD_JSON_NULL: return "null";
  case GPD_JSON_FALSE:
  case GPD_JSON_TRUE: return "boolean";
  case GPD_JSON_NUMBER: return "number";
  case GPD_JSON_STRING: return "string";
  case GPD_JSON_ARRAY: return "array";
  case GPD_JSON_OBJECT: return "object";
  }
  return "?";
}
