package argocdtest_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"gitlab.com/platform/bluegreen/internal/argocd"
	"gitlab.com/platform/bluegreen/internal/argocd/argocdtest"
)

func TestServer_RefusesAnotherSyncWhileOneRuns(t *testing.T) {
	srv := argocdtest.NewServer(t, "tok")
	srv.AddApp("checkout", argocdtest.Outcome{Polls: 100})
	ctx := context.Background()
	c, err := argocd.New(ctx, srv.Options())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Sync(ctx, "checkout", "aaa"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "checkout"); err != nil { // the controller picks the sync up
		t.Fatal(err)
	}
	if err := c.Sync(ctx, "checkout", "aaa"); err != nil {
		t.Errorf("repeated sync at the running revision: %v, want nil", err)
	}
	// The client waits for the running sync; let it give up first.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	err = c.Sync(short, "checkout", "bbb")
	if status.Code(err) != codes.FailedPrecondition {
		t.Errorf("sync at another revision while one runs: %v, want FailedPrecondition", err)
	}
	st, err := c.Get(ctx, "checkout")
	if err != nil {
		t.Fatal(err)
	}
	if st.Operation == nil || st.Operation.Phase != argocd.PhaseRunning || st.Operation.Revision != "aaa" {
		t.Errorf("status = %s, want the sync to aaa running", st)
	}
	if got := srv.Syncs(); len(got) != 1 {
		t.Errorf("syncs = %v, want only the first", got)
	}
}
