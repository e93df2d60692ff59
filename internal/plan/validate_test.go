package plan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gitlab.com/platform/bluegreen/internal/outcome"

	"gitlab.com/platform/bluegreen/internal/names"
)

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(h[:])
}

const testSHA = "2b1c0b8f4a5d6e7f8091a2b3c4d5e6f708192a3b"

// fullPlan is a plan as promote leaves it: every section filled, every
// value valid.
func fullPlan() *Plan {
	at := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	job := "https://gitlab.example.com/shop/checkout/-/jobs/9001"
	p := &Plan{Schema: SchemaVersion, App: "checkout", Namespace: "shop", Environment: "production", Commit: testSHA,
		Image: "registry.example.com/shop/checkout:1@" + sum("image"), LiveColor: Blue, TargetColor: Green,
		Pipeline: Pipeline{ProjectPath: "shop/checkout", ID: 7001, URL: "https://gitlab.example.com/shop/checkout/-/pipelines/7001"},
		Workload: Workload{Kind: "Deployment", Name: "checkout", Colored: "checkout-green", Container: "app",
			Services: []ServicePair{{Active: "checkout", Preview: "checkout-preview", Port: 8080}}},
		Rendered: Rendered{Dir: RenderedDir, Objects: []Object{
			{Kind: "Deployment", Name: "checkout-green", Namespace: "shop", File: "green/deployment-checkout-green.yaml", Action: "coloured", Digest: sum("d")},
			{Kind: "Service", Name: "checkout", Namespace: "shop", File: "shared/service-checkout.yaml", Action: "active", Digest: sum("s")},
			{Kind: "Service", Name: "checkout-preview", Namespace: "shop", File: "shared/service-checkout-preview.yaml", Action: "preview", Digest: sum("p")},
		}},
		GitOps:    &GitOps{Project: "platform/gitops", Branch: "main", Path: "production/checkout", Commit: testSHA},
		ArgoCD:    &ArgoCD{App: "checkout-production", Revision: testSHA},
		Slack:     &Slack{Channel: "C0DEPLOYS", ThreadTS: "1764151200.000100"},
		Traffic:   &Traffic{Live: Green, Previous: Blue, Revision: testSHA, Mode: "gitops", SwitchedAt: at, IdleUntil: at.Add(time.Hour)},
		CreatedAt: at,
	}
	p.Rendered.Digest = p.Rendered.Sum()
	p.Approval = &Approval{Approver: Approver{Login: "alice", ID: 7}, At: at, Digest: p.Rendered.Digest, JobURL: job,
		Rules: []RuleResult{{Rule: "four-eyes", Passed: true, Detail: "bob pushed, alice approved"}}}
	p.Notifications = &Notifications{Deliveries: []Delivery{{Stage: "render", Result: "ok", At: at, Status: DeliverySent, Attempts: 1, JobURL: job}}}
	v, nan := Number(0.002), Number(math.NaN())
	p.Verification = &Verification{Result: "pass", Target: Green, Live: Blue, Prometheus: "http://prometheus.monitoring:9090", Since: at, Started: at, Finished: at,
		Checks: []CheckResult{{Name: "error-rate", Verdict: "pass", Critical: true, Query: `sum(rate(x{color="green"}[1m]))`, Target: &v,
			Values: []IntervalValue{{At: at, Target: &v, Live: &nan}}}}}
	for _, st := range PipelineStages {
		p.Append(Result{Stage: st, Outcome: "ok", Started: at, Finished: at.Add(time.Second), JobURL: job, Details: map[string]string{"k": "v"}})
	}
	return p
}

func encoded(t *testing.T, p *Plan) string {
	t.Helper()
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// loadBytes writes data as a plan.json and loads it.
func loadBytes(t *testing.T, data string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(dir)
	return filepath.Join(dir, FileName), err
}

// assertRefused checks that err is a usage error (exit 2) wrapping
// ErrInvalid, on one line, naming the file and holding every want.
func assertRefused(t *testing.T, name, path string, err error, wants ...string) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s: accepted", name)
		return
	case !errors.Is(err, ErrInvalid):
		t.Errorf("%s: %v does not wrap ErrInvalid", name, err)
	case outcome.Code(err) != 2:
		t.Errorf("%s: exit %d, want 2", name, outcome.Code(err))
	case strings.Contains(err.Error(), "\n"):
		t.Errorf("%s: the message holds a raw newline: %q", name, err)
	}
	for _, w := range append([]string{path}, wants...) {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: %v\nwant %q in it", name, err, w)
		}
	}
}

func TestLoad_AcceptsAFullPlanAndSavesItUnchanged(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := fullPlan()
	if err := p.Save(dir); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := encoded(t, p), encoded(t, got); a != b {
		t.Errorf("round trip changed the plan:\n%s\nwant:\n%s", b, a)
	}
	first := fullPlan()
	first.LiveColor, first.Traffic, first.Verification.Live = None, nil, None
	if err := first.Validate("plan.json"); err != nil {
		t.Errorf("a first release: %v", err)
	}
	first.Schema = 0
	if err := first.Validate("plan.json"); err == nil || !strings.Contains(err.Error(), `plan.json: invalid plan: schema "0"`) {
		t.Errorf("schema 0: %v", err)
	}
}

func TestLoad_RefusesInvalidIdentities(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		edit   func(*Plan)
		fields []string // in the message: the field and the escaped value
	}{
		{"PromQL in the app", func(p *Plan) { p.App = `x"} or vector(1) #` }, []string{`app "x\"} or vector(1) #"`}},
		{"upper-case app", func(p *Plan) { p.App = "Checkout" }, []string{`app "Checkout"`}},
		{"app too long for its preview", func(p *Plan) { p.App = strings.Repeat("a", 60) }, []string{"app ", "-preview"}},
		{"no app", func(p *Plan) { p.App = "" }, []string{`app "": `}},
		{"namespace with a dot", func(p *Plan) { p.Namespace = "shop.prod" }, []string{`namespace "shop.prod"`}},
		{"environment with a path", func(p *Plan) { p.Environment = "prod/../other" }, []string{`environment "prod/../other"`, "GitOps folder"}},
		{"newline in the commit", func(p *Plan) { p.Commit = testSHA + "\nforged" }, []string{`commit "` + testSHA + `\nforged"`}},
		{"short image digest", func(p *Plan) { p.Image = "r.example.com/c@sha256:abc" }, []string{`image "r.example.com/c@sha256:abc"`, "64"}},
		{"md5 image digest", func(p *Plan) { p.Image = "r.example.com/c@md5:" + strings.Repeat("a", 32) }, []string{"image ", "sha256"}},
		{"space in the image", func(p *Plan) { p.Image = "r.example.com/c:1 --privileged" }, []string{`image "r.example.com/c:1 --privileged"`}},
		{"no image", func(p *Plan) { p.Image = "" }, []string{`image "": is empty`}},
		{"purple target", func(p *Plan) { p.TargetColor = "purple" }, []string{`targetColor "purple"`}},
		{"none as target", func(p *Plan) { p.TargetColor = None }, []string{`targetColor "none"`}},
		{"purple live", func(p *Plan) { p.LiveColor = "purple" }, []string{`liveColor "purple"`}},
		{"target is live", func(p *Plan) { p.LiveColor = Green }, []string{`targetColor "green": is the live colour too`}},
		{"bad workload", func(p *Plan) { p.Workload.Services[0].Preview = "Checkout_Preview" }, []string{`workload.services[0].preview "Checkout_Preview"`}},
		{"bad workload kind", func(p *Plan) { p.Workload.Kind = "DaemonSet" }, []string{`workload.kind "DaemonSet"`}},
		{"argocd app", func(p *Plan) { p.ArgoCD.App = "../app" }, []string{`argocd.app "../app"`}},
		{"gitops path", func(p *Plan) { p.GitOps.Path = "../other-team" }, []string{`gitops.path "../other-team"`}},
		{"traffic mode", func(p *Plan) { p.Traffic.Mode = "yolo" }, []string{`traffic.mode "yolo"`}},
		{"verification verdict", func(p *Plan) { p.Verification.Checks[0].Verdict = "pass!" }, []string{`verification.checks[0].verdict "pass!"`}},
		{"slack ts", func(p *Plan) { p.Slack.ThreadTS = "1.0\n2.0" }, []string{`slack.threadTs "1.0\n2.0"`}},
	}
	for _, tt := range tests {
		p := fullPlan()
		tt.edit(p)
		path, err := loadBytes(t, encoded(t, p))
		assertRefused(t, tt.name, path, err, tt.fields...)
	}
}

func TestLoad_RefusesRenderedPathsOutsideTheirFolders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file string
		want       string
	}{
		{"dot dot", "green/../../../etc/passwd", "leaves its folder"},
		{"absolute", "/etc/passwd", "leaves its folder"},
		{"not clean", "green//deployment.yaml", "not clean"},
		{"backslash", `green\..\x.yaml`, "backslash"},
		{"control character", "green/a\x00.yaml", "control character"},
		{"another folder", "secrets/x.yaml", "not inside green/, shared/"},
		{"the live colour's folder", "blue/deployment-checkout-blue.yaml", "not inside green/, shared/"},
		{"a bare folder", "shared", "not inside"},
	}
	for _, tt := range tests {
		p := fullPlan()
		p.Rendered.Objects[0].File = tt.file
		p.Rendered.Digest = p.Rendered.Sum() // a consistent forgery
		path, err := loadBytes(t, encoded(t, p))
		assertRefused(t, tt.name, path, err, "rendered.objects[0].file "+names.Quote(tt.file), tt.want)
	}
	dirs := []struct{ name, dir string }{{"dot dot", "../../.ssh"}, {"absolute", "/"}, {"another folder", "manifests"}, {"none", ""}}
	for _, tt := range dirs {
		p := fullPlan()
		p.Rendered.Dir = tt.dir
		path, err := loadBytes(t, encoded(t, p))
		assertRefused(t, "dir "+tt.name, path, err, "rendered.dir "+names.Quote(tt.dir), `must be "rendered"`)
	}
	p := fullPlan()
	p.Rendered.Objects[2].File = p.Rendered.Objects[1].File
	p.Rendered.Digest = p.Rendered.Sum()
	path, err := loadBytes(t, encoded(t, p))
	assertRefused(t, "one file twice", path, err, "rendered.objects[2].file", "is rendered.objects[1]'s file too")
}

func TestLoad_RefusesMalformedOrMismatchedDigests(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(*Plan)
		want []string
	}{
		{"short object digest", func(p *Plan) { p.Rendered.Objects[1].Digest = "sha256:5f1d0c0ffee" }, []string{`rendered.objects[1].digest "sha256:5f1d0c0ffee": is not a digest`}},
		{"upper-case hex", func(p *Plan) { p.Rendered.Digest = strings.ToUpper(p.Rendered.Digest) }, []string{"rendered.digest ", "is not a digest"}},
		{"an object added after render", func(p *Plan) {
			p.Rendered.Objects = append(p.Rendered.Objects, Object{Kind: "ConfigMap", Name: "evil", File: "shared/configmap-evil.yaml", Digest: sum("evil")})
		}, []string{"rendered.digest " + names.Quote(fullPlan().Rendered.Digest), "does not match the objects"}},
		{"no rendered digest", func(p *Plan) { p.Rendered.Digest = "" }, []string{`rendered.digest "": is not a digest`}},
		{"approval digest", func(p *Plan) { p.Approval.Digest = "sha256:" }, []string{`approval.digest "sha256:"`}},
	}
	for _, tt := range tests {
		p := fullPlan()
		tt.edit(p)
		path, err := loadBytes(t, encoded(t, p))
		assertRefused(t, tt.name, path, err, tt.want...)
	}
}

func TestLoad_RefusesInsaneLedgerEntries(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		r    Result
		want string
	}{
		{"no stage", Result{Outcome: "ok"}, `ledger[5].stage "": is not a stage name`},
		{"forged line in the stage", Result{Stage: "verify\nok", Outcome: "ok"}, `ledger[5].stage "verify\nok"`},
		{"unknown outcome", Result{Stage: "verify", Outcome: "passed"}, `ledger[5].outcome "passed": is not an outcome`},
		{"finished before started", Result{Stage: "verify", Outcome: "ok", Started: at, Finished: at.Add(-time.Minute)}, `ledger[5].finished "2026-11-26T09:59:00Z": is before it started`},
		{"javascript job URL", Result{Stage: "verify", Outcome: "ok", JobURL: "javascript:alert(1)"}, `ledger[5].jobUrl "javascript:alert(1)": is not an http(s) URL`},
		{"URL without a host", Result{Stage: "verify", Outcome: "ok", JobURL: "https:///jobs/1"}, "has no host"},
	}
	for _, tt := range tests {
		p := fullPlan()
		p.Append(tt.r)
		path, err := loadBytes(t, encoded(t, p))
		assertRefused(t, tt.name, path, err, tt.want)
	}
}

func TestLoad_RefusesLinksThatAreNotHTTP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, want string
		edit       func(*Plan)
	}{
		{"pipeline", `pipeline.url "file:///etc/passwd"`, func(p *Plan) { p.Pipeline.URL = "file:///etc/passwd" }},
		{"approval job", `approval.jobUrl "ftp://x/y"`, func(p *Plan) { p.Approval.JobURL = "ftp://x/y" }},
		{"delivery job", `notifications.deliveries[0].jobUrl "%zz"`, func(p *Plan) { p.Notifications.Deliveries[0].JobURL = "%zz" }},
		{"prometheus", `verification.prometheus "gopher://p:70"`, func(p *Plan) { p.Verification.Prometheus = "gopher://p:70" }},
	}
	for _, tt := range tests {
		p := fullPlan()
		tt.edit(p)
		path, err := loadBytes(t, encoded(t, p))
		assertRefused(t, tt.name, path, err, tt.want)
	}
}

func TestLoad_RefusesTamperedJSON(t *testing.T) {
	t.Parallel()
	valid := encoded(t, fullPlan())
	tests := []struct {
		name, data, want string
	}{
		{"a second app", strings.Replace(valid, `"app": "checkout",`, `"app": "checkout", "app": "evil",`, 1), "app: given twice"},
		{"a second file", strings.Replace(valid, `"file": "green/deployment-checkout-green.yaml",`, `"file": "green/deployment-checkout-green.yaml", "file": "../../x",`, 1), "rendered.objects[0].file: given twice"},
		{"a repeated detail", strings.Replace(valid, `"k": "v"`, `"k": "v", "k": "w"`, 1), "ledger[0].details.k: given twice"},
		{"an unknown field", strings.Replace(valid, `"app": "checkout",`, `"app": "checkout", "kubeconfig": "/home/runner/.kube/config",`, 1), "kubeconfig: unknown field"},
		{"a nested unknown field", strings.Replace(valid, `"dir": "rendered",`, `"dir": "rendered", "base": "/",`, 1), "rendered.base: unknown field"},
		{"a field in another case", strings.Replace(valid, `"namespace": "shop",`, `"namespace": "shop", "Namespace": "kube-system",`, 1), "Namespace: unknown field"},
		{"trailing data", valid + `{"app": "evil"}`, "not a plan"},
		{"a number for a string", strings.Replace(valid, `"app": "checkout"`, `"app": 7`, 1), "app: is a JSON number; want string"},
	}
	for _, tt := range tests {
		path, err := loadBytes(t, tt.data)
		assertRefused(t, tt.name, path, err, tt.want)
	}
}

func TestLoad_RefusesAPlanLargerThanMaxSize(t *testing.T) {
	t.Parallel()
	valid := encoded(t, fullPlan())
	if _, err := loadBytes(t, valid+strings.Repeat(" ", MaxSize-len(valid))); err != nil {
		t.Fatalf("a plan of exactly MaxSize bytes: %v", err)
	}
	path, err := loadBytes(t, valid+strings.Repeat(" ", MaxSize+1-len(valid)))
	assertRefused(t, "one byte over", path, err, "larger than 4194304 bytes (plan.MaxSize)")

	p := fullPlan()
	p.Ledger[0].Message = strings.Repeat("x", MaxSize)
	dir := t.TempDir()
	if err := p.Save(dir); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "plan.MaxSize") {
		t.Errorf("Save of an oversized plan: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); err == nil {
		t.Error("Save wrote a plan Load would refuse")
	}
}

func TestLoad_ListsAtMostTenProblemsOnOneLine(t *testing.T) {
	t.Parallel()
	p := fullPlan()
	for i := range p.Ledger {
		p.Ledger[i].Outcome, p.Ledger[i].Stage = "?", "?"
	}
	path, err := loadBytes(t, encoded(t, p))
	assertRefused(t, "ten problems", path, err, "ledger[4].outcome")
	var inv *Invalid
	if !errors.As(err, &inv) || len(inv.Problems) != 10 || inv.More != 0 {
		t.Fatalf("%v", err)
	}
	p.App = "?"
	path, err = loadBytes(t, encoded(t, p))
	if !errors.As(err, &inv) || len(inv.Problems) != 10 || inv.More != 1 || !strings.HasSuffix(err.Error(), "; and 1 more") {
		t.Fatalf("%v", err)
	}
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "app" || fe.Value != "?" || fe.File != path {
		t.Errorf("first problem: %+v", fe)
	}
}

func TestCheckFlags_RefusesAFlagThatDisagreesWithThePlan(t *testing.T) {
	t.Parallel()
	p := fullPlan()
	before := encoded(t, p)
	tests := []struct {
		name  string
		flags []Flag
		want  []string // "" for accepted
	}{
		{"not given", []Flag{{"--namespace (BG_NAMESPACE)", "namespace", ""}, {"--target-color (BG_TARGET_COLOR)", "targetColor", ""}}, nil},
		{"the render job's dotenv", []Flag{{"--namespace (BG_NAMESPACE)", "namespace", "shop"}, {"--target-color (BG_TARGET_COLOR)", "targetColor", "green"}, {"--live-color (BG_LIVE_COLOR)", "liveColor", "blue"}}, nil},
		{"another namespace", []Flag{{"--namespace (BG_NAMESPACE)", "namespace", "kube-system"}},
			[]string{`--namespace (BG_NAMESPACE) is "kube-system" but plan.json has namespace "shop"`}},
		{"swapped colours", []Flag{{"--target-color (BG_TARGET_COLOR)", "targetColor", "blue"}, {"--live-color (BG_LIVE_COLOR)", "liveColor", "green"}},
			[]string{`--target-color (BG_TARGET_COLOR) is "blue" but plan.json has targetColor "green"`, `--live-color (BG_LIVE_COLOR) is "green" but plan.json has liveColor "blue"`}},
		{"a field no flag names", []Flag{{"--token", "slack.token", "x"}}, []string{`no field "slack.token"`}},
	}
	for _, tt := range tests {
		err := p.CheckFlags("plan.json", tt.flags...)
		if len(tt.want) == 0 {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if tt.name == "a field no flag names" {
			if err == nil || !strings.Contains(err.Error(), tt.want[0]) {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if err == nil || outcome.Code(err) != 2 || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err %v, exit %d; want exit 2", tt.name, err, outcome.Code(err))
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v\nwant %q in it", tt.name, err, w)
			}
		}
		if !errors.Is(err, ErrFlagMismatch) {
			t.Errorf("%s: does not wrap ErrFlagMismatch", tt.name)
		}
	}
	if after := encoded(t, p); after != before {
		t.Error("CheckFlags changed the plan")
	}
}

func TestSum_IsRendersDigest(t *testing.T) {
	t.Parallel()
	// render.Encode: sha256 over "<file>\x00<digest>\n" per object, in order.
	r := Rendered{Objects: []Object{{File: "green/a.yaml", Digest: sum("a")}, {File: "shared/b.yaml", Digest: sum("b")}}}
	var b bytes.Buffer
	for _, o := range r.Objects {
		b.WriteString(o.File + "\x00" + o.Digest + "\n")
	}
	if got, want := r.Sum(), sum(b.String()); got != want {
		t.Errorf("Sum = %s, want %s", got, want)
	}
}

// A Rollout's ReplicaSet hashes go into PromQL label matchers: a hash that
// is not a short lower-case alphanumeric label value is refused, naming
// the field, and so are hashes on a Deployment.
func TestLoad_RefusesHostileRolloutHashes(t *testing.T) {
	t.Parallel()
	rollout := func(stable, preview string) func(*Plan) {
		return func(p *Plan) {
			p.Workload.Kind, p.Workload.Colored = "Rollout", ""
			p.Workload.Rollout = &RolloutHashes{Stable: stable, Preview: preview}
		}
	}
	ok := fullPlan()
	rollout("7c9b6d5f8", "5d8f9c7b4")(ok)
	if err := ok.Validate("plan.json"); err != nil {
		t.Fatalf("a valid Rollout plan: %v", err)
	}
	tests := []struct {
		name   string
		edit   func(*Plan)
		fields []string
	}{
		{"PromQL in the preview hash", rollout("7c9b6d5f8", `5d8f"} or vector(1) #`), []string{`workload.rollout.preview "5d8f\"} or vector(1) #"`, "lower-case letters and digits"}},
		{"a selector in the stable hash", rollout("a,b=c", "5d8f9c7b4"), []string{`workload.rollout.stable "a,b=c"`}},
		{"upper case", rollout("7C9B", "5d8f9c7b4"), []string{`workload.rollout.stable "7C9B"`}},
		{"a newline", rollout("7c9b", "5d8f\nforged"), []string{`workload.rollout.preview "5d8f\nforged"`}},
		{"empty", rollout("", "5d8f9c7b4"), []string{`workload.rollout.stable "": ReplicaSet hash`}},
		{"too long", rollout(strings.Repeat("a", 33), "5d8f9c7b4"), []string{"workload.rollout.stable ", "1 to 32"}},
		{"on a Deployment", func(p *Plan) { p.Workload.Rollout = &RolloutHashes{Stable: "7c9b", Preview: "5d8f"} }, []string{`workload.rollout "5d8f": is set, but the workload is a Deployment`}},
	}
	for _, tt := range tests {
		p := fullPlan()
		tt.edit(p)
		path, err := loadBytes(t, encoded(t, p))
		assertRefused(t, tt.name, path, err, tt.fields...)
	}
}
