package main

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	orgauthhttp "github.com/orgauth/orgauth/http"
	"github.com/orgauth/orgauth/mail"
)

// config is every setting of orgauth serve and migrate. Each has a flag and the
// matching ORGAUTH_ environment variable; a flag wins over the variable.
type config struct {
	Listen        string
	PublicURL     string
	RootDomain    string
	DataDir       string
	DatabaseURL   string
	MasterKey     string
	Dev           bool
	LogLevel      string
	LogFormat     string
	AdminEmail    string
	AdminPassword string

	Hasher          string
	Argon2MemoryKiB int
	Argon2Time      int
	BcryptCost      int
	HashConcurrency int

	SessionIdle time.Duration
	SessionMax  time.Duration

	SMTPURL       string          // empty: development mail into <data dir>/mail
	MailFrom      string          // From of every mail; default no-reply@<public host>
	ActivationTTL time.Duration   // lifetime of an invitation link
	ResetTTL      time.Duration   // lifetime of a password reset link
	smtp          mail.SMTPConfig // parsed SMTPURL

	AuthRate, AuthBurst   float64
	ResetRate, ResetBurst float64

	GitHubURL, GitHubAPIURL string // social login: GitHub's base URLs
	SSOPostLoginPath        string // where a browser lands after a social sign-in

	ShutdownTimeout time.Duration
	DebugListen     string
	MemoryLimitMiB  int

	// publicURLFromListen says PublicURL was derived from Listen; serve puts in
	// the port actually listened on (Listen may ask for an ephemeral port, :0).
	publicURLFromListen bool
}

// parseConfig reads flags from args and defaults from getenv, and checks every
// setting, reporting all problems at once.
func parseConfig(name string, args []string, getenv func(string) string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var problems []error
	// envProblems are unreadable variables, by flag name: a flag given on the
	// command line wins over its variable, so its variable's problem is dropped.
	type envProblem struct {
		flag string
		err  error
	}
	var envProblems []envProblem
	env := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	str := func(p *string, flagName, key, def, usage string) {
		fs.StringVar(p, flagName, env(key, def), usage+" ($"+key+")")
	}
	// secret is str for settings that hold a secret: the value from the
	// environment is filled in after parsing, so that it never shows as a
	// flag's default in usage or error output.
	var secrets []func()
	secret := func(p *string, flagName, key, usage string) {
		fs.StringVar(p, flagName, "", usage+" ($"+key+")")
		secrets = append(secrets, func() {
			if *p == "" {
				*p = getenv(key)
			}
		})
	}
	boolean := func(p *bool, flagName, key string, def bool, usage string) {
		d := def
		if v := getenv(key); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				envProblems = append(envProblems, envProblem{flagName, fmt.Errorf("%s: %q is not true or false", key, v)})
			} else {
				d = b
			}
		}
		fs.BoolVar(p, flagName, d, usage+" ($"+key+")")
	}
	integer := func(p *int, flagName, key string, def int, usage string) {
		d := def
		if v := getenv(key); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				envProblems = append(envProblems, envProblem{flagName, fmt.Errorf("%s: %q is not a whole number", key, v)})
			} else {
				d = n
			}
		}
		fs.IntVar(p, flagName, d, usage+" ($"+key+")")
	}
	float := func(p *float64, flagName, key string, def float64, usage string) {
		d := def
		if v := getenv(key); v != "" {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				envProblems = append(envProblems, envProblem{flagName, fmt.Errorf("%s: %q is not a number", key, v)})
			} else {
				d = n
			}
		}
		fs.Float64Var(p, flagName, d, usage+" ($"+key+")")
	}
	duration := func(p *time.Duration, flagName, key string, def time.Duration, usage string) {
		d := def
		if v := getenv(key); v != "" {
			n, err := time.ParseDuration(v)
			if err != nil {
				envProblems = append(envProblems, envProblem{flagName, fmt.Errorf("%s: %q is not a duration such as 90m", key, v)})
			} else {
				d = n
			}
		}
		fs.DurationVar(p, flagName, d, usage+" ($"+key+")")
	}

	str(&c.Listen, "listen", "ORGAUTH_LISTEN", ":8080", "address to listen on")
	str(&c.PublicURL, "public-url", "ORGAUTH_PUBLIC_URL", "", "URL people reach orgauth at; links in mail start with it (default http://localhost:<port>)")
	str(&c.RootDomain, "root-domain", "ORGAUTH_ROOT_DOMAIN", "", "domain under which <org>.<domain> names an organization")
	str(&c.DataDir, "data-dir", "ORGAUTH_DATA_DIR", "./data", "directory for the SQLite database, the generated master key and development mail")
	str(&c.DatabaseURL, "database-url", "ORGAUTH_DATABASE_URL", "", "database: a SQLite file path or sqlite:// URL (default <data-dir>/orgauth.db)")
	secret(&c.MasterKey, "master-key", "ORGAUTH_MASTER_KEY", "base64 of 32 random bytes sealing secrets at rest (default: generated into <data-dir>/master.key)")
	boolean(&c.Dev, "dev", "ORGAUTH_DEV", false, "development mode: cookies without Secure, activation links logged")
	str(&c.LogLevel, "log-level", "ORGAUTH_LOG_LEVEL", "info", "debug, info, warn or error")
	str(&c.LogFormat, "log-format", "ORGAUTH_LOG_FORMAT", "text", "text or json")
	str(&c.AdminEmail, "admin-email", "ORGAUTH_ADMIN_EMAIL", "admin@localhost", "email of the first system administrator, created on first start")
	secret(&c.AdminPassword, "admin-password", "ORGAUTH_ADMIN_PASSWORD", "password of the first system administrator (default: generated and printed once)")
	str(&c.Hasher, "password-hasher", "ORGAUTH_PASSWORD_HASHER", "argon2id", "argon2id or bcrypt, for new password hashes")
	integer(&c.Argon2MemoryKiB, "argon2-memory", "ORGAUTH_ARGON2_MEMORY_KIB", 19*1024, "argon2id memory in KiB")
	integer(&c.Argon2Time, "argon2-time", "ORGAUTH_ARGON2_TIME", 2, "argon2id passes")
	integer(&c.BcryptCost, "bcrypt-cost", "ORGAUTH_BCRYPT_COST", 12, "bcrypt cost (10-14)")
	integer(&c.HashConcurrency, "hash-concurrency", "ORGAUTH_HASH_CONCURRENCY", 0, "password hashes computed at once (default: number of CPUs)")
	duration(&c.SessionIdle, "session-idle", "ORGAUTH_SESSION_IDLE", 240*time.Minute, "a session ends after this long without sign-in or refresh")
	duration(&c.SessionMax, "session-max", "ORGAUTH_SESSION_MAX", 24*time.Hour, "absolute session lifetime")
	secret(&c.SMTPURL, "smtp-url", "ORGAUTH_SMTP_URL", "mail server: smtp://user:pass@host:587 (STARTTLS), smtps://...:465 (TLS), ?tls=none for a local relay; empty: mail is written to <data-dir>/mail")
	str(&c.MailFrom, "mail-from", "ORGAUTH_MAIL_FROM", "", "From address of orgauth's mail (default: no-reply@<public host>; a from= in the SMTP URL wins)")
	duration(&c.ActivationTTL, "activation-ttl", "ORGAUTH_ACTIVATION_TTL", 7*24*time.Hour, "how long an invitation link works")
	duration(&c.ResetTTL, "reset-ttl", "ORGAUTH_RESET_TTL", time.Hour, "how long a password reset link works")
	float(&c.AuthRate, "auth-rate", "ORGAUTH_AUTH_RATE", 10, "requests/s per client address on /v1/auth/* and admin collections (0: off)")
	float(&c.AuthBurst, "auth-burst", "ORGAUTH_AUTH_BURST", 5, "burst of the auth rate limit")
	float(&c.ResetRate, "reset-rate", "ORGAUTH_RESET_RATE", 2, "requests/s per client address on password-reset mail requests (0: off)")
	float(&c.ResetBurst, "reset-burst", "ORGAUTH_RESET_BURST", 2, "burst of the reset rate limit")
	integer(&c.MemoryLimitMiB, "memory-limit", "ORGAUTH_MEMORY_LIMIT_MIB", 256, "soft limit of the Go heap in MiB, under which the collector runs at GOGC=200 (0: off, Go's defaults; GOMEMLIMIT and GOGC win)")
	str(&c.DebugListen, "debug-listen", "ORGAUTH_DEBUG_LISTEN", "", "address of a separate listener for Go's profiler (/debug/pprof/); off when empty, keep it private")
	str(&c.GitHubURL, "github-url", "ORGAUTH_GITHUB_URL", "https://github.com", "base URL of GitHub's OAuth endpoints (GitHub Enterprise Server: its URL)")
	str(&c.GitHubAPIURL, "github-api-url", "ORGAUTH_GITHUB_API_URL", "https://api.github.com", "base URL of GitHub's REST API (GitHub Enterprise Server: <url>/api/v3)")
	str(&c.SSOPostLoginPath, "sso-post-login-path", "ORGAUTH_SSO_POST_LOGIN_PATH", "/", "path of this site where a browser lands after a social sign-in")
	duration(&c.ShutdownTimeout, "shutdown-timeout", "ORGAUTH_SHUTDOWN_TIMEOUT", 15*time.Second, "how long in-flight requests may finish on shutdown")

	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	for _, fill := range secrets {
		fill()
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, ep := range envProblems {
		if !set[ep.flag] {
			problems = append(problems, ep.err)
		}
	}
	if fs.NArg() > 0 {
		problems = append(problems, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " ")))
	}
	problems = append(problems, c.check()...)
	if len(problems) > 0 {
		return nil, fmt.Errorf("invalid configuration:\n%w", errors.Join(problems...))
	}
	return c, nil
}

// check validates the settings and fills derived defaults.
func (c *config) check() []error {
	var p []error
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		p = append(p, fmt.Errorf("ORGAUTH_LISTEN: %q is not host:port", c.Listen))
	}
	if c.PublicURL == "" {
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "localhost"
		}
		c.PublicURL = "http://" + net.JoinHostPort(host, port)
		c.publicURLFromListen = true
	} else if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		p = append(p, fmt.Errorf("ORGAUTH_PUBLIC_URL: %q must be an absolute http(s) URL without query", c.PublicURL))
	} else if u.Scheme == "http" && !c.Dev && !isLoopback(u.Hostname()) {
		p = append(p, fmt.Errorf("ORGAUTH_PUBLIC_URL: %q is plain http on a non-local host; use https or set ORGAUTH_DEV=true", c.PublicURL))
	}
	if c.RootDomain != "" && (strings.ContainsAny(c.RootDomain, "/:@ ") || strings.HasPrefix(c.RootDomain, ".")) {
		p = append(p, fmt.Errorf("ORGAUTH_ROOT_DOMAIN: %q must be a bare domain such as example.com", c.RootDomain))
	}
	c.RootDomain = strings.ToLower(c.RootDomain)
	if c.DataDir == "" {
		p = append(p, errors.New("ORGAUTH_DATA_DIR: must not be empty"))
	}
	if c.MasterKey != "" {
		if k, err := base64.StdEncoding.DecodeString(c.MasterKey); err != nil || len(k) != 32 {
			p = append(p, errors.New("ORGAUTH_MASTER_KEY: must be the base64 of exactly 32 bytes (openssl rand -base64 32)"))
		}
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		p = append(p, fmt.Errorf("ORGAUTH_LOG_LEVEL: %q must be debug, info, warn or error", c.LogLevel))
	}
	switch strings.ToLower(c.LogFormat) {
	case "text", "json":
	default:
		p = append(p, fmt.Errorf("ORGAUTH_LOG_FORMAT: %q must be text or json", c.LogFormat))
	}
	switch c.Hasher {
	case "argon2id", "bcrypt":
	default:
		p = append(p, fmt.Errorf("ORGAUTH_PASSWORD_HASHER: %q must be argon2id or bcrypt", c.Hasher))
	}
	if c.BcryptCost < 10 || c.BcryptCost > 14 {
		p = append(p, fmt.Errorf("ORGAUTH_BCRYPT_COST: %d must be from 10 to 14", c.BcryptCost))
	}
	if c.Argon2MemoryKiB < 8*1024 || c.Argon2MemoryKiB > 1024*1024 {
		p = append(p, fmt.Errorf("ORGAUTH_ARGON2_MEMORY_KIB: %d must be from 8192 to 1048576", c.Argon2MemoryKiB))
	}
	if c.Argon2Time < 1 || c.Argon2Time > 10 {
		p = append(p, fmt.Errorf("ORGAUTH_ARGON2_TIME: %d must be from 1 to 10", c.Argon2Time))
	}
	if c.MemoryLimitMiB < 0 || (c.MemoryLimitMiB > 0 && c.MemoryLimitMiB < 64) {
		p = append(p, fmt.Errorf("ORGAUTH_MEMORY_LIMIT_MIB: %d must be 0 (off) or at least 64", c.MemoryLimitMiB))
	}
	if c.HashConcurrency < 0 || c.HashConcurrency > 256 {
		p = append(p, fmt.Errorf("ORGAUTH_HASH_CONCURRENCY: %d must be from 0 (number of CPUs) to 256", c.HashConcurrency))
	}
	if c.SessionIdle < time.Minute || c.SessionMax < c.SessionIdle {
		p = append(p, errors.New("ORGAUTH_SESSION_IDLE and ORGAUTH_SESSION_MAX: idle must be at least 1m and at most the maximum"))
	}
	for key, v := range map[string]string{"ORGAUTH_GITHUB_URL": c.GitHubURL, "ORGAUTH_GITHUB_API_URL": c.GitHubAPIURL} {
		if u, err := url.Parse(v); err != nil || u.Host == "" || u.RawQuery != "" || (u.Scheme != "https" && !(u.Scheme == "http" && (c.Dev || isLoopback(u.Hostname())))) {
			p = append(p, fmt.Errorf("%s: %q must be an https URL", key, v))
		}
	}
	if err := orgauthhttp.ValidRedirectPath(c.SSOPostLoginPath); err != nil {
		p = append(p, fmt.Errorf("ORGAUTH_SSO_POST_LOGIN_PATH: %q must be a path of this site, like /", c.SSOPostLoginPath))
	}
	if c.ActivationTTL < time.Hour || c.ActivationTTL > 30*24*time.Hour {
		p = append(p, fmt.Errorf("ORGAUTH_ACTIVATION_TTL: %s must be from 1h to 720h", c.ActivationTTL))
	}
	if c.ResetTTL < 5*time.Minute || c.ResetTTL > 24*time.Hour {
		p = append(p, fmt.Errorf("ORGAUTH_RESET_TTL: %s must be from 5m to 24h", c.ResetTTL))
	}
	if c.MailFrom != "" {
		if _, err := netmail.ParseAddress(c.MailFrom); err != nil {
			p = append(p, fmt.Errorf("ORGAUTH_MAIL_FROM: %q is not a mail address", c.MailFrom))
		}
	}
	if c.SMTPURL != "" {
		s, err := mail.ParseSMTPURL(c.SMTPURL)
		if err != nil {
			p = append(p, fmt.Errorf("ORGAUTH_SMTP_URL: %w", err))
		}
		c.smtp = s
	}
	if c.AuthRate < 0 || c.ResetRate < 0 || c.AuthBurst < 0 || c.ResetBurst < 0 {
		p = append(p, errors.New("rate limits must not be negative"))
	}
	return p
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
