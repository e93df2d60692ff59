package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/testenv"
	"gitlab.com/platform/bluegreen/internal/verify/scenario"
)

// verifyWorld is one verify job's folder and a real Prometheus holding a
// scenario's history, its window just ended (and settled: 15s).
type verifyWorld struct {
	dir, checks, promURL string
	since                time.Time
}

func newVerifyWorld(t *testing.T, family string) *verifyWorld {
	t.Helper()
	w := &verifyWorld{dir: t.TempDir(), since: time.Now().Add(-10*time.Minute - 16*time.Second).Truncate(time.Second)}
	w.checks = filepath.Join(t.TempDir(), "checks.yaml")
	if err := os.WriteFile(w.checks, []byte(scenario.ChecksYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	if family != "" {
		f, ok := scenario.FamilyNamed(family)
		if !ok {
			t.Fatalf("no family %s", family)
		}
		p := testenv.NewPrometheus(t, testenv.PrometheusOptions{History: string(f.Spec(1).History(w.since).OpenMetrics())})
		w.promURL = p.URL()
	}
	return w
}

// withPlan writes the plan an earlier sync job would leave, its sync
// finishing when the window starts, and the render job's dotenv.
func (w *verifyWorld) withPlan(t *testing.T) {
	t.Helper()
	p := &plan.Plan{Schema: plan.SchemaVersion, App: scenario.App, Namespace: scenario.Namespace, Image: "registry.example.com/shop:2",
		LiveColor: plan.Blue, TargetColor: plan.Green, CreatedAt: w.since.Add(-10 * time.Minute)}
	p.Append(plan.Result{Stage: plan.Render, Outcome: "ok", Started: w.since.Add(-10 * time.Minute), Finished: w.since.Add(-9 * time.Minute)})
	p.Append(plan.Result{Stage: plan.Sync, Outcome: "ok", Started: w.since.Add(-5 * time.Minute), Finished: w.since})
	if err := p.Save(w.dir); err != nil {
		t.Fatal(err)
	}
	env := "BG_LIVE_COLOR=blue\nBG_PREVIEW_URL=http://shop-preview.bench\nBG_TARGET_COLOR=green\nBG_VERIFY_RESULT=stale\n"
	if err := os.WriteFile(filepath.Join(w.dir, plan.DotenvName), []byte(env), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (w *verifyWorld) env(extra map[string]string) map[string]string {
	e := map[string]string{"BG_OUT": w.dir, "BG_CHECKS": w.checks, "BG_PROMETHEUS_URL": w.promURL, "BG_PROMETHEUS_RETRIES": "2"}
	for k, v := range extra {
		e[k] = v
	}
	return e
}

func (w *verifyWorld) dotenv(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(w.dir, plan.DotenvName))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (w *verifyWorld) plan(t *testing.T) *plan.Plan {
	t.Helper()
	p, err := plan.Load(w.dir)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVerify_PassFromThePlanRecordsEverywhere(t *testing.T) {
	t.Parallel()
	w := newVerifyWorld(t, "good")
	w.withPlan(t)
	code, out, errOut := runCLI(t, w.env(nil), "verify")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"observation starts at " + w.since.UTC().Format(time.RFC3339) + ", when sync finished (plan.json)",
		"CHECK", "error-rate   pass", "latency-p99  pass", `color="green",code=~"5.."}[10m]`, "verdict: PASS",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(w.dir, "verify.junit.xml")); err != nil {
		t.Error(err)
	}
	html, err := os.ReadFile(filepath.Join(w.dir, "verification.html"))
	if err != nil || !strings.Contains(string(html), `data-check="error-rate"`) || !strings.Contains(string(html), `data-check="latency-p99"`) {
		t.Errorf("verification.html (%v) lacks the checks' charts", err)
	}
	p := w.plan(t)
	if want := filepath.ToSlash(filepath.Join(w.dir, "verification.html")); p.Verification == nil || p.Verification.Report != want {
		t.Errorf("plan.json's verification.report = %+v, want %s", p.Verification, want)
	}
	last := p.Ledger[len(p.Ledger)-1]
	if p.Verification == nil || p.Verification.Result != "pass" || last.Stage != "verify" || last.Outcome != "ok" || last.Details["result"] != "pass" {
		t.Errorf("plan: %+v, last ledger entry %+v", p.Verification, last)
	}
	if got, want := w.dotenv(t), "BG_LIVE_COLOR=blue\nBG_PREVIEW_URL=http://shop-preview.bench\nBG_TARGET_COLOR=green\nBG_VERIFY_RESULT=pass\n"; got != want {
		t.Errorf("dotenv:\n%s\nwant:\n%s", got, want)
	}
}

func TestVerify_FailWithoutAPlanUsesTheFlags(t *testing.T) {
	t.Parallel()
	w := newVerifyWorld(t, "bad-error-rate")
	code, out, errOut := runCLI(t, w.env(nil), "verify", "--app", scenario.App, "--namespace", scenario.Namespace,
		"--target-color", "green", "--live-color", "blue", "--since", w.since.UTC().Format(time.RFC3339))
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "verification failed: error-rate: clear breach") || !strings.Contains(out, "error-rate   fail") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", out, errOut)
	}
	if got := w.dotenv(t); got != "BG_VERIFY_RESULT=fail\n" {
		t.Errorf("dotenv = %q", got)
	}
	if _, err := os.Stat(filepath.Join(w.dir, plan.FileName)); err == nil {
		t.Error("verify without a plan must not invent one")
	}
}

func TestVerify_InconclusiveIsExit1WithItsOwnResult(t *testing.T) {
	t.Parallel()
	w := newVerifyWorld(t, "blue-missing")
	w.withPlan(t)
	code, out, errOut := runCLI(t, w.env(nil), "verify")
	if code != 1 || !strings.Contains(errOut, "verification inconclusive (not a pass)") || !strings.Contains(errOut, "comparison impossible") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(w.dotenv(t), "BG_VERIFY_RESULT=inconclusive\n") {
		t.Errorf("dotenv:\n%s", w.dotenv(t))
	}
	if p := w.plan(t); p.Verification.Result != "inconclusive" || p.Ledger[len(p.Ledger)-1].Outcome != "negative" {
		t.Errorf("plan: %+v", p.Ledger[len(p.Ledger)-1])
	}
}

func closedURL(t *testing.T) string {
	t.Helper()
	// Port 1: nothing listens there, and unlike a port that was just
	// free, no other test's server can take it meanwhile.
	return "http://127.0.0.1:1"
}

func TestVerify_PrometheusDownIsExit3AndNoResult(t *testing.T) {
	t.Parallel()
	w := newVerifyWorld(t, "")
	w.promURL = closedURL(t)
	w.withPlan(t)
	code, out, errOut := runCLI(t, w.env(nil), "verify")
	if code != 3 || !strings.Contains(errOut, "prometheus unavailable") || !strings.Contains(errOut, "connection refused") {
		t.Fatalf("exit %d, want 3\n%s\n%s", code, out, errOut)
	}
	if strings.Contains(w.dotenv(t), "BG_VERIFY_RESULT") {
		t.Errorf("a run without a verdict must leave no result (the stale one included):\n%s", w.dotenv(t))
	}
	p := w.plan(t)
	if last := p.Ledger[len(p.Ledger)-1]; last.Stage != "verify" || last.Outcome != "external" || p.Verification.Result != "error" {
		t.Errorf("ledger %+v, verification %+v", last, p.Verification)
	}
}

func TestVerify_BadQueryIsExit2BeforeAnyQuery(t *testing.T) {
	t.Parallel()
	w := newVerifyWorld(t, "")
	w.promURL = closedURL(t) // exit 2, not 3: nothing was sent
	w.withPlan(t)
	bad := strings.Replace(scenario.ChecksYAML, `[{{.Window}}])) / sum(`, `[{{.Window}}]) / sum(`, 1)
	if err := os.WriteFile(w.checks, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, w.env(nil), "verify")
	if code != 2 || !strings.Contains(errOut, `check "error-rate": query: ( at column 4 is never closed`) {
		t.Fatalf("exit %d, want 2 naming the check and the field\n%s\n%s", code, out, errOut)
	}
}

func TestVerify_ConfigErrorsNameTheFlag(t *testing.T) {
	t.Parallel()
	w := newVerifyWorld(t, "")
	tests := []struct {
		env  map[string]string
		args []string
		want []string
	}{
		{nil, []string{"--app", "shop"}, []string{"--namespace (BG_NAMESPACE): required without a plan.json", "--target-color (BG_TARGET_COLOR): required", "--live-color (BG_LIVE_COLOR): required"}},
		{nil, nil, []string{"--app (BG_APP): required"}},
		{map[string]string{"BG_PROMETHEUS_URL": ""}, []string{"--app", "shop"}, []string{"--prometheus (BG_PROMETHEUS_URL): required"}},
		{map[string]string{"BG_CHECKS": "/nonexistent.yaml"}, nil, []string{`--checks (BG_CHECKS): "/nonexistent.yaml" cannot be read`}},
		{nil, []string{"--since", "yesterday"}, []string{`--since (BG_SINCE): "yesterday" is neither an RFC 3339 time`}},
		{nil, []string{"--target-color", "green", "--live-color", "green"}, []string{"--target-color (BG_TARGET_COLOR): is the live colour too"}},
	}
	for _, tt := range tests {
		env := w.env(map[string]string{"BG_PROMETHEUS_URL": "http://127.0.0.1:9"})
		for k, v := range tt.env {
			env[k] = v
		}
		code, _, errOut := runCLI(t, env, append([]string{"verify"}, tt.args...)...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2: %s", tt.args, code, errOut)
		}
		for _, want := range tt.want {
			if !strings.Contains(errOut, want) {
				t.Errorf("%v %v: stderr lacks %q:\n%s", tt.env, tt.args, want, errOut)
			}
		}
	}
}

func TestVerify_TokenIsSentButNeverLeaks(t *testing.T) {
	t.Parallel()
	const token = "prom-bearer-4f1d2c"
	w := newVerifyWorld(t, "bad-error-rate")
	w.withPlan(t)
	target, err := url.Parse(w.promURL)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var auth []string
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth = append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
		proxy.ServeHTTP(rw, r)
	}))
	t.Cleanup(srv.Close)
	w.promURL = srv.URL
	code, out, errOut := runCLI(t, w.env(map[string]string{"BG_PROMETHEUS_TOKEN": token, "BG_VERBOSE": "true"}), "verify")
	if code != 1 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	mu.Lock()
	if len(auth) == 0 || auth[0] != "Bearer "+token {
		t.Errorf("Prometheus got Authorization %q", auth)
	}
	mu.Unlock()
	// And when Prometheus is down, the errors don't carry it either.
	w.promURL = closedURL(t)
	_, out2, errOut2 := runCLI(t, w.env(map[string]string{"BG_PROMETHEUS_TOKEN": token}), "verify")
	files := []string{out, errOut, out2, errOut2}
	for _, name := range []string{plan.FileName, plan.DotenvName, "verify.junit.xml"} {
		b, err := os.ReadFile(filepath.Join(w.dir, name))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, string(b))
	}
	for i, s := range files {
		if strings.Contains(s, token) {
			t.Errorf("output %d leaks the token", i)
		}
	}
	var p map[string]any
	if err := json.Unmarshal([]byte(files[4]), &p); err != nil {
		t.Fatal(err)
	}
}
