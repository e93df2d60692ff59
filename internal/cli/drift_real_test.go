package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"

	"gitlab.com/platform/bluegreen/internal/drift"
	"gitlab.com/platform/bluegreen/internal/gitlab/gitlabtest"
	"gitlab.com/platform/bluegreen/internal/kube"
	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/slack/slackfake"
	"gitlab.com/platform/bluegreen/internal/testenv"
)

// The tests below break a real environment (cluster, Argo CD, GitOps repo
// behind the GitLab fake) on purpose, one way at a time, and check that
// `bluegreen drift` catches each with the right severity. Jobs run as a
// ServiceAccount bound only to the shipped Role.

// driftWorld is a world for drift (whose GitLab fake's repository serves
// the raw files drift reads the GitOps folder through).
func driftWorld(t *testing.T) *world {
	t.Helper()
	return newWorld(t)
}

// promoted is a drift world with green live (promoted through git) and
// blue warm for its rollback window.
func promoted(t *testing.T, manifests string) *world {
	t.Helper()
	w := driftWorld(t)
	for i, image := range []string{"registry.example.com/shop:1", "registry.example.com/shop:2"} {
		if i > 0 {
			// Kubernetes stamps objects to the second: two colours rolled
			// out in the same second cannot be ordered, and drift then
			// names no newest colour. Releases are never that close
			// outside tests; keep these a second apart too.
			time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
		}
		if code, out, errOut := w.release(manifests, image, map[string]string{"CI_PIPELINE_ID": "10", "CI_PROJECT_PATH": "shop/web"}); code != 0 {
			t.Fatalf("release %d: exit %d\n%s\n%s", i+1, code, out, errOut)
		}
	}
	return w
}

// drift runs `bluegreen drift` in the world and returns its exit code,
// output and report.
func (w *world) drift(t *testing.T, extra map[string]string, args ...string) (int, string, *drift.Report) {
	t.Helper()
	env := map[string]string{"BG_DRIFT_ISSUES_PROJECT": "none"}
	for k, v := range extra {
		env[k] = v
	}
	_ = os.Remove(filepath.Join(w.out, drift.ReportFile))
	start := time.Now()
	code, out, errOut := w.run("drift", env, args...)
	t.Logf("drift %v: exit %d in %s\n%s%s", args, code, time.Since(start).Round(time.Millisecond), out, errOut)
	b, err := os.ReadFile(filepath.Join(w.out, drift.ReportFile))
	if err != nil {
		t.Fatalf("no report: %v", err)
	}
	var r drift.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return code, out + errOut, &r
}

// findings returns the findings of check (for app shop) of severity sev.
func findings(t *testing.T, r *drift.Report, check string, sev drift.Severity) []drift.Finding {
	t.Helper()
	for _, a := range r.Apps {
		for _, c := range a.Checks {
			if c.Name == check {
				var out []drift.Finding
				for _, f := range c.Findings {
					if f.Severity == sev {
						out = append(out, f)
					}
				}
				return out
			}
		}
	}
	t.Fatalf("no check %s in the report", check)
	return nil
}

// wantFinding fails t unless check has a finding of sev and class (on
// object, when not empty).
func wantFinding(t *testing.T, r *drift.Report, check string, sev drift.Severity, class, object string) drift.Finding {
	t.Helper()
	for _, f := range findings(t, r, check, sev) {
		if f.Class == class && (object == "" || f.Object == object) {
			return f
		}
	}
	b, _ := json.MarshalIndent(r.Apps, "", "  ")
	t.Fatalf("%s: no %s finding of class %q on %q in:\n%s", check, sev, class, object, b)
	return drift.Finding{}
}

func (w *world) patch(t *testing.T, kind, name string, pt types.PatchType, body string) {
	t.Helper()
	ctx, c, opts := context.Background(), w.cluster.Client(), metav1.PatchOptions{FieldManager: "kubectl-edit"}
	var err error
	switch kind {
	case "Deployment":
		_, err = c.AppsV1().Deployments(w.ns).Patch(ctx, name, pt, []byte(body), opts)
	case "Service":
		_, err = c.CoreV1().Services(w.ns).Patch(ctx, name, pt, []byte(body), opts)
	case "Role":
		_, err = c.RbacV1().Roles(w.ns).Patch(ctx, name, pt, []byte(body), opts)
	default:
		t.Fatalf("patch: kind %s", kind)
	}
	if err != nil {
		t.Fatalf("patch %s/%s: %v", kind, name, err)
	}
}

func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not before the deadline: %s", what, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitRolledOut waits until the Deployment runs its newest template on
// exactly its replicas.
func (w *world) waitRolledOut(t *testing.T, name string) {
	t.Helper()
	waitFor(t, "rollout of "+name, func() (bool, string) {
		d, err := w.cluster.Client().AppsV1().Deployments(w.ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		want, st := ptr.Deref(d.Spec.Replicas, 1), d.Status
		return st.ObservedGeneration >= d.Generation && st.UpdatedReplicas == want && st.AvailableReplicas == want && st.Replicas == want, fmt.Sprintf("%+v", st)
	})
}

// waitEndpoints waits until svc's EndpointSlices hold only color's pods.
func (w *world) waitEndpoints(t *testing.T, svc string, color plan.Color) {
	t.Helper()
	waitFor(t, svc+" endpoints on "+string(color), func() (bool, string) {
		ctx := context.Background()
		pods, err := w.cluster.Client().CoreV1().Pods(w.ns).List(ctx, metav1.ListOptions{LabelSelector: kube.ColorLabel + "=" + string(color)})
		if err != nil {
			return false, err.Error()
		}
		want := map[string]bool{}
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil && isReady(p) {
				want[p.Status.PodIP] = true
			}
		}
		slices, err := w.cluster.Client().DiscoveryV1().EndpointSlices(w.ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc})
		if err != nil {
			return false, err.Error()
		}
		got := map[string]bool{}
		for _, s := range slices.Items {
			for _, e := range s.Endpoints {
				got[e.Addresses[0]] = true
			}
		}
		return len(want) > 0 && fmt.Sprint(got) == fmt.Sprint(want), fmt.Sprintf("endpoints %v, %s pods %v", got, color, want)
	})
}

func TestDriftReal_CleanStaysCleanAndTheIssueLivesWithoutDuplicates(t *testing.T) {
	t.Parallel()
	w := promoted(t, shopManifests(t))
	if code, out, errOut := w.run("promote", nil); code != 0 {
		t.Fatalf("promote: exit %d\n%s\n%s", code, out, errOut)
	}
	issues := w.gitlab.Issues("platform/shop", gitlabtest.IssueCreate, gitlabtest.IssueEdit, gitlabtest.IssueNote)
	slk := slackfake.New(t, "xoxb-drift-bot-token")
	const leak = "s3cr3t-debug-token-0042"
	env := map[string]string{
		"BG_DRIFT_ISSUES_PROJECT": "platform/shop", "CI_JOB_URL": "https://gitlab.example.com/shop/web/-/jobs/77",
		"BG_SLACK_TOKEN": "xoxb-drift-bot-token", "BG_SLACK_CHANNEL": "#deploys", "BG_SLACK_API_URL": slk.APIURL(),
	}
	var outputs []string
	step := func(name string, wantCode int, wantAction string, wantPosts int) *drift.Report {
		t.Helper()
		code, out, r := w.drift(t, env)
		outputs = append(outputs, out)
		got := "none"
		if r.Issue != nil {
			got = r.Issue.Action
		}
		if code != wantCode || got != wantAction || len(slk.Calls()) != wantPosts {
			t.Fatalf("%s: exit %d, issue %s, %d Slack posts; want %d, %s, %d", name, code, got, len(slk.Calls()), wantCode, wantAction, wantPosts)
		}
		return r
	}

	r := step("clean", 0, "none", 0)
	wantFinding(t, r, drift.CheckIdle, drift.Expected, "warm", "Deployment/shop-blue")

	w.patch(t, "Deployment", "shop-green", types.JSONPatchType, `[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"registry.example.com/shop:hotfix"}]`)
	w.waitRolledOut(t, "shop-green")
	r = step("image changed by hand", 1, "created", 1)
	f := wantFinding(t, r, drift.CheckGit, drift.Dangerous, "image", "Deployment/shop-green")
	if f.Git != "registry.example.com/shop:2" || f.Live != "registry.example.com/shop:hotfix" {
		t.Errorf("image finding = %+v", f)
	}
	wantFinding(t, r, drift.CheckArgoCD, drift.Dangerous, "out-of-sync", "Deployment/shop-green")
	step("same drift again", 1, "unchanged", 1)

	w.patch(t, "Deployment", "shop-green", types.JSONPatchType, `[{"op":"add","path":"/spec/template/spec/containers/0/env","value":[{"name":"DEBUG","value":"`+leak+`"}]}]`)
	w.waitRolledOut(t, "shop-green")
	r = step("env added by hand", 1, "updated", 2)
	wantFinding(t, r, drift.CheckGit, drift.Dangerous, "env", "Deployment/shop-green")

	w.patch(t, "Deployment", "shop-green", types.JSONPatchType, `[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"registry.example.com/shop:2"},{"op":"remove","path":"/spec/template/spec/containers/0/env"}]`)
	w.waitRolledOut(t, "shop-green")
	step("restored", 0, "closed", 3)
	step("clean again", 0, "unchanged", 3)

	w.patch(t, "Deployment", "shop-green", types.JSONPatchType, `[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"registry.example.com/shop:hotfix"}]`)
	w.waitRolledOut(t, "shop-green")
	step("drift is back", 1, "reopened", 4)

	all := issues.All()
	if len(all) != 1 {
		t.Fatalf("%d issues, want exactly one for the environment: %+v", len(all), all)
	}
	is := all[0]
	if is.Title != "bluegreen drift: production" || is.State != "opened" || len(is.Labels) != 1 || is.Labels[0] != "bluegreen-drift" {
		t.Errorf("issue = %+v", is)
	}
	if len(is.Notes) != 3 || !strings.Contains(is.Notes[0], "New: **git-vs-live**") || !strings.Contains(is.Notes[1], "cleared") || !strings.Contains(is.Notes[2], "back") {
		t.Errorf("notes = %q, want: changed (with the new finding), cleared, back", is.Notes)
	}
	if !strings.Contains(is.Description, "spec.template.spec.containers[name=web].image") || strings.Contains(is.Description, "/-/jobs/77") {
		t.Errorf("description, want the finding and no job link (it would change every run):\n%s", is.Description)
	}
	texts := ""
	for i, c := range slk.Calls() {
		if c.Method != slackfake.PostMessage || c.ThreadTS != "" {
			t.Errorf("slack call %d = %s in thread %q, want a top-level post", i, c.Method, c.ThreadTS)
		}
		texts += c.Text + "\n"
	}
	for _, want := range []string{"Drift in production: 2 dangerous", "Drift in production changed", "Drift in production cleared", "/-/issues/1|issue"} {
		if !strings.Contains(texts, want) {
			t.Errorf("Slack messages lack %q:\n%s", want, texts)
		}
	}
	// The env value set by hand is a secret for all drift knows: it must be
	// nowhere in what drift writes.
	report, _ := os.ReadFile(filepath.Join(w.out, drift.ReportFile))
	junit, _ := os.ReadFile(filepath.Join(w.out, drift.JUnitFile))
	var notes string
	for _, i := range issues.All() {
		notes += i.Description + strings.Join(i.Notes, "\n")
	}
	for name, text := range map[string]string{"log": strings.Join(outputs, "\n"), "drift.json": string(report), "junit": string(junit), "issue": notes, "slack": texts} {
		if strings.Contains(text, leak) || strings.Contains(text, "xoxb-drift-bot-token") || strings.Contains(text, gitlabToken) {
			t.Errorf("%s leaks a secret", name)
		}
	}
}

func TestDriftReal_BrokenInvariantsAreCaughtWithTheirSeverity(t *testing.T) {
	t.Parallel()
	w := promoted(t, shopManifests(t))
	if code, out, errOut := w.run("promote", nil); code != 0 {
		t.Fatalf("promote: exit %d\n%s\n%s", code, out, errOut)
	}
	ctx, c := context.Background(), w.cluster.Client()
	clean := func(name string) {
		t.Helper()
		if code, out, _ := w.drift(t, nil); code != 0 {
			t.Fatalf("%s: exit %d, want 0 (clean)\n%s", name, code, out)
		}
	}
	clean("promoted")

	t.Run("active selector switched by hand", func(t *testing.T) {
		w.patch(t, "Service", "shop", types.MergePatchType, `{"spec":{"selector":{"bluegreen.dev/color":"blue"}}}`)
		code, _, r := w.drift(t, nil)
		if code != 1 {
			t.Fatalf("exit %d, want 1", code)
		}
		wantFinding(t, r, drift.CheckActive, drift.Dangerous, "not-recorded", "Service/shop")
		wantFinding(t, r, drift.CheckGit, drift.Dangerous, "traffic", "Service/shop")
		w.patch(t, "Service", "shop", types.MergePatchType, `{"spec":{"selector":{"bluegreen.dev/color":"green"}}}`)
		w.waitEndpoints(t, "shop", plan.Green)
		clean("selector restored")
	})
	t.Run("live pods not ready", func(t *testing.T) {
		w.patch(t, "Deployment", "shop-green", types.MergePatchType, `{"spec":{"template":{"spec":{"nodeSelector":{"bluegreen.dev/test":"no-such-node"}}}}}`)
		waitFor(t, "a Pending green pod", func() (bool, string) {
			pods, err := c.CoreV1().Pods(w.ns).List(ctx, metav1.ListOptions{LabelSelector: kube.ColorLabel + "=green"})
			if err != nil {
				return false, err.Error()
			}
			for _, p := range pods.Items {
				if p.Status.Phase == corev1.PodPending {
					return true, ""
				}
			}
			return false, fmt.Sprintf("%d pods, none Pending", len(pods.Items))
		})
		code, _, r := w.drift(t, nil)
		if code != 1 {
			t.Fatalf("exit %d, want 1", code)
		}
		wantFinding(t, r, drift.CheckLiveReady, drift.Dangerous, "not-ready", "Deployment/shop-green")
		wantFinding(t, r, drift.CheckGit, drift.Dangerous, "field", "Deployment/shop-green") // the nodeSelector: set in the cluster, not in git
		w.patch(t, "Deployment", "shop-green", types.JSONPatchType, `[{"op":"remove","path":"/spec/template/spec/nodeSelector"}]`)
		w.waitRolledOut(t, "shop-green")
		w.waitEndpoints(t, "shop", plan.Green)
		clean("pods ready again")
	})
	t.Run("preview on the older colour", func(t *testing.T) {
		w.patch(t, "Service", "shop-preview", types.MergePatchType, `{"spec":{"selector":{"bluegreen.dev/color":"blue"}}}`)
		w.waitEndpoints(t, "shop-preview", plan.Blue)
		code, _, r := w.drift(t, nil)
		if code != 1 {
			t.Fatalf("exit %d, want 1", code)
		}
		wantFinding(t, r, drift.CheckPreview, drift.Dangerous, "older-colour", "Service/shop-preview")
		w.patch(t, "Service", "shop-preview", types.MergePatchType, `{"spec":{"selector":{"bluegreen.dev/color":"green"}}}`)
		w.waitEndpoints(t, "shop-preview", plan.Green)
		clean("preview restored")
	})
	t.Run("orphaned coloured config", func(t *testing.T) {
		labels := map[string]string{"bluegreen.dev/app": "shop", kube.ColorLabel: "green"}
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "shop-config-green-0123456789", Labels: labels}, Data: map[string]string{"currency": "USD"}}
		if _, err := c.CoreV1().ConfigMaps(w.ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		code, _, r := w.drift(t, nil)
		if code != 0 {
			t.Fatalf("an orphaned ConfigMap: exit %d, want 0 (benign)", code)
		}
		wantFinding(t, r, drift.CheckOrphans, drift.Benign, "orphan", "ConfigMap/shop-config-green-0123456789")
		sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "shop-secret-blue-abcdef0123", Labels: map[string]string{"bluegreen.dev/app": "shop", kube.ColorLabel: "blue"}},
			StringData: map[string]string{"token": "old"}}
		if _, err := c.CoreV1().Secrets(w.ns).Create(ctx, sec, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		code, _, r = w.drift(t, nil)
		if code != 1 {
			t.Fatalf("an orphaned Secret: exit %d, want 1 (dangerous)", code)
		}
		wantFinding(t, r, drift.CheckOrphans, drift.Dangerous, "orphan", "Secret/shop-secret-blue-abcdef0123")
		_ = c.CoreV1().ConfigMaps(w.ns).Delete(ctx, cm.Name, metav1.DeleteOptions{})
		_ = c.CoreV1().Secrets(w.ns).Delete(ctx, sec.Name, metav1.DeleteOptions{})
		clean("orphans deleted")
	})
	t.Run("pending reconcile mark", func(t *testing.T) {
		w.patch(t, "Service", "shop", types.MergePatchType, `{"metadata":{"annotations":{"bluegreen.dev/pending-reconcile":"since 2026-11-26T10:00:00Z: GitLab unreachable"}}}`)
		code, _, r := w.drift(t, nil)
		if code != 1 {
			t.Fatalf("exit %d, want 1", code)
		}
		if f := wantFinding(t, r, drift.CheckPending, drift.Dangerous, "pending", "Service/shop"); f.Fix != drift.FixReconcile {
			t.Errorf("pending finding = %+v, want it fixable by reconcile", f)
		}
		w.patch(t, "Service", "shop", types.MergePatchType, `{"metadata":{"annotations":{"bluegreen.dev/pending-reconcile":null}}}`)
	})
	t.Run("idle colour past its window, then --fix", func(t *testing.T) {
		past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
		w.patch(t, "Service", "shop", types.MergePatchType, `{"metadata":{"annotations":{"bluegreen.dev/idle-until":"`+past+`"}}}`)
		code, _, r := w.drift(t, nil)
		if code != 1 {
			t.Fatalf("exit %d, want 1", code)
		}
		if f := wantFinding(t, r, drift.CheckIdle, drift.Dangerous, "past-window", "Deployment/shop-blue"); f.Fix != drift.FixScaleDown {
			t.Errorf("idle finding = %+v, want it fixable by scale-down", f)
		}
		head := gitHead(t, w)
		code, out, r := w.drift(t, nil, "--fix")
		if code != 0 || len(r.Fixes) != 1 || r.Fixes[0].Action != drift.FixScaleDown || r.Fixes[0].Status != "done" {
			t.Fatalf("--fix: exit %d, fixes %+v\n%s", code, r.Fixes, out)
		}
		if gitHead(t, w) == head || !strings.Contains(gitShow(t, w, "HEAD:production/shop/blue/deployment-shop-blue.yaml"), "replicas: 0") {
			t.Errorf("git does not scale blue to zero")
		}
		if !strings.Contains(gitShow(t, w, "HEAD:production/shop/green/deployment-shop-green.yaml"), "replicas: 2") {
			t.Errorf("the live colour's file changed")
		}
		if n := w.replicas(t, "shop-blue"); n != 0 {
			t.Errorf("shop-blue has %d replicas after --fix, want 0", n)
		}
		if n := w.replicas(t, "shop-green"); n != 2 {
			t.Errorf("shop-green (live) has %d replicas after --fix, want 2", n)
		}
	})
	t.Run("every app found by label", func(t *testing.T) {
		// As the drift component runs it with app: "" and argocd-app: "",
		// each app's Application comes from Argo CD's tracking annotation.
		code, out, r := w.drift(t, map[string]string{"BG_APP": "", "BG_ARGOCD_APP": ""})
		if code != 0 || len(r.Apps) != 1 || r.Apps[0].App != "shop" || r.Apps[0].Live != plan.Green {
			t.Fatalf("exit %d, apps %+v\n%s", code, r.Apps, out)
		}
		if got := r.Apps[0].ArgoCDApp; got != w.app {
			t.Errorf("Argo CD Application %q, want %q from the tracking annotation", got, w.app)
		}
	})
}

func TestDriftReal_GitAgainstLiveClassesEachDifference(t *testing.T) {
	t.Parallel()
	w := promoted(t, filepath.Join("..", "drift", "testdata", "shop-full"))
	// Promote without git: git keeps saying blue, the cluster says green,
	// as the switch recorded. bluegreen expects exactly that.
	if code, out, errOut := w.run("promote", map[string]string{"BG_DIRECT": "true"}); code != 0 {
		t.Fatalf("promote --direct: exit %d\n%s\n%s", code, out, errOut)
	}
	ctx, c := context.Background(), w.cluster.Client()
	// An HPA (outside git: the test cluster has no metrics API, and Argo
	// CD would call it Degraded) owns shop-green's replicas, and scaled it.
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "shop-green"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "shop-green"},
			MinReplicas:    ptr.To(int32(2)), MaxReplicas: 4,
		},
	}
	if _, err := c.AutoscalingV2().HorizontalPodAutoscalers(w.ns).Create(ctx, hpa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w.patch(t, "Deployment", "shop-green", types.MergePatchType, `{"metadata":{"annotations":{"example.com/owner":"team-a"}},"spec":{"replicas":3}}`)
	w.waitRolledOut(t, "shop-green")

	code, out, r := w.drift(t, nil)
	if code != 0 {
		t.Fatalf("expected and benign differences only: exit %d\n%s", code, out)
	}
	if f := wantFinding(t, r, drift.CheckGit, drift.Expected, "selector", "Service/shop"); f.Git != "blue" || f.Live != "green" {
		t.Errorf("selector finding = %+v", f)
	}
	wantFinding(t, r, drift.CheckGit, drift.Expected, "replicas", "Deployment/shop-green")
	wantFinding(t, r, drift.CheckGit, drift.Expected, "argocd", "Deployment/shop-green")
	wantFinding(t, r, drift.CheckGit, drift.Expected, "switch", "Service/shop")
	benign := wantFinding(t, r, drift.CheckGit, drift.Benign, "defaults", "Deployment/shop-green")
	if !strings.Contains(strings.Join(benign.Paths, " "), `metadata.annotations["example.com/owner"]`) || !strings.Contains(strings.Join(benign.Paths, " "), "spec.template.spec.dnsPolicy") {
		t.Errorf("benign paths = %q, want the added annotation and the server defaults", benign.Paths)
	}
	wantFinding(t, r, drift.CheckArgoCD, drift.Expected, "out-of-sync", "Service/shop")
	wantFinding(t, r, drift.CheckArgoCD, drift.Expected, "out-of-sync", "Deployment/shop-green")

	// Now the dangerous ones, all at once.
	const leak = "s3cr3t-value-in-env-7781"
	w.patch(t, "Deployment", "shop-green", types.JSONPatchType, `[
	  {"op":"replace","path":"/spec/template/spec/containers/0/image","value":"registry.example.com/shop:hotfix"},
	  {"op":"add","path":"/spec/template/spec/containers/0/env/-","value":{"name":"DEBUG_TOKEN","value":"`+leak+`"}},
	  {"op":"replace","path":"/spec/template/spec/containers/0/resources/requests/cpu","value":"2"}]`)
	w.patch(t, "Role", "shop-reader", types.MergePatchType, `{"rules":[{"apiGroups":[""],"resources":["configmaps","secrets"],"verbs":["get","list"]}]}`)
	if err := c.PolicyV1().PodDisruptionBudgets(w.ns).Delete(ctx, "shop-green", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	extra := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "shop-canary", Labels: map[string]string{"bluegreen.dev/app": "shop"}},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(0)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "shop-canary"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "shop-canary"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "registry.example.com/shop:canary"}}},
			},
		},
	}
	if _, err := c.AppsV1().Deployments(w.ns).Create(ctx, extra, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w.waitRolledOut(t, "shop-green")

	code, out, r = w.drift(t, nil)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	for _, want := range []struct{ class, object string }{
		{"image", "Deployment/shop-green"},
		{"env", "Deployment/shop-green"},
		{"resources", "Deployment/shop-green"},
		{"rbac", "Role/shop-reader"},
		{"missing", "PodDisruptionBudget/shop-green"},
		{"extra", "Deployment/shop-canary"},
	} {
		wantFinding(t, r, drift.CheckGit, drift.Dangerous, want.class, want.object)
	}
	wantFinding(t, r, drift.CheckArgoCD, drift.Dangerous, "out-of-sync", "Deployment/shop-green")
	report, _ := os.ReadFile(filepath.Join(w.out, drift.ReportFile))
	junit, _ := os.ReadFile(filepath.Join(w.out, drift.JUnitFile))
	for name, text := range map[string]string{"log": out, "drift.json": string(report), "junit": string(junit)} {
		if strings.Contains(text, leak) || strings.Contains(text, "not-a-real-key") {
			t.Errorf("%s shows an env value or Secret data", name)
		}
	}
	if !strings.Contains(string(junit), `name="shop: git-vs-live"`) || !regexp.MustCompile(`<failure [^>]*message="`).Match(junit) {
		t.Errorf("junit has no failing git-vs-live testcase:\n%s", junit)
	}
}

func TestDriftReal_FixReconcilesAFastRollbackThenFlagsSelfHeal(t *testing.T) {
	t.Parallel()
	w := promoted(t, shopManifests(t))
	if code, out, errOut := w.run("promote", nil); code != 0 {
		t.Fatalf("promote: exit %d\n%s\n%s", code, out, errOut)
	}
	// Argo CD is down: the rollback takes the fast path and leaves a mark.
	if code, out, errOut := w.run("rollback", map[string]string{"BG_ARGOCD_SERVER": "127.0.0.1:1"}); code != 0 || !strings.Contains(out, "fast path") {
		t.Fatalf("fast rollback: exit %d\n%s\n%s", code, out, errOut)
	}

	// GitLab cannot be reached: the checks that need git error (exit 3);
	// the invariants still run.
	code, out, r := w.drift(t, map[string]string{"BG_GITLAB_API_URL": "http://127.0.0.1:1/api/v4", "BG_GITLAB_RETRIES": "1"})
	if code != 3 || r.Complete {
		t.Fatalf("GitLab down: exit %d, complete %v; want 3, incomplete\n%s", code, r.Complete, out)
	}
	wantFinding(t, r, drift.CheckPending, drift.Dangerous, "pending", "Service/shop")
	junit, _ := os.ReadFile(filepath.Join(w.out, drift.JUnitFile))
	if !regexp.MustCompile(`<error [^>]*message="`).Match(junit) {
		t.Errorf("junit has no error testcase:\n%s", junit)
	}

	code, out, r = w.drift(t, nil)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	wantFinding(t, r, drift.CheckPending, drift.Dangerous, "pending", "Service/shop")
	wantFinding(t, r, drift.CheckIdle, drift.Expected, "pending", "Deployment/shop-green")
	wantFinding(t, r, drift.CheckGit, drift.Expected, "selector", "Service/shop")
	if len(findings(t, r, drift.CheckGit, drift.Dangerous)) != 0 {
		t.Errorf("git-vs-live calls the fast rollback dangerous: %+v", findings(t, r, drift.CheckGit, drift.Dangerous))
	}

	code, out, r = w.drift(t, nil, "--fix")
	if code != 0 || len(r.Fixes) != 1 || r.Fixes[0].Action != drift.FixReconcile || r.Fixes[0].Status != "done" {
		t.Fatalf("--fix: exit %d, fixes %+v\n%s", code, r.Fixes, out)
	}
	svc := gitShow(t, w, "HEAD:production/shop/shared/service-shop.yaml")
	if !strings.Contains(svc, "bluegreen.dev/color: blue") || !strings.Contains(svc, "bluegreen.dev/live-color: blue") || strings.Contains(svc, "pending-reconcile") {
		t.Errorf("git's active Service after --fix:\n%s", svc)
	}
	if !strings.Contains(gitShow(t, w, "HEAD:production/shop/green/deployment-shop-green.yaml"), "replicas: 0") {
		t.Error("git does not retire green")
	}
	if n := w.replicas(t, "shop-green"); n != 0 {
		t.Errorf("shop-green has %d replicas, want 0", n)
	}
	live, err := w.cluster.Client().CoreV1().Services(w.ns).Get(context.Background(), "shop", metav1.GetOptions{})
	if err != nil || live.Annotations[kube.AnnoPendingReconcile] != "" || live.Spec.Selector[kube.ColorLabel] != "blue" {
		t.Fatalf("live Service after --fix: %v %v", live.Annotations, err)
	}

	// Someone turns on selfHeal: the next fast rollback would be undone.
	dyn, err := dynamic.NewForConfig(w.cluster.Config())
	if err != nil {
		t.Fatal(err)
	}
	apps := dyn.Resource(schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}).Namespace(testenv.ArgoCDNamespace)
	if _, err := apps.Patch(context.Background(), w.app, types.MergePatchType, []byte(`{"spec":{"syncPolicy":{"automated":{"selfHeal":true,"prune":false}}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	code, out, r = w.drift(t, nil)
	if code != 1 {
		t.Fatalf("selfHeal on: exit %d, want 1\n%s", code, out)
	}
	wantFinding(t, r, drift.CheckArgoCD, drift.Dangerous, "self-heal", "")
}
