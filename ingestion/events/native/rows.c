/* raw.events rows in PostgreSQL's binary COPY format.
 *
 * Binary COPY spares PostgreSQL the parsing of ~1 KB of text a row, a third of its time in a
 * load. `encode_row` writes the rows of the lines shapes.py maps; fastmap.c fills the same
 * slots straight from parsed events.
 */
#include "rows.h"

#include <datetime.h>
#include <string.h>

/* Column types: text, bool, int4, int8, timestamptz, numeric, jsonb, uuid. */
typedef enum { T_TEXT, T_BOOL, T_INT4, T_INT8, T_TIME, T_NUMERIC, T_JSONB, T_UUID } ColumnType;

static const ColumnType COLUMN_TYPES[N_COLUMNS] = {
    [C_PROJECT_ID] = T_TEXT, [C_MESSAGE_ID] = T_TEXT, [C_SOURCE_SHAPE] = T_TEXT,
    [C_EVENT_TYPE] = T_TEXT, [C_EVENT_NAME] = T_TEXT, [C_IS_PAGE_VIEW] = T_BOOL,
    [C_IS_IDENTIFY] = T_BOOL, [C_IS_SCROLL] = T_BOOL, [C_IS_CLICK] = T_BOOL,
    [C_CTA_LABEL] = T_TEXT, [C_ANONYMOUS_ID] = T_TEXT, [C_USER_ID] = T_TEXT,
    [C_CLIENT_SESSION_ID] = T_TEXT, [C_EVENT_AT] = T_TIME, [C_CLIENT_EVENT_AT] = T_TIME,
    [C_SENT_AT] = T_TIME, [C_RECEIVED_AT] = T_TIME, [C_PAGE_URL] = T_TEXT,
    [C_PAGE_PATH] = T_TEXT, [C_PAGE_TITLE] = T_TEXT, [C_PAGE_REFERRER] = T_TEXT,
    [C_USER_AGENT] = T_TEXT, [C_IP] = T_TEXT, [C_LOCALE] = T_TEXT, [C_TIMEZONE] = T_TEXT,
    [C_SCREEN_WIDTH] = T_INT4, [C_SCREEN_HEIGHT] = T_INT4, [C_SCROLL_PCT] = T_NUMERIC,
    [C_PLATFORM] = T_TEXT, [C_CHANNEL] = T_TEXT, [C_LIBRARY_NAME] = T_TEXT,
    [C_LIBRARY_VERSION] = T_TEXT, [C_UTM_SOURCE] = T_TEXT, [C_UTM_MEDIUM] = T_TEXT,
    [C_UTM_CAMPAIGN] = T_TEXT, [C_UTM_CONTENT] = T_TEXT, [C_UTM_TERM] = T_TEXT,
    [C_UTM_ID] = T_TEXT, [C_UTM_CAMPAIGN_ID] = T_TEXT, [C_UTM_ADSET_ID] = T_TEXT,
    [C_UTM_AD_ID] = T_TEXT, [C_UTM_PLACEMENT] = T_TEXT, [C_FBCLID] = T_TEXT,
    [C_REVENUE] = T_NUMERIC, [C_PROPERTIES] = T_JSONB, [C_TRAITS] = T_JSONB,
    [C_EXTRA] = T_JSONB, [C_EVENT_KEY] = T_UUID, [C_LOAD_ID] = T_INT8, [C_LINE_NUMBER] = T_INT8,
};

const char *const COLUMN_NAMES[N_COLUMNS] = {
    "project_id", "message_id", "source_shape", "event_type", "event_name",
    "is_page_view", "is_identify", "is_scroll", "is_click", "cta_label",
    "anonymous_id", "user_id", "client_session_id",
    "event_at", "client_event_at", "sent_at", "received_at",
    "page_url", "page_path", "page_title", "page_referrer",
    "user_agent", "ip", "locale", "timezone", "screen_width", "screen_height", "scroll_pct",
    "platform", "channel", "library_name", "library_version",
    "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term", "utm_id",
    "utm_campaign_id", "utm_adset_id", "utm_ad_id", "utm_placement", "fbclid",
    "revenue", "properties", "traits", "extra", "event_key", "load_id", "line_number",
};

/* PostgreSQL counts time from 2000-01-01, in microseconds. */
static const int64_t PG_EPOCH_US = INT64_C(946684800000000);

/* datetime.h's API pointer is per file: fastmap.c's module init calls this. */
int rows_init(void) {
    PyDateTime_IMPORT;
    return PyDateTimeAPI ? 0 : -1;
}

/* ---------------------------------------------------------------------------------------------
 * A growing byte buffer: one row at a time.
 */
static int buffer_reserve(Buffer *buf, size_t extra) {
    if (buf->len + extra <= buf->cap)
        return 0;
    size_t cap = buf->cap ? buf->cap : 4096;
    while (cap < buf->len + extra)
        cap *= 2;
    char *data = PyMem_Realloc(buf->data, cap);
    if (!data) {
        PyErr_NoMemory();
        return -1;
    }
    buf->data = data;
    buf->cap = cap;
    return 0;
}

int put_bytes(Buffer *buf, const void *bytes, size_t n) {
    if (buffer_reserve(buf, n) < 0)
        return -1;
    memcpy(buf->data + buf->len, bytes, n);
    buf->len += n;
    return 0;
}

static int put_u16(Buffer *buf, uint16_t value) {
    unsigned char bytes[2] = {(unsigned char)(value >> 8), (unsigned char)value};
    return put_bytes(buf, bytes, 2);
}

static int put_u32(Buffer *buf, uint32_t value) {
    unsigned char bytes[4] = {(unsigned char)(value >> 24), (unsigned char)(value >> 16),
                              (unsigned char)(value >> 8), (unsigned char)value};
    return put_bytes(buf, bytes, 4);
}

static int put_u64(Buffer *buf, uint64_t value) {
    return put_u32(buf, (uint32_t)(value >> 32)) < 0 ? -1 : put_u32(buf, (uint32_t)value);
}

/* A field: its length, then its bytes (-1: null). */
static int put_field(Buffer *buf, const void *bytes, size_t n) {
    if (n > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "a value of more than 2 GB");
        return -1;
    }
    return put_u32(buf, (uint32_t)n) < 0 ? -1 : put_bytes(buf, bytes, n);
}

static int put_null(Buffer *buf) { return put_u32(buf, UINT32_MAX); }

/* numeric's binary form from decimal text ([+-]digits[.digits][e[+-]digits], as
 * validation.decimal_text returns): base-10000 digits aligned on the point, with the display
 * scale PostgreSQL's own input gives the text (digits after the point, less the exponent).
 * Returns 1 when the text is not of that form. */
static int put_numeric(Buffer *buf, const char *text, Py_ssize_t n) {
    Py_ssize_t i = 0;
    int negative = 0;
    if (i < n && (text[i] == '+' || text[i] == '-'))
        negative = text[i++] == '-';
    char digits[4200];  /* validation caps numbers far below this (MAX_NUMERIC_EXPONENT) */
    Py_ssize_t count = 0, before_point = 0, after_point = 0;
    int seen_point = 0;
    for (; i < n && text[i] != 'e' && text[i] != 'E'; i++) {
        if (text[i] == '.' && !seen_point) {
            seen_point = 1;
        } else if (text[i] >= '0' && text[i] <= '9') {
            if (count >= (Py_ssize_t)sizeof digits)
                return 1;
            digits[count++] = (char)(text[i] - '0');
            if (seen_point)
                after_point++;
            else
                before_point++;
        } else {
            return 1;
        }
    }
    if (count == 0)
        return 1;
    long exponent = 0;
    if (i < n) {  /* the exponent */
        int exponent_negative = 0;
        i++;
        if (i < n && (text[i] == '+' || text[i] == '-'))
            exponent_negative = text[i++] == '-';
        if (i == n)
            return 1;
        for (; i < n; i++) {
            if (text[i] < '0' || text[i] > '9' || exponent > 100000)
                return 1;
            exponent = exponent * 10 + (text[i] - '0');
        }
        if (exponent_negative)
            exponent = -exponent;
    }
    long dscale = (long)after_point - exponent;
    if (dscale < 0)
        dscale = 0;
    /* Digit k stands for 10^(point - 1 - k); base-10000 group g holds powers 4g .. 4g+3. */
    long point = (long)before_point + exponent;
    long first = -1, last = -1;
    for (Py_ssize_t k = 0; k < count; k++) {
        if (digits[k]) {
            if (first < 0)
                first = (long)k;
            last = (long)k;
        }
    }
    if (dscale > 0x3FFF)
        return 1;
    if (first < 0) {  /* zero */
        if (put_u32(buf, 8) < 0 || put_u16(buf, 0) < 0 || put_u16(buf, 0) < 0 ||
            put_u16(buf, 0) < 0 || put_u16(buf, (uint16_t)dscale) < 0)
            return -1;
        return 0;
    }
    long high_power = point - 1 - first, low_power = point - 1 - last;
    long weight = high_power >= 0 ? high_power / 4 : -((-high_power + 3) / 4);
    long low_group = low_power >= 0 ? low_power / 4 : -((-low_power + 3) / 4);
    long groups = weight - low_group + 1;
    if (weight > 0x7FFF || low_group < -0x8000 || groups > 0x7FFF)
        return 1;
    if (put_u32(buf, (uint32_t)(8 + 2 * groups)) < 0 || put_u16(buf, (uint16_t)groups) < 0 ||
        put_u16(buf, (uint16_t)(int16_t)weight) < 0 || put_u16(buf, negative ? 0x4000 : 0) < 0 ||
        put_u16(buf, (uint16_t)dscale) < 0)
        return -1;
    static const int tens[4] = {1, 10, 100, 1000};
    for (long group = weight; group >= low_group; group--) {
        int value = 0;
        for (int power = 3; power >= 0; power--) {
            long k = point - 1 - (4 * group + power);
            if (k >= first && k <= last)
                value += digits[k] * tens[power];
        }
        if (put_u16(buf, (uint16_t)value) < 0)
            return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Times as microseconds since the Unix epoch (UTC).
 */
static int64_t days_from_civil(int64_t year, int month, int day) {
    year -= month <= 2;
    int64_t era = (year >= 0 ? year : year - 399) / 400;
    int64_t year_of_era = year - era * 400;
    int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

static int days_in_month(int year, int month) {
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

static int64_t civil_us(int year, int month, int day, int hour, int minute, int second,
                        int micro) {
    int64_t seconds = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
    return seconds * 1000000 + micro;
}

static int digits_at(const char *text, int at, int count, int *value) {
    int result = 0;
    for (int i = at; i < at + count; i++) {
        if (text[i] < '0' || text[i] > '9')
            return 0;
        result = result * 10 + (text[i] - '0');
    }
    *value = result;
    return 1;
}

/* The usual ISO 8601 form, `YYYY-MM-DD[T ]HH:MM:SS[.f{1,6}][Z|+HH:MM|-HH:MM]`, read exactly
 * as datetime.fromisoformat reads it (no offset: UTC). 0 when the text is of another form. */
int parse_plain_iso(const char *text, Py_ssize_t n, int64_t *us) {
    int year, month, day, hour, minute, second, micro = 0, offset = 0;
    if (n < 19 || text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != ' ') ||
        text[13] != ':' || text[16] != ':' || !digits_at(text, 0, 4, &year) ||
        !digits_at(text, 5, 2, &month) || !digits_at(text, 8, 2, &day) ||
        !digits_at(text, 11, 2, &hour) || !digits_at(text, 14, 2, &minute) ||
        !digits_at(text, 17, 2, &second))
        return 0;
    Py_ssize_t i = 19;
    if (i < n && text[i] == '.') {
        int count = 0;
        for (i++; i < n && text[i] >= '0' && text[i] <= '9'; i++, count++) {
            if (count == 6)
                return 0;  /* more digits than microseconds: left to Python */
            micro = micro * 10 + (text[i] - '0');
        }
        if (count == 0)
            return 0;
        for (; count < 6; count++)
            micro *= 10;
    }
    if (i < n) {
        int offset_hours, offset_minutes;
        if (text[i] == 'Z' && i + 1 == n) {
            offset = 0;
        } else if ((text[i] == '+' || text[i] == '-') && i + 6 == n && text[i + 3] == ':' &&
                   digits_at(text, (int)i + 1, 2, &offset_hours) &&
                   digits_at(text, (int)i + 4, 2, &offset_minutes) && offset_hours < 24 &&
                   offset_minutes < 60) {
            offset = (offset_hours * 60 + offset_minutes) * (text[i] == '-' ? -1 : 1);
        } else {
            return 0;
        }
    }
    /* Years 1 and 9999 may leave datetime's range once moved to UTC: left to Python. */
    if (year < 2 || year > 9998 || month < 1 || month > 12 || day < 1 ||
        day > days_in_month(year, month) || hour > 23 || minute > 59 || second > 59)
        return 0;
    *us = civil_us(year, month, day, hour, minute, second, micro) - (int64_t)offset * 60000000;
    return 1;
}

/* An aware datetime (UTC, or any offset) as microseconds; -1 with an exception otherwise. */
int datetime_us(PyObject *value, int64_t *us) {
    if (!PyDateTime_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "a timestamptz column takes a datetime");
        return -1;
    }
    PyObject *offset = PyObject_CallMethod(value, "utcoffset", NULL);
    if (!offset)
        return -1;
    if (offset == Py_None) {
        Py_DECREF(offset);
        PyErr_SetString(PyExc_ValueError, "a timestamptz column takes an aware datetime");
        return -1;
    }
    int64_t offset_us = ((int64_t)PyDateTime_DELTA_GET_DAYS(offset) * 86400 +
                         PyDateTime_DELTA_GET_SECONDS(offset)) * 1000000 +
                        PyDateTime_DELTA_GET_MICROSECONDS(offset);
    Py_DECREF(offset);
    *us = civil_us(PyDateTime_GET_YEAR(value), PyDateTime_GET_MONTH(value),
                   PyDateTime_GET_DAY(value), PyDateTime_DATE_GET_HOUR(value),
                   PyDateTime_DATE_GET_MINUTE(value), PyDateTime_DATE_GET_SECOND(value),
                   PyDateTime_DATE_GET_MICROSECOND(value)) - offset_us;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Rows.
 */
static int put_slot(Buffer *buf, ColumnType type, const Slot *slot) {
    if (!slot->set)
        return put_null(buf);
    switch (type) {
    case T_TEXT:
    case T_UUID:
        return put_field(buf, slot->text, (size_t)slot->len);
    case T_JSONB:
        if (put_u32(buf, (uint32_t)(slot->len + 1)) < 0 || put_bytes(buf, "\x01", 1) < 0)
            return -1;
        return put_bytes(buf, slot->text, (size_t)slot->len);
    case T_BOOL:
        return put_field(buf, slot->number ? "\x01" : "\x00", 1);
    case T_INT4:
        return put_u32(buf, 4) < 0 ? -1 : put_u32(buf, (uint32_t)(int32_t)slot->number);
    case T_INT8:
        return put_u32(buf, 8) < 0 ? -1 : put_u64(buf, (uint64_t)slot->number);
    case T_TIME:
        return put_u32(buf, 8) < 0 ? -1 : put_u64(buf, (uint64_t)(slot->number - PG_EPOCH_US));
    case T_NUMERIC: {
        int status = put_numeric(buf, slot->text, slot->len);
        if (status > 0)
            PyErr_Format(PyExc_ValueError, "not a decimal number: %.60s", slot->text);
        return status ? -1 : 0;
    }
    }
    return -1;
}

int put_row(Buffer *buf, const Slot *slots) {
    if (put_u16(buf, N_COLUMNS) < 0)
        return -1;
    for (int column = 0; column < N_COLUMNS; column++)
        if (put_slot(buf, COLUMN_TYPES[column], &slots[column]) < 0)
            return -1;
    return 0;
}

/* A str or bytes value into a slot (its buffer must outlive the row); -1 on a str that is not
 * valid UTF-8 (a lone surrogate). */
int set_object(Slot *slot, PyObject *value) {
    if (value == NULL || value == Py_None) {
        slot->set = 0;
        return 0;
    }
    if (PyBytes_Check(value)) {
        set_text(slot, PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value));
        return 0;
    }
    Py_ssize_t len;
    const char *text = PyUnicode_AsUTF8AndSize(value, &len);
    if (!text)
        return -1;
    set_text(slot, text, len);
    return 0;
}

/* encode_row(values): a binary COPY row of raw.events from Python values in column order, for
 * the lines shapes.py maps: str (text, and numeric as decimal text), bool, int, datetime,
 * bytes (jsonb, json, uuid), None. */
PyObject *encode_row(PyObject *module, PyObject *values) {
    if (!PyTuple_Check(values) || PyTuple_GET_SIZE(values) != N_COLUMNS) {
        PyErr_Format(PyExc_ValueError, "encode_row takes a tuple of %d values", N_COLUMNS);
        return NULL;
    }
    Slot slots[N_COLUMNS];
    memset(slots, 0, sizeof slots);
    for (int column = 0; column < N_COLUMNS; column++) {
        PyObject *value = PyTuple_GET_ITEM(values, column);
        Slot *slot = &slots[column];
        if (value == Py_None)
            continue;
        switch (COLUMN_TYPES[column]) {
        case T_BOOL:
            set_number(slot, PyObject_IsTrue(value));
            break;
        case T_INT4:
        case T_INT8: {
            long long number = PyLong_AsLongLong(value);
            if (number == -1 && PyErr_Occurred())
                return NULL;
            if (COLUMN_TYPES[column] == T_INT4 && (number < INT32_MIN || number > INT32_MAX)) {
                PyErr_Format(PyExc_OverflowError, "%s out of int4", COLUMN_NAMES[column]);
                return NULL;
            }
            set_number(slot, number);
            break;
        }
        case T_TIME: {
            int64_t us;
            if (datetime_us(value, &us) < 0)
                return NULL;
            set_number(slot, us);
            break;
        }
        case T_UUID:
            if (!PyBytes_Check(value) || PyBytes_GET_SIZE(value) != 16) {
                PyErr_SetString(PyExc_ValueError, "a uuid column takes 16 bytes");
                return NULL;
            }
            /* fallthrough */
        default:
            if (set_object(slot, value) < 0)
                return NULL;
        }
    }
    Buffer buf = {0};
    PyObject *row = NULL;
    if (put_row(&buf, slots) == 0)
        row = PyBytes_FromStringAndSize(buf.data, (Py_ssize_t)buf.len);
    PyMem_Free(buf.data);
    return row;
}

/* check_columns(names): raises unless `names` are the COPY columns this module writes. */
PyObject *check_columns(PyObject *module, PyObject *names) {
    PyObject *fast = PySequence_Fast(names, "check_columns takes a sequence of names");
    if (!fast)
        return NULL;
    int same = PySequence_Fast_GET_SIZE(fast) == N_COLUMNS;
    for (int column = 0; same && column < N_COLUMNS; column++) {
        PyObject *name = PySequence_Fast_GET_ITEM(fast, column);
        same = PyUnicode_Check(name) && PyUnicode_CompareWithASCIIString(name, COLUMN_NAMES[column]) == 0;
    }
    Py_DECREF(fast);
    if (!same) {
        PyErr_SetString(PyExc_RuntimeError,
                        "copy_format.EVENT_COLUMNS and _fastmap.c's COLUMNS differ: rebuild the"
                        " extension (pip install -e .) or align the two lists");
        return NULL;
    }
    Py_RETURN_NONE;
}

