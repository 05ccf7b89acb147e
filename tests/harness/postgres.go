package harness

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// PostgresEnv names the variable through which `task test` (tests/pgrun)
// hands the tests its throwaway PostgreSQL server.
const PostgresEnv = "STRATA_TEST_POSTGRES_URL"

var dbSeq atomic.Int64

// PostgresDatabase creates an empty database for one test on the test
// PostgreSQL server and returns its URL; it is dropped when the test ends.
// Without a server (go test run by hand) the test is skipped.
func PostgresDatabase(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(PostgresEnv)
	if admin == "" {
		t.Skipf("%s is not set: run the tests through `go tool task test`, which starts PostgreSQL", PostgresEnv)
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("%s: %v", PostgresEnv, err)
	}
	name := fmt.Sprintf("t%d_%d_%s", time.Now().UnixNano()%1e9, dbSeq.Add(1),
		strings.ToLower(strings.NewReplacer("/", "_", "-", "_", " ", "_").Replace(t.Name())))
	if len(name) > 60 {
		name = name[:60]
	}
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE DATABASE "` + name + `"`); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", admin)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec(`DROP DATABASE IF EXISTS "` + name + `" WITH (FORCE)`)
	})
	u.Path = "/" + name
	return u.String()
}
