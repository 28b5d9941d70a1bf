package store

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"testing"
)

// releasedMigrations pins every migration that has landed on main. A
// database that applied a migration never applies it again, so editing a
// released file changes nothing for existing installations and silently
// splits their schema from new ones: change the schema with a new
// migration instead. A new migration gets its line here when it lands.
var releasedMigrations = map[string]string{
	"sqlite/0001_init.sql":                         "fd4bdb98a553e1ea47de3ccb97d3db75b380878477ba8006447b6ecd8d0e7848",
	"sqlite/0002_sweeps.sql":                       "6085ab228b6c2b9c641de79db60b5b0e3b0c94d677e1821182245a959938aa21",
	"sqlite/0003_indexes.sql":                      "9e7ce146183740e5c031a05befd535248f02a50f7ce698db43189eb37093d29a",
	"sqlite/0004_comment_mirrors.sql":              "4e8aceacd4d35d5fad11fe9e1e76e8fab65a54fd314661334c1a0f21142fe1aa",
	"sqlite/0006_sweep_keyset.sql":                 "d91bdfcc2efa0af597a304e80c8052a7f40eaad17833f7cd86af41b1b0dab221",
	"sqlite/0010_task_reminders.sql":               "365efb5cc6ef2094fe250e204f3047d9a2080c1aef28212d07140c8858eb7f78",
	"sqlite/0011_reminder_rev.sql":                 "208b3129fcab9658ccd04130e263a92e199606bc4f7d4e772ece8770c0878960",
	"sqlite/0012_leases_inbox.sql":                 "5aea4242fa71b412fc0909462abdd21d7ff74cde2a1abbd0d4f469cbce81672b",
	"sqlite/0015_audit_digests.sql":                "e13f3137895472daa354b57b3b451f8cc159100c30e0c0cbe84974b0386776e8",
	"sqlite/0018_email_outbox.sql":                 "581759d81da3513f99bce8466aea29ce5dc26f03953664212a1213837caec8f7",
	"sqlite/0016_connector_jobs.sql":               "1199713aba99708726e7ba588cd20ad9ed39de3ec8ff937a0d66d9540e0ce3b9",
	"sqlite/0022_notice_payloads.sql":              "f826d59d28c3022081c211d9552901c2ffa97d7c4410cd9418da73f21963f1c0",
	"sqlite/0023_digest_cards.sql":                 "58c57df447938153cf9e7b910bfa7d522e83aa0dd19cf152bce379bdba6e93ac",
	"sqlite/0024_drop_unused_outbox_indexes.sql":   "aa1290d7e0310ab8b98f9d85231a839b4dd968ea151c0f671beacd1c857040b6",
	"postgres/0001_init.sql":                       "5255e2526f0322f576db2181b6b8ce03275f544f1c2a0e781f67a9b4c0366dcd",
	"postgres/0002_sweeps.sql":                     "6085ab228b6c2b9c641de79db60b5b0e3b0c94d677e1821182245a959938aa21",
	"postgres/0003_indexes.sql":                    "38f1d9bb0296a948ca7cf2e7935b70bc637466bfc4e76d83b0ad47052815b7bd",
	"postgres/0004_comment_mirrors.sql":            "7d7d946b891b3084508ae6de3a46ae52de09e5d406ccd2ed51ed6a95785b5b55",
	"postgres/0006_sweep_keyset.sql":               "65be1a5247ccdb81233fdad1679e7034fa5d7c8cb6838dc846db45a16e877971",
	"postgres/0010_task_reminders.sql":             "aaecaeee4fcd3e36d61c52fd666b444ed240eec1056e26c201f7709b772d6645",
	"postgres/0011_reminder_rev.sql":               "1530780ee7d0752a4129c8f516aafb4e50b54596a5cf4ddbb36a6be0899a776e",
	"postgres/0012_leases_inbox.sql":               "283a8a61611584e55c494a40fc9e737eed650ff61dcfe551fd224b5ffc73af3c",
	"postgres/0015_audit_digests.sql":              "4b0b3df2e0bb7534e4178582a97a3fbcd4878be49afa9280500f4d9fb13ffc84",
	"postgres/0018_email_outbox.sql":               "5e1e7fc499578c0d093536f15600e5177dc922c0cdd100f5c510050c87d66b6b",
	"postgres/0016_connector_jobs.sql":             "28c9f5c0836c1596451c75a4414486d09570d775e533d4e9317a4d610fe3c9cb",
	"postgres/0022_notice_payloads.sql":            "91fe42075d500dfc4d20cb2efb8ffa52b26071afaa3efc08fd62798f7cf4890b",
	"postgres/0023_digest_cards.sql":               "870de050b341317022c243912e75aab67f2184f33293b8caff7988f578022bf3",
	"postgres/0024_drop_unused_outbox_indexes.sql": "77086122933d7f8f5490ff0bcaec1a0171256bfecc8d4b626076febb3ad85cd8",
}

func TestReleasedMigrationsAreNeverEdited(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, d := range []dialect{dialectSQLite, dialectPostgres} {
		ms, err := migrations(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			name := d.String() + "/" + m.name
			seen[name] = true
			sum := sha256.Sum256([]byte(m.sql))
			got := hex.EncodeToString(sum[:])
			want, ok := releasedMigrations[name]
			switch {
			case !ok:
				t.Errorf("migration %s is not pinned: once it lands, add\n\t%q: %q,\nto releasedMigrations", name, name, got)
			case got != want:
				t.Errorf("released migration %s was edited (sha256 %s, released as %s): put the change in a new migration and restore the file", name, got, want)
			}
		}
	}
	for name := range releasedMigrations {
		if !seen[name] {
			t.Errorf("released migration %s is gone: a database that applied it still has its schema; restore the file", name)
		}
	}
	// The file system walk and migrations() must agree, so a file the
	// loader skips cannot escape the pin.
	n := 0
	_ = fs.WalkDir(migrationFS, "migrations", func(path string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			n++
		}
		return nil
	})
	if n != len(seen) {
		t.Errorf("%d migration files embedded, %d loaded", n, len(seen))
	}
}
