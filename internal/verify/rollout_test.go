package verify_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/prom"
	"gitlab.com/platform/bluegreen/internal/verify"
	"gitlab.com/platform/bluegreen/internal/verify/scenario"
)

// A Rollout app's checks tell its sides apart by ReplicaSet hash.
const (
	newHash    = "5d8f9c7b4"
	stableHash = "7c9b6d5f8"
	hashQuery  = `sum(rate(errors{app="{{.App}}",rollouts_pod_template_hash="{{.Hash}}"}[{{.Window}}]))`
)

var rolloutTarget = verify.Target{App: scenario.App, Namespace: scenario.Namespace, Color: plan.Blue, Live: plan.None, Hash: newHash, LiveHash: stableHash}

func TestParseChecks_AcceptsTheHashAsTheDistinguishingVariable(t *testing.T) {
	t.Parallel()
	both := `sum(rate(errors{app="{{.App}}",{{if .Hash}}rollouts_pod_template_hash="{{.Hash}}"{{else}}color="{{.Color}}"{{end}}}[{{.Window}}]))`
	cs, err := verify.ParseChecks("c.yaml", []byte("checks:\n- name: by-hash\n  query: '"+hashQuery+"'\n  max: 1\n- name: either\n  query: '"+both+"'\n  max: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	q, err := cs.Checks[0].RenderSide(verify.Side{App: "shop", Namespace: "prod", Color: plan.Blue, Hash: newHash}, time.Minute)
	if want := `sum(rate(errors{app="shop",rollouts_pod_template_hash="5d8f9c7b4"}[1m]))`; err != nil || q != want {
		t.Errorf("RenderSide = %q, %v; want %q", q, err, want)
	}
	for _, tt := range []struct {
		side verify.Side
		want string
	}{
		{verify.Side{App: "shop", Namespace: "prod", Color: plan.Blue, Hash: stableHash}, `rollouts_pod_template_hash="7c9b6d5f8"`},
		{verify.Side{App: "shop", Namespace: "prod", Color: plan.Green}, `color="green"`},
	} {
		if q, err := cs.Checks[1].RenderSide(tt.side, time.Minute); err != nil || !strings.Contains(q, tt.want) {
			t.Errorf("either, %+v: %q, %v; want %q in it", tt.side, q, err, tt.want)
		}
	}
	// Neither variable: the rule still refuses it.
	_, err = verify.ParseChecks("c.yaml", []byte("checks:\n- name: flat\n  query: 'sum(rate(errors[1m]))'\n  max: 1\n"))
	if err == nil || !strings.Contains(err.Error(), `check "flat": query: does not use {{.Color}} or {{.Hash}}`) {
		t.Errorf("a query with neither: %v", err)
	}
}

// The hash goes into the query escaped, like every other value: even a
// hash Target.Validate would refuse cannot close its label matcher.
func TestRenderSide_EscapesTheHash(t *testing.T) {
	t.Parallel()
	cs, err := verify.ParseChecks("c.yaml", []byte("checks:\n- name: e\n  query: '"+hashQuery+"'\n  max: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	hostile := `x"} or vector(1) #`
	q, err := cs.Checks[0].RenderSide(verify.Side{App: "shop", Namespace: "prod", Color: plan.Blue, Hash: hostile}, time.Minute)
	if err != nil || !strings.Contains(q, `rollouts_pod_template_hash="x\"} or vector(1) #"`) {
		t.Errorf("RenderSide = %q, %v", q, err)
	}
	bad := rolloutTarget
	bad.Hash = hostile
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), `the new ReplicaSet: ReplicaSet hash "x\"} or vector(1) #" is invalid`) {
		t.Errorf("Validate: %v", err)
	}
	bad = rolloutTarget
	bad.LiveHash = "a,b"
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), `the stable ReplicaSet: ReplicaSet hash "a,b"`) {
		t.Errorf("Validate: %v", err)
	}
}

// A check has to tell the sides apart the way the app can: a Rollout's by
// hash, a Deployment's by colour. Every misfit is named, as exit 2, before
// any query.
func TestVerify_RefusesChecksThatDoNotFitTheApp(t *testing.T) {
	t.Parallel()
	colour := `sum(rate(errors{app="{{.App}}",color="{{.Color}}"}[{{.Window}}]))`
	mixed := `sum(rate(errors{color="{{.Color}}",rollouts_pod_template_hash="{{.Hash}}"}[{{.Window}}]))`
	cs, err := verify.ParseChecks("c.yaml", []byte("checks:\n- name: by-colour\n  query: '"+colour+"'\n  max: 1\n- name: by-hash\n  query: '"+hashQuery+"'\n  max: 1\n- name: mixed\n  query: '"+mixed+"'\n  max: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	good, _ := scenario.FamilyNamed("good")
	rec := &recorder{Querier: good.Spec(1).History(benchSince).Memory()}
	st := &verify.Stage{Checks: cs, Prom: rec, Since: benchSince, Out: &bytes.Buffer{}, Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return benchSince }}
	_, err = st.Verify(context.Background(), rolloutTarget)
	if outcome.Code(err) != 2 {
		t.Fatalf("a Rollout: exit %d (%v), want 2", outcome.Code(err), err)
	}
	for _, want := range []string{`check "by-colour": query: uses {{.Color}}, not {{.Hash}}`, `rollouts_pod_template_hash="{{.Hash}}"`, `check "mixed": query: uses {{.Color}} as well as {{.Hash}}`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("a Rollout: %v\nwant %q in it", err, want)
		}
	}
	if strings.Contains(err.Error(), `"by-hash"`) {
		t.Errorf("a Rollout: the hash check is refused: %v", err)
	}
	_, err = st.Verify(context.Background(), target)
	if outcome.Code(err) != 2 || !strings.Contains(err.Error(), `check "by-hash": query: uses {{.Hash}}, not {{.Color}}`) || strings.Contains(err.Error(), `"by-colour"`) {
		t.Errorf("a Deployment: exit %d: %v", outcome.Code(err), err)
	}
	if rec.instant+len(rec.ranges) != 0 {
		t.Errorf("%d queries sent before the checks were refused", rec.instant+len(rec.ranges))
	}
}

func TestTargetOf_ReadsTheRolloutsHashesFromThePlan(t *testing.T) {
	t.Parallel()
	p := &plan.Plan{App: "shop", Namespace: "prod", TargetColor: plan.Blue, LiveColor: plan.None,
		Workload: plan.Workload{Kind: "Rollout", Name: "shop", Rollout: &plan.RolloutHashes{Stable: stableHash, Preview: newHash}}}
	tg, err := verify.TargetOf(p)
	if err != nil || tg.Hash != newHash || tg.LiveHash != stableHash || !tg.HasLive() || tg.Name() != "new "+newHash || tg.LiveName() != "stable "+stableHash {
		t.Errorf("TargetOf = %+v, %v", tg, err)
	}
	p.Workload.Rollout = nil
	if _, err := verify.TargetOf(p); outcome.Code(err) != 2 || !strings.Contains(err.Error(), "workload.rollout is missing") {
		t.Errorf("no hashes: %v", err)
	}
	p.Workload.Rollout = &plan.RolloutHashes{Stable: newHash, Preview: newHash}
	if tg, _ := verify.TargetOf(p); tg.HasLive() || tg.LiveName() != "none" {
		t.Errorf("a first release (one ReplicaSet) has nothing to compare with: %+v", tg)
	}
}

// byHash answers a Rollout's queries from a colour scenario: the new
// ReplicaSet is its green, the stable one its blue. It records the queries.
type byHash struct {
	verify.Querier
	mu   sync.Mutex
	sent []string
}

func (b *byHash) rewrite(q string) (string, error) {
	b.mu.Lock()
	b.sent = append(b.sent, q)
	b.mu.Unlock()
	if strings.Contains(q, "color=") {
		return "", errors.New("a colour in a Rollout's query: " + q)
	}
	r := strings.NewReplacer(`rollouts_pod_template_hash="`+newHash+`"`, `color="green"`, `rollouts_pod_template_hash="`+stableHash+`"`, `color="blue"`)
	return r.Replace(q), nil
}

func (b *byHash) Query(ctx context.Context, q string, t time.Time) (prom.Result, error) {
	q, err := b.rewrite(q)
	if err != nil {
		return prom.Result{}, err
	}
	return b.Querier.Query(ctx, q, t)
}

func (b *byHash) QueryRange(ctx context.Context, q string, r prom.Range) (prom.Result, error) {
	q, err := b.rewrite(q)
	if err != nil {
		return prom.Result{}, err
	}
	return b.Querier.QueryRange(ctx, q, r)
}

// The engine judges a Rollout's new ReplicaSet against its stable one,
// every query sent with the side's hash.
func TestVerify_ARolloutIsJudgedByReplicaSetHash(t *testing.T) {
	t.Parallel()
	yaml := strings.ReplaceAll(scenario.ChecksYAML, `color="{{.Color}}"`, `rollouts_pod_template_hash="{{.Hash}}"`)
	cs, err := verify.ParseChecks("checks.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		family string
		want   verify.Verdict
	}{{"good", verify.Pass}, {"bad-error-rate", verify.Fail}, {"latency-regression", verify.Fail}} {
		f, _ := scenario.FamilyNamed(tt.family)
		src := &byHash{Querier: f.Spec(1).History(benchSince).Memory()}
		clock := &fakeClock{now: benchSince.Add(replayed)}
		var out bytes.Buffer
		st := &verify.Stage{Checks: cs, Prom: src, Source: "memory", Since: benchSince, Out: &out, Log: slog.New(slog.DiscardHandler), Now: clock.Now, Wait: clock.Wait}
		rep, err := st.Verify(context.Background(), rolloutTarget)
		if err != nil || rep == nil || rep.Verdict != tt.want {
			t.Errorf("%s: %+v, %v; want %s\n%s", tt.family, rep, err, tt.want, out.String())
			continue
		}
		joined := strings.Join(src.sent, "\n")
		for _, h := range []string{newHash, stableHash} {
			if !strings.Contains(joined, `rollouts_pod_template_hash="`+h+`"`) {
				t.Errorf("%s: no query for ReplicaSet %s:\n%s", tt.family, h, joined)
			}
		}
		rep.PrintTable(&out)
		if !strings.Contains(out.String(), "NEW "+strings.ToUpper(newHash)) || !strings.Contains(out.String(), "new "+newHash+" (target) against stable "+stableHash+" (live)") {
			t.Errorf("%s: the table does not name the ReplicaSets:\n%s", tt.family, out.String())
		}
	}
}
