package argocd

import (
	"strings"
	"testing"
)

func TestVerdict_AcceptsALaterRevisionOnlyWhenSame(t *testing.T) {
	t.Parallel()
	ours, later := "aaaa", "bbbb"
	done := Status{Sync: Synced, Revision: later, Health: Healthy, Operation: &Operation{Phase: PhaseSucceeded, Revision: ours}}
	tests := []struct {
		name string
		st   Status
		same func(string) bool
		want bool
	}{
		{"at our revision", Status{Sync: Synced, Revision: ours, Health: Healthy}, nil, true},
		{"later revision, no check", done, nil, false},
		{"later revision with the same content", done, func(r string) bool { return r == later }, true},
		{"later revision with other content", done, func(string) bool { return false }, false},
		{"same content but our sync still running", Status{Sync: Synced, Revision: later, Health: Healthy, Operation: &Operation{Phase: PhaseRunning, Revision: ours}}, func(string) bool { return true }, false},
		{"same content but OutOfSync", Status{Sync: OutOfSync, Revision: later, Health: Healthy}, func(string) bool { return true }, false},
	}
	for _, tt := range tests {
		got, err := verdict(tt.st, ours, tt.same, nil)
		if err != nil || got != tt.want {
			t.Errorf("%s: got %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
}

func TestVerdict_ObjectsThatRequirePruningButWereNotRemovedEndTheWait(t *testing.T) {
	t.Parallel()
	rev := "aaaa"
	hpa := Resource{Group: "autoscaling", Kind: "HorizontalPodAutoscaler", Namespace: "shop", Name: "web-green", Sync: OutOfSync, RequiresPruning: true}
	byHand := Resource{Kind: "ConfigMap", Namespace: "shop", Name: "by-hand", Sync: OutOfSync, RequiresPruning: true}
	web := Resource{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web-green", Sync: Synced, Health: Healthy}
	synced := &Operation{Phase: PhaseSucceeded, Revision: rev}
	tests := []struct {
		name      string
		st        Status
		pruned    []ResourceRef
		wantStray []string // nil: keep waiting, no error
	}{
		{"being pruned: wait", Status{Sync: OutOfSync, Revision: rev, Health: Healthy, Operation: synced, Resources: []Resource{web, hpa}},
			[]ResourceRef{{Group: "autoscaling", Kind: "HorizontalPodAutoscaler", Name: "web-green"}}, nil},
		// A state read before the prune took effect (argocd-server's cache
		// lags the request) still lists what bluegreen prunes: no verdict.
		{"a stray, but bluegreen's own prune not yet shown: wait", Status{Sync: OutOfSync, Revision: rev, Health: Healthy, Operation: synced, Resources: []Resource{web, hpa, byHand}},
			[]ResourceRef{{Group: "autoscaling", Kind: "HorizontalPodAutoscaler", Namespace: "shop", Name: "web-green"}}, nil},
		{"not removed by the change", Status{Sync: OutOfSync, Revision: rev, Health: Healthy, Operation: synced, Resources: []Resource{web, byHand}},
			[]ResourceRef{{Group: "autoscaling", Kind: "HorizontalPodAutoscaler", Namespace: "shop", Name: "web-green"}}, []string{"ConfigMap shop/by-hand"}},
		{"another namespace is another object", Status{Sync: OutOfSync, Revision: rev, Health: Healthy, Operation: synced, Resources: []Resource{hpa}},
			[]ResourceRef{{Group: "autoscaling", Kind: "HorizontalPodAutoscaler", Namespace: "other", Name: "web-green"}}, []string{"HorizontalPodAutoscaler.autoscaling shop/web-green"}},
		{"sync still running: wait", Status{Sync: OutOfSync, Revision: rev, Health: Healthy, Operation: &Operation{Phase: PhaseRunning, Revision: rev}, Resources: []Resource{byHand}}, nil, nil},
		{"last sync at another revision: wait", Status{Sync: OutOfSync, Revision: rev, Health: Healthy, Operation: &Operation{Phase: PhaseSucceeded, Revision: "bbbb"}, Resources: []Resource{byHand}}, nil, nil},
	}
	for _, tt := range tests {
		done, err := verdict(tt.st, rev, nil, tt.pruned)
		if done {
			t.Errorf("%s: done, want not done", tt.name)
		}
		if tt.wantStray == nil {
			if err != nil {
				t.Errorf("%s: %v, want to keep waiting", tt.name, err)
			}
			continue
		}
		we, ok := err.(*WaitError)
		if !ok || we.Reason != ErrNotPruned {
			t.Errorf("%s: %v, want ErrNotPruned", tt.name, err)
			continue
		}
		var got []string
		for _, r := range we.Strays {
			got = append(got, r.Ref().String())
		}
		if strings.Join(got, ",") != strings.Join(tt.wantStray, ",") {
			t.Errorf("%s: strays %v, want %v", tt.name, got, tt.wantStray)
		}
		we.App, we.Revision = "shop-production", rev
		for _, want := range append(tt.wantStray, "did not remove", "argocd app sync shop-production --prune --resource") {
			if !strings.Contains(we.Error(), want) {
				t.Errorf("%s: message lacks %q: %s", tt.name, want, we.Error())
			}
		}
	}
}

func TestVerdict_SuspendedIsDoneOnlyWhenPausedRolloutsCauseIt(t *testing.T) {
	t.Parallel()
	rollout := Resource{Group: "argoproj.io", Kind: "Rollout", Name: "shop", Health: Suspended}
	svc := Resource{Kind: "Service", Name: "shop", Health: Healthy}
	cm := Resource{Kind: "ConfigMap", Name: "shop"}
	for _, tt := range []struct {
		name      string
		resources []Resource
		want      bool
	}{
		{"a paused blue-green Rollout", []Resource{rollout, svc, cm}, true},
		{"a suspended CronJob", []Resource{{Group: "batch", Kind: "CronJob", Name: "c", Health: Suspended}, svc}, false},
		{"a paused Rollout and a progressing Deployment", []Resource{rollout, {Group: "apps", Kind: "Deployment", Name: "d", Health: Progressing}}, false},
		{"no resources", nil, false},
	} {
		st := Status{Sync: Synced, Revision: "r", Health: Suspended, Resources: tt.resources}
		got, err := verdict(st, "r", nil, nil)
		if err != nil || got != tt.want {
			t.Errorf("%s: verdict = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
}

// A wait that ends OutOfSync after its own sync succeeded names every
// resource that is out of sync, with or without a message or health.
func TestWaitError_NamesTheResourcesOutOfSync(t *testing.T) {
	t.Parallel()
	st := Status{Sync: OutOfSync, Revision: "aaaa", Health: Healthy, Operation: &Operation{Phase: PhaseSucceeded, Revision: "aaaa"}, Resources: []Resource{
		{Kind: "Service", Namespace: "shop", Name: "web", Sync: OutOfSync, Health: Healthy},
		{Kind: "ConfigMap", Namespace: "shop", Name: "conf", Sync: OutOfSync},
		{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web-green", Sync: Synced, Health: Healthy},
	}}
	msg := (&WaitError{App: "web", Revision: "aaaa", Status: st, Reason: ErrTimeout}).Error()
	for _, want := range []string{"timed out", "Service shop/web Healthy OutOfSync", "ConfigMap shop/conf OutOfSync"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q: %s", want, msg)
		}
	}
	if strings.Contains(msg, "web-green") || strings.Contains(msg, "conf Unknown") {
		t.Errorf("message names a synced resource or an unknown health: %s", msg)
	}
}
