package pipeline_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gitlab.com/platform/bluegreen/internal/pipeline"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// newWorld sets up a world whose green release has the metrics of family.
func newWorld(t *testing.T, family string) *pipeline.World {
	t.Helper()
	tl := tools(t)
	s := pipeline.Servers{Cluster: env.Cluster(t), ArgoCD: env.ArgoCD(t)}
	return pipeline.NewWorld(t, s, tl, pipeline.WorldOptions{Green: family})
}

// wholePipeline reports whether the binary has promote and rollback. Until
// both have landed, a release runs only the jobs up to verify.
func wholePipeline(t *testing.T) bool {
	t.Helper()
	if hasMode(t, "promote") && hasMode(t, "rollback") {
		return true
	}
	t.Log("bluegreen lacks promote or rollback: the pipeline runs render, sync, approve and verify only")
	return false
}

// releaseArgs are gitlab-ci-local's arguments for a release pipeline in
// which someone approves.
func releaseArgs(whole bool) []string {
	if whole {
		return []string{"--manual", "approve"}
	}
	return []string{"--manual", "approve", "render", "sync", "approve", "verify"}
}

func flowContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestPipeline_GoodGreenIsApprovedVerifiedAndPromoted(t *testing.T) {
	t.Parallel()
	ctx := flowContext(t)
	w := newWorld(t, "good")
	w.FirstRelease(ctx, "1.0.0")

	promoted := wholePipeline(t)
	run := w.Pipeline(ctx, "1.1.0", releaseArgs(promoted)...)
	stages := []string{"render", "sync", "approve", "verify"}
	if promoted {
		stages = append(stages, "promote", "monitor")
	}
	assertJobs(t, run, passed(stages...))
	if run.Code != 0 {
		t.Fatalf("gitlab-ci-local exited %d\n%s", run.Code, run.Output)
	}

	p, err := run.Plan(stages[len(stages)-1])
	if err != nil {
		t.Fatal(err)
	}
	assertLedger(t, p, stages)
	if p.TargetColor != plan.Green || p.LiveColor != plan.Blue || p.Image != "registry.example.com/shop:1.1.0" {
		t.Errorf("plan: target %s, live %s, image %s", p.TargetColor, p.LiveColor, p.Image)
	}
	if p.Approval == nil || p.Approval.Approver.Login != pipeline.Approver {
		t.Errorf("approval = %+v, want %s", p.Approval, pipeline.Approver)
	}
	if p.Verification == nil || p.Verification.Result != "pass" {
		t.Errorf("verification = %+v, want pass", p.Verification)
	}
	assertArtifact(t, run, "verify", ".bluegreen/verify.junit.xml", `name="error-rate"`)
	assertArtifact(t, run, "verify", ".bluegreen/bluegreen.env", "BG_VERIFY_RESULT=pass")
	assertArtifact(t, run, "render", ".bluegreen/bluegreen.env", "BG_TARGET_COLOR=green")
	head := "verify: passed"
	if promoted {
		head = "Release confirmed"
		assertArtifact(t, run, "monitor", ".bluegreen/monitor.junit.xml", `name="error-rate"`)
		if p.Monitor == nil || p.Monitor.Action != plan.MonitorConfirmed {
			t.Errorf("monitor = %+v, want the release confirmed", p.Monitor)
		}
		assertLive(ctx, t, w, plan.Green)
	} else {
		assertLive(ctx, t, w, plan.Blue)
	}
	assertThread(t, w, stages, head)
	assertNoSecrets(t, w, run)

	// The nightly schedule, last (a scheduled pipeline becomes the "last
	// pipeline" whose manual jobs Play presses), finds git, Argo CD and the
	// cluster in step.
	defer func() {
		if t.Failed() {
			return
		}
		if !hasMode(t, "drift") {
			t.Log("bluegreen has no drift mode yet: the scheduled pipeline is not run")
			return
		}
		nightly := w.Scheduled(ctx)
		assertJobs(t, nightly, passed("doctor", "drift"))
		assertArtifact(t, nightly, "doctor", ".bluegreen/doctor.junit.xml", "<testsuite")
		assertArtifact(t, nightly, "drift", ".bluegreen/drift.junit.xml", "<testsuite")
	}()
	if !promoted {
		return
	}

	// Later, within the rollback window, someone presses play on rollback.
	back := w.Play(ctx, "rollback")
	assertJobs(t, back, passed("rollback"))
	assertLive(ctx, t, w, plan.Blue)
	assertRetired(ctx, t, w, plan.Green)
	if p, err := back.Plan("rollback"); err != nil || p.Traffic == nil || p.Traffic.Live != plan.Blue {
		t.Errorf("rollback's plan: %+v (%v), want traffic on blue", p, err)
	}
	assertThread(t, w, append(stages, "rollback"), "live = blue")
	assertNoSecrets(t, w, back)
}

func TestPipeline_BadGreenFailsVerifyAndIsRolledBack(t *testing.T) {
	t.Parallel()
	ctx := flowContext(t)
	w := newWorld(t, "bad-error-rate")
	w.FirstRelease(ctx, "1.0.0")

	rolledBack := wholePipeline(t)
	run := w.Pipeline(ctx, "1.1.0", releaseArgs(rolledBack)...)
	want := passed("render", "sync", "approve")
	want["verify"] = "FAIL"
	stages := []string{"render", "sync", "approve", "verify"}
	if rolledBack {
		want["rollback-on-verify-failure"] = "PASS"
		stages = append(stages, "rollback")
	}
	assertJobs(t, run, want)
	if run.Code != 1 {
		t.Fatalf("gitlab-ci-local exited %d, want 1 (verify failed)\n%s", run.Code, run.Output)
	}
	p, err := run.Plan("verify")
	if err != nil {
		t.Fatal(err)
	}
	if p.Verification == nil || p.Verification.Result != "fail" {
		t.Errorf("verification = %+v, want fail", p.Verification)
	}
	assertArtifact(t, run, "verify", ".bluegreen/verify.junit.xml", "<failure")
	assertArtifact(t, run, "verify", ".bluegreen/bluegreen.env", "BG_VERIFY_RESULT=fail")

	assertLive(ctx, t, w, plan.Blue)
	head := "verify: failed"
	if rolledBack {
		head = "live = blue"
		assertRetired(ctx, t, w, plan.Green)
		p, err := run.Plan("rollback-on-verify-failure")
		if err != nil {
			t.Fatal(err)
		}
		assertLedger(t, p, stages)
	}
	assertThread(t, w, stages, head)
	assertNoSecrets(t, w, run)
}

// A release that passes verify on QA traffic and fails under the live
// traffic after the switch: monitor rolls it back by itself, through the
// fast path, rollback-on-monitor-failure records it, and the Slack thread
// says so.
func TestPipeline_GreenFailingUnderLiveTrafficIsRolledBackByMonitor(t *testing.T) {
	t.Parallel()
	if !hasMode(t, "monitor") {
		t.Skip("bluegreen has no monitor mode")
	}
	ctx := flowContext(t)
	tl := tools(t)
	w := pipeline.NewWorld(t, pipeline.Servers{Cluster: env.Cluster(t), ArgoCD: env.ArgoCD(t)}, tl,
		pipeline.WorldOptions{Live: &pipeline.Live{GreenIdle: 0.002, GreenLive: 0.08}})
	w.FirstRelease(ctx, "1.0.0")

	run := w.Pipeline(ctx, "1.1.0", releaseArgs(true)...)
	want := passed("render", "sync", "approve", "verify", "promote", "rollback-on-monitor-failure")
	want["monitor"] = "FAIL"
	assertJobs(t, run, want)
	if run.Code != 1 {
		t.Fatalf("gitlab-ci-local exited %d, want 1 (monitor failed)\n%s", run.Code, run.Output)
	}
	assertLive(ctx, t, w, plan.Blue)
	p, err := run.Plan("monitor")
	if err != nil {
		t.Fatal(err)
	}
	if p.Verification == nil || p.Verification.Result != "pass" {
		t.Errorf("verification = %+v, want pass (QA traffic was good)", p.Verification)
	}
	if p.Monitor == nil || p.Monitor.Action != plan.MonitorRolledBack || p.Monitor.Result != "fail" {
		t.Errorf("monitor = %+v, want fail and rolled back", p.Monitor)
	}
	if log := run.JobLog("monitor"); !strings.Contains(log, "rollback: fast path (monitor: fail under real traffic)") {
		t.Errorf("monitor did not roll back through the fast path:\n%s", log)
	}
	assertArtifact(t, run, "monitor", ".bluegreen/monitor.junit.xml", "<failure")
	after, err := run.Plan("rollback-on-monitor-failure")
	if err != nil {
		t.Fatal(err)
	}
	if after.Traffic == nil || after.Traffic.Live != plan.Blue || after.Traffic.PendingReconcile != "" {
		t.Errorf("after rollback-on-monitor-failure: traffic %+v, want blue, reconciled", after.Traffic)
	}
	assertThread(t, w, []string{"render", "sync", "approve", "verify", "promote", "monitor", "rollback"}, "Rolled back by monitor (green was fail under real traffic)")
	assertNoSecrets(t, w, run)
}

func passed(jobs ...string) map[string]string {
	m := map[string]string{}
	for _, j := range jobs {
		m[j] = "PASS"
	}
	return m
}

func assertLive(ctx context.Context, t *testing.T, w *pipeline.World, want plan.Color) {
	t.Helper()
	if live, err := w.LiveColor(ctx); err != nil || live != want {
		t.Fatalf("the active Service selects %q (%v), want %s", live, err, want)
	}
}

func assertRetired(ctx context.Context, t *testing.T, w *pipeline.World, c plan.Color) {
	t.Helper()
	if n, err := w.Replicas(ctx, c); err != nil || n != 0 {
		t.Errorf("%s has %d replicas (%v), want 0: retired", c, n, err)
	}
}

// assertThread checks the release's Slack thread, the second one (the
// first is the first release's): a reply per stage in order, the approve
// job's play link once green is synced, and a top message that says where
// the release ended.
func assertThread(t *testing.T, w *pipeline.World, stages []string, head string) {
	t.Helper()
	threads := pipeline.Threads(w.Slack.Calls())
	if len(threads) != 2 {
		t.Fatalf("%d Slack threads, want 2 (first release, this release)", len(threads))
	}
	th := threads[1]
	defer func() {
		if t.Failed() {
			t.Logf("the thread:\n%s", th)
		}
	}()
	if len(th.Replies) != len(stages) {
		t.Errorf("%d replies, want one per stage %v", len(th.Replies), stages)
	}
	for i, s := range stages {
		if i < len(th.Replies) && !strings.Contains(th.Replies[i], "*"+s+"*") {
			t.Errorf("reply %d is not about %s", i+1, s)
		}
	}
	if len(th.Replies) > 1 && !strings.Contains(th.Replies[1], fmt.Sprintf("/-/jobs/%d|", w.ApproveJobID)) {
		t.Errorf("the sync reply does not link to the approve job %d", w.ApproveJobID)
	}
	if !strings.Contains(th.Head, head) || th.Updates < len(stages)-1 {
		t.Errorf("the top message (updated %d times) does not say %q", th.Updates, head)
	}
}

// assertJobs checks the closing report: exactly the jobs in want ran, with
// those results.
func assertJobs(t *testing.T, run *pipeline.Run, want map[string]string) {
	t.Helper()
	got := run.Jobs()
	for job, res := range want {
		if got[job] != res {
			t.Errorf("job %s: %q, want %s\n%s", job, got[job], res, run.JobLog(job))
		}
	}
	for job, res := range got {
		if _, ok := want[job]; !ok {
			t.Errorf("job %s ran (%s) but should not have", job, res)
		}
	}
	if t.Failed() {
		t.Fatalf("gitlab-ci-local output:\n%s", run.Output)
	}
}

// assertLedger checks that the plan records every stage, in order.
func assertLedger(t *testing.T, p *plan.Plan, stages []string) {
	t.Helper()
	var got []string
	for _, r := range p.Ledger {
		if len(got) == 0 || got[len(got)-1] != string(r.Stage) {
			got = append(got, string(r.Stage))
		}
	}
	if strings.Join(got, ",") != strings.Join(stages, ",") {
		t.Errorf("the plan's ledger holds %v, want %v", got, stages)
	}
}

func assertArtifact(t *testing.T, run *pipeline.Run, job, name, want string) {
	t.Helper()
	data, err := run.Artifact(job, name)
	if err != nil {
		t.Errorf("%s artifacts: %v", job, err)
		return
	}
	if !strings.Contains(string(data), want) {
		t.Errorf("%s's %s lacks %q:\n%s", job, name, want, data)
	}
}

// assertNoSecrets checks that no token reached the pipeline's output, any
// job log or artifact, or any Slack message.
func assertNoSecrets(t *testing.T, w *pipeline.World, run *pipeline.Run) {
	t.Helper()
	var texts []string
	texts = append(texts, run.Output)
	err := filepath.WalkDir(run.State, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err == nil {
			texts = append(texts, p+": "+string(data))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range w.Slack.Calls() {
		texts = append(texts, c.Text+string(c.Blocks)+string(c.Attachments))
	}
	for _, s := range w.Secrets() {
		for _, text := range texts {
			if strings.Contains(text, s) {
				name, _, _ := strings.Cut(text, ": ")
				t.Errorf("a secret leaked into %.200s", name)
			}
		}
	}
}
