package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
)

// The migrations of both dialects, with the same version numbers.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// schemaMigrationsDDL creates the table that records applied migrations.
var schemaMigrationsDDL = map[dialect]string{
	dialectSQLite:   "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL) STRICT",
	dialectPostgres: "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)",
}

// migrations returns d's migrations by version; a file is named
// NNNN_what.sql.
func migrations(d dialect) ([]migration, error) {
	dir := "migrations/" + d.String()
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		prefix, _, _ := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(prefix)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("store: migration %s/%s: name must start with a version number, like 0001_init.sql", dir, e.Name())
		}
		b, err := fs.ReadFile(migrationFS, dir+"/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("store: migration %s: %w", e.Name(), err)
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("store: migrations %s and %s have the same version", out[i-1].name, out[i].name)
		}
	}
	return out, nil
}

// migrate applies, in order, every migration the database lacks, each in
// its own transaction together with its schema_migrations row. On
// PostgreSQL each transaction takes the write lock first and checks again,
// so replicas starting together apply a migration once.
func (db *DB) migrate(ctx context.Context) error {
	ms, err := migrations(db.dialect)
	if err != nil {
		return err
	}
	for _, m := range ms {
		err := db.write(ctx, "migration "+m.name, func(c conn) error {
			if db.dialect == dialectPostgres {
				if _, err := c.exec(pgLockSQL); err != nil {
					return err
				}
			}
			if _, err := c.exec(schemaMigrationsDDL[db.dialect]); err != nil {
				return err
			}
			var n int
			if err := c.get(&n, "SELECT COUNT(*) FROM schema_migrations WHERE version = ?", m.version); err != nil || n > 0 {
				return err
			}
			if _, err := c.exec(m.sql); err != nil {
				return err
			}
			_, err := c.exec("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", m.version, c.t(db.now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("store: apply migration %s/%s: %w", db.dialect, m.name, err)
		}
	}
	return nil
}

// MigrationsCurrent reports whether every migration this binary carries is
// applied (versions applied by a newer binary do not make it false).
func (db *DB) MigrationsCurrent(ctx context.Context) (bool, error) {
	ms, err := migrations(db.dialect)
	if err != nil {
		return false, err
	}
	var applied []int
	if err := db.reader(ctx).sel(&applied, "SELECT version FROM schema_migrations"); err != nil {
		return false, dbErr(err, "read schema_migrations")
	}
	for _, m := range ms {
		if !slices.Contains(applied, m.version) {
			return false, nil
		}
	}
	return true, nil
}
