package main

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestConfig runs the command with good and bad settings.
func TestConfig(t *testing.T) {
	t.Run("all problems at once", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		env := testEnv(dir)
		env["ORGAUTH_LOG_LEVEL"] = "loud"
		env["ORGAUTH_LISTEN"] = "nonsense"
		env["ORGAUTH_MASTER_KEY"] = "short"
		env["ORGAUTH_DEV"] = "maybe"
		err, _, _ := runOnce(t, env, "serve")
		if err == nil {
			t.Fatal("serve accepted an invalid configuration")
		}
		for _, v := range []string{"ORGAUTH_LOG_LEVEL", "ORGAUTH_LISTEN", "ORGAUTH_MASTER_KEY", "ORGAUTH_DEV"} {
			if !strings.Contains(err.Error(), v) {
				t.Errorf("the error does not name %s:\n%v", v, err)
			}
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("an invalid configuration touched the data directory (%v)", err)
		}
	})

	t.Run("more invalid settings", func(t *testing.T) {
		for _, c := range []struct{ key, value, want string }{
			{"ORGAUTH_LOG_FORMAT", "xml", "ORGAUTH_LOG_FORMAT"},
			{"ORGAUTH_PASSWORD_HASHER", "md5", "ORGAUTH_PASSWORD_HASHER"},
			{"ORGAUTH_ARGON2_MEMORY_KIB", "lots", "ORGAUTH_ARGON2_MEMORY_KIB"},
			{"ORGAUTH_ARGON2_MEMORY_KIB", "1024", "ORGAUTH_ARGON2_MEMORY_KIB"},
			{"ORGAUTH_ARGON2_TIME", "0", "ORGAUTH_ARGON2_TIME"},
			{"ORGAUTH_BCRYPT_COST", "4", "ORGAUTH_BCRYPT_COST"},
			{"ORGAUTH_HASH_CONCURRENCY", "-1", "ORGAUTH_HASH_CONCURRENCY"},
			{"ORGAUTH_SESSION_IDLE", "10s", "ORGAUTH_SESSION_IDLE"},
			{"ORGAUTH_SESSION_MAX", "forever", "ORGAUTH_SESSION_MAX"},
			{"ORGAUTH_AUTH_RATE", "-1", "rate limits"},
			{"ORGAUTH_ROOT_DOMAIN", "https://example.com", "ORGAUTH_ROOT_DOMAIN"},
			{"ORGAUTH_PUBLIC_URL", "ftp://example.com", "ORGAUTH_PUBLIC_URL"},
			{"ORGAUTH_PUBLIC_URL", "https://example.com/?x=1", "ORGAUTH_PUBLIC_URL"},
			{"ORGAUTH_DATABASE_URL", "postgres://127.0.0.1:1/orgauth?connect_timeout=2", "ORGAUTH_DATABASE_URL"},
			{"ORGAUTH_GITHUB_URL", "http://github.example.com", "ORGAUTH_GITHUB_URL"},
			{"ORGAUTH_GITHUB_API_URL", "not a url", "ORGAUTH_GITHUB_API_URL"},
			{"ORGAUTH_SSO_POST_LOGIN_PATH", "//evil.example", "ORGAUTH_SSO_POST_LOGIN_PATH"},
		} {
			env := testEnv(t.TempDir())
			env[c.key] = c.value
			err, _, _ := runOnce(t, env, "migrate")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s=%q: error %v, want one naming %s", c.key, c.value, err, c.want)
			}
		}
		err, _, _ := runOnce(t, testEnv(t.TempDir()), "migrate", "extra")
		if err == nil || !strings.Contains(err.Error(), "unexpected arguments") {
			t.Errorf("migrate extra: %v", err)
		}
		err, _, _ = runOnce(t, testEnv(t.TempDir()), "serve", "-no-such-flag")
		if err == nil {
			t.Error("serve -no-such-flag: no error")
		}
	})

	t.Run("public URL", func(t *testing.T) {
		for _, c := range []struct {
			url, dev string
			ok       bool
		}{
			{"http://auth.example.com", "", false},
			{"http://auth.example.com", "true", true},
			{"https://auth.example.com", "", true},
			{"http://localhost:9000", "", true},
			{"http://127.0.0.1:9000", "", true},
			{"http://[::1]:9000", "", true},
		} {
			env := testEnv(t.TempDir())
			env["ORGAUTH_PUBLIC_URL"], env["ORGAUTH_DEV"] = c.url, c.dev
			err, _, _ := runOnce(t, env, "migrate")
			if c.ok && err != nil {
				t.Errorf("ORGAUTH_PUBLIC_URL=%s ORGAUTH_DEV=%q: %v", c.url, c.dev, err)
			}
			if !c.ok && (err == nil || !strings.Contains(err.Error(), "plain http")) {
				t.Errorf("ORGAUTH_PUBLIC_URL=%s ORGAUTH_DEV=%q: error %v, want one about plain http", c.url, c.dev, err)
			}
		}
	})

	t.Run("flags override env", func(t *testing.T) {
		envDir, flagDir := t.TempDir(), t.TempDir()
		env := testEnv(envDir)
		env["ORGAUTH_LOG_LEVEL"] = "loud"
		env["ORGAUTH_ARGON2_TIME"] = "many"
		err, out, _ := runOnce(t, env, "migrate", "-data-dir", flagDir, "-log-level=warn", "-argon2-time=1")
		if err != nil {
			t.Fatalf("flags did not override the environment: %v", err)
		}
		if !strings.Contains(out, "schema at version") {
			t.Errorf("migrate printed %q", out)
		}
		if _, err := os.Stat(filepath.Join(flagDir, "orgauth.db")); err != nil {
			t.Errorf("no database in the -data-dir directory: %v", err)
		}
		if _, err := os.Stat(filepath.Join(envDir, "orgauth.db")); err == nil {
			t.Error("a database was made in the ORGAUTH_DATA_DIR directory although -data-dir was given")
		}
	})

	t.Run("commands", func(t *testing.T) {
		err, out, _ := runOnce(t, nil, "version")
		if err != nil || !regexp.MustCompile(`^orgauth \S+\n$`).MatchString(out) {
			t.Errorf("version: %v, %q", err, out)
		}
		err, out, _ = runOnce(t, nil, "help")
		if err != nil || !strings.Contains(out, "orgauth serve") {
			t.Errorf("help: %v, %q", err, out)
		}
		err, _, errOut := runOnce(t, nil, "frobnicate")
		if !errors.Is(err, errUsage) || !strings.Contains(errOut, `unknown command "frobnicate"`) {
			t.Errorf("unknown command: %v, stderr %q", err, errOut)
		}
		err, _, errOut = runOnce(t, nil)
		if !errors.Is(err, errUsage) || !strings.Contains(errOut, "Usage:") {
			t.Errorf("no command: %v, stderr %q", err, errOut)
		}
	})

	t.Run("migrate", func(t *testing.T) {
		dir := t.TempDir()
		err, out, _ := runOnce(t, testEnv(dir), "migrate")
		m := regexp.MustCompile(`^schema at version (\d+)\n$`).FindStringSubmatch(out)
		if err != nil || m == nil || m[1] == "0" {
			t.Fatalf("migrate: %v, %q", err, out)
		}
		if _, err := os.Stat(filepath.Join(dir, "orgauth.db")); err != nil {
			t.Errorf("no database after migrate: %v", err)
		}
		err, out2, _ := runOnce(t, testEnv(dir), "migrate")
		if err != nil || out2 != out {
			t.Errorf("second migrate: %v, %q, want %q", err, out2, out)
		}
		// ORGAUTH_DATABASE_URL as a sqlite:// URL.
		db := filepath.Join(t.TempDir(), "other.db")
		env := testEnv(dir)
		env["ORGAUTH_DATABASE_URL"] = "sqlite://" + db
		if err, out, _ := runOnce(t, env, "migrate"); err != nil || out != m[0] {
			t.Errorf("migrate with sqlite:// URL: %v, %q", err, out)
		}
		if _, err := os.Stat(db); err != nil {
			t.Errorf("no database at ORGAUTH_DATABASE_URL: %v", err)
		}
	})

	t.Run("weak admin password", func(t *testing.T) {
		env := testEnv(t.TempDir())
		env["ORGAUTH_ADMIN_PASSWORD"] = "weakpass"
		err, out, _ := runOnce(t, env, "serve")
		if err == nil {
			t.Fatal("serve accepted a weak administrator password")
		}
		if !strings.Contains(err.Error(), "administrator password") || !strings.Contains(err.Error(), "upper-case") ||
			!strings.Contains(err.Error(), "digit") || !strings.Contains(err.Error(), "special") {
			t.Errorf("the error does not state the policy: %v", err)
		}
		if strings.Contains(err.Error(), "weakpass") || strings.Contains(out, "weakpass") {
			t.Error("the error repeats the password")
		}
		if strings.Contains(out, "listening") {
			t.Errorf("serve listened: %q", out)
		}
	})

	t.Run("given admin password and master key", func(t *testing.T) {
		dir := t.TempDir()
		env := testEnv(dir)
		env["ORGAUTH_ADMIN_PASSWORD"] = "G1ven-admin-pw!"
		env["ORGAUTH_MASTER_KEY"] = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
		srv := startServe(t, env)
		if strings.Contains(srv.stdout.String(), "G1ven-admin-pw!") || generatedPasswordRE.MatchString(srv.stdout.String()) {
			t.Errorf("a given password was printed:\n%s", srv.stdout)
		}
		if _, err := os.Stat(filepath.Join(dir, "master.key")); err == nil {
			t.Error("master.key written although ORGAUTH_MASTER_KEY was given")
		}
		srv.login("system", "ops@example.com", "G1ven-admin-pw!")
		if err := srv.stop(); err != nil {
			t.Fatal(err)
		}

		// Another master key cannot open the signing keys: refuse to start
		// rather than quietly make new ones.
		env["ORGAUTH_MASTER_KEY"] = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32))
		err, out, _ := runOnce(t, env, "serve")
		if err == nil || !strings.Contains(err.Error(), "signing key") || strings.Contains(out, "listening") {
			t.Errorf("serve with another master key: %v, stdout %q", err, out)
		}
	})

	t.Run("damaged master key file", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "master.key"), []byte("not a key\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		err, _, _ := runOnce(t, testEnv(dir), "serve")
		if err == nil || !strings.Contains(err.Error(), "master.key") {
			t.Errorf("serve with a damaged master.key: %v", err)
		}
	})

	t.Run("address in use", func(t *testing.T) {
		srv := startServe(t, testEnv(t.TempDir()))
		env := testEnv(t.TempDir())
		env["ORGAUTH_LISTEN"] = srv.addr
		if err, _, _ := runOnce(t, env, "serve"); err == nil {
			t.Error("serve on an address in use: no error")
		}
	})

	t.Run("text log", func(t *testing.T) {
		env := testEnv(t.TempDir())
		env["ORGAUTH_LOG_FORMAT"] = "text"
		env["ORGAUTH_LOG_LEVEL"] = "warn"
		srv := startServe(t, env)
		srv.do("GET", "/healthz", nil).must(t, 200)
		if err := srv.stop(); err != nil {
			t.Fatal(err)
		}
		if s := srv.stderr.String(); strings.Contains(s, "level=INFO") || strings.Contains(s, `"level"`) {
			t.Errorf("ORGAUTH_LOG_LEVEL=warn ORGAUTH_LOG_FORMAT=text logged:\n%s", s)
		}
	})
}
