// Command bench is the load harness of orgauth. In one run it builds orgauth,
// seeds a database with many tenants and users, starts orgauth and a minimal
// baseline HTTP server (each in its own process), drives both over loopback at
// fixed concurrency and reports requests/s and latency percentiles, the raw
// password-verification rate of the machine, startup time and resident memory,
// and checks them against the targets of docs/benchmarks.md.
//
//	go run ./bench -users 1000000 -tenants 10000 -duration 10s -out bench-1m.json
//	go run ./bench -users 1000 -tenants 10 -duration 10s -compare bench-1m.json
//	go run ./bench -database-url postgres://postgres@127.0.0.1:5432/test -compare bench-1m.json
//
// The load generator runs on the same machine as the servers and shares its
// CPUs with them, for orgauth and for the baseline alike.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/orgauth/orgauth/password"
)

// options are the command-line flags.
type options struct {
	users, tenants   int
	duration, warmup time.Duration
	conns            int
	rounds           int
	lowConns         int
	signInConns      []int
	hasher           string
	bcryptCost       int
	argonMemory      int
	argonTime        int
	logLevel         string
	out, compare     string
	keep             bool
	cpuProfile       string
	databaseURL      string
	scenarios        []string
}

func parseOptions(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.users, "users", 1_000_000, "users to seed, spread evenly over the tenants")
	fs.IntVar(&o.tenants, "tenants", 10_000, "customer tenants to seed")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured length of each scenario (in all rounds together)")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured load before each measured slice")
	fs.IntVar(&o.rounds, "rounds", 5, "slices each scenario's duration is cut into, interleaved with the other scenarios of its group")
	fs.IntVar(&o.conns, "conns", 64, "connections of the baseline, /v1/auth/org, /v1/users/info and refresh scenarios")
	fs.IntVar(&o.lowConns, "low-conns", 8, "also run the baseline, /v1/auth/org and /v1/users/info (JWT) at this many connections, to see latency without deep queues (0: skip)")
	signIn := fs.String("signin-conns", "4,16", "comma-separated connection counts of the sign-in scenario")
	fs.StringVar(&o.hasher, "hasher", "argon2id", "password hasher of the server and of the seeded hashes: argon2id or bcrypt")
	fs.IntVar(&o.bcryptCost, "bcrypt-cost", 12, "bcrypt cost (10-14) when -hasher bcrypt")
	fs.IntVar(&o.argonMemory, "argon2-memory", password.DefaultMemory, "argon2id memory in KiB")
	fs.IntVar(&o.argonTime, "argon2-time", password.DefaultTime, "argon2id passes")
	fs.StringVar(&o.logLevel, "server-log-level", "info", "ORGAUTH_LOG_LEVEL of the server (info logs one line per request, as in production)")
	fs.StringVar(&o.out, "out", "", "write the results as JSON to this file")
	fs.StringVar(&o.compare, "compare", "", "JSON results of an earlier run (e.g. with 1,000,000 users) to compare this one with")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the bench process (seeding, load generation) to this file")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory (database, server logs) and the PostgreSQL schema")
	fs.StringVar(&o.databaseURL, "database-url", "", "a postgres:// URL: run orgauth on PostgreSQL, in a fresh schema orgauth_bench_<random> of that database, dropped at the end (default: SQLite in the temporary directory)")
	only := fs.String("scenarios", "", "comma-separated subset of scenarios to run (default all): "+strings.Join(allScenarios, ","))
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	var problems []string
	if o.users < 1 || o.tenants < 1 {
		problems = append(problems, "-users and -tenants must be at least 1")
	}
	if o.hasher != password.Argon2id && o.hasher != password.Bcrypt {
		problems = append(problems, "-hasher must be argon2id or bcrypt")
	}
	if o.bcryptCost < 10 || o.bcryptCost > 14 {
		problems = append(problems, "-bcrypt-cost must be from 10 to 14")
	}
	if o.conns < 1 || o.lowConns < 0 || o.duration <= 0 || o.warmup < 0 || o.rounds < 1 {
		problems = append(problems, "-conns, -duration and -rounds must be positive, -low-conns and -warmup not negative")
	}
	for _, f := range strings.Split(*signIn, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			problems = append(problems, "-signin-conns must be a list of positive numbers")
			break
		}
		o.signInConns = append(o.signInConns, n)
	}
	if *only != "" {
		for _, s := range strings.Split(*only, ",") {
			s = strings.TrimSpace(s)
			if !slices.Contains(allScenarios, s) {
				problems = append(problems, "unknown scenario "+s)
			}
			o.scenarios = append(o.scenarios, s)
		}
	} else {
		o.scenarios = allScenarios
	}
	if o.databaseURL != "" && !isPostgresURL(o.databaseURL) {
		problems = append(problems, "-database-url must be a postgres:// or postgresql:// URL (SQLite is the default)")
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return o, nil
}

// Scenario names.
const (
	scBaseline   = "baseline"
	scAuthOrg    = "auth-org"
	scSSOLogins  = "sso-logins"
	scInfoJWT    = "users-info-jwt"
	scInfoAPIKey = "users-info-apikey"
	scRefresh    = "refresh"
	scSignIn     = "signin"
	scRawHash    = "raw-verify"
)

var allScenarios = []string{scBaseline, scAuthOrg, scSSOLogins, scInfoJWT, scInfoAPIKey, scRefresh, scRawHash, scSignIn}

// result is one line of the results table.
type result struct {
	Scenario string `json:"scenario"`
	Request  string `json:"request"`
	Conns    int    `json:"conns"`
	stats
	OrgauthRSSMB float64 `json:"orgauth_rss_mb"` // VmRSS of orgauth after the scenario's group
	// ForeignCPU is the share of the machine's CPU time that processes other
	// than the bench, orgauth, the baseline and (on PostgreSQL) the database
	// server used during the scenario's group.
	ForeignCPU float64 `json:"foreign_cpu"`
	// DatabaseCPU is the share the PostgreSQL server's processes used.
	DatabaseCPU float64 `json:"database_cpu,omitempty"`
}

// idleWait is how long the server idles after the run before its memory is
// read a second time.
const idleWait = 5 * time.Second

// report is everything a run measured; it is what -out writes.
type report struct {
	Date     string    `json:"date"`
	Machine  machine   `json:"machine"`
	Command  string    `json:"command"`
	Users    int       `json:"users"`
	Tenants  int       `json:"tenants"`
	Hasher   string    `json:"hasher"`   // e.g. "argon2id m=19456 t=2 p=1"
	Database string    `json:"database"` // "sqlite", or "postgresql <version>"
	Seed     seedStats `json:"seed"`

	StartupMs   float64  `json:"startup_ms"` // exec of orgauth serve to the first 200 of /readyz
	MemoryAfter memory   `json:"orgauth_memory_after_run"`
	MemoryIdle  memory   `json:"orgauth_memory_after_idle"` // idleWait after the run
	Results     []result `json:"results"`
	Checks      []check  `json:"checks"`
}

func (r *report) find(scenario string, conns int) *result {
	for i := range r.Results {
		if r.Results[i].Scenario == scenario && (conns == 0 || r.Results[i].Conns == conns) {
			return &r.Results[i]
		}
	}
	return nil
}

func main() {
	if listen := os.Getenv(baselineEnv); listen != "" {
		if err := serveBaseline(listen); err != nil {
			fmt.Fprintln(os.Stderr, "baseline:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o, err := parseOptions(os.Args[1:], os.Stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
		os.Exit(2)
	}
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func run(ctx context.Context, o *options) error {
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	rep := &report{
		Date: time.Now().UTC().Format(time.RFC3339), Machine: describeMachine(),
		Command: "go run ./bench " + redactURL(strings.Join(os.Args[1:], " "), o.databaseURL),
		Users:   o.users, Tenants: o.tenants,
	}
	d := dataset{users: o.users, tenants: o.tenants}

	tmp, err := os.MkdirTemp("", "orgauth-bench-")
	if err != nil {
		return err
	}
	if o.keep {
		logf("keeping %s", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}

	moduleDir, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	logf("building orgauth")
	bin, err := buildOrgauth(ctx, moduleDir, tmp)
	if err != nil {
		return err
	}
	listen, err := freeAddr()
	if err != nil {
		return err
	}
	// The debug listener serves the round-trip counter; an address given in
	// the environment is kept, to profile the server there under load.
	debug := os.Getenv("ORGAUTH_DEBUG_LISTEN")
	if debug == "" {
		if debug, err = freeAddr(); err != nil {
			return err
		}
	}
	sc := serverConfig{
		binary: bin, dataDir: filepath.Join(tmp, "data"), listen: listen,
		hasher: o.hasher, argonMem: o.argonMemory, argonT: o.argonTime, bcrypt: o.bcryptCost,
		logLevel: o.logLevel, logPath: filepath.Join(tmp, "orgauth.log"), debug: debug,
	}
	var target database = &sqliteDB{path: dbPathIn(sc.dataDir)}
	if o.databaseURL != "" {
		pg, err := newPostgresDB(ctx, o.databaseURL)
		if err != nil {
			return err
		}
		logf("PostgreSQL %s, schema %s", pg.version, pg.schema)
		target = pg
		defer func() {
			if err := pg.close(o.keep); err != nil {
				logf("dropping schema %s: %v", pg.schema, err)
			}
		}()
	}
	rep.Database = target.name()
	sc.dbURL = target.serverURL()
	if err := migrateDB(ctx, sc); err != nil {
		return err
	}

	// The hasher of the seed, of the raw rate and of the server: same parameters.
	hasher, err := password.New(password.Config{
		Algorithm: o.hasher, Memory: uint32(o.argonMemory), Time: uint32(o.argonTime), BcryptCost: o.bcryptCost,
	})
	if err != nil {
		return err
	}
	rep.Hasher = describeHasher(hasher.Config())
	t0 := time.Now()
	hash, err := hasher.Hash(ctx, userPassword)
	if err != nil {
		return err
	}
	hashTime := time.Since(t0)

	logf("seeding %d tenants and %d users (%s) into %s", o.tenants, o.users, rep.Hasher, rep.Database)
	rep.Seed, err = seed(ctx, target, d, hasher, hash)
	if err != nil {
		return fmt.Errorf("seeding: %w", err)
	}
	rep.Seed.HashSeconds = hashTime.Seconds()

	srv, startup, err := startOrgauth(ctx, sc)
	if err != nil {
		return err
	}
	defer srv.stop()
	rep.StartupMs = float64(startup.Microseconds()) / 1000
	logf("orgauth ready on %s in %v", listen, startup.Round(time.Millisecond))
	vars := newDebugVars(debug)
	if err := vars.waitReady(ctx); err != nil {
		return err
	}
	_, onPostgres := target.(*postgresDB)
	probe := &windowProbe{vars: vars, db: target, postgres: onPostgres}

	baseAddr, err := freeAddr()
	if err != nil {
		return err
	}
	base, err := startBaseline(ctx, baseAddr, filepath.Join(tmp, "baseline.log"))
	if err != nil {
		return err
	}
	defer base.stop()

	var seq atomic.Int64
	// prepareLoop makes the load of one scenario at conns connections (workers).
	prepareLoop := func(name string, conns int) (*loop, string, error) {
		switch name {
		case scBaseline:
			l, err := httpLoop(base.cmd.Process.Pid, baseAddr, conns, opBaseline(baseAddr))
			return l, "GET / (constant body, separate process)", err
		case scAuthOrg:
			l, err := httpLoop(srv.cmd.Process.Pid, listen, conns, opAuthOrg(listen, d))
			return l, "GET /v1/auth/org?orgName=<tenants in turn>", err
		case scSSOLogins:
			l, err := httpLoop(srv.cmd.Process.Pid, listen, conns, opSSOLogins(listen, d))
			return l, "GET /v1/auth/sso/logins?org=<tenants in turn>", err
		case scInfoJWT:
			l, err := httpLoop(srv.cmd.Process.Pid, listen, conns, opGetWith(listen, "/v1/users/info",
				func(pool []string, w int) string { return "Authorization: " + pool[w%len(pool)] }, signInPool(d)))
			return l, fmt.Sprintf("GET /v1/users/info, Authorization: <JWT of one of %d users>", min(poolSize, o.users)), err
		case scInfoAPIKey:
			l, err := httpLoop(srv.cmd.Process.Pid, listen, conns, opGetWith(listen, "/v1/users/info",
				func(pool []string, w int) string { return "ApiKey: " + pool[w%len(pool)] }, apiKeyPool(listen, d)))
			return l, fmt.Sprintf("GET /v1/users/info, ApiKey: <key of one of %d users>", min(poolSize, o.users)), err
		case scRefresh:
			l, err := httpLoop(srv.cmd.Process.Pid, listen, conns, opRefresh(listen, d))
			return l, "GET /v1/auth/refresh/<latest token of own session>?setCookie=false", err
		case scSignIn:
			l, err := httpLoop(srv.cmd.Process.Pid, listen, conns, opSignIn(listen, d, &seq))
			return l, "POST /v1/auth/authenticate?setCookie=false, another user each time", err
		case scRawHash:
			l, err := rawVerifyLoop(ctx, hasher, hash, conns)
			return l, fmt.Sprintf("password.Verify in the bench process, %d goroutines, servers idle", conns), err
		}
		return nil, "", fmt.Errorf("unknown scenario %s", name)
	}
	// prepare makes the load of one scenario; the round trips and writes of
	// those orgauth serves are counted.
	prepare := func(name string, conns int) (*loop, string, error) {
		l, req, err := prepareLoop(name, conns)
		if err == nil && name != scBaseline && name != scRawHash {
			l.probe = probe // orgauth serves it
		}
		return l, req, err
	}

	// The scenarios run in groups. The scenarios of a group are compared with
	// each other (orgauth with the baseline, sign-in with the raw hash rate), so
	// they run interleaved: each gets duration/rounds in every round, in turn.
	// A drift of the machine's speed during the run (on a shared virtual
	// machine, easily 30% over a minute) then hits them alike instead of
	// favouring whichever ran in the faster minute.
	type step struct {
		name  string
		conns int
	}
	selected := func(names ...string) []step {
		var g []step
		for _, n := range names {
			if slices.Contains(o.scenarios, n) {
				g = append(g, step{n, o.conns})
			}
		}
		return g
	}
	groups := [][]step{selected(scBaseline, scAuthOrg, scSSOLogins, scInfoJWT, scInfoAPIKey), selected(scRefresh)}
	if o.lowConns > 0 {
		low := selected(scBaseline, scAuthOrg, scSSOLogins, scInfoJWT)
		for i := range low {
			low[i].conns = o.lowConns
		}
		groups = append(groups, low)
	}
	var hashGroup []step
	if slices.Contains(o.scenarios, scRawHash) {
		hashGroup = append(hashGroup, step{scRawHash, runtime.NumCPU()})
	}
	if slices.Contains(o.scenarios, scSignIn) {
		for _, n := range o.signInConns {
			hashGroup = append(hashGroup, step{scSignIn, n})
		}
	}
	groups = append(groups, hashGroup)

	slice := o.duration / time.Duration(o.rounds)
	for _, g := range groups {
		if len(g) == 0 {
			continue
		}
		loops := make([]*loop, len(g))
		requests := make([]string, len(g))
		for i, st := range g {
			l, req, err := prepare(st.name, st.conns)
			if err != nil {
				return fmt.Errorf("%s at %d conns: %w", st.name, st.conns, err)
			}
			defer l.stop()
			loops[i], requests[i] = l, req
		}
		pids := []int{os.Getpid(), srv.cmd.Process.Pid, base.cmd.Process.Pid}
		busy0, ours0 := cpuTicks(pids...)
		db0, _ := target.cpuTicks()
		t0 := time.Now()
		for range o.rounds {
			for i, l := range loops {
				if err := l.round(ctx, o.warmup, slice); err != nil {
					return fmt.Errorf("%s at %d conns: %w", g[i].name, g[i].conns, err)
				}
			}
		}
		busy1, ours1 := cpuTicks(pids...)
		db1, _ := target.cpuTicks()
		// Ticks are 1/100 s on Linux; as a share of all CPUs over the group's time.
		share := func(ticks int64) float64 {
			return float64(max(0, ticks)) / 100 / time.Since(t0).Seconds() / float64(runtime.NumCPU())
		}
		foreign := share((busy1 - busy0) - (ours1 - ours0) - (db1 - db0))
		dbShare := share(db1 - db0)
		mem, err := srv.memory()
		if err != nil {
			return fmt.Errorf("orgauth memory: %w", err)
		}
		for i, l := range loops {
			st := l.stats()
			l.stop()
			rep.Results = append(rep.Results, result{Scenario: g[i].name, Request: requests[i], Conns: g[i].conns, stats: st, OrgauthRSSMB: mem.RSSMB, ForeignCPU: foreign, DatabaseCPU: dbShare})
			logf("%-18s %4d conns %9.1f req/s  p50 %7.2f ms  p99 %7.2f ms  errors %d  round trips/req %s  write xacts/req %s",
				g[i].name, g[i].conns, st.RPS, st.P50ms, st.P99ms, st.Errors, fmtPer(st.RoundTrips, 2), fmtPer(st.WriteXacts, 2))
			for _, e := range st.ErrorKind {
				logf("    error: %s", e)
			}
		}
		logf("orgauth resident memory after this group: %.1f MB; CPU used by PostgreSQL: %.0f%%, by other processes of the machine: %.0f%%", mem.RSSMB, 100*dbShare, 100*foreign)
	}

	rep.MemoryAfter, err = srv.memory()
	if err != nil {
		return fmt.Errorf("orgauth memory: %w", err)
	}
	select {
	case <-time.After(idleWait):
	case <-ctx.Done():
		return ctx.Err()
	}
	rep.MemoryIdle, err = srv.memory()
	if err != nil {
		return fmt.Errorf("orgauth memory: %w", err)
	}
	logf("orgauth resident memory: %.1f MB right after the run, %.1f MB after %v idle (peak %.1f MB)",
		rep.MemoryAfter.RSSMB, rep.MemoryIdle.RSSMB, idleWait, rep.MemoryAfter.PeakMB)

	var prev *report
	if o.compare != "" {
		b, err := os.ReadFile(o.compare)
		if err != nil {
			return err
		}
		prev = new(report)
		if err := json.Unmarshal(b, prev); err != nil {
			return fmt.Errorf("%s: %w", o.compare, err)
		}
	}
	rep.Checks = checkTargets(rep, prev)
	printReport(os.Stdout, rep)

	if o.out != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(o.out, append(b, '\n'), 0o644); err != nil {
			return err
		}
		logf("wrote %s", o.out)
	}
	if err := srv.stop(); err != nil {
		logf("orgauth stop: %v", err)
	}
	return nil
}

// redactURL replaces the password of the database URL u in s, if it has one.
func redactURL(s, u string) string {
	if pu, err := url.Parse(u); err == nil && u != "" {
		if _, ok := pu.User.Password(); ok {
			return strings.ReplaceAll(s, u, pu.Redacted())
		}
	}
	return s
}

func describeHasher(c password.Config) string {
	if c.Algorithm == password.Bcrypt {
		return fmt.Sprintf("bcrypt cost %d", c.BcryptCost)
	}
	return fmt.Sprintf("argon2id m=%d t=%d p=%d", c.Memory, c.Time, c.Threads)
}
