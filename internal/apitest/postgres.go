package apitest

import (
	"context"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/orgauth/orgauth"
)

// PostgresURL returns the URL of a fresh, empty PostgreSQL schema for the test,
// dropped when the test ends. It skips the test when ORGAUTH_TEST_DATABASE_URL is
// not set (.ci/run sets it).
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("ORGAUTH_TEST_DATABASE_URL")
	if base == "" {
		t.Skip("ORGAUTH_TEST_DATABASE_URL not set")
	}
	schema := "oa_test_" + orgauth.NewID()
	exec := func(sql string) {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Fatalf("postgres: %v", err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("postgres: %s: %v", sql, err)
		}
	}
	exec("CREATE SCHEMA " + schema)
	t.Cleanup(func() { exec("DROP SCHEMA " + schema + " CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
