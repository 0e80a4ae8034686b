/* The event loader's hot loop in C: JSON lines straight to binary COPY rows of raw.events.
 *
 * shapes.py is the mapping; this is its fast path for the common line. A line is mapped here
 * only while every field it reads has its plain type (a string where a string belongs, an int
 * where an int belongs, an ISO 8601 time of the usual form, ...). For any other value it calls
 * the very Python function shapes.py calls (validation.py, web.py), and when that one rejects
 * the value the whole line is declined: the caller maps it with shapes.py, which quarantines
 * it with its reason. So no quarantine reason is decided here, and no line is mapped otherwise
 * than shapes.py maps it (tests/ingestion/events/test_fastmap.py compares the two on every kind
 * of line). Functions below are named after the Python they stand for.
 */
#include "rows.h"

#include <arpa/inet.h>
#include <math.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/socket.h>

#define OK 0
#define DECLINE 1
#define ERROR (-1)
#define TRY(call)                                                                              \
    do {                                                                                       \
        int status_ = (call);                                                                  \
        if (status_ != OK)                                                                     \
            return status_;                                                                    \
    } while (0)

#define MAX_ID_CHARS 512    /* validation.MAX_ID_CHARS */
#define INT32_LIMIT 2147483647 /* validation.INT32_MAX */
#define MAX_OWNED 64
#define GIL_RELEASE_LINES 256 /* ~1 ms of mapping */

enum Shape { SEGMENT, MOBILE, SERVER, TRACKER };
static const char *const SHAPE_NAMES[] = {"segment", "mobile", "server", "tracker"};

/* What the Python side provides: orjson and the reference functions. */
static PyObject *loads, *dumps, *sort_keys;
static PyObject *v_text, *v_identifier, *v_iso_time, *v_epoch_ms_time, *v_integer,
    *v_decimal_text, *v_number, *v_json_object, *w_truncate_ip, *w_path_of;
/* The digests hashlib would compute, straight from OpenSSL: fetched once (hashlib looks its
 * algorithm up again for every object it makes, which cost as much as the hashing), used under
 * the GIL. */
static EVP_MD *md5_algorithm, *sha256_algorithm;
static EVP_MD_CTX *digest_context;
static PyObject *option_keyword; /* ("option",): orjson matches keyword names by identity */

/* Keys read from events, interned once. */
#define KEYS(X)                                                                                \
    X(write_key) X(project_key) X(api_key) X(public_key) X(message_id) X(type) X(event)       \
    X(anonymous_id) X(user_id) X(session_id) X(timestamp) X(sent_at) X(received_at) X(context) \
    X(page) X(url) X(path) X(title) X(referrer) X(user_agent) X(ip) X(locale) X(timezone)      \
    X(screen) X(width) X(height) X(channel) X(library) X(name) X(version) X(properties)        \
    X(traits) X(event_name) X(timestamp_ms) X(platform) X(event_type) X(created_at)            \
    X(visitor_key) X(session_key) X(selector) X(scroll_pct) X(meta) X(viewport_w)              \
    X(viewport_h) X(x) X(y) X(label)
#define DECLARE_KEY(name) static PyObject *k_##name;
KEYS(DECLARE_KEY)

static PyObject *utm_keys[N_UTM];
static const char *const UTM_NAMES[N_UTM] = {
    "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term", "utm_id",
    "utm_campaign_id", "utm_adset_id", "utm_ad_id", "utm_placement", "fbclid",
};

/* One load's settings: map_chunk's third argument (see chunk.ChunkMapper). */
typedef struct {
    PyObject *projects; /* project key -> (project_id, revenue_property, oldest event time) */
    PyObject *read_fields; /* per shape, shapes.READ_FIELDS: what the mapping reads */
    int64_t latest_us;  /* events after this are in the future */
    long long load_id;
    Py_ssize_t max_line_bytes;
} Context;

/* One line being mapped: its row and the objects it owns until the row is written. */
typedef struct {
    Slot slots[N_COLUMNS];
    PyObject *owned[MAX_OWNED];
    int n_owned;
    PyObject *project;    /* (project_id, revenue_property, oldest), borrowed from Context */
    PyObject *key;        /* the project key the line sent */
    PyObject *page_url;   /* the object behind slots[C_PAGE_URL] */
    PyObject *message_id; /* set by the Segment mapping only; else content_id holds it */
    PyObject *properties, *traits; /* the documents of the properties and traits columns */
    unsigned char event_key[16];   /* md5 of project id and message id (chunk.event_key) */
    char content_id[64];           /* the message id, when it is the content id (hex) */
    int shape;
    int64_t event_at;
} Line;

/* ---------------------------------------------------------------------------------------------
 * Helpers: owned objects, declining, calling the Python reference.
 */
static int own(Line *line, PyObject *object) {
    if (!object)
        return ERROR;
    if (line->n_owned == MAX_OWNED) {
        Py_DECREF(object);
        PyErr_SetString(PyExc_RuntimeError, "fastmap: too many objects for one line");
        return ERROR;
    }
    line->owned[line->n_owned++] = object;
    return OK;
}

static void release(Line *line) {
    for (int i = 0; i < line->n_owned; i++)
        Py_DECREF(line->owned[i]);
    line->n_owned = 0;
}

/* A Python error means "not the common case": shapes.py will see the same value. Errors that
 * are not an Exception (KeyboardInterrupt, ...) stop the load. */
static int declined(void) {
    if (PyErr_ExceptionMatches(PyExc_Exception)) {
        PyErr_Clear();
        return DECLINE;
    }
    return ERROR;
}

/* The reference function's result (owned by the line), or DECLINE when it rejects. */
static int call_reference(Line *line, PyObject *function, PyObject *value, const char *field,
                          PyObject **result) {
    PyObject *args[2] = {value, NULL};
    size_t nargs = 1;
    if (field) {
        args[1] = PyUnicode_FromString(field);
        if (!args[1])
            return ERROR;
        nargs = 2;
    }
    *result = PyObject_Vectorcall(function, args, nargs, NULL);
    Py_XDECREF(args[1]);
    if (!*result)
        return declined();
    return own(line, *result);
}

static PyObject *get(PyObject *dict, PyObject *key) {
    return dict ? PyDict_GetItemWithError(dict, key) : NULL; /* str keys: never an error */
}

static int is_str(PyObject *value) { return value && PyUnicode_CheckExact(value); }

static int slot_is(const Slot *slot, const char *text) {
    size_t n = strlen(text);
    return slot->set && (size_t)slot->len == n && memcmp(slot->text, text, n) == 0;
}

static void set_constant(Slot *slot, const char *text) {
    slot->set = 1;
    slot->text = text;
    slot->len = (Py_ssize_t)strlen(text);
}

static void set_flag(Slot *slot, int flag) {
    slot->set = 1;
    slot->number = flag != 0;
}

/* A str into a slot, null when empty (as `value or None`). */
static int set_str(Slot *slot, PyObject *value) {
    if (value == Py_None || PyUnicode_GET_LENGTH(value) == 0) {
        slot->set = 0;
        return OK;
    }
    return set_object(slot, value) < 0 ? declined() : OK;
}

/* ---------------------------------------------------------------------------------------------
 * validation.py's readers.
 */
static int text(Line *line, PyObject *value, const char *field, Slot *slot) {
    slot->set = 0;
    if (!value || value == Py_None)
        return OK;
    if (!is_str(value))
        TRY(call_reference(line, v_text, value, field, &value));
    return set_str(slot, value);
}

static int identifier(Line *line, PyObject *value, const char *field, Slot *slot) {
    slot->set = 0;
    if (!value || value == Py_None)
        return OK;
    if (!is_str(value) || PyUnicode_GET_LENGTH(value) > MAX_ID_CHARS)
        TRY(call_reference(line, v_identifier, value, field, &value));
    return set_str(slot, value);
}

/* An object field: the dict, or NULL when absent or null; anything else is wrong_type. */
static int obj(PyObject *value, PyObject **dict) {
    *dict = NULL;
    if (!value || value == Py_None)
        return OK;
    if (!PyDict_CheckExact(value))
        return DECLINE;
    *dict = value;
    return OK;
}

/* An object, or a string holding one (validation.json_object). */
static int json_object(Line *line, PyObject *value, const char *field, PyObject **dict) {
    if (value && value != Py_None && !PyDict_CheckExact(value))
        TRY(call_reference(line, v_json_object, value, field, &value));
    return obj(value, dict);
}

static int is_missing_time(PyObject *value) {
    return !value || value == Py_None || (is_str(value) && PyUnicode_GET_LENGTH(value) == 0);
}

static int reference_time(Line *line, PyObject *function, PyObject *value, const char *field,
                          int64_t *us) {
    TRY(call_reference(line, function, value, field, &value));
    return datetime_us(value, us) < 0 ? declined() : OK;
}

static int iso_time(Line *line, PyObject *value, const char *field, int64_t *us) {
    if (is_str(value)) {
        Py_ssize_t n;
        const char *utf8 = PyUnicode_AsUTF8AndSize(value, &n);
        if (!utf8)
            return declined();
        if (parse_plain_iso(utf8, n, us))
            return OK;
    }
    return reference_time(line, v_iso_time, value, field, us);
}

static int epoch_ms_time(Line *line, PyObject *value, const char *field, int64_t *us) {
    if (PyLong_CheckExact(value)) {
        int overflow;
        long long ms = PyLong_AsLongLongAndOverflow(value, &overflow);
        if (!overflow && ms >= MIN_TIME_US / 1000 && ms <= MAX_TIME_US / 1000) {
            *us = ms * 1000;
            return OK;
        }
    }
    return reference_time(line, v_epoch_ms_time, value, field, us);
}

/* A time field that must be there (shapes._required_time). */
static int required_time(Line *line, PyObject *value, const char *field,
                         int (*read)(Line *, PyObject *, const char *, int64_t *), Slot *slot) {
    if (is_missing_time(value))
        return DECLINE;
    slot->set = 1;
    return read(line, value, field, &slot->number);
}

static int optional_iso_time(Line *line, PyObject *value, const char *field, Slot *slot) {
    slot->set = 0;
    if (!value || value == Py_None)
        return OK;
    slot->set = 1;
    return iso_time(line, value, field, &slot->number);
}

static int integer(Line *line, PyObject *value, const char *field, Slot *slot) {
    slot->set = 0;
    if (!value || value == Py_None || (is_str(value) && PyUnicode_GET_LENGTH(value) == 0))
        return OK;
    if (PyLong_CheckExact(value)) {
        int overflow;
        long long number = PyLong_AsLongLongAndOverflow(value, &overflow);
        if (!overflow && number >= -INT32_LIMIT && number <= INT32_LIMIT) {
            slot->set = 1;
            slot->number = number;
            return OK;
        }
    }
    TRY(call_reference(line, v_integer, value, field, &value));
    if (value == Py_None)
        return OK;
    slot->set = 1;
    slot->number = PyLong_AsLongLong(value);
    return slot->number == -1 && PyErr_Occurred() ? declined() : OK;
}

/* A number as decimal text: ints and finite floats here (str() and repr(), as Python). */
static int plain_number_text(Line *line, PyObject *value, Slot *slot, int *done) {
    PyObject *result;
    *done = 1;
    if (PyLong_CheckExact(value))
        result = PyObject_Str(value);
    else if (PyFloat_CheckExact(value) && isfinite(PyFloat_AS_DOUBLE(value)))
        result = PyObject_Repr(value);
    else {
        *done = 0;
        return OK;
    }
    if (!result)
        return declined();
    TRY(own(line, result));
    return set_str(slot, result);
}

static int decimal_text(Line *line, PyObject *value, Slot *slot) {
    slot->set = 0;
    if (!value || value == Py_None || PyBool_Check(value))
        return OK;
    int done;
    TRY(plain_number_text(line, value, slot, &done));
    if (done)
        return OK;
    TRY(call_reference(line, v_decimal_text, value, NULL, &value));
    return set_str(slot, value);
}

static int number(Line *line, PyObject *value, const char *field, Slot *slot) {
    slot->set = 0;
    if (!value || value == Py_None || (is_str(value) && PyUnicode_GET_LENGTH(value) == 0))
        return OK;
    int done;
    TRY(plain_number_text(line, value, slot, &done));
    if (done)
        return OK;
    TRY(call_reference(line, v_number, value, field, &value));
    return set_str(slot, value);
}

/* ---------------------------------------------------------------------------------------------
 * web.py: IP truncation, a URL's path and UTM parameters.
 */

/* a.b.c.d with 1 to 3 ASCII digits each: 1 and the /24 (or "" when an octet exceeds 255, which
 * web.truncate_ip turns into None); 0 when the text is not of that form. */
static int ipv4_network(const char *text, Py_ssize_t n, char *out, size_t out_size) {
    int octets[4], part = 0;
    Py_ssize_t i = 0;
    int valid = 1;
    for (; part < 4; part++) {
        Py_ssize_t start = i;
        int value = 0;
        while (i < n && i - start < 3 && text[i] >= '0' && text[i] <= '9')
            value = value * 10 + (text[i++] - '0');
        Py_ssize_t digits = i - start;
        if (digits == 0 || (i < n && text[i] >= '0' && text[i] <= '9'))
            return 0;
        if (digits == 3 && memcmp(text + start, "255", 3) > 0)
            valid = 0;
        octets[part] = value;
        if (part < 3) {
            if (i >= n || text[i] != '.')
                return 0;
            i++;
        }
    }
    if (i != n)
        return 0;
    if (!valid)
        out[0] = '\0';
    else
        snprintf(out, out_size, "%d.%d.%d.0", octets[0], octets[1], octets[2]);
    return 1;
}

/* web.truncate_ip for a plain IPv4 or IPv6 address (new reference), or NULL without an error
 * for what only the Python function reads (spaces, scoped addresses, ...). */
static PyObject *truncate_ip(PyObject *value) {
    Py_ssize_t n;
    const char *utf8 = PyUnicode_AsUTF8AndSize(value, &n);
    if (!utf8)
        return NULL;
    char out[INET6_ADDRSTRLEN + 1];
    if (ipv4_network(utf8, n, out, sizeof out)) {
        if (!out[0])
            Py_RETURN_NONE;
        return PyUnicode_FromString(out);
    }
    for (Py_ssize_t i = 0; i < n; i++)
        if ((unsigned char)utf8[i] <= ' ' || (unsigned char)utf8[i] >= 0x7f)
            return NULL;
    unsigned char packed[16];
    if ((Py_ssize_t)strlen(utf8) != n || inet_pton(AF_INET6, utf8, packed) != 1)
        return NULL;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(packed, mapped, 12) == 0) {
        snprintf(out, sizeof out, "%d.%d.%d.0", packed[12], packed[13], packed[14]);
        return PyUnicode_FromString(out);
    }
    int kept = packed[0] == 0x20 && packed[1] == 0x02 ? 5 : 6; /* 6to4 carries an IPv4 */
    memset(packed + kept, 0, sizeof packed - (size_t)kept);
    if (!inet_ntop(AF_INET6, packed, out, sizeof out))
        return NULL;
    return PyUnicode_FromString(out);
}

/* shapes._truncate_ip_in: the container's `ip` truncated in place, into the slot. */
static int truncate_ip_in(Line *line, PyObject *container, Slot *slot) {
    slot->set = 0;
    PyObject *raw = get(container, k_ip);
    if (!raw || raw == Py_None)
        return OK;
    PyObject *truncated;
    if (is_str(raw)) {
        truncated = truncate_ip(raw);
        if (!truncated && PyErr_Occurred())
            return declined();
        if (!truncated) {
            PyObject *args[1] = {raw};
            truncated = PyObject_Vectorcall(w_truncate_ip, args, 1, NULL);
            if (!truncated)
                return declined();
        }
    } else {
        truncated = Py_NewRef(Py_None);
    }
    TRY(own(line, truncated));
    if (PyDict_SetItem(container, k_ip, truncated) < 0)
        return declined();
    return set_object(slot, truncated) < 0 ? declined() : OK;
}

static int is_scheme_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '-' || c == '.';
}

/* web.path_of: urlsplit's path (`/` when empty), here for URLs of printable ASCII without
 * brackets (urlsplit strips, removes or checks nothing in those). */
static int path_of(Line *line, PyObject *url, Slot *slot) {
    Py_ssize_t n;
    const char *text = PyUnicode_AsUTF8AndSize(url, &n);
    if (!text)
        return declined();
    int plain = 1;
    for (Py_ssize_t i = 0; i < n && plain; i++)
        plain = text[i] > ' ' && text[i] < 0x7f && text[i] != '[' && text[i] != ']';
    if (!plain) {
        PyObject *path;
        TRY(call_reference(line, w_path_of, url, NULL, &path));
        return set_str(slot, path);
    }
    const char *rest = text, *end = text + n;
    const char *colon = memchr(text, ':', (size_t)n);
    if (colon && colon > text && ((text[0] | 0x20) >= 'a' && (text[0] | 0x20) <= 'z')) {
        const char *c = text;
        while (c < colon && is_scheme_char(*c))
            c++;
        if (c == colon)
            rest = colon + 1;
    }
    if (end - rest >= 2 && rest[0] == '/' && rest[1] == '/') {
        rest += 2;
        while (rest < end && *rest != '/' && *rest != '?' && *rest != '#')
            rest++;
    }
    const char *path_end = rest;
    while (path_end < end && *path_end != '?' && *path_end != '#')
        path_end++;
    if (path_end == rest)
        set_constant(slot, "/");
    else
        set_text(slot, rest, path_end - rest);
    return OK;
}

static int hex_digit(char c) {
    return c >= '0' && c <= '9' ? c - '0'
         : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : -1;
}

/* unquote_plus of a value with an escape, into a slot: `+` is a space, `%XY` the byte XY, and
 * the bytes must be UTF-8; a value that decodes to a NUL stays as sent (web.utm_of). Values
 * with other than ASCII, or that decode to something other than UTF-8, are declined: unquote
 * decodes them piecewise, with replacement characters. */
static int unquoted(Line *line, const char *value, Py_ssize_t n, Slot *slot) {
    char *bytes = PyMem_Malloc((size_t)n);
    if (!bytes) {
        PyErr_NoMemory();
        return ERROR;
    }
    Py_ssize_t len = 0;
    int nul = 0, status = OK;
    for (Py_ssize_t i = 0; i < n && status == OK; i++) {
        int c = (unsigned char)value[i];
        if (c >= 0x80)
            status = DECLINE;
        else if (c == '+')
            c = ' ';
        else if (c == '%' && i + 2 < n && hex_digit(value[i + 1]) >= 0 &&
                 hex_digit(value[i + 2]) >= 0) {
            c = hex_digit(value[i + 1]) * 16 + hex_digit(value[i + 2]);
            i += 2;
        }
        nul |= c == 0;
        bytes[len++] = (char)c;
    }
    if (status == OK && nul)
        set_text(slot, value, n);
    else if (status == OK) {
        PyObject *text = PyUnicode_DecodeUTF8(bytes, len, NULL);
        if (!text) {
            PyErr_Clear();
            status = DECLINE;
        } else if ((status = own(line, text)) == OK)
            status = set_object(slot, text) < 0 ? declined() : OK;
    }
    PyMem_Free(bytes);
    return status;
}

/* web.utm_of into the UTM slots: the first non-empty value of each parameter, unquoted. */
static int utm_of(Line *line, PyObject *url) {
    Py_ssize_t n;
    const char *text = PyUnicode_AsUTF8AndSize(url, &n);
    if (!text)
        return declined();
    const char *question = memchr(text, '?', (size_t)n);
    if (!question)
        return OK;
    const char *query = question + 1, *end = text + n;
    const char *hash = memchr(query, '#', (size_t)(end - query));
    if (hash)
        end = hash;
    for (const char *pair = query; pair <= end;) {
        const char *pair_end = memchr(pair, '&', (size_t)(end - pair));
        if (!pair_end)
            pair_end = end;
        const char *equals = memchr(pair, '=', (size_t)(pair_end - pair));
        const char *name_end = equals ? equals : pair_end;
        const char *value = equals ? equals + 1 : pair_end;
        for (int u = 0; u < N_UTM && value < pair_end; u++) {
            Slot *slot = &line->slots[C_UTM_SOURCE + u];
            size_t len = strlen(UTM_NAMES[u]);
            if (!slot->set && (size_t)(name_end - pair) == len && memcmp(pair, UTM_NAMES[u], len) == 0) {
                Py_ssize_t value_len = pair_end - value;
                if (memchr(value, '%', (size_t)value_len) || memchr(value, '+', (size_t)value_len))
                    TRY(unquoted(line, value, value_len, slot));
                else
                    set_text(slot, value, value_len);
                break;
            }
        }
        pair = pair_end + 1;
    }
    return OK;
}

/* ---------------------------------------------------------------------------------------------
 * shapes.py: the four mappings and what they share.
 */

/* shapes._project: the project of the key the line sends (an unknown key: declined). */
static int project(Line *line, const Context *context, PyObject *event, PyObject *key_field) {
    PyObject *key = get(event, key_field);
    if (!is_str(key))
        return DECLINE;
    line->project = PyDict_GetItemWithError(context->projects, key);
    if (!line->project)
        return PyErr_Occurred() ? ERROR : DECLINE;
    line->key = key;
    return OK;
}

static int prop_text(PyObject *properties, PyObject *name, Slot *slot) {
    PyObject *value = get(properties, name);
    slot->set = 0;
    if (is_str(value))
        return set_str(slot, value);
    return OK;
}

static int has_items(PyObject *dict) { return dict && PyDict_GET_SIZE(dict) > 0; }

static int scroll_pct_of(Line *line, PyObject *properties) {
    Slot *slot = &line->slots[C_SCROLL_PCT];
    slot->set = 0;
    return has_items(properties) ? decimal_text(line, get(properties, k_scroll_pct), slot) : OK;
}

/* shapes._finish: flags, page fallbacks, CTA, UTM and revenue. */
static int finish(Line *line, enum Shape shape, PyObject *properties) {
    Slot *slots = line->slots;
    if (!slots[C_EVENT_NAME].set || !slots[C_ANONYMOUS_ID].set)
        return DECLINE;
    PyObject *const page_keys[4] = {k_url, k_path, k_title, k_referrer};
    for (int i = 0; i < 4; i++)
        if (!slots[C_PAGE_URL + i].set) {
            TRY(prop_text(properties, page_keys[i], &slots[C_PAGE_URL + i]));
            if (i == 0 && slots[C_PAGE_URL].set)
                line->page_url = get(properties, k_url);
        }
    if (!slots[C_PAGE_URL].set)
        line->page_url = NULL;
    if (!slots[C_PAGE_PATH].set && line->page_url)
        TRY(path_of(line, line->page_url, &slots[C_PAGE_PATH]));
    int is_tracker = shape == TRACKER;
    int is_click = slot_is(&slots[C_EVENT_NAME], "click") ||
                   (is_tracker && slot_is(&slots[C_EVENT_TYPE], "click"));
    TRY(set_object(&slots[C_PROJECT_ID], PyTuple_GET_ITEM(line->project, 0)) < 0 ? declined() : OK);
    set_constant(&slots[C_SOURCE_SHAPE], SHAPE_NAMES[shape]);
    set_flag(&slots[C_IS_SCROLL], slot_is(&slots[C_EVENT_NAME], "scroll") ||
                                      (is_tracker && slot_is(&slots[C_EVENT_TYPE], "scroll")));
    set_flag(&slots[C_IS_CLICK], is_click);
    if (is_click && !slots[C_CTA_LABEL].set)
        TRY(prop_text(properties, k_label, &slots[C_CTA_LABEL]));
    else if (!is_click)
        slots[C_CTA_LABEL].set = 0;
    if (line->page_url)
        TRY(utm_of(line, line->page_url));
    if (has_items(properties)) {
        PyObject *revenue_property = PyTuple_GET_ITEM(line->project, 1);
        TRY(decimal_text(line, get(properties, revenue_property), &slots[C_REVENUE]));
    }
    return OK;
}

/* A text field of the event that may also serve as the page URL. */
static int page_url(Line *line, PyObject *value, const char *field) {
    TRY(text(line, value, field, &line->slots[C_PAGE_URL]));
    line->page_url = line->slots[C_PAGE_URL].set ? (is_str(value) ? value : line->owned[line->n_owned - 1]) : NULL;
    return OK;
}

/* "user:" + user_id as the anonymous id (shapes: no anonymous id but a user id). */
static int user_anonymous_id(Line *line) {
    const Slot *user = &line->slots[C_USER_ID];
    TRY(own(line, PyUnicode_FromFormat("user:%s", user->text))); /* a whole str's UTF-8 */
    return set_str(&line->slots[C_ANONYMOUS_ID], line->owned[line->n_owned - 1]);
}

static int map_segment(Line *line, const Context *context, PyObject *event) {
    Slot *slots = line->slots;
    PyObject *write_key = get(event, k_write_key);
    TRY(project(line, context, event, write_key && write_key != Py_None ? k_write_key : k_project_key));
    TRY(text(line, get(event, k_type), "type", &slots[C_EVENT_TYPE]));
    if (!slots[C_EVENT_TYPE].set)
        set_constant(&slots[C_EVENT_TYPE], "track");
    PyObject *ctx, *page, *screen, *library, *properties, *traits;
    TRY(obj(get(event, k_context), &ctx));
    TRY(obj(get(ctx, k_page), &page));
    TRY(obj(get(ctx, k_screen), &screen));
    TRY(obj(get(ctx, k_library), &library));
    TRY(obj(get(event, k_properties), &properties));
    TRY(obj(get(event, k_traits), &traits));
    if (!traits)
        TRY(obj(get(ctx, k_traits), &traits));

    TRY(required_time(line, get(event, k_timestamp), "timestamp", iso_time, &slots[C_CLIENT_EVENT_AT]));
    TRY(optional_iso_time(line, get(event, k_sent_at), "sent_at", &slots[C_SENT_AT]));
    TRY(optional_iso_time(line, get(event, k_received_at), "received_at", &slots[C_RECEIVED_AT]));
    int64_t event_at = slots[C_CLIENT_EVENT_AT].number;
    if (slots[C_SENT_AT].set && slots[C_RECEIVED_AT].set) { /* client clock skew (SPEC 4) */
        event_at = slots[C_RECEIVED_AT].number - (slots[C_SENT_AT].number - event_at);
        if (event_at < MIN_TIME_US || event_at > MAX_TIME_US)
            return DECLINE;
    }
    slots[C_EVENT_AT].set = 1;
    slots[C_EVENT_AT].number = line->event_at = event_at;

    const Slot *kind = &slots[C_EVENT_TYPE];
    int is_view = slot_is(kind, "page") || slot_is(kind, "screen");
    int is_identify = slot_is(kind, "identify");
    if (is_view) {
        set_constant(&slots[C_EVENT_NAME], "page_view");
    } else if (is_identify) {
        set_constant(&slots[C_EVENT_NAME], "identify");
    } else {
        TRY(text(line, get(event, k_event), "event", &slots[C_EVENT_NAME]));
        if (!slots[C_EVENT_NAME].set && !slot_is(kind, "track"))
            slots[C_EVENT_NAME] = *kind;
    }
    TRY(identifier(line, get(event, k_user_id), "user_id", &slots[C_USER_ID]));
    TRY(identifier(line, get(event, k_anonymous_id), "anonymous_id", &slots[C_ANONYMOUS_ID]));
    if (!slots[C_ANONYMOUS_ID].set && slots[C_USER_ID].set)
        TRY(user_anonymous_id(line));
    Slot context_ip, top_level_ip; /* both truncated; the column prefers context.ip */
    TRY(truncate_ip_in(line, ctx, &context_ip));
    TRY(truncate_ip_in(line, event, &top_level_ip));
    slots[C_IP] = context_ip.set ? context_ip : top_level_ip;
    Slot message_id;
    PyObject *message_value = get(event, k_message_id);
    TRY(identifier(line, message_value, "message_id", &message_id));
    if (message_id.set)
        line->message_id = is_str(message_value) ? message_value : line->owned[line->n_owned - 1];

    set_flag(&slots[C_IS_PAGE_VIEW], is_view);
    set_flag(&slots[C_IS_IDENTIFY], is_identify);
    TRY(identifier(line, get(event, k_session_id), "session_id", &slots[C_CLIENT_SESSION_ID]));
    TRY(page_url(line, get(page, k_url), "context.page.url"));
    TRY(text(line, get(page, k_path), "context.page.path", &slots[C_PAGE_PATH]));
    TRY(text(line, get(page, k_title), "context.page.title", &slots[C_PAGE_TITLE]));
    TRY(text(line, get(page, k_referrer), "context.page.referrer", &slots[C_PAGE_REFERRER]));
    TRY(text(line, get(ctx, k_user_agent), "context.user_agent", &slots[C_USER_AGENT]));
    TRY(text(line, get(ctx, k_locale), "context.locale", &slots[C_LOCALE]));
    TRY(text(line, get(ctx, k_timezone), "context.timezone", &slots[C_TIMEZONE]));
    TRY(integer(line, get(screen, k_width), "context.screen.width", &slots[C_SCREEN_WIDTH]));
    TRY(integer(line, get(screen, k_height), "context.screen.height", &slots[C_SCREEN_HEIGHT]));
    TRY(scroll_pct_of(line, properties));
    TRY(text(line, get(ctx, k_channel), "context.channel", &slots[C_CHANNEL]));
    TRY(text(line, get(library, k_name), "context.library.name", &slots[C_LIBRARY_NAME]));
    TRY(text(line, get(library, k_version), "context.library.version", &slots[C_LIBRARY_VERSION]));
    line->properties = properties;
    line->traits = traits;
    return finish(line, SEGMENT, properties);
}

/* The project and event time of a mobile, server or tracker line (no clock skew there). */
static int project_and_time(Line *line, const Context *context, PyObject *event, PyObject *key_field,
                            PyObject *time_key, const char *time_field,
                            int (*read)(Line *, PyObject *, const char *, int64_t *)) {
    Slot *slots = line->slots;
    TRY(project(line, context, event, key_field));
    TRY(required_time(line, get(event, time_key), time_field, read, &slots[C_EVENT_AT]));
    line->event_at = slots[C_EVENT_AT].number;
    slots[C_CLIENT_EVENT_AT] = slots[C_EVENT_AT];
    return OK;
}

static int map_mobile(Line *line, const Context *context, PyObject *event) {
    Slot *slots = line->slots;
    TRY(project_and_time(line, context, event, k_api_key, k_timestamp_ms, "timestamp_ms",
                         epoch_ms_time));
    PyObject *properties;
    TRY(obj(get(event, k_properties), &properties));
    TRY(text(line, get(event, k_event_name), "event_name", &slots[C_EVENT_NAME]));
    TRY(identifier(line, get(event, k_session_id), "session_id", &slots[C_CLIENT_SESSION_ID]));
    TRY(truncate_ip_in(line, event, &slots[C_IP]));
    set_flag(&slots[C_IS_PAGE_VIEW], slot_is(&slots[C_EVENT_NAME], "page_view") ||
                                         slot_is(&slots[C_EVENT_NAME], "screen_view"));
    set_flag(&slots[C_IS_IDENTIFY], 0);
    slots[C_ANONYMOUS_ID] = slots[C_CLIENT_SESSION_ID];
    TRY(text(line, get(event, k_platform), "platform", &slots[C_PLATFORM]));
    TRY(scroll_pct_of(line, properties));
    line->properties = properties;
    return finish(line, MOBILE, properties);
}

static int map_server(Line *line, const Context *context, PyObject *event) {
    Slot *slots = line->slots;
    TRY(project_and_time(line, context, event, k_project_key, k_created_at, "created_at",
                         iso_time));
    PyObject *properties;
    TRY(json_object(line, get(event, k_properties), "properties", &properties));
    TRY(text(line, get(event, k_event_type), "event_type", &slots[C_EVENT_NAME]));
    slots[C_EVENT_TYPE] = slots[C_EVENT_NAME];
    TRY(identifier(line, get(event, k_user_id), "user_id", &slots[C_USER_ID]));
    TRY(identifier(line, get(event, k_session_id), "session_id", &slots[C_CLIENT_SESSION_ID]));
    TRY(truncate_ip_in(line, event, &slots[C_IP]));
    set_flag(&slots[C_IS_PAGE_VIEW], slot_is(&slots[C_EVENT_NAME], "page_view"));
    set_flag(&slots[C_IS_IDENTIFY], 0);
    if (slots[C_USER_ID].set)
        TRY(user_anonymous_id(line));
    else
        slots[C_ANONYMOUS_ID] = slots[C_CLIENT_SESSION_ID];
    TRY(scroll_pct_of(line, properties));
    line->properties = properties;
    return finish(line, SERVER, properties);
}

static int map_tracker(Line *line, const Context *context, PyObject *event) {
    Slot *slots = line->slots;
    TRY(project_and_time(line, context, event, k_public_key, k_created_at, "created_at",
                         iso_time));
    PyObject *meta;
    TRY(json_object(line, get(event, k_meta), "meta", &meta));
    Slot name, selector;
    TRY(text(line, get(event, k_event_type), "event_type", &slots[C_EVENT_TYPE]));
    TRY(text(line, get(event, k_name), "name", &name));
    slots[C_EVENT_NAME] = name.set ? name : slots[C_EVENT_TYPE];
    TRY(text(line, get(event, k_selector), "selector", &selector));
    TRY(truncate_ip_in(line, event, &slots[C_IP]));
    set_flag(&slots[C_IS_PAGE_VIEW], slot_is(&slots[C_EVENT_TYPE], "page_view"));
    set_flag(&slots[C_IS_IDENTIFY], 0);
    slots[C_CTA_LABEL] = name.set ? name : selector;
    TRY(identifier(line, get(event, k_visitor_key), "visitor_key", &slots[C_ANONYMOUS_ID]));
    TRY(identifier(line, get(event, k_session_key), "session_key", &slots[C_CLIENT_SESSION_ID]));
    TRY(page_url(line, get(event, k_url), "url"));
    TRY(text(line, get(event, k_path), "path", &slots[C_PAGE_PATH]));
    TRY(text(line, get(event, k_user_agent), "user_agent", &slots[C_USER_AGENT]));
    TRY(text(line, get(event, k_timezone), "timezone", &slots[C_TIMEZONE]));
    TRY(integer(line, get(event, k_viewport_w), "viewport_w", &slots[C_SCREEN_WIDTH]));
    TRY(integer(line, get(event, k_viewport_h), "viewport_h", &slots[C_SCREEN_HEIGHT]));
    TRY(number(line, get(event, k_scroll_pct), "scroll_pct", &slots[C_SCROLL_PCT]));
    Slot checked; /* x and y are checked for type only: they stay in the payload */
    TRY(integer(line, get(event, k_x), "x", &checked));
    TRY(integer(line, get(event, k_y), "y", &checked));
    line->properties = meta;
    return finish(line, TRACKER, meta);
}

/* shapes.detect_shape: the first shape one of whose distinctive keys the event has. */
static int detect_shape(PyObject *event) {
    PyObject *const tracker[] = {k_public_key, k_visitor_key, k_session_key};
    PyObject *const mobile[] = {k_api_key, k_timestamp_ms, k_event_name};
    PyObject *const segment[] = {k_write_key, k_message_id, k_type, k_anonymous_id};
    for (int i = 0; i < 3; i++)
        if (PyDict_Contains(event, tracker[i]) == 1)
            return TRACKER;
    for (int i = 0; i < 3; i++)
        if (PyDict_Contains(event, mobile[i]) == 1)
            return MOBILE;
    for (int i = 0; i < 4; i++)
        if (PyDict_Contains(event, segment[i]) == 1)
            return SEGMENT;
    return PyDict_Contains(event, k_event_type) == 1 ? SERVER : -1;
}

/* ---------------------------------------------------------------------------------------------
 * chunk.ChunkMapper.map_line and event_row.
 */

/* The digest of a, a newline and b (as chunk.event_key and shapes._content_id join them). */
static int digest(const EVP_MD *algorithm, const char *a, Py_ssize_t a_len, const char *b,
                  Py_ssize_t b_len, unsigned char *out) {
    if (!EVP_DigestInit_ex2(digest_context, algorithm, NULL) ||
        !EVP_DigestUpdate(digest_context, a, (size_t)a_len) ||
        !EVP_DigestUpdate(digest_context, "\n", 1) ||
        !EVP_DigestUpdate(digest_context, b, (size_t)b_len) ||
        !EVP_DigestFinal_ex(digest_context, out, NULL)) {
        PyErr_SetString(PyExc_RuntimeError, "fastmap: OpenSSL could not compute a digest");
        return ERROR;
    }
    return OK;
}

/* shapes._content_id: sha256 of the key, a newline and the event with sorted keys. */
static int content_id(Line *line, PyObject *event) {
    PyObject *args[2] = {event, sort_keys};
    PyObject *canonical = PyObject_Vectorcall(dumps, args, 1, option_keyword);
    if (!canonical)
        return declined(); /* too deep */
    TRY(own(line, canonical));
    Py_ssize_t key_len;
    const char *key = PyUnicode_AsUTF8AndSize(line->key, &key_len);
    if (!key)
        return declined();
    unsigned char sha[32];
    TRY(digest(sha256_algorithm, key, key_len, PyBytes_AS_STRING(canonical),
               PyBytes_GET_SIZE(canonical), sha));
    static const char HEX[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        line->content_id[2 * i] = HEX[sha[i] >> 4];
        line->content_id[2 * i + 1] = HEX[sha[i] & 15];
    }
    set_text(&line->slots[C_MESSAGE_ID], line->content_id, sizeof line->content_id);
    return OK;
}

/* shapes.unread_fields: the document without the fields `read` lists (nested objects as dicts),
 * a new dict owned by the line, or NULL when nothing is left. */
static int unread_fields(Line *line, PyObject *document, PyObject *read, PyObject **rest) {
    PyObject *key, *value;
    Py_ssize_t at = 0;
    *rest = NULL;
    while (PyDict_Next(document, &at, &key, &value)) {
        PyObject *spec = PyDict_GetItemWithError(read, key), *kept = value;
        if (!spec && PyErr_Occurred())
            return ERROR;
        if (spec && PyDict_Check(spec) && PyDict_CheckExact(value))
            TRY(unread_fields(line, value, spec, &kept));
        else if (spec)
            kept = NULL;
        if (!kept)
            continue;
        if (!*rest) {
            TRY(own(line, PyDict_New()));
            *rest = line->owned[line->n_owned - 1];
        }
        if (PyDict_SetItem(*rest, key, kept) < 0)
            return ERROR;
    }
    return OK;
}

static int dumped(Line *line, PyObject *document, Slot *slot) {
    if (!document) {
        slot->set = 0;
        return OK;
    }
    PyObject *args[1] = {document};
    PyObject *json = PyObject_Vectorcall(dumps, args, 1, NULL);
    if (!json)
        return declined(); /* too deep */
    TRY(own(line, json));
    return set_object(slot, json) < 0 ? declined() : OK;
}

/* Whether the line holds the escape \u0000 (the reference checks the strings it decodes to). A
 * search for the backslash first: most lines have none, and memchr is the fastest scan. */
static int has_nul_escape(const char *bytes, Py_ssize_t n) {
    const char *end = bytes + n, *at = bytes;
    while ((at = memchr(at, '\\', (size_t)(end - at))) != NULL) {
        if (end - at >= 6 && memcmp(at, "\\u0000", 6) == 0)
            return 1;
        at += 1 + (end - at >= 2); /* past the escaped character: `\\` is one escape */
    }
    return 0;
}

static int map_line(Line *line, const Context *context, PyObject *raw, int first_of_file,
                    long long number) {
    const char *bytes = PyBytes_AS_STRING(raw);
    Py_ssize_t n = PyBytes_GET_SIZE(raw);
    if (n > context->max_line_bytes || (first_of_file && n >= 3 && memcmp(bytes, "\xef\xbb\xbf", 3) == 0) ||
        has_nul_escape(bytes, n))
        return DECLINE;
    PyObject *args[1] = {raw};
    PyObject *event = PyObject_Vectorcall(loads, args, 1, NULL);
    if (!event)
        return declined();
    TRY(own(line, event));
    if (!PyDict_CheckExact(event))
        return DECLINE;
    Slot *slots = line->slots;
    line->shape = detect_shape(event);
    switch (line->shape) {
    case SEGMENT:
        TRY(map_segment(line, context, event));
        break;
    case MOBILE:
        TRY(map_mobile(line, context, event));
        break;
    case SERVER:
        TRY(map_server(line, context, event));
        break;
    case TRACKER:
        TRY(map_tracker(line, context, event));
        break;
    default:
        return DECLINE;
    }
    long long oldest = PyLong_AsLongLong(PyTuple_GET_ITEM(line->project, 2));
    if (oldest == -1 && PyErr_Occurred())
        return ERROR;
    if (line->event_at > context->latest_us || line->event_at < oldest)
        return DECLINE;
    if (line->message_id)
        TRY(set_object(&slots[C_MESSAGE_ID], line->message_id) < 0 ? declined() : OK);
    else
        TRY(content_id(line, event));
    TRY(dumped(line, line->properties, &slots[C_PROPERTIES]));
    TRY(dumped(line, line->traits, &slots[C_TRAITS]));
    PyObject *extra;
    TRY(unread_fields(line, event, PyTuple_GET_ITEM(context->read_fields, line->shape), &extra));
    TRY(dumped(line, extra, &slots[C_EXTRA]));
    TRY(digest(md5_algorithm, slots[C_PROJECT_ID].text, slots[C_PROJECT_ID].len,
               slots[C_MESSAGE_ID].text, slots[C_MESSAGE_ID].len, line->event_key));
    set_text(&slots[C_EVENT_KEY], (const char *)line->event_key, sizeof line->event_key);
    slots[C_LOAD_ID].set = slots[C_LINE_NUMBER].set = 1;
    slots[C_LOAD_ID].number = context->load_id;
    slots[C_LINE_NUMBER].number = number;
    return OK;
}

/* ---------------------------------------------------------------------------------------------
 * chunk.ChunkMapper.map_chunk: every line mapped, the first copy of each key kept, by key.
 */

/* The rows of a chunk as they are mapped: end to end in one buffer, with their keys. */
typedef struct {
    Buffer rows;
    Py_ssize_t *ends; /* where row i ends in rows */
    unsigned char (*keys)[16];
    Py_ssize_t count, capacity;
} Mapped;

/* The row just written at the end of mapped->rows is complete: note its end and key. */
static int mapped_end_row(Mapped *mapped, const char *key) {
    if (mapped->count == mapped->capacity) {
        Py_ssize_t capacity = mapped->capacity ? 2 * mapped->capacity : 1024;
        Py_ssize_t *ends = PyMem_Realloc(mapped->ends, (size_t)capacity * sizeof *ends);
        if (ends)
            mapped->ends = ends;
        unsigned char(*keys)[16] = PyMem_Realloc(mapped->keys, (size_t)capacity * 16);
        if (keys)
            mapped->keys = keys;
        if (!ends || !keys) {
            PyErr_NoMemory();
            return -1;
        }
        mapped->capacity = capacity;
    }
    memcpy(mapped->keys[mapped->count], key, 16);
    mapped->ends[mapped->count++] = (Py_ssize_t)mapped->rows.len;
    return 0;
}

static void mapped_free(Mapped *mapped) {
    PyMem_Free(mapped->rows.data);
    PyMem_Free(mapped->ends);
    PyMem_Free(mapped->keys);
}

static const unsigned char (*sort_keys_base)[16]; /* qsort's comparator has no context */

static int by_key(const void *a, const void *b) {
    int cmp = memcmp(sort_keys_base[*(const Py_ssize_t *)a], sort_keys_base[*(const Py_ssize_t *)b], 16);
    if (cmp)
        return cmp;
    return *(const Py_ssize_t *)a < *(const Py_ssize_t *)b ? -1 : 1; /* line order among equals */
}

/* map_chunk's result: the count of lines read, the kept rows (first copy of each key) in key
 * order as (rows, keys, ends), ends being the native int64 end offsets of the rows in `rows`,
 * and the count of later copies dropped. */
static PyObject *kept_by_key(const Mapped *mapped, Py_ssize_t lines) {
    Py_ssize_t count = mapped->count, kept = 0, dropped = 0;
    Py_ssize_t *order = PyMem_Malloc((size_t)(count ? count : 1) * sizeof *order);
    if (!order)
        return PyErr_NoMemory();
    for (Py_ssize_t i = 0; i < count; i++)
        order[i] = i;
    sort_keys_base = (const unsigned char(*)[16])mapped->keys;
    qsort(order, (size_t)count, sizeof *order, by_key);
    for (Py_ssize_t i = 0; i < count; i++) { /* equal keys are adjacent, the first line first */
        if (kept && memcmp(mapped->keys[order[i]], mapped->keys[order[kept - 1]], 16) == 0)
            dropped++;
        else
            order[kept++] = order[i];
    }
    Py_ssize_t total = 0;
    for (Py_ssize_t i = 0; i < kept; i++) {
        Py_ssize_t start = order[i] ? mapped->ends[order[i] - 1] : 0;
        total += mapped->ends[order[i]] - start;
    }
    PyObject *rows = PyBytes_FromStringAndSize(NULL, total);
    PyObject *keys = PyBytes_FromStringAndSize(NULL, 16 * kept);
    PyObject *ends = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)sizeof(int64_t) * kept);
    PyObject *result = NULL;
    if (rows && keys && ends) {
        char *out = PyBytes_AS_STRING(rows);
        int64_t end = 0;
        for (Py_ssize_t i = 0; i < kept; i++) {
            Py_ssize_t start = order[i] ? mapped->ends[order[i] - 1] : 0;
            Py_ssize_t len = mapped->ends[order[i]] - start;
            memcpy(out + end, mapped->rows.data + start, (size_t)len);
            end += len;
            memcpy(PyBytes_AS_STRING(keys) + 16 * i, mapped->keys[order[i]], 16);
            memcpy(PyBytes_AS_STRING(ends) + sizeof end * i, &end, sizeof end);
        }
        result = Py_BuildValue("(nOOOn)", lines, rows, keys, ends, dropped);
    }
    Py_XDECREF(rows);
    Py_XDECREF(keys);
    Py_XDECREF(ends);
    PyMem_Free(order);
    return result;
}

/* A row of rows_by_key's parts: where it is, and its key. */
typedef struct {
    const unsigned char *key;
    const char *row;
    Py_ssize_t len;
} RowRef;

static int by_row_key(const void *a, const void *b) {
    return memcmp(((const RowRef *)a)->key, ((const RowRef *)b)->key, 16);
}

/* rows_by_key(parts): the rows of several chunks merged into one run in key order, as bytes.
 * Each part is a chunk's (rows, keys, ends) as map_chunk returns them, and a sorted list of
 * the indexes of its rows to leave out. Keys are distinct (later copies were held back). */
static PyObject *rows_by_key(PyObject *module, PyObject *parts) {
    if (!PyList_Check(parts)) {
        PyErr_SetString(PyExc_TypeError, "rows_by_key(parts: list)");
        return NULL;
    }
    Py_ssize_t n_parts = PyList_GET_SIZE(parts), count = 0, capacity = 0, total = 0;
    RowRef *refs = NULL;
    for (Py_ssize_t p = 0; p < n_parts; p++) {
        PyObject *rows, *keys, *ends, *skip;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(parts, p), "O!O!O!O!", &PyBytes_Type, &rows,
                              &PyBytes_Type, &keys, &PyBytes_Type, &ends, &PyList_Type, &skip))
            goto failed;
        Py_ssize_t n = PyBytes_GET_SIZE(keys) / 16, skipped = 0;
        if (PyBytes_GET_SIZE(ends) != n * (Py_ssize_t)sizeof(int64_t)) {
            PyErr_SetString(PyExc_ValueError, "a part's keys and ends differ in number");
            goto failed;
        }
        if (count + n > capacity) {
            capacity = 2 * (count + n);
            RowRef *grown = PyMem_Realloc(refs, (size_t)capacity * sizeof *refs);
            if (!grown) {
                PyErr_NoMemory();
                goto failed;
            }
            refs = grown;
        }
        const char *data = PyBytes_AS_STRING(rows);
        int64_t start = 0, end;
        for (Py_ssize_t i = 0; i < n; i++, start = end) {
            memcpy(&end, PyBytes_AS_STRING(ends) + i * (Py_ssize_t)sizeof end, sizeof end);
            if (end < start || end > PyBytes_GET_SIZE(rows)) {
                PyErr_SetString(PyExc_ValueError, "a part's ends are out of order");
                goto failed;
            }
            if (skipped < PyList_GET_SIZE(skip) &&
                PyLong_AsSsize_t(PyList_GET_ITEM(skip, skipped)) == i) {
                skipped++;
                continue;
            }
            refs[count++] = (RowRef){(const unsigned char *)PyBytes_AS_STRING(keys) + 16 * i,
                                     data + start, (Py_ssize_t)(end - start)};
            total += end - start;
        }
        if (PyErr_Occurred())
            goto failed;
    }
    if (count)
        qsort(refs, (size_t)count, sizeof *refs, by_row_key);
    PyObject *merged = PyBytes_FromStringAndSize(NULL, total);
    if (merged) {
        char *out = PyBytes_AS_STRING(merged);
        for (Py_ssize_t i = 0; i < count; out += refs[i].len, i++)
            memcpy(out, refs[i].row, (size_t)refs[i].len);
    }
    PyMem_Free(refs);
    return merged;
failed:
    PyMem_Free(refs);
    return NULL;
}

/* Map one line into `mapped`: by the fast path, or else by `fallback` (chunk.py's
 * mapped_here), which returns the row and key, or None for a line it quarantined. */
static int map_one(Mapped *mapped, Line *line, const Context *context, PyObject *raw,
                   long long number, PyObject *fallback) {
    memset(line, 0, sizeof *line);
    int status = map_line(line, context, raw, number == 1, number);
    if (status == OK)
        status = put_row(&mapped->rows, line->slots) < 0 ||
                 mapped_end_row(mapped, (const char *)line->event_key) < 0 ? ERROR : OK;
    release(line);
    if (status != DECLINE)
        return status == ERROR ? -1 : 0;
    PyObject *mapped_there = PyObject_CallFunction(fallback, "OL", raw, number);
    if (!mapped_there)
        return -1;
    char *row_bytes, *key_bytes;
    Py_ssize_t row_len, key_len;
    int failed = mapped_there != Py_None &&
                 (!PyArg_ParseTuple(mapped_there, "y#y#", &row_bytes, &row_len, &key_bytes,
                                    &key_len) ||
                  key_len != 16 || put_bytes(&mapped->rows, row_bytes, (size_t)row_len) < 0 ||
                  mapped_end_row(mapped, key_bytes) < 0);
    Py_DECREF(mapped_there);
    return failed ? -1 : 0;
}

/* map_chunk(data, first_line, context, fallback): (lines, rows, keys, ends, duplicates) of a
 * chunk's bytes, cut into lines at each newline (the last line may lack its newline; after a
 * final one there is none): the count of lines, the binary COPY rows of raw.events end to end
 * in key order, the first copy of each key kept, their 16-byte event keys in the same order,
 * the native int64 end of each row in `rows`, and how many later copies were dropped. A line
 * the fast path declines goes to fallback(line, line_number), which returns its (row, key),
 * or None when it quarantined the line. `context` is (projects, latest_us, load_id,
 * max_line_bytes, read_fields): projects maps each SDK key to (project_id,
 * revenue_property, oldest_us); times are Unix microseconds; read_fields holds
 * shapes.READ_FIELDS of segment, mobile, server and tracker. */
static PyObject *map_chunk(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    Context context;
    if (nargs != 4 || !PyBytes_Check(args[0]) || !PyTuple_Check(args[2]) ||
        !PyCallable_Check(args[3]) ||
        !PyArg_ParseTuple(args[2], "O!LLnO!", &PyDict_Type, &context.projects, &context.latest_us,
                          &context.load_id, &context.max_line_bytes, &PyTuple_Type,
                          &context.read_fields) ||
        PyTuple_GET_SIZE(context.read_fields) != 4) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "map_chunk(data: bytes, first_line: int,"
                                             " context: tuple, fallback: callable)");
        return NULL;
    }
    long long first_line = PyLong_AsLongLong(args[1]);
    if (first_line == -1 && PyErr_Occurred())
        return NULL;
    Line *line = PyMem_Malloc(sizeof *line);
    Mapped mapped = {0};
    PyObject *result = NULL;
    if (!line) {
        PyErr_NoMemory();
        goto done;
    }
    /* The lines are cut here with memchr: bytes.split and bytes.count test every byte, and
     * took 8% of the mapping. A last line without its newline is a line; after a final
     * newline there is none (as chunk.data.split(b"\n") without its last, empty piece). */
    const char *data = PyBytes_AS_STRING(args[0]);
    Py_ssize_t size = PyBytes_GET_SIZE(args[0]), i = 0;
    for (Py_ssize_t start = 0, end; start < size; start = end + 1, i++) {
        const char *newline = memchr(data + start, '\n', (size_t)(size - start));
        end = newline ? newline - data : size;
        if (i % GIL_RELEASE_LINES == GIL_RELEASE_LINES - 1) {
            /* A moment without the GIL: a thread waiting for it (the loader's, to feed a
             * COPY) takes it now rather than after the whole chunk. */
            Py_BEGIN_ALLOW_THREADS
            Py_END_ALLOW_THREADS
        }
        PyObject *raw = PyBytes_FromStringAndSize(data + start, end - start);
        int failed = !raw || map_one(&mapped, line, &context, raw, first_line + i, args[3]) < 0;
        Py_XDECREF(raw);
        if (failed)
            goto done;
    }
    result = kept_by_key(&mapped, i);
done:
    PyMem_Free(line);
    mapped_free(&mapped);
    return result;
}

/* count_lines(data): the newlines in bytes, found with memchr (bytes.count tests every byte). */
static PyObject *count_lines(PyObject *module, PyObject *data) {
    if (!PyBytes_Check(data)) {
        PyErr_SetString(PyExc_TypeError, "count_lines takes bytes");
        return NULL;
    }
    const char *at = PyBytes_AS_STRING(data), *end = at + PyBytes_GET_SIZE(data);
    Py_ssize_t count = 0;
    while ((at = memchr(at, '\n', (size_t)(end - at))) != NULL) {
        count++;
        at++;
    }
    return PyLong_FromSsize_t(count);
}

/* ---------------------------------------------------------------------------------------------
 * The key filter's Bloom filter (key_filter.py): BLOOM_PROBES bits per 16-byte event key, at
 * positions from the key's two halves (an md5 is as good as independent hashes).
 */
#define BLOOM_PROBES 7

static int bloom_args(PyObject *const *args, Py_ssize_t nargs, Py_buffer *bits, Py_buffer *keys) {
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "takes (bits: bytearray, keys: 16-byte keys end to end)");
        return -1;
    }
    if (PyObject_GetBuffer(args[0], bits, PyBUF_WRITABLE) < 0)
        return -1;
    if (PyObject_GetBuffer(args[1], keys, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(bits);
        return -1;
    }
    if (bits->len == 0 || keys->len % 16) {
        PyBuffer_Release(bits);
        PyBuffer_Release(keys);
        PyErr_SetString(PyExc_ValueError, "an empty filter, or keys that are not 16 bytes each");
        return -1;
    }
    return 0;
}

/* A key's probe positions. */
static void bloom_positions(const unsigned char *key, uint64_t n_bits, uint64_t *positions) {
    uint64_t low, high;
    memcpy(&low, key, 8);
    memcpy(&high, key + 8, 8);
    high |= 1;
    for (int i = 0; i < BLOOM_PROBES; i++)
        positions[i] = (low + (uint64_t)i * high) % n_bits;
}

/* bloom_add(bits, keys): set the bits of the keys (16-byte keys end to end). */
static PyObject *bloom_add(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    Py_buffer bits, keys;
    if (bloom_args(args, nargs, &bits, &keys) < 0)
        return NULL;
    unsigned char *data = bits.buf;
    uint64_t n_bits = (uint64_t)bits.len * 8, positions[BLOOM_PROBES];
    for (Py_ssize_t at = 0; at < keys.len; at += 16) {
        bloom_positions((const unsigned char *)keys.buf + at, n_bits, positions);
        for (int i = 0; i < BLOOM_PROBES; i++)
            data[positions[i] >> 3] |= (unsigned char)(1 << (positions[i] & 7));
    }
    PyBuffer_Release(&bits);
    PyBuffer_Release(&keys);
    Py_RETURN_NONE;
}

/* bloom_maybe(bits, keys): the indexes of the keys whose bits are all set (maybe present). */
static PyObject *bloom_maybe(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    Py_buffer bits, keys;
    if (bloom_args(args, nargs, &bits, &keys) < 0)
        return NULL;
    const unsigned char *data = bits.buf;
    uint64_t n_bits = (uint64_t)bits.len * 8, positions[BLOOM_PROBES];
    PyObject *found = PyList_New(0);
    for (Py_ssize_t at = 0; found && at < keys.len; at += 16) {
        bloom_positions((const unsigned char *)keys.buf + at, n_bits, positions);
        int all = 1;
        for (int i = 0; i < BLOOM_PROBES && all; i++)
            all = (data[positions[i] >> 3] >> (positions[i] & 7)) & 1;
        if (all) {
            PyObject *index = PyLong_FromSsize_t(at / 16);
            if (!index || PyList_Append(found, index) < 0)
                Py_CLEAR(found);
            Py_XDECREF(index);
        }
    }
    PyBuffer_Release(&bits);
    PyBuffer_Release(&keys);
    return found;
}

static PyMethodDef METHODS[] = {
    {"map_chunk", (PyCFunction)(void (*)(void))map_chunk, METH_FASTCALL,
     "map_chunk(data, first_line, context, fallback): (lines, rows, keys, ends, duplicates)."},
    {"count_lines", count_lines, METH_O, "count_lines(data): the newlines in bytes."},
    {"rows_by_key", rows_by_key, METH_O,
     "rows_by_key(parts): the rows of (rows, keys, ends, skip) parts as one run in key order."},
    {"bloom_add", (PyCFunction)(void (*)(void))bloom_add, METH_FASTCALL,
     "bloom_add(bits, keys): add 16-byte keys to a Bloom filter."},
    {"bloom_maybe", (PyCFunction)(void (*)(void))bloom_maybe, METH_FASTCALL,
     "bloom_maybe(bits, keys): indexes of the keys the filter may hold."},
    {"encode_row", encode_row, METH_O, "A binary COPY row of raw.events from Python values."},
    {"check_columns", check_columns, METH_O, "Raise unless the names are this module's columns."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef MODULE = {
    PyModuleDef_HEAD_INIT, "_fastmap",
    "The event loader's hot loop in C: JSON lines to binary COPY rows (native/fastmap.c).", -1,
    METHODS,
};

static PyObject *attribute(const char *module_name, const char *name) {
    PyObject *module = PyImport_ImportModule(module_name);
    if (!module)
        return NULL;
    PyObject *value = PyObject_GetAttrString(module, name);
    Py_DECREF(module);
    return value;
}

PyMODINIT_FUNC PyInit__fastmap(void) {
    if (rows_init() < 0)
        return NULL;
#define INTERN_KEY(name)                                                                       \
    if (!(k_##name = PyUnicode_InternFromString(#name)))                                       \
        return NULL;
    KEYS(INTERN_KEY)
    for (int u = 0; u < N_UTM; u++)
        if (!(utm_keys[u] = PyUnicode_InternFromString(UTM_NAMES[u])))
            return NULL;
    PyObject *option = PyUnicode_InternFromString("option");
    if (!option || !(option_keyword = PyTuple_Pack(1, option)))
        return NULL;
    if (!(loads = attribute("orjson", "loads")) || !(dumps = attribute("orjson", "dumps")) ||
        !(sort_keys = attribute("orjson", "OPT_SORT_KEYS")))
        return NULL;
    if (!(md5_algorithm = EVP_MD_fetch(NULL, "MD5", NULL)) ||
        !(sha256_algorithm = EVP_MD_fetch(NULL, "SHA256", NULL)) ||
        !(digest_context = EVP_MD_CTX_new())) {
        PyErr_SetString(PyExc_ImportError, "fastmap: OpenSSL provides no MD5 or SHA-256");
        return NULL;
    }
    const char *validation = "ingestion.events.validation", *web = "ingestion.events.web";
    if (!(v_text = attribute(validation, "text")) ||
        !(v_identifier = attribute(validation, "identifier")) ||
        !(v_iso_time = attribute(validation, "iso_time")) ||
        !(v_epoch_ms_time = attribute(validation, "epoch_ms_time")) ||
        !(v_integer = attribute(validation, "integer")) ||
        !(v_decimal_text = attribute(validation, "decimal_text")) ||
        !(v_number = attribute(validation, "number")) ||
        !(v_json_object = attribute(validation, "json_object")) ||
        !(w_truncate_ip = attribute(web, "truncate_ip")) ||
        !(w_path_of = attribute(web, "path_of")))
        return NULL;
    return PyModule_Create(&MODULE);
}
