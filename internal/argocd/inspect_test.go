package argocd_test

import (
	"context"
	"testing"

	"gitlab.com/platform/bluegreen/internal/argocd"
	"gitlab.com/platform/bluegreen/internal/argocd/argocdtest"
)

func TestInspect_ReadsStatusWithoutSyncing(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t, argocdtest.Outcome{})
	app, err := c.Inspect(context.Background(), "checkout", false)
	if err != nil {
		t.Fatal(err)
	}
	if app.Sync != argocd.OutOfSync || app.Policy.Automated || len(app.Pruning) != 0 {
		t.Errorf("app = %+v, want the fake's OutOfSync app with a manual policy", app)
	}
	if len(srv.Syncs()) != 0 {
		t.Error("Inspect synced")
	}
}

func TestSyncOnly_SyncsAtTheRevision(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t, argocdtest.Outcome{})
	refs := []argocd.ResourceRef{{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "checkout-blue"}}
	if err := c.SyncOnly(context.Background(), "checkout", rev, refs, true); err != nil {
		t.Fatal(err)
	}
	if got := srv.Syncs(); len(got) != 1 || got[0] != (argocdtest.SyncCall{App: "checkout", Revision: rev}) {
		t.Errorf("syncs = %v", got)
	}
}
