/* raw.events rows in PostgreSQL's binary COPY format (see rows.c). */
#ifndef BEACON_ROWS_H
#define BEACON_ROWS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

/* raw.events' COPY columns, in order: copy_format.EVENT_COLUMNS lists the same names (the
 * loader checks it with check_columns when it starts). */
enum {
    C_PROJECT_ID, C_MESSAGE_ID, C_SOURCE_SHAPE, C_EVENT_TYPE, C_EVENT_NAME,
    C_IS_PAGE_VIEW, C_IS_IDENTIFY, C_IS_SCROLL, C_IS_CLICK, C_CTA_LABEL,
    C_ANONYMOUS_ID, C_USER_ID, C_CLIENT_SESSION_ID,
    C_EVENT_AT, C_CLIENT_EVENT_AT, C_SENT_AT, C_RECEIVED_AT,
    C_PAGE_URL, C_PAGE_PATH, C_PAGE_TITLE, C_PAGE_REFERRER,
    C_USER_AGENT, C_IP, C_LOCALE, C_TIMEZONE, C_SCREEN_WIDTH, C_SCREEN_HEIGHT, C_SCROLL_PCT,
    C_PLATFORM, C_CHANNEL, C_LIBRARY_NAME, C_LIBRARY_VERSION,
    C_UTM_SOURCE, C_UTM_MEDIUM, C_UTM_CAMPAIGN, C_UTM_CONTENT, C_UTM_TERM, C_UTM_ID,
    C_UTM_CAMPAIGN_ID, C_UTM_ADSET_ID, C_UTM_AD_ID, C_UTM_PLACEMENT, C_FBCLID,
    C_REVENUE, C_PROPERTIES, C_TRAITS, C_EXTRA, C_EVENT_KEY, C_LOAD_ID, C_LINE_NUMBER,
    N_COLUMNS
};
#define N_UTM (C_FBCLID - C_UTM_SOURCE + 1) /* web.UTM_PARAMETERS, in column order */

extern const char *const COLUMN_NAMES[N_COLUMNS];

/* Microseconds since the Unix epoch: datetime's range. */
#define MIN_TIME_US INT64_C(-62135596800000000) /* 0001-01-01 00:00:00 */
#define MAX_TIME_US INT64_C(253402300799999999) /* 9999-12-31 23:59:59.999999 */

/* One value of a row. Text values point into UTF-8 buffers that must outlive the row. */
typedef struct {
    int set; /* 0: null */
    const char *text;
    Py_ssize_t len;
    int64_t number; /* bool, int4, int8, or time as Unix microseconds */
} Slot;

typedef struct {
    char *data;
    size_t len, cap;
} Buffer;

static inline void set_text(Slot *slot, const char *text, Py_ssize_t len) {
    slot->set = 1;
    slot->text = text;
    slot->len = len;
}

static inline void set_number(Slot *slot, int64_t number) {
    slot->set = 1;
    slot->number = number;
}

/* Append bytes to a buffer; -1 with an exception set. */
int put_bytes(Buffer *buf, const void *bytes, size_t n);

/* Append one row of N_COLUMNS slots; -1 with an exception set. */
int put_row(Buffer *buf, const Slot *slots);

/* A str or bytes (None: null) into a slot; -1 on a str that is not valid UTF-8. */
int set_object(Slot *slot, PyObject *value);

/* The usual ISO 8601 form read as datetime.fromisoformat reads it; 0 for any other text. */
int parse_plain_iso(const char *text, Py_ssize_t n, int64_t *us);

/* An aware datetime as Unix microseconds; -1 with an exception set. */
int datetime_us(PyObject *value, int64_t *us);

/* The datetime C API for this file; -1 with an exception set. */
int rows_init(void);

PyObject *encode_row(PyObject *module, PyObject *values);
PyObject *check_columns(PyObject *module, PyObject *names);

#endif
