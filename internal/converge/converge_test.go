package converge

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"gitlab.com/platform/bluegreen/internal/gitlab"
	"gitlab.com/platform/bluegreen/internal/gitops"
	"gitlab.com/platform/bluegreen/internal/outcome"
)

func TestAfterCommit_AUsageErrorOnceCommittedIsExternal(t *testing.T) {
	t.Parallel()
	committed := gitops.Result{Revision: "0123456789abcdef", Actions: []gitlab.FileAction{{Action: "update", Path: "x"}}}
	held := gitops.Result{Revision: "0123456789abcdef"}
	denied := outcome.Usagef("argocd: permission denied: applications, sync")
	tests := []struct {
		name string
		res  gitops.Result
		err  error
		want outcome.Kind
	}{
		{"a refusal after this run's commit", committed, denied, outcome.External},
		{"a refusal when the branch already held it", held, denied, outcome.Usage},
		{"a failed sync stays negative", committed, outcome.Negativef("sync failed"), outcome.Negative},
		{"a timeout stays external", committed, errors.New("deadline"), outcome.External},
	}
	for _, tt := range tests {
		err := afterCommit(tt.res, tt.err)
		if outcome.KindOf(err) != tt.want {
			t.Errorf("%s: %v (%v), want %v", tt.name, err, outcome.KindOf(err), tt.want)
		}
		if tt.err == denied && tt.res.Committed() && !strings.Contains(err.Error(), "01234567") {
			t.Errorf("%s: %v does not name the commit", tt.name, err)
		}
	}
	if afterCommit(committed, nil) != nil {
		t.Error("nil became an error")
	}
}

func TestWithRemoved_AddsWhatTheChangeRemovedOnce(t *testing.T) {
	t.Parallel()
	svc := gitops.Object{Kind: "Service", Namespace: "shop", Name: "shop"}
	hpa := gitops.Object{Group: "autoscaling", Kind: "HorizontalPodAutoscaler", Namespace: "shop", Name: "shop-blue"}
	got := withRemoved([]gitops.Object{svc, hpa}, []gitops.Object{hpa, {Kind: "ConfigMap", Name: "shop-config-blue-1"}})
	want := []gitops.Object{svc, hpa, {Kind: "ConfigMap", Name: "shop-config-blue-1"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
