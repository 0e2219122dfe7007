/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Values as text: parsing GVariant text format (checked first for what GLib would abort on) and
 * printing. */
#include <string.h>

#include "tl-error-private.h"
#include "tl-value-private.h"

/* Whether the \u or \U escape at escape names a surrogate or a code point past U+10FFFF: GLib's
 * parser turns it into UTF-8 unchecked, then fails g_variant_new_string()'s UTF-8 assertion (a
 * critical). */
static gboolean
is_bad_unicode_escape(const char *escape)
{
  int n_digits = escape[1] == 'u' ? 4 : escape[1] == 'U' ? 8 : 0, i;
  guint32 code_point = 0;

  for (i = 0; i < n_digits && g_ascii_isxdigit(escape[2 + i]); i++)
    code_point = code_point * 16 + (guint32) g_ascii_xdigit_value(escape[2 + i]);
  return n_digits > 0 && i == n_digits &&
         (code_point > 0x10FFFF || (code_point >= 0xD800 && code_point <= 0xDFFF));
}

/* Checks text for what GLib's parser would answer with a critical instead of an error: a bad \u
 * escape in a string (byte strings take no such escape), and nesting past the limit. GLib limits
 * its own recursion, but builds the type a text implies from its brackets, "just"s and @type
 * annotations before it checks that type, and one nested past 128 levels is a critical. So the
 * nesting is counted here, tokens read as GLib's tokenizer reads them: a bracket one level, a
 * brace one more once a colon shows it opens a dictionary (an array of dict entries) rather than
 * a lone dict entry, an annotation the levels of its type where it stands. Past the limit the
 * text is refused with a message of the library's own (GLib's, at 128, names no position).
 * @return TL_OK or TL_ERR_PARSE (recorded). */
static int
check_text(const char *text)
{
  guint opened[TL_VALUE_MAX_DEPTH + 1];        /* the levels each open bracket added */
  gboolean dictionary[TL_VALUE_MAX_DEPTH + 1]; /* a brace whose colon has counted its array */
  guint n_open = 0, depth = 0, deepest = 0, pending_justs = 0, annotated;
  const char *c = text;

  while (*c != '\0' && deepest <= TL_VALUE_MAX_DEPTH) {
    if (*c == '\'' || *c == '"' || (*c == 'b' && (c[1] == '\'' || c[1] == '"'))) {
      gboolean bytes = *c == 'b';
      char quote = bytes ? c[1] : c[0];

      for (c += bytes ? 2 : 1; *c != '\0' && *c != quote; c++) {
        if (*c != '\\')
          continue;
        if (!bytes && is_bad_unicode_escape(c))
          return _tl_fail(TL_ERR_PARSE, "a \\u or \\U escape names a surrogate or a code point "
                                        "past U+10FFFF");
        if (*++c == '\0')
          break;
      }
      c += *c != '\0';
    } else if (*c == '@') { /* a type, up to where GLib's tokenizer ends it */
      const char *type = ++c;
      int brackets = 0;

      for (; *c != '\0' && *c != ',' && *c != ':' && *c != '>' && *c != ']' && !g_ascii_isspace(*c);
           c++) {
        if (*c == '(' || *c == '{')
          brackets++;
        else if ((*c == ')' || *c == '}') && brackets-- == 0)
          break;
      }
      annotated = depth + pending_justs + _tl_type_nesting_of(type, c);
      deepest = MAX(deepest, annotated);
      continue; /* the value annotated comes next */
    } else if (*c == '[' || *c == '(' || *c == '<' || *c == '{') {
      guint levels = 1 + pending_justs;

      pending_justs = 0;
      depth += levels;
      deepest = MAX(deepest, depth);
      if (deepest <= TL_VALUE_MAX_DEPTH) {
        dictionary[n_open] = *c != '{'; /* only a brace has a level still to count */
        opened[n_open++] = levels;
      }
      c++;
      continue;
    } else if (*c == ':' && n_open > 0 && !dictionary[n_open - 1]) {
      dictionary[n_open - 1] = TRUE; /* {key: ...}: a dictionary, its entries one level down */
      opened[n_open - 1]++;
      depth++;
      deepest = MAX(deepest, depth);
      c++;
      continue;
    } else if (*c == ']' || *c == ')' || *c == '>' || *c == '}') {
      if (n_open > 0)
        depth -= opened[--n_open];
      c++;
      continue;
    } else if (g_ascii_isalnum(*c)) { /* a keyword or a number */
      const char *word = c;

      while (g_ascii_isalnum(*c) || *c == '-' || *c == '+' || *c == '.')
        c++;
      if (c - word == 4 && memcmp(word, "just", 4) == 0) {
        pending_justs++;
        continue;
      }
    } else {
      c++;
      continue;
    }
    /* A value (or a type keyword before one) stands here, as deep as the "just"s make it. */
    deepest = MAX(deepest, depth + pending_justs);
    pending_justs = 0;
  }
  if (deepest > TL_VALUE_MAX_DEPTH)
    return _tl_failf(TL_ERR_PARSE, "the value nests more than %d container levels deep",
                     TL_VALUE_MAX_DEPTH);
  return TL_OK;
}

int
tl_value_parse(const char *type, const char *text, TlValue **out)
{
  GError *error = NULL;
  GVariant *variant;
  guint depth;

  if (out == NULL)
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "out is NULL");
  *out = NULL;
  if (text == NULL)
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "text is NULL");
  /* Indefinite types ("m*", "a?") are refused up front: given one, GLib's parser can fail with a
   * critical and no error. */
  if (type != NULL &&
      (!g_variant_type_string_is_valid(type) || !g_variant_type_is_definite(G_VARIANT_TYPE(type))))
    return _tl_failf(TL_ERR_INVALID_ARGUMENT, "'%s' is not a definite GVariant type string", type);
  if (!g_utf8_validate(text, -1, NULL))
    return _tl_fail(TL_ERR_INVALID_UTF8, "text is not valid UTF-8");
  if (check_text(text) != TL_OK)
    return TL_ERR_PARSE;
  variant = g_variant_parse(type != NULL ? G_VARIANT_TYPE(type) : NULL, text, NULL, NULL, &error);
  if (variant == NULL) {
    int status =
        _tl_failf(TL_ERR_PARSE, "%s", error != NULL ? error->message : "text does not parse");
    g_clear_error(&error);
    return status;
  }
  /* Also what GLib's parser reads but could not read back once printed: types nested 128 deep. */
  depth = _tl_variant_depth(variant, 0);
  if (depth > TL_VALUE_MAX_DEPTH) {
    g_variant_unref(variant); /* g_variant_parse gives a full, non-floating reference */
    return _tl_failf(TL_ERR_PARSE, "the value nests more than %d container levels deep",
                     TL_VALUE_MAX_DEPTH);
  }
  *out = _tl_value_take_variant_plain(variant, depth);
  return *out != NULL ? TL_OK : TL_ERR_NO_MEMORY;
}

char *
tl_value_print(const TlValue *value, int type_annotate)
{
  if (!_tl_value_is_valid(value)) {
    _tl_value_fail_invalid(value);
    return NULL;
  }
  if (value->kind != TL_VALUE_VARIANT) {
    _tl_fail(TL_ERR_WRONG_TYPE, "a pointer value has no text form");
    return NULL;
  }
  return g_variant_print(_tl_value_variant(value), type_annotate != 0);
}
