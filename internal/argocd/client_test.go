package argocd_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"gitlab.com/platform/bluegreen/internal/argocd"
	"gitlab.com/platform/bluegreen/internal/argocd/argocdtest"
)

const rev = "0123456789abcdef0123456789abcdef01234567"

func newFake(t *testing.T, outcome argocdtest.Outcome) (*argocdtest.Server, *argocd.Client) {
	t.Helper()
	srv := argocdtest.NewServer(t, "s3cret")
	srv.AddApp("checkout", outcome)
	c, err := argocd.New(context.Background(), srv.Options())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return srv, c
}

func TestWait_ReturnsSyncedHealthyAtRevision(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t, argocdtest.Outcome{Polls: 3})
	ctx := context.Background()
	if err := c.Sync(ctx, "checkout", rev); err != nil {
		t.Fatal(err)
	}
	var seen []string
	st, err := c.Wait(ctx, "checkout", rev, func(s argocd.Status) { seen = append(seen, s.String()) })
	if err != nil {
		t.Fatal(err)
	}
	if !st.Done(rev) || st.Operation.Phase != argocd.PhaseSucceeded {
		t.Errorf("status = %s, want Synced at %s Healthy after a succeeded sync", st, rev)
	}
	if got := srv.Syncs(); len(got) != 1 || got[0] != (argocdtest.SyncCall{App: "checkout", Revision: rev}) {
		t.Errorf("syncs = %v", got)
	}
	if len(seen) < 2 || !strings.Contains(seen[0], "Running") {
		t.Errorf("progress = %q, want the running sync then the end state", seen)
	}
}

func TestWait_DegradedEndsWithErrDegraded(t *testing.T) {
	t.Parallel()
	_, c := newFake(t, argocdtest.Outcome{Health: argocd.Degraded, Resources: []argocd.Resource{{
		Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "checkout-green",
		Sync: argocd.Synced, Health: argocd.Degraded, Message: "progress deadline exceeded",
	}}})
	ctx := context.Background()
	if err := c.Sync(ctx, "checkout", rev); err != nil {
		t.Fatal(err)
	}
	st, err := c.Wait(ctx, "checkout", rev, nil)
	var we *argocd.WaitError
	if !errors.Is(err, argocd.ErrDegraded) || !errors.As(err, &we) {
		t.Fatalf("err = %v, want a WaitError with ErrDegraded", err)
	}
	if st.Health != argocd.Degraded || !strings.Contains(err.Error(), "Deployment shop/checkout-green Degraded: progress deadline exceeded") {
		t.Errorf("err = %q, want the degraded resource and its message", err)
	}
}

func TestWait_FailedSyncEndsWithErrOperationFailed(t *testing.T) {
	t.Parallel()
	_, c := newFake(t, argocdtest.Outcome{Failed: true, Message: "one or more objects failed to apply"})
	ctx := context.Background()
	if err := c.Sync(ctx, "checkout", rev); err != nil {
		t.Fatal(err)
	}
	_, err := c.Wait(ctx, "checkout", rev, nil)
	if !errors.Is(err, argocd.ErrOperationFailed) || !strings.Contains(err.Error(), "failed to apply") {
		t.Fatalf("err = %v, want ErrOperationFailed with the operation's message", err)
	}
}

func TestWait_DeadlineIsATimeout(t *testing.T) {
	t.Parallel()
	_, c := newFake(t, argocdtest.Outcome{Polls: 1 << 20})
	if err := c.Sync(context.Background(), "checkout", rev); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	st, err := c.Wait(ctx, "checkout", rev, nil)
	if !errors.Is(err, argocd.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrTimeout and DeadlineExceeded", err)
	}
	if st.Operation == nil || st.Operation.Phase != argocd.PhaseRunning {
		t.Errorf("last status = %s, want the running sync", st)
	}
}

func TestClient_RetriesTransientErrors(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t, argocdtest.Outcome{})
	srv.FailNext(codes.Aborted, codes.Aborted)
	if err := c.Sync(context.Background(), "checkout", rev); err != nil {
		t.Fatalf("sync after two transient failures: %v", err)
	}
	if n := len(srv.Syncs()); n != 1 {
		t.Errorf("syncs = %d, want 1", n)
	}
}

func TestClient_DoesNotRetryNotFound(t *testing.T) {
	t.Parallel()
	_, c := newFake(t, argocdtest.Outcome{})
	_, err := c.Get(context.Background(), "nope")
	if status.Code(errors.Unwrap(err)) != codes.NotFound || !strings.Contains(err.Error(), `argocd get "nope"`) {
		t.Fatalf("err = %v, want NotFound naming the app", err)
	}
}

func TestClient_WrongTokenIsUnauthenticated(t *testing.T) {
	t.Parallel()
	srv := argocdtest.NewServer(t, "s3cret")
	srv.AddApp("checkout", argocdtest.Outcome{})
	opts := srv.Options()
	opts.Token = "wrong"
	c, err := argocd.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Sync(context.Background(), "checkout", rev)
	if status.Code(errors.Unwrap(err)) != codes.Unauthenticated {
		t.Fatalf("err = %v, want Unauthenticated", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("err = %q leaks the token", err)
	}
	if len(srv.Syncs()) != 0 {
		t.Error("a sync went through with a wrong token")
	}
}

func TestNew_RequiresAddressAndToken(t *testing.T) {
	t.Parallel()
	for _, opts := range []argocd.Options{{Token: "t"}, {Addr: "127.0.0.1:1"}} {
		if _, err := argocd.New(context.Background(), opts); err == nil {
			t.Errorf("New(%+v) = nil error", opts)
		}
	}
}
