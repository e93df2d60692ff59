package pipeline_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gitlab.com/platform/bluegreen/internal/pipeline"
)

// createPipeline makes a project whose .gitlab-ci.yml includes component
// with inputs and asks gitlab-ci-local for its jobs (--list): only pipeline
// creation, no job runs.
func createPipeline(t *testing.T, args []string, component string, inputs ...string) *pipeline.Run {
	t.Helper()
	tl := tools(t)
	dir := filepath.Join(t.TempDir(), "app")
	files := map[string]string{".gitlab-ci.yml": pipeline.ProjectCI(component, inputs...), "deploy/checks.yaml": "checks: []\n"}
	if err := pipeline.NewProject(dir, tl.Root, files); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(t.TempDir(), "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := &pipeline.Runner{Tools: tl, Dir: dir, Home: home}
	run, err := r.Run(ctx, ".gitlab-ci-local", args...)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// Inputs every component of the pipeline needs.
var pipelineInputs = []string{
	"app: shop", "environment: production", "manifests: deploy", "image: registry.example.com/shop:1",
	"gitops-project: platform/gitops", "argocd-server: argocd.example.com:443", "argocd-app: shop-production",
	"prometheus-url: http://prometheus.example.com:9090", "checks: deploy/checks.yaml",
}

func TestPipeline_InputErrorsAreCaughtAtPipelineCreation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		component string
		inputs    []string
		want      string // in gitlab-ci-local's error; "" for a valid pipeline
	}{
		{"valid", "pipeline", pipelineInputs, ""},
		{"tier not in options", "pipeline", with(pipelineInputs, "deployment-tier: prod"), "`deployment-tier` input: `prod` cannot be used because it is not in the list of allowed options"},
		{"app not a DNS label", "render", []string{"app: Shop_1", "environment: production", "manifests: deploy", "image: x:1"}, "`app` input: `Shop_1` does not match required regex"},
		{"required input missing", "verify", []string{"app: shop", "environment: production", "checks: deploy/checks.yaml"}, "`prometheus-url` input: required value has not been provided"},
		{"boolean given a string", "approve", []string{"app: shop", "environment: production", `four-eyes: "yes"`}, "`four-eyes` input: provided value is not a boolean"},
		{"timeout not a duration", "sync", []string{"app: shop", "environment: production", "gitops-project: p/g", "argocd-server: a:1", "argocd-app: a", "timeout: ten minutes"}, "`timeout` input: `ten minutes` does not match required regex"},
		{"settle not a duration", "verify", []string{"app: shop", "environment: production", "prometheus-url: http://p:9090", "checks: c.yaml", "settle: soon"}, "`settle` input: `soon` does not match required regex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			run := createPipeline(t, []string{"--list"}, tt.component, tt.inputs...)
			if tt.want == "" {
				if run.Code != 0 || !strings.Contains(run.Output, "render") || !strings.Contains(run.Output, "rollback-on-verify-failure") {
					t.Fatalf("a valid pipeline was not created (exit %d):\n%s", run.Code, run.Output)
				}
				return
			}
			if run.Code == 0 || !strings.Contains(run.Output, tt.want) {
				t.Fatalf("exit %d, want a failure saying %q:\n%s", run.Code, tt.want, run.Output)
			}
			if strings.Contains(run.Output, "starting") {
				t.Errorf("a job started although the pipeline is invalid:\n%s", run.Output)
			}
		})
	}
}

func TestPipeline_JobPrefixNamesEveryJobAndLinksThemUp(t *testing.T) {
	t.Parallel()
	run := createPipeline(t, []string{"--preview"}, "pipeline", append(pipelineInputs, "job-prefix: checkout-")...)
	if run.Code != 0 {
		t.Fatalf("exit %d:\n%s", run.Code, run.Output)
	}
	for _, want := range []string{
		"\ncheckout-render:", "\ncheckout-sync:", "\ncheckout-approve:", "\ncheckout-verify:", "\ncheckout-promote:",
		"\ncheckout-rollback:", "\ncheckout-rollback-on-verify-failure:", "\ncheckout-rollback-on-promote-failure:", "\ncheckout-drift:",
		"\ncheckout-monitor:", "\ncheckout-rollback-on-monitor-failure:", "job: checkout-monitor",
		// Each job continues from the plan of the one before it.
		"dependencies:\n    - checkout-render\n", "dependencies:\n    - checkout-sync\n", "dependencies:\n    - checkout-approve\n",
		"dependencies:\n    - checkout-verify\n", "job: checkout-promote", "job: checkout-verify",
		// The Slack messages link to the prefixed approve job.
		"BG_APPROVE_JOB: checkout-approve",
	} {
		if !strings.Contains(run.Output, want) {
			t.Errorf("the expanded pipeline lacks %q", want)
		}
	}
	if strings.Contains(run.Output, "\nrender:") || strings.Contains(run.Output, "\napprove:") {
		t.Error("a job kept its unprefixed name")
	}
	if t.Failed() {
		t.Logf("expanded pipeline:\n%s", run.Output)
	}
}

func TestPipeline_ScheduledPipelineHasOnlyDoctorAndDrift(t *testing.T) {
	t.Parallel()
	listed := func(run *pipeline.Run) []string {
		var jobs []string
		for _, line := range strings.Split(run.Output, "\n") {
			if f := strings.Fields(line); len(f) > 2 && (f[2] == "on_success" || f[2] == "manual" || f[2] == "on_failure") {
				jobs = append(jobs, f[0])
			}
		}
		return jobs
	}
	push := createPipeline(t, []string{"--list"}, "pipeline", pipelineInputs...)
	schedule := createPipeline(t, []string{"--list", "--variable", "CI_PIPELINE_SOURCE=schedule"}, "pipeline", pipelineInputs...)
	if push.Code != 0 || schedule.Code != 0 {
		t.Fatalf("exit %d and %d:\n%s\n%s", push.Code, schedule.Code, push.Output, schedule.Output)
	}
	// doctor is a manual button on pushes and runs by itself on schedules.
	want := "doctor render sync approve verify promote monitor rollback-on-monitor-failure rollback rollback-on-verify-failure rollback-on-promote-failure"
	if got := strings.Join(listed(push), " "); got != want {
		t.Errorf("a push pipeline has %q, want %q\n%s", got, want, push.Output)
	}
	if got := strings.Join(listed(schedule), " "); got != "doctor drift" {
		t.Errorf("a scheduled pipeline has %q, want only doctor and drift\n%s", got, schedule.Output)
	}
}

// with returns inputs and more; a key of more must not be in inputs, since
// a YAML mapping cannot repeat a key.
func with(inputs []string, more ...string) []string {
	return append(append([]string{}, inputs...), more...)
}

// The project's own .gitlab-ci.yml includes the render component of the
// same commit for its component test; here its two jobs run as the runner
// would, with the freshly built binary standing in for the image.
func TestProjectPipeline_ComponentTestJobsPass(t *testing.T) {
	t.Parallel()
	tl := tools(t)
	// The project's own pipeline file, and the manifests its render job reads.
	files := map[string]string{}
	names := []string{".gitlab-ci.yml"}
	podinfo, err := filepath.Glob(filepath.Join(tl.Root, "internal", "render", "testdata", "input", "podinfo-kustomize", "*"))
	if err != nil || len(podinfo) == 0 {
		t.Fatalf("podinfo manifests: %v", err)
	}
	for _, p := range podinfo {
		rel, _ := filepath.Rel(tl.Root, p)
		names = append(names, filepath.ToSlash(rel))
	}
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(tl.Root, filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = string(data)
	}
	dir := filepath.Join(t.TempDir(), "bluegreen")
	if err := pipeline.NewProject(dir, tl.Root, files); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(t.TempDir(), "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := &pipeline.Runner{Tools: tl, Dir: dir, Home: home}
	run, err := r.Run(ctx, ".gitlab-ci-local", "component-test-render", "component-test-check")
	if err != nil {
		t.Fatal(err)
	}
	jobs := run.Jobs()
	if run.Code != 0 || jobs["component-test-render"] != "PASS" || jobs["component-test-check"] != "PASS" || len(jobs) != 2 {
		t.Fatalf("exit %d, jobs %v:\n%s", run.Code, jobs, run.Output)
	}
	if p, err := run.Plan("component-test-render"); err != nil || p.App != "podinfo" || p.TargetColor != "blue" {
		t.Errorf("render's plan: %+v (%v)", p, err)
	}
}
