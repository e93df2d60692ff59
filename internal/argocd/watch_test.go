package argocd_test

import (
	"context"
	"testing"
	"time"

	"gitlab.com/platform/bluegreen/internal/argocd"
	"gitlab.com/platform/bluegreen/internal/argocd/argocdtest"
)

func TestWait_FollowsTheWatchStreamWithoutPolling(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t, argocdtest.Outcome{Polls: 5})
	ctx := context.Background()
	if err := c.Sync(ctx, "checkout", rev); err != nil {
		t.Fatal(err)
	}
	_, getsBefore := srv.Calls()
	var seen int
	st, err := c.Wait(ctx, "checkout", rev, func(argocd.Status) { seen++ })
	if err != nil || !st.Done(rev) {
		t.Fatalf("wait: %s, %v", st, err)
	}
	watches, gets := srv.Calls()
	if watches != 1 || gets != getsBefore {
		t.Errorf("%d watch streams and %d Gets during the wait: want one stream, no Get", watches, gets-getsBefore)
	}
	if seen < 2 {
		t.Errorf("progress heard %d states, want each change", seen)
	}
}

func TestWait_FallsBackToPollingWhenTheServerHasNoWatch(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t, argocdtest.Outcome{Polls: 5})
	srv.WithoutWatch()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Sync(ctx, "checkout", rev); err != nil {
		t.Fatal(err)
	}
	if st, err := c.Wait(ctx, "checkout", rev, nil); err != nil || !st.Done(rev) {
		t.Fatalf("wait: %s, %v", st, err)
	}
	// A second wait does not ask for the stream again.
	if _, err := c.Wait(ctx, "checkout", rev, nil); err != nil {
		t.Fatal(err)
	}
	if watches, gets := srv.Calls(); watches != 1 || gets < 5 {
		t.Errorf("%d watch streams, %d Gets: want one refused stream, then polling", watches, gets)
	}
}

func TestWait_ReopensABrokenStreamAndMissesNothing(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t, argocdtest.Outcome{Polls: 8})
	srv.BreakWatchAfter(2)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Sync(ctx, "checkout", rev); err != nil {
		t.Fatal(err)
	}
	if st, err := c.Wait(ctx, "checkout", rev, nil); err != nil || !st.Done(rev) {
		t.Fatalf("wait: %s, %v", st, err)
	}
	if watches, gets := srv.Calls(); watches < 2 || gets < 1 {
		t.Errorf("%d watch streams, %d Gets: want the stream reopened, with a read in between", watches, gets)
	}
}
