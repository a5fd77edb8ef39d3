package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/orgauth/orgauth/internal/apitest"
)

// TestMain lets the test binary run as orgauth itself, so a test can start a real
// orgauth process and kill it.
func TestMain(m *testing.M) {
	if os.Getenv("ORGAUTH_TEST_AS_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// TestKillLosesNoAcknowledgedWrite kills one of two instances sharing a PostgreSQL
// database with SIGKILL while it is creating users, and checks at the other that
// every user whose creation was answered 201 exists.
func TestKillLosesNoAcknowledgedWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	env := testEnv(t.TempDir())
	env["ORGAUTH_DATABASE_URL"] = apitest.PostgresURL(t)
	env["ORGAUTH_ADMIN_PASSWORD"] = "Pg-adm1n-secret!"
	env["ORGAUTH_MASTER_KEY"] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	env["ORGAUTH_PUBLIC_URL"] = "http://localhost:8080"
	b := startServe(t, env) // the survivor, in this process

	// The victim: this test binary re-run as orgauth serve.
	cmd := exec.Command(os.Args[0], "serve")
	cmd.Env = []string{"ORGAUTH_TEST_AS_MAIN=1"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, "ORGAUTH_DATA_DIR="+t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := ""
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
			addr = m[1]
			break
		}
	}
	if addr == "" {
		t.Fatal("the orgauth process did not start")
	}
	go func() { // keep draining its output
		for sc.Scan() {
		}
	}()

	admin := b.login("system", "ops@example.com", "Pg-adm1n-secret!")
	client := &http.Client{Timeout: 5 * time.Second}
	var mu sync.Mutex
	acked := map[string]string{} // uid -> email
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				email := fmt.Sprintf("u%d-%d@example.com", w, i)
				body, _ := json.Marshal(map[string]any{"spec": map[string]any{"emailId": email, "firstName": "K"}})
				req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+addr+"/v1/users", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", admin)
				res, err := client.Do(req)
				if err != nil {
					return // the instance is gone
				}
				var id struct{ UID string }
				json.NewDecoder(res.Body).Decode(&id)
				res.Body.Close()
				if res.StatusCode == http.StatusCreated {
					mu.Lock()
					acked[id.UID] = email
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(700 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(acked) == 0 {
		t.Fatal("no write was acknowledged before the kill")
	}
	for uid, email := range acked {
		r := b.do("GET", "/v1/users/"+uid, nil, "Authorization", admin)
		var u struct{ Spec struct{ EmailID string } }
		json.Unmarshal(r.body, &u)
		if r.status != 200 || u.Spec.EmailID != email {
			t.Errorf("acknowledged user %s (%s) at the survivor: %d %s", uid, email, r.status, r.body)
		}
	}
	t.Logf("%d acknowledged writes, all present after SIGKILL", len(acked))
}
