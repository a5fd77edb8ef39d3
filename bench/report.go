package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
)

// machine describes where the run happened.
type machine struct {
	CPU      string  `json:"cpu"`
	CPUs     int     `json:"cpus"`
	MemoryGB float64 `json:"memory_gb"`
	Kernel   string  `json:"kernel"`
	Go       string  `json:"go"`
}

func describeMachine() machine {
	m := machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), CPU: "unknown"}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var kb float64
			if _, err := fmt.Sscanf(sc.Text(), "MemTotal: %f kB", &kb); err == nil {
				m.MemoryGB = kb / (1 << 20)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = "Linux " + strings.TrimSpace(string(b))
	}
	return m
}

// check is one target of the issue and whether the run met it.
type check struct {
	Target string `json:"target"`
	Got    string `json:"got"`
	Met    bool   `json:"met"`
}

// checkTargets evaluates the targets on rep, and the size comparison against
// prev when given. Targets whose scenario did not run are left out.
func checkTargets(rep *report, prev *report) []check {
	var cs []check
	add := func(target string, met bool, format string, args ...any) {
		cs = append(cs, check{Target: target, Got: fmt.Sprintf(format, args...), Met: met})
	}
	conns := 0 // the full concurrency: that of the first baseline-class result
	for _, r := range rep.Results {
		if r.Scenario == scBaseline || r.Scenario == scAuthOrg || r.Scenario == scSSOLogins || r.Scenario == scInfoJWT {
			conns = r.Conns
			break
		}
	}
	base := rep.find(scBaseline, conns)
	for _, name := range []string{scAuthOrg, scSSOLogins, scInfoJWT} {
		r := rep.find(name, conns)
		if r == nil {
			continue
		}
		if base != nil {
			ratio := r.RPS / base.RPS
			add(fmt.Sprintf("%s at %d conns: >= 0.5x baseline req/s", name, r.Conns), ratio >= 0.5,
				"%.2fx (%.0f vs %.0f req/s)", ratio, r.RPS, base.RPS)
		}
		ctx := ""
		if base != nil {
			ctx = fmt.Sprintf(" (baseline p99 %.2f ms)", base.P99ms)
		}
		add(fmt.Sprintf("%s at %d conns: p99 < 10 ms", name, r.Conns), r.P99ms < 10, "%.2f ms%s", r.P99ms, ctx)
		add(name+": no errors", r.Errors == 0, "%d errors", r.Errors)
	}
	if raw, n := rawRate(rep); n > 0 {
		for _, r := range rep.Results {
			if r.Scenario != scSignIn {
				continue
			}
			ratio := r.RPS / raw
			cpu := ""
			if rawCPU := rawCPUms(rep); rawCPU > 0 && r.CPUms > 0 {
				// What the server adds, in CPU: the target's "under 5%".
				cpu = fmt.Sprintf("; server CPU %.2f ms per sign-in vs %.2f ms per raw verification, %+.1f%%",
					r.CPUms, rawCPU, (r.CPUms/rawCPU-1)*100)
			}
			add(fmt.Sprintf("sign-in at %d conns: >= 0.95x raw verifications/s", r.Conns), ratio >= 0.95,
				"%.3fx (%.1f vs %.1f /s, raw = mean of %d measurements%s)", ratio, r.RPS, raw, n, cpu)
			add(fmt.Sprintf("sign-in at %d conns: no errors", r.Conns), r.Errors == 0, "%d errors", r.Errors)
		}
	}
	for _, name := range []string{scInfoAPIKey, scRefresh} {
		if r := rep.find(name, 0); r != nil {
			add(name+": no errors", r.Errors == 0, "%d errors", r.Errors)
		}
	}
	// Writes and round trips per operation, where the database tells them.
	writeTargets := []struct {
		name string
		max  float64
		what string
	}{
		{scSignIn, 2, "at most 2 write transactions per sign-in"},
		{scRefresh, 1, "at most 1 write transaction per refresh"},
		{scInfoJWT, 0, "no write transaction per read"},
		{scInfoAPIKey, 0, "no write transaction per read"},
	}
	for _, t := range writeTargets {
		for _, r := range rep.Results {
			if r.Scenario != t.name || r.WriteXacts == nil {
				continue
			}
			// The transaction ids are the whole cluster's, autovacuum's
			// ANALYZE included: a little slack.
			add(fmt.Sprintf("%s at %d conns: %s", r.Scenario, r.Conns, t.what), *r.WriteXacts <= t.max+0.02,
				"%.3f write transactions/req, %s round trips/req, %.0f WAL bytes/req", *r.WriteXacts, fmtPer(r.RoundTrips, 3), *r.WALBytes)
		}
	}
	for _, r := range rep.Results {
		if (r.Scenario == scInfoJWT || r.Scenario == scInfoAPIKey) && r.RoundTrips != nil {
			add(fmt.Sprintf("%s at %d conns: ~0 round trips/req (caches)", r.Scenario, r.Conns), *r.RoundTrips < 0.01,
				"%.4f round trips/req", *r.RoundTrips)
		}
	}
	add("startup < 1 s", rep.StartupMs < 1000, "%.0f ms (%d users)", rep.StartupMs, rep.Users)
	add("orgauth resident memory < 150 MB right after the run", rep.MemoryAfter.RSSMB < 150,
		"%.1f MB (%.1f MB after %gs idle; peak %.1f MB)", rep.MemoryAfter.RSSMB, rep.MemoryIdle.RSSMB, idleWait.Seconds(), rep.MemoryAfter.PeakMB)

	if prev != nil && databaseOf(prev) != databaseOf(rep) {
		// The same dataset on another database: the target is that
		// sign-in and /v1/users/info on PostgreSQL are within 1.3x of SQLite.
		for _, r := range rep.Results {
			if r.Scenario != scSignIn && r.Scenario != scInfoJWT && r.Scenario != scInfoAPIKey {
				continue
			}
			p := prev.find(r.Scenario, r.Conns)
			if p == nil {
				continue
			}
			pg, lite, pgName, liteName := &r, p, databaseOf(rep), databaseOf(prev)
			if strings.HasPrefix(liteName, "postgres") {
				pg, lite, pgName, liteName = p, &r, liteName, pgName
			}
			add(fmt.Sprintf("%s at %d conns: req/s on %s within 1.3x of %s", r.Scenario, r.Conns, pgName, liteName),
				pg.RPS*1.3 >= lite.RPS, "%.0f vs %.0f req/s (%.2fx of %s), p99 %.2f vs %.2f ms",
				pg.RPS, lite.RPS, pg.RPS/lite.RPS, liteName, pg.P99ms, lite.P99ms)
		}
		if prev.Users != rep.Users || prev.Tenants != rep.Tenants {
			add("same dataset as the compared run", false, "%d users in %d tenants vs %d in %d", rep.Users, rep.Tenants, prev.Users, prev.Tenants)
		}
	} else if prev != nil {
		for _, r := range rep.Results {
			if r.Scenario == scBaseline || r.Scenario == scRawHash {
				continue
			}
			p := prev.find(r.Scenario, r.Conns)
			if p == nil {
				continue
			}
			fr, fp := factor(r.RPS, p.RPS), factor(r.P99ms, p.P99ms)
			add(fmt.Sprintf("%s at %d conns: %d vs %d users within 1.5x", r.Scenario, r.Conns, rep.Users, prev.Users),
				fr <= 1.5 && fp <= 1.5, "req/s %.0f vs %.0f (%.2fx), p99 %.2f vs %.2f ms (%.2fx)",
				r.RPS, p.RPS, fr, r.P99ms, p.P99ms, fp)
		}
	}
	return cs
}

// databaseOf returns the database of a run; runs from before the field was
// there ran on SQLite.
func databaseOf(r *report) string {
	if r.Database == "" {
		return "sqlite"
	}
	return r.Database
}

// fmtPer formats a per-request figure with prec decimals, "-" for none.
func fmtPer(v *float64, prec int) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.*f", prec, *v)
}

// rawRate returns the mean of the raw verification rates of rep and how many
// there are.
func rawRate(rep *report) (float64, int) {
	var sum float64
	n := 0
	for _, r := range rep.Results {
		if r.Scenario == scRawHash {
			sum += r.RPS
			n++
		}
	}
	if n == 0 {
		return 0, 0
	}
	return sum / float64(n), n
}

// rawCPUms returns the mean CPU time per raw verification of rep, or 0.
func rawCPUms(rep *report) float64 {
	var sum float64
	n := 0
	for _, r := range rep.Results {
		if r.Scenario == scRawHash && r.CPUms > 0 {
			sum += r.CPUms
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// factor returns how many times the larger of a and b is the smaller.
func factor(a, b float64) float64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	return max(a, b) / min(a, b)
}

// printReport writes the results table and the checks.
func printReport(w io.Writer, rep *report) {
	fmt.Fprintf(w, "\norgauth benchmark, %s\n", rep.Date)
	fmt.Fprintf(w, "machine: %s, %d CPUs, %.0f GB, %s, %s\n", rep.Machine.CPU, rep.Machine.CPUs, rep.Machine.MemoryGB, rep.Machine.Kernel, rep.Machine.Go)
	fmt.Fprintf(w, "dataset: %d tenants, %d users; hasher %s; database %s\n", rep.Tenants, rep.Users, rep.Hasher, databaseOf(rep))
	fmt.Fprintf(w, "seeding: %.1f s (%.0f users/s), database %d MB; startup %.0f ms\n", rep.Seed.TotalSeconds, rep.Seed.UsersPerSec, rep.Seed.DBBytes>>20, rep.StartupMs)
	fmt.Fprintf(w, "orgauth RSS: %.1f MB right after the run, %.1f MB after %gs idle, peak %.1f MB\n\n",
		rep.MemoryAfter.RSSMB, rep.MemoryIdle.RSSMB, idleWait.Seconds(), rep.MemoryAfter.PeakMB)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tconns\treq/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\trequests\terrors\tserver CPU ms/req\tfaults/req\tPG round trips/req\tPG write xacts/req\tWAL B/req\tPG CPU ms/req\torgauth RSS MB\tPG CPU\tother CPU\t")
	for _, r := range rep.Results {
		wal := "-"
		if r.WALBytes != nil {
			wal = fmt.Sprintf("%.0f", *r.WALBytes)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%d\t%.3f\t%.1f\t%s\t%s\t%s\t%s\t%.0f\t%.0f%%\t%.0f%%\t\n",
			r.Scenario, r.Conns, r.RPS, r.P50ms, r.P90ms, r.P99ms, r.MaxMs, r.Requests, r.Errors, r.CPUms, r.Faults,
			fmtPer(r.RoundTrips, 3), fmtPer(r.WriteXacts, 3), wal, fmtPer(r.DBCPUms, 3), r.OrgauthRSSMB, 100*r.DatabaseCPU, 100*r.ForeignCPU)
	}
	tw.Flush()

	fmt.Fprintln(w)
	for _, c := range rep.Checks {
		mark := "MET "
		if !c.Met {
			mark = "MISS"
		}
		fmt.Fprintf(w, "[%s] %s: %s\n", mark, c.Target, c.Got)
	}
}
