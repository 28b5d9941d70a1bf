package store

// Every SQLite connection this process opens turns on the query planner
// stability guarantee (SQLITE_DBCONFIG_ENABLE_QPSG), through an automatic
// extension: SQLite calls accessbot_qpsg for each new connection.
//
// Why: without it, SQLite marks a statement to be compiled again whenever
// a value bound to "column = ?" might change the plan (it might if the
// value moves between 0/1 and other integers), and go-sqlite3 clears a
// statement's bindings after each use, which SQLite counts as such a
// change. So nearly every cached statement with a "column = ?" term was
// parsed and planned again on each run: a task load cost 66 µs instead of
// 26 µs, and a decision about twice what it does with the flag on. The
// plans the store relies on do not depend on bound values (its one LIKE ?
// is the benchmark's cleanup).
//
// The symbols come from the SQLite that go-sqlite3 builds in (or the
// system's, with its libsqlite3 tag): sqlite3_auto_extension and
// sqlite3_db_config are part of SQLite's public API.

/*
typedef struct sqlite3 sqlite3;
typedef struct sqlite3_api_routines sqlite3_api_routines;
extern int sqlite3_auto_extension(void (*)(void));
extern int sqlite3_db_config(sqlite3 *, int, ...);

// SQLITE_DBCONFIG_ENABLE_QPSG, from sqlite3.h.
#define ACCESSBOT_DBCONFIG_ENABLE_QPSG 1007

static volatile int accessbot_qpsg_on, accessbot_qpsg_off;

static int accessbot_qpsg(sqlite3 *db, char **err, const sqlite3_api_routines *api) {
	int on = 0;
	(void)err;
	(void)api;
	int rc = sqlite3_db_config(db, ACCESSBOT_DBCONFIG_ENABLE_QPSG, 1, &on);
	if (rc == 0 && on == 1) {
		__sync_fetch_and_add(&accessbot_qpsg_on, 1);
	} else {
		__sync_fetch_and_add(&accessbot_qpsg_off, 1);
	}
	// A connection without the flag works, only slower: never refuse it.
	return 0;
}

static int accessbot_register_qpsg(void) {
	return sqlite3_auto_extension((void (*)(void))accessbot_qpsg);
}

static int accessbot_qpsg_count(int on) {
	return on ? __sync_fetch_and_add(&accessbot_qpsg_on, 0) : __sync_fetch_and_add(&accessbot_qpsg_off, 0);
}
*/
import "C"

import "fmt"

// qpsgErr is why the automatic extension could not be registered (nil:
// it was); the store works without it, more slowly.
var qpsgErr = func() error {
	if rc := C.accessbot_register_qpsg(); rc != 0 {
		return fmt.Errorf("store: sqlite3_auto_extension: code %d", int(rc))
	}
	return nil
}()

// qpsgConnections counts the SQLite connections opened so far with the
// flag on and those where SQLite refused it.
func qpsgConnections() (on, off int) {
	return int(C.accessbot_qpsg_count(1)), int(C.accessbot_qpsg_count(0))
}
