package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"expvar"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/orgauth/orgauth"
	orgauthhttp "github.com/orgauth/orgauth/http"
	"github.com/orgauth/orgauth/mail"
	"github.com/orgauth/orgauth/password"
	"github.com/orgauth/orgauth/postgres"
	"github.com/orgauth/orgauth/sqlite"
	"github.com/orgauth/orgauth/token"
)

// serve runs the service until ctx is cancelled, then shuts down gracefully: it
// stops accepting, lets in-flight requests finish and closes the store.
func serve(ctx context.Context, cfg *config, stdout, stderr io.Writer) error {
	log := newLogger(cfg, stderr)
	// Password hashes keep their work memory outside the Go heap (see package
	// password), so the heap holds only caches and request garbage. The soft
	// limit caps it should that ever grow; under it, collecting when the heap
	// triples rather than doubles halves the collector's work under load for a
	// few MB more.
	if cfg.MemoryLimitMiB > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(int64(cfg.MemoryLimitMiB) << 20)
		if os.Getenv("GOGC") == "" {
			debug.SetGCPercent(200)
		}
	}
	// One instance serves an SQLite database: it alone writes it, so its caches
	// see every change (see http.settingsTTL). Several instances need PostgreSQL.
	// The lock is held until the store has closed.
	if dsn, isSQLite := sqliteDSN(cfg); isSQLite {
		if cfg.DatabaseURL == "" {
			if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
				return err
			}
		}
		unlock, err := lockSQLite(dsn)
		if err != nil {
			return err
		}
		defer unlock()
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	// Listen before anything uses the public URL: when it is derived from an
	// ephemeral port (ORGAUTH_LISTEN=host:0), only now is the port known.
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	defer ln.Close() // on early returns; Serve and Shutdown close it otherwise
	if cfg.publicURLFromListen {
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		host, _, _ := net.SplitHostPort(strings.TrimPrefix(cfg.PublicURL, "http://"))
		cfg.PublicURL = "http://" + net.JoinHostPort(host, port)
	}
	masterKey, err := loadMasterKey(cfg)
	if err != nil {
		return err
	}
	issuer, err := token.NewIssuer(ctx, db, token.Config{
		Issuer: cfg.PublicURL, Audience: cfg.PublicURL, MasterKey: masterKey,
	})
	if err != nil {
		return fmt.Errorf("signing keys: %w", err)
	}
	hasher, err := password.New(password.Config{
		Algorithm: cfg.Hasher, Memory: uint32(cfg.Argon2MemoryKiB), Time: uint32(cfg.Argon2Time),
		BcryptCost: cfg.BcryptCost, MaxInFlight: cfg.HashConcurrency,
	})
	if err != nil {
		return fmt.Errorf("password hasher: %w", err)
	}
	if err := firstStart(ctx, db, hasher, cfg, stdout, log); err != nil {
		return err
	}
	// Instances sharing a PostgreSQL database tell each other what to drop from
	// their caches.
	var bus orgauthhttp.Bus
	pg, shared := db.(*postgres.DB)
	if shared {
		bus = pg
	}
	sender, err := newSender(cfg, log)
	if err != nil {
		return err
	}
	outbox := mail.NewOutbox(db, sender, masterKey, log, time.Now)
	srv := orgauthhttp.NewServer(orgauthhttp.Config{
		PublicURL: cfg.PublicURL, RootDomain: cfg.RootDomain, Dev: cfg.Dev,
		SessionIdle: cfg.SessionIdle, SessionMax: cfg.SessionMax,
		ActivationTTL: cfg.ActivationTTL, ResetTTL: cfg.ResetTTL,
		AuthRate: cfg.AuthRate, AuthBurst: cfg.AuthBurst, ResetRate: cfg.ResetRate, ResetBurst: cfg.ResetBurst,
		GitHubURL: cfg.GitHubURL, GitHubAPIURL: cfg.GitHubAPIURL, SSOPostLoginPath: cfg.SSOPostLoginPath,
	}, orgauthhttp.Deps{
		Store: db, Issuer: issuer, Hasher: hasher, MasterKey: masterKey, Log: log, Bus: bus,
		Outbox: outbox,
	})
	outbox.Expand = srv.ExpandMailRequest

	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	fmt.Fprintf(stdout, "orgauth listening on %s (public URL %s)\n", ln.Addr(), cfg.PublicURL)
	log.Info("listening", "addr", ln.Addr().String(), "public_url", cfg.PublicURL, "version", version)

	if shared {
		pg.OnListenError(func(ctx context.Context, err error) { log.WarnContext(ctx, "cache invalidation listener", "err", err) })
		go pg.Listen(ctx, srv.Invalidate, srv.Flush, time.Second)
		go srv.ShareRateLimits(ctx, 200*time.Millisecond)
	}
	if cfg.DebugListen != "" {
		go debugServer(ctx, cfg.DebugListen, log)
	}
	go maintain(ctx, issuer, srv, log)
	go collectGarbage(ctx, srv, log)
	outboxDone := make(chan struct{})
	defer func() { <-outboxDone }() // before the store closes
	octx, stopOutbox := context.WithCancel(ctx)
	defer stopOutbox()
	go func() { outbox.Run(octx, 5*time.Second); close(outboxDone) }()
	go releaseIdleMemory(ctx, hasher, time.Second)
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// releaseIdleMemory gives the work memory of password hashes back to the
// system once no hash has run for a while: the hasher keeps it between hashes
// (19 MiB for each of up to one hash per CPU, by default) so sign-ins do not
// allocate it anew, and without this it would stay long after a burst of
// sign-ins. It checks every idle period and releases once per quiet spell.
func releaseIdleMemory(ctx context.Context, h *password.Hasher, idle time.Duration) {
	t := time.NewTicker(idle)
	defer t.Stop()
	_, last := h.Activity()
	released := true
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		inFlight, done := h.Activity()
		switch {
		case inFlight > 0 || done != last:
			last, released = done, false
		case !released:
			h.ReleaseMemory()
			debug.FreeOSMemory()
			released = true
		}
	}
}

// newSender returns what delivers orgauth's mail: the SMTP server of
// ORGAUTH_SMTP_URL, or else .eml files in <data dir>/mail for development.
func newSender(cfg *config, log *slog.Logger) (orgauth.Sender, error) {
	from := cfg.MailFrom
	if from == "" {
		from = "orgauth <no-reply@" + hostOf(cfg.PublicURL) + ">"
	}
	if cfg.SMTPURL == "" {
		log.Info("no ORGAUTH_SMTP_URL: mail is written to files", "dir", filepath.Join(cfg.DataDir, "mail"))
		return &mail.Dir{Path: filepath.Join(cfg.DataDir, "mail"), From: from, Log: log}, nil
	}
	sc := cfg.smtp
	if sc.From == "" {
		sc.From = from
	}
	s, err := mail.NewSMTP(sc)
	if err != nil {
		return nil, fmt.Errorf("ORGAUTH_SMTP_URL: %w", err)
	}
	log.Info("mail goes out over SMTP", "server", sc.String())
	return s, nil
}

// maintain rotates signing keys and sweeps rate-limit state every minute, and
// queues password expiry reminders every hour, until ctx ends.
func maintain(ctx context.Context, issuer *token.Issuer, srv *orgauthhttp.Server, log *slog.Logger) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	var reminded time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := issuer.Rotate(ctx); err != nil && ctx.Err() == nil {
				log.Error("signing key rotation", "err", err)
			}
			srv.Sweep()
			if time.Since(reminded) >= time.Hour {
				reminded = time.Now()
				n, err := srv.SendPasswordReminders(ctx)
				if err != nil && ctx.Err() == nil {
					log.Error("password expiry reminders", "err", err)
				} else if n > 0 {
					log.Info("password expiry reminders queued", "count", n)
				}
			}
		}
	}
}

// collectGarbage deletes ended sessions, spent tokens and old mail a minute
// after the start and then every hour, until ctx ends. It runs apart from
// maintain: its first run on a large database may take a while.
func collectGarbage(ctx context.Context, srv *orgauthhttp.Server, log *slog.Logger) {
	wait := time.Minute
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = time.Hour
		start := time.Now()
		c, err := srv.CollectGarbage(ctx)
		if err != nil && ctx.Err() == nil {
			log.Error("garbage collection", "err", err, "deleted", c.Total())
		} else if c.Total() > 0 {
			log.Info("garbage collected", "sessions", c.Sessions, "user_tokens", c.UserTokens,
				"mail", c.Mail, "took", time.Since(start).Round(time.Millisecond))
		}
	}
}

// migrate brings the schema up to date.
func migrate(ctx context.Context, cfg *config, stdout io.Writer) error {
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	have, _, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "schema at version %d\n", have)
	return nil
}

// store is what the command needs of a storage backend.
type store interface {
	orgauth.Store
	Migrate(ctx context.Context) error
	SchemaVersion(ctx context.Context) (have, known int, err error)
}

// openStore opens the configured database: PostgreSQL for a postgres:// URL, else
// a SQLite file.
func openStore(ctx context.Context, cfg *config) (store, error) {
	dsn, isSQLite := sqliteDSN(cfg)
	if !isSQLite {
		db, err := postgres.Open(ctx, dsn)
		if err != nil {
			return nil, fmt.Errorf("ORGAUTH_DATABASE_URL: %w", err)
		}
		return db, nil
	}
	if cfg.DatabaseURL == "" {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, err
		}
	}
	return sqlite.Open(ctx, dsn)
}

// sqliteDSN returns the SQLite data source of cfg and true, or its PostgreSQL URL
// and false.
func sqliteDSN(cfg *config) (string, bool) {
	dsn := cfg.DatabaseURL
	switch {
	case dsn == "":
		return filepath.Join(cfg.DataDir, "orgauth.db"), true
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return dsn, false
	}
	return strings.TrimPrefix(dsn, "sqlite://"), true
}

// loadMasterKey returns the configured master key, or the one kept in the data
// directory, generating it there (mode 0600) on first start.
func loadMasterKey(cfg *config) ([]byte, error) {
	if cfg.MasterKey != "" {
		return base64.StdEncoding.DecodeString(cfg.MasterKey)
	}
	path := filepath.Join(cfg.DataDir, "master.key")
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(k) != 32 {
			return nil, fmt.Errorf("%s: not the base64 of 32 bytes", path)
		}
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	k := make([]byte, 32)
	rand.Read(k)
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n"); err != nil {
		f.Close()
		return nil, err
	}
	return k, f.Close()
}

func newLogger(cfg *config, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(cfg.LogFormat, "json") {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func hostOf(u string) string {
	s := strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
	if h, _, err := net.SplitHostPort(s); err == nil {
		return h
	}
	host, _, _ := strings.Cut(s, "/")
	return host
}

// debugServer serves Go's profiler and expvar's counters on its own address until ctx ends. It is off
// unless ORGAUTH_DEBUG_LISTEN is set, and must not be reachable from outside.
func debugServer(ctx context.Context, addr string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.Handle("/debug/vars", expvar.Handler())
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	log.Info("profiler listening", "addr", addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("profiler", "err", err)
	}
}
